//! Who is calling: the clients send basic-auth credentials (from the connection string) whose
//! password is a Keel API key; the user name is not used.

use super::error::GrpcError;
use super::names::GrpcCaller;
use crate::auth::{principal_for_token, token, Access};
use crate::key_use::KeyUse;
use base64::Engine;
use keel_projections::Directory;
use keel_reactors::api_calls::ApiCalls;
use tonic::metadata::MetadataMap;

/// The caller of a request, checked for `access` to streams (scope `streams:read` or
/// `streams:write` for a tenant's key; a platform admin key may do everything). Every
/// authenticated call of a tenant's key counts as one `api_calls`, and every call is a use of
/// its key, as over HTTP.
pub fn authenticate(
    directory: &Directory,
    api_calls: &ApiCalls,
    key_use: &KeyUse,
    metadata: &MetadataMap,
    access: Access,
) -> Result<GrpcCaller, GrpcError> {
    let header = metadata
        .get("authorization")
        .ok_or(GrpcError::Unauthenticated(
            "credentials are required: put `<user>:<Keel API key>@` in the connection string",
        ))?;
    let key = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(_, password)| password.to_owned())
        })
        .filter(|key| token::looks_like_token(key))
        .ok_or(GrpcError::Unauthenticated(
            "the credentials must be basic auth whose password is a Keel API key",
        ))?;
    let principal = principal_for_token(directory, &key).ok_or(GrpcError::Unauthenticated(
        "the API key is unknown, revoked or expired",
    ))?;
    key_use.record(principal.key_id);
    if !principal.is_admin() {
        api_calls.count(principal.tenant_id);
    }
    principal
        .require(principal.tenant_id, "streams", access)
        .map_err(|e| GrpcError::PermissionDenied(e.to_string()))?;
    Ok(GrpcCaller::new(principal))
}
