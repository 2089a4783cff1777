//! The workflow aggregate through the command handler (being written).
