//! The policy aggregate (being written).
