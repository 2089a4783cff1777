//! Server-side filters of `$all` reads and subscriptions: on the stream name or the event
//! type, by prefixes or a regular expression (with look-around, which the clients' default
//! "exclude system events" filters use).

use crate::grpc::error::GrpcError;
use crate::grpc::proto::streams::read_req::options::filter_options::{
    Expression, Filter as Kind, Window,
};
use crate::grpc::proto::streams::read_req::options::FilterOptions;
use crate::grpc::proto::streams::read_resp::ReadEvent;

/// Longest regular expression accepted, so a client cannot make the server compile a huge one.
const MAX_REGEX_LEN: usize = 4096;

/// What a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    StreamName,
    EventType,
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    on: On,
    prefixes: Vec<String>,
    regex: Option<fancy_regex::Regex>,
    /// Send a checkpoint after this many events were looked at (subscriptions only).
    pub checkpoint_every: u64,
}

impl Filter {
    /// Compiles the client's filter options.
    pub fn new(options: &FilterOptions) -> Result<Filter, GrpcError> {
        let (on, expression): (On, &Expression) = match &options.filter {
            Some(Kind::StreamIdentifier(e)) => (On::StreamName, e),
            Some(Kind::EventType(e)) => (On::EventType, e),
            None => {
                return Err(GrpcError::InvalidArgument(
                    "a filter needs an expression".into(),
                ))
            }
        };
        let regex = if expression.prefix.is_empty() && !expression.regex.is_empty() {
            if expression.regex.len() > MAX_REGEX_LEN {
                return Err(GrpcError::InvalidArgument(
                    "the filter's regex is too long".into(),
                ));
            }
            Some(fancy_regex::Regex::new(&expression.regex).map_err(|e| {
                GrpcError::InvalidArgument(format!("the filter's regex is invalid: {e}"))
            })?)
        } else {
            None
        };
        let window = match options.window {
            Some(Window::Max(max)) => u64::from(max.max(1)),
            _ => 1,
        };
        let multiplier = u64::from(options.checkpoint_interval_multiplier.max(1));
        Ok(Filter {
            on,
            prefixes: expression.prefix.clone(),
            regex,
            checkpoint_every: window.saturating_mul(multiplier),
        })
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &ReadEvent) -> bool {
        let Some(recorded) = &event.event else {
            return false;
        };
        let text = match self.on {
            On::StreamName => recorded
                .stream_identifier
                .as_ref()
                .map(|s| String::from_utf8_lossy(&s.stream_name).into_owned())
                .unwrap_or_default(),
            On::EventType => recorded.metadata.get("type").cloned().unwrap_or_default(),
        };
        if !self.prefixes.is_empty() {
            return self.prefixes.iter().any(|p| text.starts_with(p.as_str()));
        }
        // A regex that fails on an input (backtracking limit) lets nothing through.
        self.regex
            .as_ref()
            .is_none_or(|regex| regex.is_match(&text).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::proto::shared::StreamIdentifier;
    use crate::grpc::proto::streams::read_resp::read_event::RecordedEvent;

    fn event(stream: &str, event_type: &str) -> ReadEvent {
        ReadEvent {
            event: Some(RecordedEvent {
                stream_identifier: Some(StreamIdentifier {
                    stream_name: stream.as_bytes().to_vec(),
                }),
                metadata: [("type".to_owned(), event_type.to_owned())].into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn filter(kind: fn(Expression) -> Kind, regex: &str, prefix: &[&str]) -> Filter {
        Filter::new(&FilterOptions {
            filter: Some(kind(Expression {
                regex: regex.into(),
                prefix: prefix.iter().map(|p| p.to_string()).collect(),
            })),
            window: Some(Window::Max(10)),
            checkpoint_interval_multiplier: 2,
        })
        .unwrap()
    }

    #[test]
    fn prefixes_and_regexes_on_names_and_types() {
        let by_prefix = filter(Kind::StreamIdentifier, "", &["order-", "cart-"]);
        assert!(by_prefix.matches(&event("cart-1", "x")));
        assert!(!by_prefix.matches(&event("user-1", "x")));
        assert_eq!(by_prefix.checkpoint_every, 20);
        let by_type = filter(Kind::EventType, "^Order(Placed|Paid)$", &[]);
        assert!(by_type.matches(&event("a", "OrderPaid")));
        assert!(!by_type.matches(&event("a", "OrderShipped")));
        // The clients' default filter excludes system events with a negative look-ahead.
        let no_system = filter(Kind::EventType, r"^(?!\$).*", &[]);
        assert!(no_system.matches(&event("a", "Placed")));
        assert!(!no_system.matches(&event("a", "$metadata")));
    }

    #[test]
    fn bad_filters_are_refused() {
        let options = FilterOptions {
            filter: Some(Kind::EventType(Expression {
                regex: "(".into(),
                prefix: vec![],
            })),
            ..Default::default()
        };
        assert!(Filter::new(&options).is_err());
        assert!(Filter::new(&FilterOptions::default()).is_err());
    }
}
