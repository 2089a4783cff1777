//! Creation, suspension, reactivation and decommissioning, and the status gate.

use super::*;
use crate::shared::Plan;
use crate::testing::given;
use crate::Aggregate;

#[test]
fn create_records_the_tenant_and_its_owner() {
    let tenant = given::<Tenant>(vec![])
        .when(&create_command().into())
        .then(created());
    assert_eq!(tenant.status(), TenantStatus::Active);
    assert_eq!(tenant.id(), tenant_id());
    assert_eq!(tenant.name(), "Acme");
    assert_eq!(tenant.slug(), "acme");
    assert_eq!(tenant.plan(), Plan::Standard);
    assert_eq!(tenant.data_region(), "eu-west-1");
    assert_eq!(tenant.owner_count(), 1);
    assert_eq!(tenant.member(owner_id()).unwrap().email, OWNER_EMAIL);
    assert_eq!(tenant.settings(), &TenantSettings::default());
}

#[test]
fn create_trims_the_name_and_lowercases_the_owner_email() {
    let command = CreateTenant {
        name: "  Acme  ".into(),
        owner_email: " Owner@ACME.com ".into(),
        ..create_command()
    };
    given::<Tenant>(vec![])
        .when(&command.into())
        .then(created());
}

#[test]
fn create_claims_the_slug() {
    let claims: Vec<_> = created().iter().flat_map(Tenant::claims).collect();
    assert_eq!(
        claims,
        vec![crate::Claim {
            scope: "tenant-slug",
            value: "acme".into()
        }]
    );
}

#[test]
fn creating_an_existing_tenant_is_refused_as_already_exists() {
    given::<Tenant>(created())
        .when(&create_command().into())
        .then_err(TenantError::AlreadyExists);
}

#[test]
fn creating_a_decommissioned_tenant_again_is_refused_as_already_exists() {
    given::<Tenant>(created_and([
        decommission_scheduled(days(-1)),
        decommissioned(),
    ]))
    .when(&create_command().into())
    .then_err(TenantError::AlreadyExists);
}

#[test]
fn create_refuses_an_invalid_slug_naming_the_field() {
    let command = CreateTenant {
        slug: "Acme!".into(),
        ..create_command()
    };
    let error = given::<Tenant>(vec![])
        .when(&command.into())
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("slug"));
    assert_eq!(error.code(), "invalid");
    assert_eq!(
        error.to_string(),
        "slug `Acme!` is invalid: use 3-63 lowercase letters, digits or '-', \
         not starting or ending with '-'"
    );
}

