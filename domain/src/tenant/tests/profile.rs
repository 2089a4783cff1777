//! Name, plan, quota overrides and feature flags.

use super::*;
use crate::shared::{MeterName, Plan};
use crate::testing::given;

fn renamed(name: &str) -> TenantEvent {
    TenantEvent::Renamed(TenantRenamed {
        name: TenantName::parse(name).unwrap(),
    })
}

#[test]
fn rename_records_the_trimmed_name() {
    let tenant = given::<Tenant>(created())
        .when(&rename("  Acme Corp "))
        .then(vec![renamed("Acme Corp")]);
    assert_eq!(tenant.name(), "Acme Corp");
}

#[test]
fn rename_refuses_an_empty_name() {
    given::<Tenant>(created())
        .when(&rename(" \t "))
        .then_err(invalid("name", "must not be empty"));
}

#[test]
fn rename_refuses_a_name_longer_than_200_characters() {
    given::<Tenant>(created())
        .when(&rename(&"é".repeat(201)))
        .then_err(invalid("name", "must be at most 200 characters (got 201)"));
    given::<Tenant>(created())
        .when(&rename(&"é".repeat(200)))
        .then(vec![renamed(&"é".repeat(200))]);
}

#[test]
fn rename_refuses_a_name_with_a_line_break() {
    let outcome = given::<Tenant>(created())
        .when(&rename("Acme\nCorp"))
        .outcome();
    assert_eq!(refused_field(outcome), Some("name"));
}

#[test]
fn rename_to_the_same_name_is_refused_as_unchanged() {
    given::<Tenant>(created())
        .when(&rename(" Acme "))
        .then_err(TenantError::Unchanged { field: "name" });
}

#[test]
fn change_plan_records_the_previous_and_new_plan() {
    let tenant = given::<Tenant>(created())
        .when(
            &ChangePlan {
                plan: "enterprise_plus".into(),
                effective_at: days(1),
            }
            .into(),
        )
        .then(vec![TenantEvent::PlanChanged(PlanChanged {
            previous_plan: Plan::Standard,
            plan: Plan::EnterprisePlus,
            effective_at: days(1),
        })]);
    assert_eq!(tenant.plan(), Plan::EnterprisePlus);
    assert_eq!(tenant.plan_effective_at(), Some(days(1)));
}

#[test]
fn change_plan_refuses_an_unknown_plan() {
    given::<Tenant>(created())
        .when(
            &ChangePlan {
                plan: "gold".into(),
                effective_at: days(1),
            }
            .into(),
        )
        .then_err(invalid(
            "plan",
            "`gold` is not a known plan: use one of `free`, `standard`, `premium`, \
             `enterprise`, `enterprise_plus`, `white_label`",
        ));
}

#[test]
fn change_plan_to_the_current_plan_is_refused_as_unchanged() {
    given::<Tenant>(created())
        .when(
            &ChangePlan {
                plan: "standard".into(),
                effective_at: days(1),
            }
            .into(),
        )
        .then_err(TenantError::Unchanged { field: "plan" });
}

fn quota_set(meter: &str, limit: u64) -> TenantEvent {
    TenantEvent::QuotaOverrideSet(QuotaOverrideSet {
        meter: MeterName::parse(meter).unwrap(),
        limit,
    })
}

fn set_quota(meter: &str, limit: u64) -> TenantCommand {
    SetQuotaOverride {
        meter: meter.into(),
        limit,
    }
    .into()
}

#[test]
fn set_quota_override_records_the_limit() {
    let tenant = given::<Tenant>(created())
        .when(&set_quota("api_calls", 1_000_000))
        .then(vec![quota_set("api_calls", 1_000_000)]);
    assert_eq!(tenant.quota_override("api_calls"), Some(1_000_000));
}

#[test]
fn set_quota_override_replaces_another_limit() {
    given::<Tenant>(created_and([quota_set("api_calls", 10)]))
        .when(&set_quota("api_calls", 0))
        .then(vec![quota_set("api_calls", 0)]);
}

