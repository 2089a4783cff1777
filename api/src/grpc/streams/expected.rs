//! The client's expected revision, and the protocol's ways of spelling it.

/// What a client expects a stream's revision to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// No check.
    Any,
    /// The stream must not exist (or be soft-deleted).
    NoStream,
    /// The stream must have events.
    StreamExists,
    /// The stream's last revision must be this.
    Exact(u64),
}

impl Expected {
    /// Whether a stream whose last readable revision is `current` satisfies this.
    pub fn accepts(self, current: Option<u64>) -> bool {
        match self {
            Expected::Any => true,
            Expected::NoStream => current.is_none(),
            Expected::StreamExists => current.is_some(),
            Expected::Exact(revision) => current == Some(revision),
        }
    }

    /// How the protocol's error messages and metadata spell it: the revision, or the
    /// numbers KurrentDB gives the other kinds (any -2, no stream -1, stream exists -4).
    pub fn describe(self) -> String {
        match self {
            Expected::Any => "-2".into(),
            Expected::NoStream => "-1".into(),
            Expected::StreamExists => "-4".into(),
            Expected::Exact(revision) => revision.to_string(),
        }
    }
}

/// How the protocol spells a current revision (`-1`: no stream).
pub fn describe_current(current: Option<u64>) -> String {
    current.map_or_else(|| "-1".into(), |r| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_accepts_what_it_says() {
        assert!(Expected::Any.accepts(None) && Expected::Any.accepts(Some(3)));
        assert!(Expected::NoStream.accepts(None) && !Expected::NoStream.accepts(Some(0)));
        assert!(!Expected::StreamExists.accepts(None) && Expected::StreamExists.accepts(Some(0)));
        assert!(Expected::Exact(2).accepts(Some(2)) && !Expected::Exact(2).accepts(Some(1)));
        assert!(!Expected::Exact(0).accepts(None));
    }
}
