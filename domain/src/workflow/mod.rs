//! The workflow aggregate (being written).
