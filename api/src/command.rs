//! Running a command from a request, and answering with where it landed.
//!
//! Every command response carries the stream version it reached (also as a strong `ETag`, to be
//! sent back as `If-Match` for optimistic concurrency) and the global position of its last event
//! (also as `X-Keel-Position`, to be sent as `?after_position=` for read-your-writes).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::observe::RequestId;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use keel_commands::handler::{CommandError, CommandHandler, CommandOutcome};
use keel_domain::billing::InvoiceCommand;
use keel_domain::integration::IntegrationCommand;
use keel_domain::platform::PlatformCommand;
use keel_domain::policy::PolicyCommand;
use keel_domain::tenant::TenantCommand;
use keel_domain::workflow::{RunCommand, WorkflowCommand};
use keel_domain::{Aggregate, AggregateId, Refusal, TenantId};
use keel_store::EventMetadata;
use serde::Serialize;
use std::future::{ready, Ready};
use std::net::IpAddr;
use std::time::Instant;

/// The header carrying the global position a command reached.
pub const POSITION: HeaderName = HeaderName::from_static("x-keel-position");

/// The stream version an `If-Match` header requires, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Option<u64>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_if_match(req.headers().get(header::IF_MATCH)))
    }
}

fn parse_if_match(value: Option<&HeaderValue>) -> Result<IfMatch, ApiError> {
    let Some(value) = value else {
        return Ok(IfMatch(None));
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(|version| IfMatch(Some(version)))
        .ok_or_else(|| {
            ApiError::bad_parameter("If-Match", "must be an ETag from a response, e.g. \"3\"")
        })
}

/// The body of every command response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandResult<T> {
    /// The aggregate's stream version after the command (also the `ETag`).
    pub stream_version: u64,
    /// Global position of the command's last event (also `X-Keel-Position`); absent if the
    /// command recorded nothing.
    pub global_position: Option<u64>,
    /// The resource after the command.
    pub data: T,
}

/// Who runs a command: the key, the request (its id becomes the correlation id, its peer
/// address the source IP) and the stream version `If-Match` requires.
pub struct Caller {
    /// The authenticated key.
    pub principal: Principal,
    /// The request's id.
    pub request_id: RequestId,
    /// The required stream version, from `If-Match`.
    pub if_match: IfMatch,
    /// The client's address: the TCP peer. (`X-Forwarded-For` is not trusted: any client could
    /// write it; behind a proxy, the proxy's address is recorded.)
    pub source_ip: Option<IpAddr>,
}

impl Caller {
    /// The metadata of the events this caller's command on `tenant_id` causes.
    pub fn metadata(&self, tenant_id: TenantId) -> EventMetadata {
        EventMetadata {
            tenant_id,
            actor: self.principal.actor(),
            correlation_id: self.request_id.correlation_id,
            causation_id: None,
            occurred_at: Utc::now(),
            source_ip: self.source_ip,
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = (|| {
            let principal = Principal::from_request(req, payload).into_inner()?;
            let request_id = RequestId::from_request(req, payload)
                .into_inner()
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
            let if_match = IfMatch::from_request(req, payload).into_inner()?;
            Ok(Caller {
                principal,
                request_id,
                if_match,
                source_ip: req.peer_addr().map(|peer| peer.ip()),
            })
        })();
        ready(caller)
    }
}

/// A command that says its own wire name (`rename`, `publish`...), the label of its metrics, so
/// that no route can count a command under another command's name.
pub trait Named {
    /// The command's wire name.
    fn name(&self) -> &'static str;
}

/// Implements [`Named`] with the domain's own `name()` of each command enum that has one.
macro_rules! named_by_domain {
    ($($command:ty),+) => {
        $(impl Named for $command {
            fn name(&self) -> &'static str {
                <$command>::name(self)
            }
        })+
    };
}

named_by_domain!(
    TenantCommand,
    PolicyCommand,
    WorkflowCommand,
    RunCommand,
    IntegrationCommand
);

impl Named for PlatformCommand {
    fn name(&self) -> &'static str {
        match self {
            PlatformCommand::IssueAdminKey { .. } => "issue_admin_key",
            PlatformCommand::RevokeAdminKey { .. } => "revoke_admin_key",
        }
    }
}

impl Named for InvoiceCommand {
    fn name(&self) -> &'static str {
        match self {
            InvoiceCommand::Finalize(_) => "finalize",
            InvoiceCommand::IssueCreditNote(_) => "issue_credit_note",
        }
    }
}

/// Executes `command` on aggregate `id` for `caller`, recording its metrics under the
/// command's own name.
pub async fn execute<A: Aggregate>(
    state: &AppState,
    handler: &CommandHandler<A>,
    id: AggregateId,
    command: A::Command,
    caller: &Caller,
) -> Result<CommandOutcome<A>, ApiError>
where
    A::Error: Refusal,
    A::Command: Named + 'static,
{
    let name = command.name();
    let metadata = caller.metadata(id.tenant_id);
    let started = Instant::now();
    let result = handler
        .execute(id, command, metadata, caller.if_match.0)
        .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(CommandError::Domain(_)) => "refused",
        Err(CommandError::Conflict(_)) => "conflict",
        Err(CommandError::Infra(_)) => "error",
    };
    state
        .metrics
        .commands
        .with_label_values(&[A::KIND, name, outcome])
        .inc();
    state
        .metrics
        .command_seconds
        .with_label_values(&[A::KIND])
        .observe(started.elapsed().as_secs_f64());
    Ok(result?)
}

/// The response to a successful command: `status`, `ETag`, `X-Keel-Position` and the body.
pub fn respond<A: Aggregate, T: Serialize>(
    status: StatusCode,
    outcome: &CommandOutcome<A>,
    data: T,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, format!("\"{}\"", outcome.stream_version)));
    if let Some(position) = outcome.global_position {
        response.insert_header((POSITION, position.to_string()));
    }
    response.json(CommandResult {
        stream_version: outcome.stream_version,
        global_position: outcome.global_position,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_etags_and_refuses_garbage() {
        let parse = |v: &str| parse_if_match(Some(&HeaderValue::from_str(v).unwrap()));
        assert_eq!(parse("\"3\"").unwrap().0, Some(3));
        assert_eq!(parse("W/\"7\"").unwrap().0, Some(7));
        assert_eq!(parse("12").unwrap().0, Some(12));
        assert!(parse("\"abc\"").is_err());
        assert_eq!(parse_if_match(None).unwrap().0, None);
    }
}
