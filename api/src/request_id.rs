//! The id of a request: the caller's `X-Request-Id` when it is well-formed, so clients can
//! correlate their logs with Keel's, or one Keel makes up.
//!
//! Well-formed is 1-128 characters of `A-Z a-z 0-9 . _ : -`. Anything else (longer, empty,
//! spaces, quotes, control characters, non-ASCII) is dropped, never echoed, and replaced by a
//! fresh UUID v7, so a caller cannot make Keel reflect arbitrary text into its response headers
//! or its logs. The id also yields the correlation id of every event the request causes: the
//! id itself when it is a UUID, else a fresh UUID v7 (the request's log span carries both).

use actix_web::http::header::HeaderValue;
use uuid::Uuid;

/// The longest request id accepted, in characters.
pub const MAX_LEN: usize = 128;

/// The id of the current request, and the correlation id of the events it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    /// The id, as echoed in `X-Request-Id` and logged.
    pub id: String,
    /// The correlation id of the events the request causes.
    pub correlation_id: Uuid,
}

impl RequestId {
    /// The caller's id if `header` holds a well-formed one, else a new one.
    pub fn from_header(header: Option<&HeaderValue>) -> RequestId {
        match header
            .and_then(|value| value.to_str().ok())
            .filter(|id| well_formed(id))
        {
            Some(id) => RequestId {
                id: id.to_owned(),
                correlation_id: Uuid::parse_str(id).unwrap_or_else(|_| Uuid::now_v7()),
            },
            None => RequestId::new(),
        }
    }

    /// A new id: a UUID v7, also the correlation id.
    pub fn new() -> RequestId {
        let uuid = Uuid::now_v7();
        RequestId {
            id: uuid.to_string(),
            correlation_id: uuid,
        }
    }

    /// The id as a header value.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.id).expect("a well-formed id is a valid header value")
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

/// Whether `id` is 1-128 characters of `A-Z a-z 0-9 . _ : -`.
pub fn well_formed(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(raw: &str) -> RequestId {
        RequestId::from_header(Some(&HeaderValue::from_bytes(raw.as_bytes()).unwrap()))
    }

    #[test]
    fn a_well_formed_id_is_kept() {
        let id = from("trace-42:retry_1.a");
        assert_eq!(id.id, "trace-42:retry_1.a");
        assert_eq!(id.correlation_id.get_version_num(), 7);
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(from(&longest).id, longest);
    }

    #[test]
    fn a_uuid_id_is_also_the_correlation_id() {
        let id = from("0192f5a4-0000-7000-8000-000000000001");
        assert_eq!(id.correlation_id.to_string(), id.id);
    }

    #[test]
    fn anything_else_is_replaced_by_a_new_uuid() {
        let too_long = "a".repeat(MAX_LEN + 1);
        for raw in ["", "a b", "<script>", "x\"y", "é", "a/b", too_long.as_str()] {
            let id = from(raw);
            assert_ne!(id.id, raw);
            assert_eq!(id.id, id.correlation_id.to_string(), "{raw:?}");
        }
        let none = RequestId::from_header(None);
        assert_eq!(none.id, none.correlation_id.to_string());
    }
}