#[test]
fn set_quota_override_refuses_an_invalid_meter_name() {
    for meter in ["", "Api_calls", "9lives", "api-calls", &"a".repeat(65)] {
        let outcome = given::<Tenant>(created())
            .when(&set_quota(meter, 1))
            .outcome();
        assert_eq!(refused_field(outcome), Some("meter"));
    }
}

#[test]
fn set_quota_override_refuses_a_meter_the_catalogue_does_not_know() {
    let outcome = given::<Tenant>(created())
        .when(&set_quota("bogus_meter", 1))
        .outcome();
    assert_eq!(refused_field(outcome), Some("meter"));
}

#[test]
fn clear_quota_override_still_clears_an_override_of_a_retired_meter() {
    given::<Tenant>(created_and([quota_set("retired_meter", 10)]))
        .when(
            &ClearQuotaOverride {
                meter: "retired_meter".into(),
            }
            .into(),
        )
        .then(vec![TenantEvent::QuotaOverrideCleared(
            QuotaOverrideCleared {
                meter: MeterName::parse("retired_meter").unwrap(),
            },
        )]);
}

#[test]
fn set_quota_override_to_the_current_limit_is_refused_as_unchanged() {
    given::<Tenant>(created_and([quota_set("api_calls", 10)]))
        .when(&set_quota("api_calls", 10))
        .then_err(TenantError::Unchanged { field: "limit" });
}

#[test]
fn clear_quota_override_removes_the_override() {
    let tenant = given::<Tenant>(created_and([quota_set("api_calls", 10)]))
        .when(
            &ClearQuotaOverride {
                meter: "api_calls".into(),
            }
            .into(),
        )
        .then(vec![TenantEvent::QuotaOverrideCleared(
            QuotaOverrideCleared {
                meter: MeterName::parse("api_calls").unwrap(),
            },
        )]);
    assert_eq!(tenant.quota_override("api_calls"), None);
}

#[test]
fn clear_quota_override_refuses_a_meter_without_override() {
    given::<Tenant>(created_and([quota_set("api_calls", 10)]))
        .when(
            &ClearQuotaOverride {
                meter: "storage_gb".into(),
            }
            .into(),
        )
        .then_err(TenantError::QuotaOverrideNotSet {
            meter: "storage_gb".into(),
        });
}

#[test]
fn clear_quota_override_refuses_an_invalid_meter_name() {
    let outcome = given::<Tenant>(created())
        .when(&ClearQuotaOverride { meter: "A".into() }.into())
        .outcome();
    assert_eq!(refused_field(outcome), Some("meter"));
}

fn flag(name: &str, enabled: bool) -> TenantCommand {
    SetFeatureFlag {
        flag: name.into(),
        enabled,
    }
    .into()
}

fn flag_set(name: &str, enabled: bool) -> TenantEvent {
    TenantEvent::FeatureFlagSet(FeatureFlagSet {
        flag: FlagName::parse(name).unwrap(),
        enabled,
    })
}

#[test]
fn set_feature_flag_records_the_value() {
    let tenant = given::<Tenant>(created())
        .when(&flag("new_billing_ui", true))
        .then(vec![flag_set("new_billing_ui", true)]);
    assert_eq!(tenant.feature_flag("new_billing_ui"), Some(true));
}

#[test]
fn turning_off_a_flag_never_set_is_recorded_because_it_overrides_the_default() {
    given::<Tenant>(created())
        .when(&flag("beta", false))
        .then(vec![flag_set("beta", false)]);
}

#[test]
fn set_feature_flag_refuses_an_invalid_flag_name() {
    let outcome = given::<Tenant>(created())
        .when(&flag("new billing", true))
        .outcome();
    assert_eq!(refused_field(outcome), Some("flag"));
}

#[test]
fn set_feature_flag_to_its_current_value_is_refused_as_unchanged() {
    given::<Tenant>(created_and([flag_set("beta", true)]))
        .when(&flag("beta", true))
        .then_err(TenantError::Unchanged { field: "enabled" });
}
