//! Grants: a key issues no scope it does not hold, no longer life than its own, and (acting for
//! a member) no role above that member's; property tests walk the whole scope lattice.

use super::*;
use crate::testing::given;
use proptest::prelude::*;

/// A key of the tenant with these scopes, expiry and member, issued by the platform.
fn grantor_key(
    n: u128,
    scopes: &[&str],
    expires_at: Option<DateTime<Utc>>,
    member: Option<Uuid>,
) -> TenantEvent {
    TenantEvent::ApiKeyIssued(ApiKeyIssued {
        key_id: key_id(n),
        name: KeyName::parse("grantor").unwrap(),
        scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
        prefix: KeyPrefix::parse("kl_live_0000").unwrap(),
        secret_hash: SecretHash::parse(HASH).unwrap(),
        expires_at,
        member_id: member,
    })
}

/// Key 99 issued by key 1 with these scopes.
fn issue_by_key_one(scopes: &[&str]) -> TenantCommand {
    IssueApiKey {
        grantor: Grantor::Key(key_id(1)),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        ..issue_key_command(99)
    }
    .into()
}

fn not_held(scope: &str) -> TenantError {
    TenantError::ScopeNotHeld {
        scope: scope.into(),
    }
}

#[test]
fn the_reported_escalation_is_refused() {
    // A key with `tenants:write, members:admin, keys:admin` asked for `*:admin`.
    let key = grantor_key(
        1,
        &["tenants:write", "members:admin", "keys:admin"],
        None,
        None,
    );
    given::<Tenant>(created_and([key.clone()]))
        .when(&issue_by_key_one(&["*:admin"]))
        .then_err(not_held("*:admin"));
    given::<Tenant>(created_and([key.clone()]))
        .when(&issue_by_key_one(&["members:write", "tenants:read"]))
        .then_ok();
    given::<Tenant>(created_and([key]))
        .when(&issue_by_key_one(&["members:read", "tenants:admin"]))
        .then_err(not_held("tenants:admin"));
}

#[test]
fn a_revoked_expired_or_unknown_key_grants_nothing() {
    let refused = TenantError::GrantorNotUsable { key_id: key_id(1) };
    given::<Tenant>(created())
        .when(&issue_by_key_one(&["tenants:read"]))
        .then_err(refused.clone());
    let revoked = TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) });
    given::<Tenant>(created_and([
        grantor_key(1, &["*:admin"], None, None),
        revoked,
    ]))
    .when(&issue_by_key_one(&["tenants:read"]))
    .then_err(refused.clone());
    given::<Tenant>(created_and([grantor_key(
        1,
        &["*:admin"],
        Some(days(1)),
        None,
    )]))
    .at(days(2))
    .when(&issue_by_key_one(&["tenants:read"]))
    .then_err(refused);
}

#[test]
fn an_expiring_key_issues_keys_that_expire_no_later() {
    let key = grantor_key(1, &["*:admin"], Some(days(30)), None);
    let issue = |expires_at| -> TenantCommand {
        IssueApiKey {
            grantor: Grantor::Key(key_id(1)),
            expires_at,
            ..issue_key_command(99)
        }
        .into()
    };
    let beyond = TenantError::ExpiryBeyondGrantor { limit: days(30) };
    given::<Tenant>(created_and([key.clone()]))
        .when(&issue(None))
        .then_err(beyond.clone());
    given::<Tenant>(created_and([key.clone()]))
        .when(&issue(Some(days(31))))
        .then_err(beyond);
    given::<Tenant>(created_and([key]))
        .when(&issue(Some(days(30))))
        .then_ok();
}

#[test]
fn a_member_key_gives_no_role_above_its_members_own() {
    let admin = member_added(member_id(1), "ada@acme.com", Role::Admin);
    let key = grantor_key(1, &["*:admin"], None, Some(member_id(1)));
    let history = || created_and([admin.clone(), key.clone()]);
    let by_key = Grantor::Key(key_id(1));
    let add = |role: &str| -> TenantCommand {
        AddMember {
            grantor: by_key,
            member_id: member_id(2),
            email: "bob@acme.com".into(),
            role: role.into(),
        }
        .into()
    };
    let above = TenantError::RoleAboveGrantor {
        role: "owner",
        own: "admin",
    };
    given::<Tenant>(history())
        .when(&add("owner"))
        .then_err(above.clone());
    given::<Tenant>(history()).when(&add("admin")).then_ok();
    given::<Tenant>(history()).when(&add("auditor")).then_ok();
    // Nor promote to owner, nor demote or remove the owner.
    let promote = ChangeMemberRole {
        grantor: by_key,
        member_id: member_id(1),
        role: "owner".into(),
    };
    given::<Tenant>(history())
        .when(&promote.into())
        .then_err(above.clone());
    let demote_owner = ChangeMemberRole {
        grantor: by_key,
        member_id: owner_id(),
        role: "member".into(),
    };
    given::<Tenant>(history())
        .when(&demote_owner.into())
        .then_err(above.clone());
    let remove_owner = RemoveMember {
        grantor: by_key,
        member_id: owner_id(),
    };
    given::<Tenant>(history())
        .when(&remove_owner.into())
        .then_err(above);
}

