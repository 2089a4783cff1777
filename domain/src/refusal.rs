//! What every aggregate's refusal tells its callers beyond its message, so that the HTTP
//! layer can map any aggregate's errors in one place.

/// The broad class of a refusal, which decides its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A command field breaks a format or range rule (HTTP 422).
    Invalid,
    /// The command names something that does not exist (HTTP 404).
    NotFound,
    /// The command is well-formed but the aggregate's current state forbids it (HTTP 409).
    Conflict,
    /// The caller may not do this: it would grant more than the caller holds (HTTP 403).
    Forbidden,
}

/// A domain error as the outside world sees it.
pub trait Refusal: std::error::Error {
    /// The class of refusal.
    fn kind(&self) -> RefusalKind;
    /// A stable snake_case code, for clients to branch on instead of message text.
    fn code(&self) -> &'static str;
    /// The command field the refusal is about, if one is, as a JSON path (`steps[2].next`).
    fn field(&self) -> Option<String>;
}
