//! Branding (replaced as a whole) and settings (patched field by field).

use super::*;
use crate::testing::given;

fn branding(name: Option<&str>, logo: Option<&str>, color: Option<&str>) -> UpdateBranding {
    UpdateBranding {
        display_name: name.map(Into::into),
        logo_url: logo.map(Into::into),
        primary_color: color.map(Into::into),
    }
}

#[test]
fn update_branding_records_the_normalized_branding() {
    let tenant = given::<Tenant>(created())
        .when(&branding(Some("ACME"), Some("https://cdn.acme.com"), Some("#1A7F5A")).into())
        .then(vec![TenantEvent::BrandingUpdated(BrandingUpdated {
            display_name: Some(TenantName::parse("ACME").unwrap()),
            logo_url: Some(LogoUrl::parse("https://cdn.acme.com/").unwrap()),
            primary_color: Some(HexColor::parse("#1a7f5a").unwrap()),
        })]);
    assert_eq!(tenant.branding().primary_color.as_ref().unwrap(), "#1a7f5a");
    assert_eq!(
        tenant.branding().logo_url.as_ref().unwrap(),
        "https://cdn.acme.com/"
    );
}

#[test]
fn update_branding_clears_the_parts_not_given() {
    let before = TenantEvent::BrandingUpdated(BrandingUpdated {
        display_name: Some(TenantName::parse("ACME").unwrap()),
        logo_url: None,
        primary_color: Some(HexColor::parse("#000000").unwrap()),
    });
    let tenant = given::<Tenant>(created_and([before]))
        .when(&branding(Some("ACME"), None, None).into())
        .then(vec![TenantEvent::BrandingUpdated(BrandingUpdated {
            display_name: Some(TenantName::parse("ACME").unwrap()),
            logo_url: None,
            primary_color: None,
        })]);
    assert_eq!(tenant.branding().primary_color, None);
}

#[test]
fn update_branding_refuses_each_invalid_part() {
    let cases = [
        (branding(Some(""), None, None), "display_name"),
        (
            branding(None, Some("ftp://cdn.acme.com/logo.png"), None),
            "logo_url",
        ),
        (branding(None, Some("/logo.png"), None), "logo_url"),
        (
            branding(None, Some("https://user:pw@cdn.acme.com/l.png"), None),
            "logo_url",
        ),
        (branding(None, None, Some("#12345")), "primary_color"),
        (branding(None, None, Some("red")), "primary_color"),
        (branding(None, None, Some("#12345g")), "primary_color"),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn update_branding_with_the_current_branding_is_refused_as_unchanged() {
    given::<Tenant>(created())
        .when(&UpdateBranding::default().into())
        .then_err(TenantError::Unchanged { field: "branding" });
}

#[test]
fn update_settings_records_only_the_changed_fields() {
    let command = UpdateSettings {
        timezone: Some("Europe/London".into()),
        locale: Some("en-US".into()), // the default already
        session_timeout_minutes: Some(30),
        allow_public_signup: Some(false), // the default already
        require_mfa: Some(true),
        audit_log_retention_days: Some(730),
    };
    let tenant =
        given::<Tenant>(created())
            .when(&command.into())
            .then(vec![TenantEvent::SettingsUpdated(SettingsUpdated {
                timezone: Some(Timezone::parse("Europe/London").unwrap()),
                session_timeout_minutes: Some(30),
                require_mfa: Some(true),
                audit_log_retention_days: Some(730),
                ..Default::default()
            })]);
    let settings = tenant.settings();
    assert_eq!(settings.timezone, "Europe/London");
    assert_eq!(settings.locale, "en-US");
    assert_eq!(settings.session_timeout_minutes, 30);
    assert!(settings.require_mfa);
    assert!(!settings.allow_public_signup);
    assert_eq!(settings.audit_log_retention_days, 730);
}

#[test]
fn update_settings_refuses_each_invalid_field() {
    let cases = [
        (
            UpdateSettings {
                timezone: Some("".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            UpdateSettings {
                timezone: Some("europe/london".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            UpdateSettings {
                locale: Some("en_GB".into()),
                ..Default::default()
            },
            "locale",
        ),
        (
            UpdateSettings {
                session_timeout_minutes: Some(4),
                ..Default::default()
            },
            "session_timeout_minutes",
        ),
        (
            UpdateSettings {
                session_timeout_minutes: Some(1441),
                ..Default::default()
            },
            "session_timeout_minutes",
        ),
        (
            UpdateSettings {
                audit_log_retention_days: Some(29),
                ..Default::default()
            },
            "audit_log_retention_days",
        ),
    ];
    for (command, field) in cases {
        let outcome = given::<Tenant>(created()).when(&command.into()).outcome();
        assert_eq!(refused_field(outcome), Some(field));
    }
}

#[test]
fn update_settings_reports_a_bad_field_even_next_to_a_change() {
    let command = UpdateSettings {
        require_mfa: Some(true),
        session_timeout_minutes: Some(0),
        ..Default::default()
    };
    given::<Tenant>(created())
        .when(&command.into())
        .then_err(invalid(
            "session_timeout_minutes",
            "must be between 5 and 1440 (got 0)",
        ));
}

#[test]
fn update_settings_that_change_nothing_are_refused_as_unchanged() {
    let same = UpdateSettings {
        timezone: Some("UTC".into()),
        session_timeout_minutes: Some(60),
        ..Default::default()
    };
    for command in [UpdateSettings::default(), same] {
        given::<Tenant>(created())
            .when(&command.into())
            .then_err(TenantError::Unchanged { field: "settings" });
    }
}