#[test]
fn create_refuses_each_invalid_field() {
    let cases: Vec<(CreateTenant, &str)> = vec![
        (
            CreateTenant {
                tenant_id: TenantId::PLATFORM,
                ..create_command()
            },
            "tenant_id",
        ),
        (
            CreateTenant {
                owner_member_id: Uuid::nil(),
                ..create_command()
            },
            "owner_member_id",
        ),
        (
            CreateTenant {
                name: "   ".into(),
                ..create_command()
            },
            "name",
        ),
        (
            CreateTenant {
                plan: "gold".into(),
                ..create_command()
            },
            "plan",
        ),
        (
            CreateTenant {
                data_region: "EU West".into(),
                ..create_command()
            },
            "data_region",
        ),
        (
            CreateTenant {
                owner_email: "owner-at-acme.com".into(),
                ..create_command()
            },
            "owner_email",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(vec![]).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn commands_on_a_tenant_not_yet_created_are_refused_as_not_found() {
    for command in every_command_but_create() {
        given::<Tenant>(vec![])
            .when(&command)
            .then_err(TenantError::NotFound);
    }
}

#[test]
fn suspend_records_the_trimmed_reason() {
    let tenant = given::<Tenant>(created())
        .when(
            &SuspendTenant {
                reason: " unpaid invoices ".into(),
            }
            .into(),
        )
        .then(vec![suspended()]);
    assert_eq!(tenant.status(), TenantStatus::Suspended);
    assert_eq!(tenant.suspension_reason().unwrap(), "unpaid invoices");
}

#[test]
fn suspend_refuses_an_empty_reason() {
    given::<Tenant>(created())
        .when(&SuspendTenant { reason: " ".into() }.into())
        .then_err(invalid("reason", "must not be empty"));
}

#[test]
fn suspending_a_suspended_tenant_is_refused() {
    given::<Tenant>(created_and([suspended()]))
        .when(
            &SuspendTenant {
                reason: "again".into(),
            }
            .into(),
        )
        .then_err(TenantError::Suspended);
}

#[test]
fn suspended_tenant_refuses_rename() {
    given::<Tenant>(created_and([suspended()]))
        .when(&rename("Acme Corp"))
        .then_err(TenantError::Suspended);
}

#[test]
fn suspended_tenant_refuses_every_command_but_reactivation_and_decommissioning() {
    for command in every_command_but_create() {
        let outcome = given::<Tenant>(created_and([suspended()]))
            .when(&command)
            .outcome();
        if command.allowed_while_suspended() {
            assert_ne!(outcome, Err(TenantError::Suspended), "{}", command.name());
        } else {
            assert_eq!(outcome, Err(TenantError::Suspended), "{}", command.name());
        }
    }
}

#[test]
fn reactivate_lifts_the_suspension() {
    let tenant = given::<Tenant>(created_and([suspended()]))
        .when(&ReactivateTenant {}.into())
        .then(vec![TenantEvent::Reactivated(TenantReactivated {})]);
    assert_eq!(tenant.status(), TenantStatus::Active);
    assert_eq!(tenant.suspension_reason(), None);
}

#[test]
fn reactivate_keeps_a_scheduled_decommission() {
    let events = created_and([suspended(), decommission_scheduled(days(30))]);
    let tenant = given::<Tenant>(events)
        .when(&ReactivateTenant {}.into())
        .then(vec![TenantEvent::Reactivated(TenantReactivated {})]);
    assert_eq!(tenant.decommission_at(), Some(days(30)));
}

#[test]
fn reactivating_an_active_tenant_is_refused() {
    given::<Tenant>(created())
        .when(&ReactivateTenant {}.into())
        .then_err(TenantError::NotSuspended);
}

#[test]
fn schedule_decommission_records_the_time() {
    let tenant = given::<Tenant>(created())
        .when(&ScheduleDecommission { at: days(30) }.into())
        .then(vec![decommission_scheduled(days(30))]);
    assert_eq!(tenant.decommission_at(), Some(days(30)));
    assert_eq!(tenant.status(), TenantStatus::Active);
}

#[test]
fn schedule_decommission_is_allowed_while_suspended() {
    given::<Tenant>(created_and([suspended()]))
        .when(&ScheduleDecommission { at: days(30) }.into())
        .then(vec![decommission_scheduled(days(30))]);
}

#[test]
fn schedule_decommission_refuses_a_time_not_in_the_future() {
    for at in [test_now(), days(-1)] {
        given::<Tenant>(created())
            .when(&ScheduleDecommission { at }.into())
            .then_err(invalid("at", "must be in the future"));
    }
}

#[test]
fn rescheduling_a_decommission_to_another_time_is_recorded() {
    given::<Tenant>(created_and([decommission_scheduled(days(30))]))
        .when(&ScheduleDecommission { at: days(60) }.into())
        .then(vec![decommission_scheduled(days(60))]);
}

#[test]
fn rescheduling_a_decommission_to_the_same_time_is_refused_as_unchanged() {
    given::<Tenant>(created_and([decommission_scheduled(days(30))]))
        .when(&ScheduleDecommission { at: days(30) }.into())
        .then_err(TenantError::Unchanged { field: "at" });
}

#[test]
fn cancel_decommission_clears_the_schedule() {
    let tenant = given::<Tenant>(created_and([suspended(), decommission_scheduled(days(30))]))
        .when(&CancelDecommission {}.into())
        .then(vec![TenantEvent::DecommissionCancelled(
            DecommissionCancelled {},
        )]);
    assert_eq!(tenant.decommission_at(), None);
}

#[test]
fn cancel_decommission_refuses_when_none_is_scheduled() {
    given::<Tenant>(created())
        .when(&CancelDecommission {}.into())
        .then_err(TenantError::DecommissionNotScheduled);
}

#[test]
fn decommission_ends_the_tenant_once_the_scheduled_time_has_come() {
    for now in [days(30), days(31)] {
        let tenant = given::<Tenant>(created_and([decommission_scheduled(days(30))]))
            .at(now)
            .when(&DecommissionTenant {}.into())
            .then(vec![decommissioned()]);
        assert_eq!(tenant.status(), TenantStatus::Decommissioned);
    }
}

#[test]
fn decommission_is_allowed_while_suspended() {
    given::<Tenant>(created_and([suspended(), decommission_scheduled(days(30))]))
        .at(days(30))
        .when(&DecommissionTenant {}.into())
        .then(vec![decommissioned()]);
}

#[test]
fn decommission_refuses_when_none_is_scheduled() {
    given::<Tenant>(created())
        .when(&DecommissionTenant {}.into())
        .then_err(TenantError::DecommissionNotScheduled);
}

#[test]
fn decommission_refuses_before_the_scheduled_time() {
    given::<Tenant>(created_and([decommission_scheduled(days(30))]))
        .at(days(29))
        .when(&DecommissionTenant {}.into())
        .then_err(TenantError::DecommissionNotDue {
            scheduled_at: days(30),
        });
}

#[test]
fn decommissioned_tenant_refuses_every_command() {
    let events = created_and([decommission_scheduled(days(1)), decommissioned()]);
    for command in every_command_but_create() {
        given::<Tenant>(events.clone())
            .at(days(2))
            .when(&command)
            .then_err(TenantError::Decommissioned);
    }
}
