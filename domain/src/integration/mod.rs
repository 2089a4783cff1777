//! The integration aggregate (being written).
