//! API keys: issuing (hash only), revoking them, and recording their expiry.

use super::*;
use crate::testing::given;

#[test]
fn issue_api_key_records_the_hash_and_never_a_secret() {
    let tenant = given::<Tenant>(created())
        .when(&issue_key_command(1).into())
        .then(vec![key_issued(1)]);
    let key = tenant.api_key(key_id(1)).unwrap();
    assert_eq!(key.secret_hash, HASH);
    assert!(key.is_usable_at(test_now()));
    assert!(!key.is_usable_at(days(90)));
}

#[test]
fn issue_api_key_without_expiry_never_expires() {
    let command = IssueApiKey {
        expires_at: None,
        secret_hash: HASH.to_uppercase(),
        ..issue_key_command(1)
    };
    let TenantEvent::ApiKeyIssued(expected) = key_issued(1) else {
        unreachable!()
    };
    let tenant =
        given::<Tenant>(created())
            .when(&command.into())
            .then(vec![TenantEvent::ApiKeyIssued(ApiKeyIssued {
                expires_at: None,
                ..expected
            })]);
    assert!(tenant
        .api_key(key_id(1))
        .unwrap()
        .is_usable_at(days(10_000)));
}

#[test]
fn issue_api_key_refuses_each_invalid_field() {
    let base = issue_key_command(1);
    let cases: Vec<(IssueApiKey, &str)> = vec![
        (
            IssueApiKey {
                key_id: Uuid::nil(),
                ..base.clone()
            },
            "key_id",
        ),
        (
            IssueApiKey {
                name: "".into(),
                ..base.clone()
            },
            "name",
        ),
        (
            IssueApiKey {
                scopes: vec![],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["workflows".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["rockets:read".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["workflows:delete".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                scopes: vec!["usage:read".into(), "usage:read".into()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            IssueApiKey {
                prefix: "k".into(),
                ..base.clone()
            },
            "prefix",
        ),
        (
            IssueApiKey {
                prefix: "kl live".into(),
                ..base.clone()
            },
            "prefix",
        ),
        (
            IssueApiKey {
                secret_hash: "abc".into(),
                ..base.clone()
            },
            "secret_hash",
        ),
        (
            IssueApiKey {
                expires_at: Some(test_now()),
                ..base.clone()
            },
            "expires_at",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn a_refused_secret_hash_is_not_echoed_in_the_error() {
    let secret = "kl_live_this-is-the-actual-secret-not-its-hash";
    let command = IssueApiKey {
        secret_hash: secret.into(),
        ..issue_key_command(1)
    };
    let error = given::<Tenant>(created())
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert!(!error.to_string().contains("actual-secret"), "{error}");
}

#[test]
fn issue_api_key_refuses_a_key_id_already_used() {
    given::<Tenant>(created_and([key_issued(1)]))
        .when(&issue_key_command(1).into())
        .then_err(TenantError::ApiKeyAlreadyExists { key_id: key_id(1) });
}

#[test]
fn revoke_api_key_marks_it_revoked() {
    let tenant = given::<Tenant>(created_and([key_issued(1)]))
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then(vec![TenantEvent::ApiKeyRevoked(ApiKeyRevoked {
            key_id: key_id(1),
        })]);
    let key = tenant.api_key(key_id(1)).unwrap();
    assert!(key.revoked);
    assert!(!key.is_usable_at(test_now()));
}

#[test]
fn revoke_api_key_refuses_an_unknown_key() {
    given::<Tenant>(created())
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then_err(TenantError::ApiKeyNotFound { key_id: key_id(1) });
}

#[test]
fn revoke_api_key_refuses_a_revoked_key() {
    let revoked = TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) });
    given::<Tenant>(created_and([key_issued(1), revoked]))
        .when(&RevokeApiKey { key_id: key_id(1) }.into())
        .then_err(TenantError::ApiKeyAlreadyRevoked { key_id: key_id(1) });
}

fn expire(n: u128) -> TenantCommand {
    ExpireApiKey { key_id: key_id(n) }.into()
}

fn key_expired(n: u128) -> TenantEvent {
    TenantEvent::ApiKeyExpired(ApiKeyExpired {
        key_id: key_id(n),
        expires_at: days(90),
    })
}

#[test]
fn expire_api_key_records_the_expiry_once_it_has_come() {
    let tenant = given::<Tenant>(created_and([key_issued(1)]))
        .at(days(90))
        .when(&expire(1))
        .then(vec![key_expired(1)]);
    let key = tenant.api_key(key_id(1)).unwrap();
    assert!(key.expired && !key.revoked);
    assert!(!key.is_usable_at(days(90)));
}

#[test]
fn expire_api_key_is_refused_before_the_expiry() {
    given::<Tenant>(created_and([key_issued(1)]))
        .at(days(89))
        .when(&expire(1))
        .then_err(TenantError::ApiKeyNotExpired {
            key_id: key_id(1),
            expires_at: Some(days(90)),
        });
}

#[test]
fn expire_api_key_refuses_a_key_that_never_expires() {
    let mut issued = key_issued(1);
    if let TenantEvent::ApiKeyIssued(e) = &mut issued {
        e.expires_at = None;
    }
    given::<Tenant>(created_and([issued]))
        .at(days(1000))
        .when(&expire(1))
        .then_err(TenantError::ApiKeyNotExpired {
            key_id: key_id(1),
            expires_at: None,
        });
}

#[test]
fn expire_api_key_a_second_time_is_refused() {
    given::<Tenant>(created_and([key_issued(1), key_expired(1)]))
        .at(days(91))
        .when(&expire(1))
        .then_err(TenantError::ApiKeyAlreadyExpired { key_id: key_id(1) });
}

#[test]
fn expire_api_key_refuses_a_revoked_key() {
    let revoked = TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) });
    given::<Tenant>(created_and([key_issued(1), revoked]))
        .at(days(90))
        .when(&expire(1))
        .then_err(TenantError::ApiKeyAlreadyRevoked { key_id: key_id(1) });
}

#[test]
fn expire_api_key_refuses_an_unknown_key() {
    given::<Tenant>(created())
        .at(days(90))
        .when(&expire(1))
        .then_err(TenantError::ApiKeyNotFound { key_id: key_id(1) });
}

#[test]
fn expire_api_key_is_recorded_while_suspended() {
    given::<Tenant>(created_and([key_issued(1), suspended()]))
        .at(days(90))
        .when(&expire(1))
        .then(vec![key_expired(1)]);
}