#[test]
fn keys_are_issued_for_members_the_grantor_could_act_as() {
    let admin = member_added(member_id(1), "ada@acme.com", Role::Admin);
    let for_owner = |grantor| -> TenantCommand {
        IssueApiKey {
            grantor,
            member_id: Some(owner_id()),
            ..issue_key_command(99)
        }
        .into()
    };
    // A service key mints no member keys at all.
    given::<Tenant>(created_and([
        admin.clone(),
        grantor_key(1, &["*:admin"], None, None),
    ]))
    .when(&for_owner(Grantor::Key(key_id(1))))
    .then_err(TenantError::ServiceKeyForMember);
    // An admin's key mints none for the owner, but one for itself.
    let admins_key = grantor_key(1, &["*:admin"], None, Some(member_id(1)));
    given::<Tenant>(created_and([admin.clone(), admins_key.clone()]))
        .when(&for_owner(Grantor::Key(key_id(1))))
        .then_err(TenantError::RoleAboveGrantor {
            role: "owner",
            own: "admin",
        });
    let for_self = IssueApiKey {
        grantor: Grantor::Key(key_id(1)),
        member_id: Some(member_id(1)),
        ..issue_key_command(99)
    };
    given::<Tenant>(created_and([admin, admins_key]))
        .when(&for_self.into())
        .then_ok();
    // The platform mints any.
    given::<Tenant>(created())
        .when(&for_owner(Grantor::Platform))
        .then_ok();
}

#[test]
fn removing_a_member_revokes_the_keys_acting_for_it() {
    let admin = member_added(member_id(1), "ada@acme.com", Role::Admin);
    let remove = RemoveMember {
        grantor: Grantor::Platform,
        member_id: member_id(1),
    };
    let tenant = given::<Tenant>(created_and([
        admin,
        grantor_key(1, &["*:read"], None, Some(member_id(1))),
        grantor_key(2, &["*:read"], None, None),
    ]))
    .when(&remove.into())
    .then_ok();
    assert!(tenant.api_key(key_id(1)).unwrap().revoked);
    assert!(!tenant.api_key(key_id(2)).unwrap().revoked);
}

fn scope() -> impl Strategy<Value = Scope> {
    let resources: Vec<&str> = SCOPE_RESOURCES.iter().copied().chain(["*"]).collect();
    (
        prop::sample::select(resources),
        prop::sample::select(Access::ALL),
    )
        .prop_map(|(resource, access)| {
            Scope::parse(&format!("{resource}:{}", access.as_str())).unwrap()
        })
}

/// Every (resource, access) pair a named resource can be asked for.
fn every_grant() -> impl Iterator<Item = (&'static str, Access)> {
    SCOPE_RESOURCES
        .iter()
        .flat_map(|resource| Access::ALL.iter().map(move |access| (*resource, *access)))
}

proptest! {
    /// Covering is sound: a covered scope grants nothing its holder lacks.
    #[test]
    fn a_covered_scope_grants_nothing_more(held in prop::collection::vec(scope(), 0..5), wanted in scope()) {
        if first_not_covered(&held, std::slice::from_ref(&wanted)).is_none() {
            for (resource, access) in every_grant() {
                prop_assert!(!wanted.grants(resource, access) || scopes_grant(&held, resource, access));
            }
        }
    }

    /// And complete for named resources: what the holder grants in full is covered.
    #[test]
    fn a_named_scope_the_holder_grants_is_covered(held in prop::collection::vec(scope(), 0..5), wanted in scope()) {
        let granted = every_grant().all(|(r, a)| !wanted.grants(r, a) || scopes_grant(&held, r, a));
        if wanted.resource() != "*" && granted {
            prop_assert!(first_not_covered(&held, std::slice::from_ref(&wanted)).is_none());
        }
    }

    /// `covers` is a partial order.
    #[test]
    fn covering_is_a_partial_order(a in scope(), b in scope(), c in scope()) {
        prop_assert!(a.covers(&a));
        if a.covers(&b) && b.covers(&c) {
            prop_assert!(a.covers(&c));
        }
        if a.covers(&b) && b.covers(&a) {
            prop_assert_eq!(a, b);
        }
    }

    /// Through the aggregate: a key issued by a key never grants what its issuer does not.
    #[test]
    fn an_issued_key_never_exceeds_its_issuer(
        held in prop::collection::vec(scope(), 1..4),
        wanted in prop::collection::vec(scope(), 1..4),
    ) {
        let held_text = distinct(&held);
        let wanted_text = distinct(&wanted);
        let outcome = given::<Tenant>(created_and([grantor_key(1, &held_text, None, None)]))
            .when(&issue_by_key_one(&wanted_text))
            .outcome();
        let all_covered = wanted.iter().all(|w| held.iter().any(|h| h.covers(w)));
        prop_assert_eq!(outcome.is_ok(), all_covered);
        if let Ok(events) = outcome {
            let TenantEvent::ApiKeyIssued(issued) = &events[0] else { unreachable!() };
            for (resource, access) in every_grant() {
                prop_assert!(!scopes_grant(&issued.scopes, resource, access) || scopes_grant(&held, resource, access));
            }
        }
    }

    /// A member's key gives a role exactly when the member's own role includes it.
    #[test]
    fn a_member_key_gives_exactly_the_roles_its_member_includes(
        own in prop::sample::select(Role::ALL),
        given_role in prop::sample::select(Role::ALL),
    ) {
        let history = created_and([
            member_added(member_id(1), "ada@acme.com", own),
            grantor_key(1, &["*:admin"], None, Some(member_id(1))),
        ]);
        let add = AddMember {
            grantor: Grantor::Key(key_id(1)),
            member_id: member_id(2),
            email: "bob@acme.com".into(),
            role: given_role.as_str().into(),
        };
        let outcome = given::<Tenant>(history).when(&add.into()).outcome();
        prop_assert_eq!(outcome.is_ok(), own.includes(given_role));
    }
}

/// The scopes' names, each once (a key lists no scope twice).
fn distinct(scopes: &[Scope]) -> Vec<&str> {
    let mut unique: Vec<&str> = Vec::new();
    for scope in scopes {
        if !unique.contains(&scope.as_str()) {
            unique.push(scope.as_str());
        }
    }
    unique
}
