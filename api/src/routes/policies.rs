//! Policies: versioned rule documents of a tenant, or of the platform beneath every tenant, and
//! the decision of a tenant's policies in force on a request.
//!
//! The same actions exist for a tenant's policies (`/v1/tenants/{tenant_id}/policies/...`,
//! scopes `policies:read` and `policies:write`) and for platform-wide ones
//! (`/v1/platform/policies/...`, platform admin keys only, owned by [`TenantId::PLATFORM`]).
//! Each action is one function taking the owner's tenant id; the routes only say whose policies
//! they act on.
//!
//! A policy's stream id holds only the policy's id, so every route checks that the stored policy
//! belongs to the tenant of the path: another tenant's policy (or a platform-wide one asked for
//! under a tenant) is a 404, exactly like a policy that does not exist.
//!
//! Lists and decisions find a tenant's policies in the `resources` read model (plus the events
//! it has not folded yet), then load each policy from its stream through the handler's cache.

use super::kit::paths::{PlatformPolicyPath, PolicyPath, TenantPath};
use super::kit::{authorize_owner, command_route, run_create, Allowed, NoFields};
use super::tenant_aggregates;
use crate::auth::Access;
use crate::body::JsonBody;
use crate::command::{Caller, CommandResult};
use crate::consistency::ReadAfter;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::header::ETAG;
use actix_web::web::{Data, Path};
use actix_web::{get, post, HttpResponse};
use chrono::{DateTime, Utc};
use keel_commands::handler::Loaded;
use keel_domain::access::{DenialReason, DeniedRequest};
use keel_domain::policy::{
    evaluate, ActivePolicy, ArchivePolicy, DeactivatePolicy, Decision, DraftPolicy, Effect,
    MfaStatus, Policy, PolicyCommand, PolicyDocument, PolicyDocumentInput, PolicyKind,
    PolicyStatus, PolicyVersion, PublishPolicy, ReasonCode, RequestContext, RevisePolicy,
    VersionStatus,
};
use keel_domain::TenantId;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;
use uuid::Uuid;

/// The resource name in scopes: `policies:read`, `policies:write`.
const RESOURCE: &str = "policies";

/// Registers the routes of this module.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(tenant_list)
        .service(tenant_draft)
        .service(tenant_show)
        .service(tenant_revise)
        .service(tenant_publish)
        .service(tenant_deactivate)
        .service(tenant_archive)
        .service(platform_list)
        .service(platform_draft)
        .service(platform_show)
        .service(platform_revise)
        .service(platform_publish)
        .service(platform_deactivate)
        .service(platform_archive)
        .service(decide);
}

/// The body of `POST .../policies`: a new policy, whose version 1 is a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// The policy's name, 1-200 characters.
    pub name: String,
    /// Its kind and first rules, e.g. `{"kind": "access", "rules": [{"effect": "allow",
    /// "roles": ["admin"], "actions": ["*"], "resources": ["*"]}]}`. Kinds: `access`,
    /// `ip_allowlist`, `rate_limit`, `data_retention`, `mfa`, `compliance`; the kind is fixed
    /// for good.
    pub document: PolicyDocumentInput,
}

/// The body of `POST .../policies/{policy_id}/revise`: the rules of a new draft version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviseRequest {
    /// The new rules, of the policy's kind (same shape as when drafting).
    pub document: PolicyDocumentInput,
}

/// The body of `POST .../policies/{policy_id}/publish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The draft version to put in force.
    pub version: u32,
}

/// A policy without its versions' rules, as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySummary {
    /// Its id.
    pub id: Uuid,
    /// Its tenant; the nil id for a platform-wide policy.
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// Whether it applies beneath every tenant's own policies.
    pub platform_wide: bool,
    /// Its name.
    pub name: String,
    /// `access`, `ip_allowlist`, `rate_limit`, `data_retention`, `mfa` or `compliance`.
    #[schema(value_type = String)]
    pub kind: PolicyKind,
    /// `inactive`, `active` or `archived`.
    #[schema(value_type = String)]
    pub status: PolicyStatus,
    /// The version in force, if any.
    pub active_version: Option<u32>,
    /// The newest version's number.
    pub latest_version: u32,
}

impl PolicySummary {
    /// The summary of a drafted policy.
    pub fn of(policy: &Policy) -> Self {
        PolicySummary {
            id: policy.id(),
            tenant_id: policy.tenant_id(),
            platform_wide: policy.is_platform_wide(),
            name: policy.name().as_str().to_owned(),
            kind: policy.kind(),
            status: policy.status(),
            active_version: policy.active_version().map(|v| v.number),
            latest_version: policy.latest_version().map_or(0, |v| v.number),
        }
    }
}

