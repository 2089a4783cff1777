//! Which events a tool reads: by position, stream, tenant, type and time.
//!
//! The narrowest source is read from the store (one stream, one tenant's slice, or the whole
//! log); the rest of the filter is applied to each event as it passes.

use super::CliError;
use chrono::{DateTime, Utc};
use clap::Args;
use keel_domain::TenantId;
use keel_store::{EventStore, RecordedEvent, StoreError};

/// Events read per round trip.
pub const PAGE: usize = 1000;

/// The filter arguments shared by `keel events read` and `keel events tail`.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only events after this global position.
    #[arg(long, value_name = "POSITION")]
    pub after: Option<u64>,
    /// Only events of this stream, e.g. `tenant-0190...`.
    #[arg(long)]
    pub stream: Option<String>,
    /// Only events of this tenant.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<TenantId>,
    /// Only events of these types; a trailing `*` matches a prefix (`tenant.*`). Repeatable.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only events recorded at or after this time (RFC 3339, e.g. 2026-12-01T09:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,
    /// Only events recorded before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<DateTime<Utc>>,
}

impl FilterArgs {
    /// Checks the arguments against each other.
    pub fn validate(&self) -> Result<(), CliError> {
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since >= until {
                return Err(CliError::InvalidArgument {
                    argument: "until",
                    reason: "must be later than --since".into(),
                });
            }
        }
        if let Some(bad) = self
            .types
            .iter()
            .find(|t| t.is_empty() || t.strip_suffix('*').unwrap_or(t).contains('*'))
        {
            return Err(CliError::InvalidArgument {
                argument: "type",
                reason: format!("`{bad}`: give a type, or a prefix followed by one `*`"),
            });
        }
        Ok(())
    }

    /// Whether an event passes every part of the filter.
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        self.after.is_none_or(|after| event.global_position > after)
            && self.stream.as_ref().is_none_or(|s| *s == event.stream_id)
            && self.tenant.is_none_or(|t| t == event.metadata.tenant_id)
            && (self.types.is_empty()
                || self
                    .types
                    .iter()
                    .any(|t| type_matches(t, &event.event_type)))
            && self.since.is_none_or(|since| event.recorded_at >= since)
            && self.until.is_none_or(|until| event.recorded_at < until)
    }
}

fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

/// A cursor over the stored events a filter selects, in log order, page by page.
pub struct LogCursor<'a> {
    store: &'a dyn EventStore,
    filter: &'a FilterArgs,
    /// The last global position read (log and tenant sources).
    position: u64,
    /// The last stream version read (stream source).
    version: u64,
}

impl<'a> LogCursor<'a> {
    /// A cursor at the start of what `filter` selects.
    pub fn new(store: &'a dyn EventStore, filter: &'a FilterArgs) -> Self {
        LogCursor {
            store,
            filter,
            position: filter.after.unwrap_or(0),
            version: 0,
        }
    }

    /// The next page of matching events; `None` once the stored events are exhausted (a
    /// follower may call again later for new ones).
    pub async fn next_page(&mut self) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        loop {
            let page = match (&self.filter.stream, self.filter.tenant) {
                (Some(stream), _) => {
                    self.store
                        .read_stream(stream, self.version + 1, PAGE)
                        .await?
                }
                (None, Some(tenant)) => self.store.read_tenant(tenant, self.position, PAGE).await?,
                (None, None) => self.store.read_all(self.position, PAGE).await?,
            };
            let Some(last) = page.last() else {
                return Ok(None);
            };
            self.position = self.position.max(last.global_position);
            self.version = last.stream_version;
            let matching: Vec<_> = page
                .into_iter()
                .filter(|e| self.filter.matches(e))
                .collect();
            if !matching.is_empty() {
                return Ok(Some(matching));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_types(types: &[&str]) -> FilterArgs {
        FilterArgs {
            types: types.iter().map(|t| t.to_string()).collect(),
            ..FilterArgs::default()
        }
    }

    #[test]
    fn a_type_is_exact_or_one_trailing_star() {
        assert!(with_types(&["tenant.renamed", "tenant.*", "é"])
            .validate()
            .is_ok());
        for bad in ["", "*.renamed", "ten*ant.*"] {
            let error = with_types(&[bad]).validate().unwrap_err();
            assert!(error.to_string().starts_with("invalid --type"), "{error}");
        }
        assert!(type_matches("tenant.*", "tenant.renamed"));
        assert!(!type_matches("tenant.*", "policy.drafted"));
        assert!(!type_matches("tenant.renamed", "tenant.renamed_again"));
    }
}
