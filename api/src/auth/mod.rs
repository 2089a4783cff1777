//! Authentication and tenancy: who is calling, for which tenant, with which scopes.
//!
//! `Authorization: Bearer <api key>`. The key is looked up by the SHA-256 of its secret in the
//! in-memory [`Directory`], never in the database per request. Platform admin keys may act on
//! every tenant; a tenant's key acts only within its tenant and its scopes. A tenant key that
//! names another tenant gets the same 404 as for a tenant that does not exist, so tenants cannot
//! even learn of each other.

pub mod token;

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use keel_domain::tenant::{scopes_grant, Grantor, Scope};
use keel_domain::{Actor, TenantId};
use keel_projections::Directory;
use std::future::{ready, Ready};
use std::sync::Arc;
use uuid::Uuid;

/// What a route requires a key to be allowed to do: the domain's scope levels.
pub use keel_domain::tenant::Access;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key's id.
    pub key_id: Uuid,
    /// The tenant the key belongs to ([`TenantId::PLATFORM`] for admin keys).
    pub tenant_id: TenantId,
    /// The member the key acts for; `None` for service keys and admin keys.
    pub member_id: Option<Uuid>,
    scopes: Vec<Scope>,
}

impl Principal {
    /// Whether this is a platform admin key.
    pub fn is_admin(&self) -> bool {
        self.tenant_id.is_platform()
    }

    /// Who gives power away when this caller issues a key or hands out a role.
    pub fn grantor(&self) -> Grantor {
        if self.is_admin() {
            Grantor::Platform
        } else {
            Grantor::Key(self.key_id)
        }
    }

    /// The actor recorded on the events this caller causes.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key_id.to_string())
    }

    /// Requires a platform admin key (403 otherwise).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("only a platform admin key may do this"))
        }
    }

    /// Requires access to `tenant`'s `resource`: 404 for another tenant's data (as if it did
    /// not exist), 403 for a missing scope.
    pub fn require(
        &self,
        tenant: TenantId,
        resource: &str,
        access: Access,
    ) -> Result<(), ApiError> {
        if self.is_admin() {
            return Ok(());
        }
        if self.tenant_id != tenant {
            return Err(ApiError::not_found());
        }
        if scopes_grant(&self.scopes, resource, access) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this key lacks the scope `{resource}:{}`",
                access.as_str()
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "an `Authorization: Bearer <api key>` header is required",
        ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| token::looks_like_token(t))
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <api key>`",
        ))?;
    let directory = req
        .app_data::<web::Data<Arc<Directory>>>()
        .expect("the directory is registered as app data");
    let principal = principal_for_token(directory, token).ok_or(ApiError::Unauthorized(
        "the API key is unknown, revoked or expired",
    ))?;
    if let Some(state) = req.app_data::<web::Data<crate::state::AppState>>() {
        state.key_use.record(principal.key_id);
        // Metering: every authenticated request of a tenant's key is one `api_calls`.
        if !principal.is_admin() {
            state.api_calls.count(principal.tenant_id);
        }
    }
    Ok(principal)
}

/// The principal of an API key's secret, if the key is known, not revoked and not expired.
/// Shared by every protocol Keel serves (HTTP bearer keys, gRPC basic-auth passwords).
pub fn principal_for_token(directory: &Directory, token: &str) -> Option<Principal> {
    let key = directory
        .key_by_hash(&token::hash(token))
        .filter(|key| key.is_usable_at(Utc::now()))?;
    Some(Principal {
        key_id: key.key_id,
        tenant_id: key.tenant_id,
        member_id: key.member_id,
        scopes: key.scopes,
    })
}

#[cfg(test)]
impl Principal {
    /// A key of `tenant` with every scope, for unit tests of other modules.
    pub(crate) fn for_tests(tenant: TenantId) -> Principal {
        Principal {
            key_id: Uuid::now_v7(),
            tenant_id: tenant,
            member_id: None,
            scopes: vec![Scope::parse("*:admin").expect("a valid scope")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_key(tenant: TenantId, scopes: &[&str]) -> Principal {
        Principal {
            key_id: Uuid::now_v7(),
            tenant_id: tenant,
            member_id: None,
            scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
        }
    }

    #[test]
    fn scopes_grant_their_level_and_below() {
        let tenant = TenantId(uuid::Uuid::now_v7());
        let key = tenant_key(tenant, &["members:write", "*:read"]);
        assert!(key.require(tenant, "members", Access::Read).is_ok());
        assert!(key.require(tenant, "members", Access::Write).is_ok());
        assert!(key.require(tenant, "audit", Access::Read).is_ok());
        assert!(matches!(
            key.require(tenant, "members", Access::Admin),
            Err(ApiError::Forbidden { .. })
        ));
        assert!(matches!(
            key.require(tenant, "keys", Access::Write),
            Err(ApiError::Forbidden { .. })
        ));
    }

    #[test]
    fn another_tenants_data_is_not_found() {
        let key = tenant_key(TenantId(uuid::Uuid::now_v7()), &["*:admin"]);
        assert!(matches!(
            key.require(TenantId(uuid::Uuid::now_v7()), "tenants", Access::Read),
            Err(ApiError::NotFound { .. })
        ));
        assert!(key.require_admin().is_err());
    }

    #[test]
    fn admin_keys_may_do_everything() {
        let admin = tenant_key(TenantId::PLATFORM, &[]);
        assert!(admin
            .require(TenantId(uuid::Uuid::now_v7()), "keys", Access::Admin)
            .is_ok());
        assert!(admin.require_admin().is_ok());
    }
}
