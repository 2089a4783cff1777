//! Members: adding them, changing roles, removing them, and always keeping an owner.

use super::*;
use crate::shared::{Email, Role};
use crate::testing::given;

fn add_member(id: Uuid, email: &str, role: &str) -> TenantCommand {
    AddMember {
        grantor: Grantor::Platform,
        member_id: id,
        email: email.into(),
        role: role.into(),
    }
    .into()
}

fn change_role(id: Uuid, role: &str) -> TenantCommand {
    ChangeMemberRole {
        grantor: Grantor::Platform,
        member_id: id,
        role: role.into(),
    }
    .into()
}

fn remove_member(id: Uuid) -> TenantCommand {
    RemoveMember {
        grantor: Grantor::Platform,
        member_id: id,
    }
    .into()
}

#[test]
fn add_member_records_the_lowercased_email_and_role() {
    let tenant = given::<Tenant>(created())
        .when(&add_member(member_id(1), "Ada@Acme.com", "auditor"))
        .then(vec![member_added(
            member_id(1),
            "ada@acme.com",
            Role::Auditor,
        )]);
    assert_eq!(tenant.member(member_id(1)).unwrap().role, Role::Auditor);
    assert_eq!(
        tenant.member_by_email("ada@acme.com").unwrap().id,
        member_id(1)
    );
}

#[test]
fn add_member_refuses_an_email_of_a_current_member_in_any_case() {
    given::<Tenant>(created())
        .when(&add_member(member_id(1), "OWNER@acme.com", "admin"))
        .then_err(TenantError::MemberEmailTaken {
            email: OWNER_EMAIL.into(),
        });
}

#[test]
fn add_member_accepts_the_email_of_a_removed_member() {
    let removed = TenantEvent::MemberRemoved(MemberRemoved {
        member_id: member_id(1),
        email: Email::parse("ada@acme.com").unwrap(),
        role: Role::Member,
    });
    let events = created_and([
        member_added(member_id(1), "ada@acme.com", Role::Member),
        removed,
    ]);
    given::<Tenant>(events)
        .when(&add_member(member_id(2), "ada@acme.com", "member"))
        .then(vec![member_added(
            member_id(2),
            "ada@acme.com",
            Role::Member,
        )]);
}

#[test]
fn add_member_refuses_each_invalid_field() {
    let cases = [
        (
            add_member(Uuid::nil(), "ada@acme.com", "admin"),
            "member_id",
        ),
        (add_member(member_id(1), "ada", "admin"), "email"),
        (add_member(member_id(1), "ada@acme", "admin"), "email"),
        (add_member(member_id(1), "a@b@acme.com", "admin"), "email"),
        (add_member(member_id(1), "@acme.com", "admin"), "email"),
        (
            add_member(member_id(1), "ada lovelace@acme.com", "admin"),
            "email",
        ),
        (
            add_member(member_id(1), "ada@acme.com", "superuser"),
            "role",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn add_member_refuses_a_member_id_already_used() {
    given::<Tenant>(created())
        .when(&add_member(owner_id(), "ada@acme.com", "admin"))
        .then_err(TenantError::MemberAlreadyExists {
            member_id: owner_id(),
        });
}

#[test]
fn change_member_role_records_the_previous_and_new_role() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Member)]);
    let tenant = given::<Tenant>(events)
        .when(&change_role(member_id(1), "owner"))
        .then(vec![TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: member_id(1),
            email: Email::parse("ada@acme.com").unwrap(),
            previous_role: Role::Member,
            role: Role::Owner,
        })]);
    assert_eq!(tenant.owner_count(), 2);
}

#[test]
fn change_member_role_refuses_an_unknown_member() {
    given::<Tenant>(created())
        .when(&change_role(member_id(9), "admin"))
        .then_err(TenantError::MemberNotFound {
            member_id: member_id(9),
        });
}

#[test]
fn change_member_role_refuses_an_unknown_role() {
    let outcome = given::<Tenant>(created())
        .when(&change_role(owner_id(), "Owner"))
        .outcome();
    assert_eq!(refused_field(outcome), Some("role"));
}

#[test]
fn change_member_role_to_the_current_role_is_refused_as_unchanged() {
    given::<Tenant>(created())
        .when(&change_role(owner_id(), "owner"))
        .then_err(TenantError::Unchanged { field: "role" });
}

#[test]
fn demoting_the_last_owner_is_refused() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Admin)]);
    given::<Tenant>(events)
        .when(&change_role(owner_id(), "admin"))
        .then_err(TenantError::LastOwner);
}

#[test]
fn demoting_an_owner_is_allowed_while_another_owner_remains() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Owner)]);
    let tenant = given::<Tenant>(events)
        .when(&change_role(owner_id(), "admin"))
        .then(vec![TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            previous_role: Role::Owner,
            role: Role::Admin,
        })]);
    assert_eq!(tenant.owner_count(), 1);
}

#[test]
fn remove_member_removes_them() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Admin)]);
    let tenant = given::<Tenant>(events)
        .when(&remove_member(member_id(1)))
        .then(vec![TenantEvent::MemberRemoved(MemberRemoved {
            member_id: member_id(1),
            email: Email::parse("ada@acme.com").unwrap(),
            role: Role::Admin,
        })]);
    assert_eq!(tenant.member(member_id(1)), None);
}

#[test]
fn remove_member_refuses_an_unknown_member() {
    given::<Tenant>(created())
        .when(&remove_member(member_id(9)))
        .then_err(TenantError::MemberNotFound {
            member_id: member_id(9),
        });
}

#[test]
fn removing_the_last_owner_is_refused() {
    given::<Tenant>(created())
        .when(&remove_member(owner_id()))
        .then_err(TenantError::LastOwner);
}

#[test]
fn removing_an_owner_is_allowed_while_another_owner_remains() {
    let events = created_and([member_added(member_id(1), "ada@acme.com", Role::Owner)]);
    let tenant = given::<Tenant>(events)
        .when(&remove_member(owner_id()))
        .then(vec![TenantEvent::MemberRemoved(MemberRemoved {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            role: Role::Owner,
        })]);
    assert_eq!(tenant.owner_count(), 1);
}
