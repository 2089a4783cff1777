//! The tenant aggregate through the command handler (being written).