/// One version of a policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyVersionView {
    /// Its number, from 1.
    pub number: u32,
    /// `draft`, `active`, `retired` or `superseded`.
    #[schema(value_type = String)]
    pub status: VersionStatus,
    /// Its rules, validated: `{"kind": ..., "rules": [...]}`.
    pub document: PolicyDocument,
}

impl PolicyVersionView {
    fn of(version: &PolicyVersion) -> Self {
        PolicyVersionView {
            number: version.number,
            status: version.status,
            document: version.document.clone(),
        }
    }
}

/// A policy in full, with every version, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// What the list shows.
    #[serde(flatten)]
    pub summary: PolicySummary,
    /// Every version, oldest first.
    pub versions: Vec<PolicyVersionView>,
}

impl PolicyView {
    /// The view of a drafted policy.
    pub fn of(policy: &Policy) -> Self {
        PolicyView {
            summary: PolicySummary::of(policy),
            versions: policy
                .versions()
                .iter()
                .map(PolicyVersionView::of)
                .collect(),
        }
    }
}

/// The body of `POST /v1/tenants/{tenant_id}/policy-decisions`: the request to decide on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The principal's role, e.g. `admin`.
    pub role: String,
    /// What it wants to do, e.g. `workflows.run`.
    pub action: String,
    /// What it wants to do it on, e.g. `workflows/0190...`.
    pub resource: String,
    /// Where the request comes from. Without it, any IP allowlist in force denies.
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    /// When the request is made (access rules may have a time window); now if absent.
    pub at: Option<DateTime<Utc>>,
    /// `verified`, `missing` or `not_applicable` (a principal that cannot have a second
    /// factor, such as an API key). `missing` if absent, so MFA rules fail closed.
    #[schema(value_type = Option<String>)]
    pub mfa: Option<MfaStatus>,
    /// Whom the request is for (a user id), recorded with a denial for the compliance report.
    pub subject: Option<String>,
}

/// A policy version that took part in a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionSource {
    /// The policy's id.
    pub policy_id: Uuid,
    /// The policy's name.
    pub name: String,
    /// Whether it is a platform-wide policy.
    pub platform_wide: bool,
    /// The version in force that was evaluated.
    pub version: u32,
    /// The rule's index in that version's rules; absent when the reason is about the policy
    /// as a whole.
    pub rule_index: Option<usize>,
}

/// One reason of a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionReason {
    /// `access_allowed`, `access_denied`, `no_access_rule`, `ip_allowed`, `ip_not_allowed`,
    /// `ip_unknown`, `mfa_satisfied` or `mfa_required`.
    #[schema(value_type = String)]
    pub code: ReasonCode,
    /// The policy, version and rule it comes from; absent for the default deny.
    pub source: Option<DecisionSource>,
    /// A sentence for people.
    pub description: String,
}

/// Whether a request is allowed by a tenant's policies in force, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// `allow` or `deny`.
    #[schema(value_type = String)]
    pub effect: Effect,
    /// Whether the request is allowed (`effect` is `allow`).
    pub allowed: bool,
    /// The instant the request was decided for.
    pub at: DateTime<Utc>,
    /// For a deny, every violation; for an allow, what satisfied each check.
    pub reasons: Vec<DecisionReason>,
    /// Every version in force that was evaluated: platform-wide ones first, the tenant's own
    /// on top.
    pub evaluated: Vec<DecisionSource>,
}

/// Loads a policy of `owner`: 404 unless it exists and belongs to `owner`.
async fn load_owned(
    state: &AppState,
    owner: TenantId,
    policy_id: Uuid,
) -> Result<Loaded<Policy>, ApiError> {
    tenant_aggregates::load_owned(&state.policies, owner, policy_id).await
}

/// Every policy `owner` ever drafted, oldest first (see [`tenant_aggregates`]).
async fn load_all(state: &AppState, owner: TenantId) -> Result<Vec<Policy>, ApiError> {
    tenant_aggregates::list_owned(state, &state.policies, owner).await
}

/// Where a policy is shown.
fn location(owner: TenantId, policy_id: Uuid) -> String {
    if owner.is_platform() {
        format!("/v1/platform/policies/{policy_id}")
    } else {
        format!("/v1/tenants/{owner}/policies/{policy_id}")
    }
}

/// Drafts a policy of `owner` with a new id: 201 with its `Location`.
async fn draft(
    state: &AppState,
    caller: &Caller,
    owner: TenantId,
    request: DraftRequest,
) -> Result<HttpResponse, ApiError> {
    authorize_owner(state, &caller.principal, owner, RESOURCE, Access::Write).await?;
    let policy_id = Uuid::now_v7();
    let command = PolicyCommand::from(DraftPolicy {
        policy_id,
        tenant_id: owner,
        name: request.name,
        document: request.document,
    });
    let location = location(owner, policy_id);
    let target = PolicyPath {
        tenant_id: owner,
        policy_id,
    };
    run_create(state, caller, &target, command, PolicyView::of, location).await
}

