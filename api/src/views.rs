//! What the API shows of the tenant aggregate: explicit views, so that nothing secret (an API
//! key's hash) can leak by a field being added to the state.

use chrono::{DateTime, Utc};
use keel_domain::tenant::{challenge_record, ApiKey, Member, Tenant};
use keel_domain::TenantId;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant, in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TenantId,
    /// `active`, `suspended` or `decommissioned`.
    pub status: &'static str,
    /// Its name.
    pub name: String,
    /// Its unique, DNS-safe handle.
    pub slug: String,
    /// Its plan.
    pub plan: &'static str,
    /// When the current plan took or takes effect.
    pub plan_effective_at: Option<DateTime<Utc>>,
    /// Where its data lives.
    pub data_region: String,
    /// Display name, logo and colour.
    pub branding: BrandingView,
    /// Typed settings.
    pub settings: SettingsView,
    /// Quota limits that override the plan's, by meter.
    pub quota_overrides: BTreeMap<String, u64>,
    /// Feature flags, by name.
    pub feature_flags: BTreeMap<String, bool>,
    /// Custom domains.
    pub domains: Vec<DomainView>,
    /// Number of members.
    pub member_count: usize,
    /// Number of API keys that are not revoked.
    pub active_api_key_count: usize,
    /// Why it is suspended, if it is.
    pub suspension_reason: Option<String>,
    /// When it is scheduled to be decommissioned, if it is.
    pub decommission_at: Option<DateTime<Utc>>,
}

/// A tenant's branding.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrandingView {
    /// Shown instead of the name.
    pub display_name: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// `#RRGGBB`.
    pub primary_color: Option<String>,
}

/// A tenant's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// IANA time zone.
    pub timezone: String,
    /// Language tag.
    pub locale: String,
    /// Session inactivity timeout.
    pub session_timeout_minutes: u32,
    /// Whether people may sign up without an invitation.
    pub allow_public_signup: bool,
    /// Whether members must use MFA.
    pub require_mfa: bool,
    /// How long the audit trail is kept.
    pub audit_log_retention_days: u32,
}

/// A custom domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainView {
    /// The hostname.
    pub domain: String,
    /// Whether control of it is proven (checked again daily).
    pub verified: bool,
    /// The DNS record to create to prove control; `None` for a domain added before challenge
    /// tokens were issued (remove it and add it again).
    pub txt_record: Option<TxtRecordView>,
}

/// The TXT record that proves control of a custom domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxtRecordView {
    /// The record's name, `_keel-challenge.<domain>`.
    pub name: String,
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    /// The value it must hold: the domain's challenge token.
    pub value: String,
}

/// A member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// Member id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// `owner`, `admin`, `member` or `auditor`.
    pub role: &'static str,
}

/// An API key, never its secret or hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Key id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The non-secret start of the key.
    pub prefix: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// The member it acts for (its approvals are that member's); absent for a service key.
    pub member_id: Option<Uuid>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it has expired (it then authenticates nothing, though not revoked).
    pub expired: bool,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When it last authenticated a request, to about a minute; absent if never (or not
    /// since uses were recorded).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A newly issued API key: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKeyView {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown once, never again.
    pub secret: String,
}

impl TenantView {
    /// The view of a tenant's state.
    pub fn of(tenant: &Tenant) -> Self {
        let branding = tenant.branding();
        let settings = tenant.settings();
        TenantView {
            id: tenant.id(),
            status: tenant.status().as_str(),
            name: tenant.name().as_str().to_owned(),
            slug: tenant.slug().as_str().to_owned(),
            plan: tenant.plan().as_str(),
            plan_effective_at: tenant.plan_effective_at(),
            data_region: tenant.data_region().as_str().to_owned(),
            branding: BrandingView {
                display_name: branding
                    .display_name
                    .as_ref()
                    .map(|v| v.as_str().to_owned()),
                logo_url: branding.logo_url.as_ref().map(|v| v.as_str().to_owned()),
                primary_color: branding
                    .primary_color
                    .as_ref()
                    .map(|v| v.as_str().to_owned()),
            },
            settings: SettingsView {
                timezone: settings.timezone.as_str().to_owned(),
                locale: settings.locale.as_str().to_owned(),
                session_timeout_minutes: settings.session_timeout_minutes,
                allow_public_signup: settings.allow_public_signup,
                require_mfa: settings.require_mfa,
                audit_log_retention_days: settings.audit_log_retention_days,
            },
            quota_overrides: tenant
                .quota_overrides()
                .iter()
                .map(|(meter, limit)| (meter.as_str().to_owned(), *limit))
                .collect(),
            feature_flags: tenant
                .feature_flags()
                .iter()
                .map(|(flag, on)| (flag.as_str().to_owned(), *on))
                .collect(),
            domains: tenant
                .domains()
                .values()
                .map(|d| DomainView {
                    domain: d.name.as_str().to_owned(),
                    verified: d.verified,
                    txt_record: d.challenge.as_ref().map(|token| TxtRecordView {
                        name: challenge_record(&d.name),
                        record_type: "TXT",
                        value: token.as_str().to_owned(),
                    }),
                })
                .collect(),
            member_count: tenant.members().len(),
            active_api_key_count: tenant.api_keys().values().filter(|k| !k.revoked).count(),
            suspension_reason: tenant.suspension_reason().map(|r| r.as_str().to_owned()),
            decommission_at: tenant.decommission_at(),
        }
    }
}

impl MemberView {
    /// The view of a member.
    pub fn of(member: &Member) -> Self {
        MemberView {
            id: member.id,
            email: member.email.as_str().to_owned(),
            role: member.role.as_str(),
        }
    }
}

impl ApiKeyView {
    /// The view of an API key at `now`, last used at `last_used_at`.
    pub fn of(key: &ApiKey, now: DateTime<Utc>, last_used_at: Option<DateTime<Utc>>) -> Self {
        ApiKeyView {
            id: key.id,
            name: key.name.as_str().to_owned(),
            prefix: key.prefix.as_str().to_owned(),
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            member_id: key.member_id,
            expires_at: key.expires_at,
            expired: key.expires_at.is_some_and(|expiry| expiry <= now),
            revoked: key.revoked,
            last_used_at,
        }
    }
}
