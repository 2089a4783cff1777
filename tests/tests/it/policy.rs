//! The policy aggregate through the command handler (being written).
