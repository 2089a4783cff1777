//! The integration aggregate through the command handler (being written).