/// Shows a policy of `owner` with every version; its stream version is the `ETag`.
async fn show(
    state: &AppState,
    caller: &Caller,
    owner: TenantId,
    policy_id: Uuid,
) -> Result<HttpResponse, ApiError> {
    authorize_owner(state, &caller.principal, owner, RESOURCE, Access::Read).await?;
    let loaded = load_owned(state, owner, policy_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, format!("\"{}\"", loaded.version)))
        .json(PolicyView::of(&loaded.state)))
}

/// Lists the policies of `owner`, oldest first.
async fn list(
    state: &AppState,
    caller: &Caller,
    owner: TenantId,
) -> Result<HttpResponse, ApiError> {
    authorize_owner(state, &caller.principal, owner, RESOURCE, Access::Read).await?;
    let policies = load_all(state, owner).await?;
    let summaries: Vec<PolicySummary> = policies.iter().map(PolicySummary::of).collect();
    Ok(HttpResponse::Ok().json(summaries))
}

/// Lists a tenant's policies, oldest first, each as it stands now.
#[utoipa::path(
    tag = "policies",
    params(TenantPath),
    responses((status = 200, body = Vec<PolicySummary>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/policies")]
async fn tenant_list(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    list(&state, &caller, path.tenant_id).await
}

/// Lists the platform-wide policies, oldest first (platform admin only).
#[utoipa::path(
    tag = "policies",
    responses((status = 200, body = Vec<PolicySummary>), (status = 403, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/platform/policies")]
async fn platform_list(
    state: Data<AppState>,
    caller: Caller,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    list(&state, &caller, TenantId::PLATFORM).await
}

/// Drafts a tenant policy: version 1, not in force until published.
#[utoipa::path(
    tag = "policies",
    params(TenantPath),
    request_body = DraftRequest,
    responses(
        (status = 201, description = "Drafted", body = CommandResult<PolicyView>),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/policies")]
async fn tenant_draft(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<DraftRequest>,
) -> Result<HttpResponse, ApiError> {
    draft(&state, &caller, path.tenant_id, body.0).await
}

/// Drafts a platform-wide policy, which applies beneath every tenant's own once published
/// (platform admin only).
#[utoipa::path(
    tag = "policies",
    request_body = DraftRequest,
    responses(
        (status = 201, description = "Drafted", body = CommandResult<PolicyView>),
        (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/platform/policies")]
async fn platform_draft(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<DraftRequest>,
) -> Result<HttpResponse, ApiError> {
    draft(&state, &caller, TenantId::PLATFORM, body.0).await
}

/// Shows a tenant policy with every version.
#[utoipa::path(
    tag = "policies",
    params(PolicyPath),
    responses((status = 200, body = PolicyView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/tenants/{tenant_id}/policies/{policy_id}")]
async fn tenant_show(
    state: Data<AppState>,
    caller: Caller,
    path: Path<PolicyPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    show(&state, &caller, path.tenant_id, path.policy_id).await
}

/// Shows a platform-wide policy with every version (platform admin only).
#[utoipa::path(
    tag = "policies",
    params(PlatformPolicyPath),
    responses((status = 200, body = PolicyView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = []))
)]
#[get("/v1/platform/policies/{policy_id}")]
async fn platform_show(
    state: Data<AppState>,
    caller: Caller,
    path: Path<PlatformPolicyPath>,
    _consistent: ReadAfter,
) -> Result<HttpResponse, ApiError> {
    show(&state, &caller, TenantId::PLATFORM, path.policy_id).await
}

command_route! {
    "policies", Allowed::Scope(RESOURCE, Access::Write), PolicyPath => PolicyView;
    /// Adds a draft version with new rules of the policy's kind; existing versions never change.
    tenant_revise: "/v1/tenants/{tenant_id}/policies/{policy_id}/revise", body ReviseRequest
        => |_, r, _| Ok(RevisePolicy { document: r.document }.into());
    /// Puts a draft version in force, retiring the one it replaces.
    tenant_publish: "/v1/tenants/{tenant_id}/policies/{policy_id}/publish", body PublishRequest
        => |_, r, _| Ok(PublishPolicy { version: r.version }.into());
    /// Takes the version in force out of force, leaving the policy with none.
    tenant_deactivate: "/v1/tenants/{tenant_id}/policies/{policy_id}/deactivate", body NoFields
        => |_, _, _| Ok(DeactivatePolicy {}.into());
    /// Archives a policy for good (deactivating it first); every later command is refused.
    tenant_archive: "/v1/tenants/{tenant_id}/policies/{policy_id}/archive", body NoFields
        => |_, _, _| Ok(ArchivePolicy {}.into());
}
command_route! {
    "policies", Allowed::Admin, PlatformPolicyPath => PolicyView;
    /// Adds a draft version to a platform-wide policy (platform admin only).
    platform_revise: "/v1/platform/policies/{policy_id}/revise", body ReviseRequest
        => |_, r, _| Ok(RevisePolicy { document: r.document }.into());
    /// Puts a draft version of a platform-wide policy in force (platform admin only).
    platform_publish: "/v1/platform/policies/{policy_id}/publish", body PublishRequest
        => |_, r, _| Ok(PublishPolicy { version: r.version }.into());
    /// Takes a platform-wide policy out of force (platform admin only).
    platform_deactivate: "/v1/platform/policies/{policy_id}/deactivate", body NoFields
        => |_, _, _| Ok(DeactivatePolicy {}.into());
    /// Archives a platform-wide policy for good (platform admin only).
    platform_archive: "/v1/platform/policies/{policy_id}/archive", body NoFields
        => |_, _, _| Ok(ArchivePolicy {}.into());
}

/// Decides whether a request is allowed by the tenant's policies in force: the platform-wide
/// ones first, the tenant's own on top. Deny wins; no allowing access rule means deny. The
/// reasons name the policy, version and rule behind each.
#[utoipa::path(
    tag = "policies",
    params(TenantPath),
    request_body = DecisionRequest,
    responses(
        (status = 200, body = DecisionView),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = []))
)]
#[post("/v1/tenants/{tenant_id}/policy-decisions")]
async fn decide(
    state: Data<AppState>,
    caller: Caller,
    path: Path<TenantPath>,
    body: JsonBody<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path.tenant_id;
    if tenant_id.is_platform() {
        return Err(ApiError::not_found());
    }
    authorize_owner(&state, &caller.principal, tenant_id, RESOURCE, Access::Read).await?;
    let request = body.0;
    for (field, value) in [
        ("role", &request.role),
        ("action", &request.action),
        ("resource", &request.resource),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::invalid(
                field,
                format!("{field} must not be empty"),
            ));
        }
    }
    let now = Utc::now();
    let mut active: Vec<ActivePolicy> = Vec::new();
    for owner in [TenantId::PLATFORM, tenant_id] {
        let policies = load_all(&state, owner).await?;
        active.extend(policies.iter().filter_map(Policy::active));
    }
    let context = RequestContext {
        tenant_id,
        role: request.role,
        action: request.action,
        resource: request.resource,
        ip: request.ip,
        at: request.at.unwrap_or(now),
        mfa: request.mfa.unwrap_or(MfaStatus::Missing),
    };
    let decision = evaluate(&active, &context);
    if !decision.is_allowed() {
        state.denials.record(
            tenant_id,
            denied_request(&caller, &context, request.subject, &decision),
        );
    }
    let source = |policy_id: Uuid, rule_index: Option<usize>| {
        active
            .iter()
            .find(|p| p.policy_id == policy_id)
            .map(|p| DecisionSource {
                policy_id,
                name: p.name.as_str().to_owned(),
                platform_wide: p.tenant_id.is_platform(),
                version: p.version,
                rule_index,
            })
    };
    let reasons = decision
        .reasons
        .into_iter()
        .map(|reason| DecisionReason {
            code: reason.code,
            source: reason
                .source
                .and_then(|rule| source(rule.policy_id, rule.rule_index)),
            description: reason.description,
        })
        .collect();
    let evaluated = active
        .iter()
        .filter_map(|p| source(p.policy_id, None))
        .collect();
    Ok(HttpResponse::Ok().json(DecisionView {
        effect: decision.effect,
        allowed: decision.effect == Effect::Allow,
        at: context.at,
        reasons,
        evaluated,
    }))
}

/// What the compliance report keeps of a denied request: who asked, about whom, what, when,
/// from where, and every violation with the policy version behind it.
fn denied_request(
    caller: &Caller,
    context: &RequestContext,
    subject: Option<String>,
    decision: &Decision,
) -> DeniedRequest {
    DeniedRequest {
        decided_at: Utc::now(),
        requested_at: context.at,
        asked_by: caller.principal.key_id.to_string(),
        subject,
        role: context.role.clone(),
        action: context.action.clone(),
        resource: context.resource.clone(),
        ip: context.ip.map(|ip| ip.to_string()),
        reasons: decision
            .reasons
            .iter()
            .map(|reason| DenialReason {
                code: reason.code,
                policy_id: reason.source.map(|s| s.policy_id),
                version: reason.source.map(|s| s.version),
            })
            .collect(),
    }
}
