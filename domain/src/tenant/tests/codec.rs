//! Storage and wire shapes: event encoding, command JSON, snapshots and error metadata.

use super::*;
use crate::event::payload_to_json;
use crate::shared::{Email, MeterName, Plan, Role};
use crate::testing::given;
use crate::{DomainEvent, EventCodecError};

/// One instance of every event.
fn one_of_each_event() -> Vec<TenantEvent> {
    let mut events = created();
    events.extend([
        TenantEvent::Renamed(TenantRenamed {
            name: TenantName::parse("Acme Corp").unwrap(),
        }),
        TenantEvent::BrandingUpdated(BrandingUpdated {
            display_name: Some(TenantName::parse("ACME").unwrap()),
            logo_url: Some(LogoUrl::parse("https://cdn.acme.com/logo.png").unwrap()),
            primary_color: None,
        }),
        TenantEvent::SettingsUpdated(SettingsUpdated {
            locale: Some(Locale::parse("en-GB").unwrap()),
            require_mfa: Some(true),
            ..Default::default()
        }),
        TenantEvent::PlanChanged(PlanChanged {
            previous_plan: Plan::Standard,
            plan: Plan::WhiteLabel,
            effective_at: days(1),
        }),
        TenantEvent::QuotaOverrideSet(QuotaOverrideSet {
            meter: MeterName::parse("api_calls").unwrap(),
            limit: u64::MAX,
        }),
        TenantEvent::QuotaOverrideCleared(QuotaOverrideCleared {
            meter: MeterName::parse("api_calls").unwrap(),
        }),
        TenantEvent::FeatureFlagSet(FeatureFlagSet {
            flag: FlagName::parse("beta").unwrap(),
            enabled: true,
        }),
        domain_added("app.acme.com"),
        domain_verified("app.acme.com"),
        domain_unverified("app.acme.com", "the proof is gone"),
        TenantEvent::DomainRemoved(DomainRemoved {
            domain: DomainName::parse("app.acme.com").unwrap(),
        }),
        key_issued(1),
        TenantEvent::ApiKeyRevoked(ApiKeyRevoked { key_id: key_id(1) }),
        TenantEvent::ApiKeyExpired(ApiKeyExpired {
            key_id: key_id(1),
            expires_at: days(90),
        }),
        TenantEvent::MemberRoleChanged(MemberRoleChanged {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            previous_role: Role::Owner,
            role: Role::Admin,
        }),
        TenantEvent::MemberRemoved(MemberRemoved {
            member_id: owner_id(),
            email: Email::parse(OWNER_EMAIL).unwrap(),
            role: Role::Admin,
        }),
        suspended(),
        TenantEvent::Reactivated(TenantReactivated {}),
        decommission_scheduled(days(30)),
        TenantEvent::DecommissionCancelled(DecommissionCancelled {}),
        decommissioned(),
    ]);
    events
}

#[test]
fn every_event_type_round_trips_and_has_a_json_view() {
    let events = one_of_each_event();
    crate::testing::assert_codec_covers(&events, TenantEvent::EVENT_TYPES);
    for event in &events {
        let versioned = [
            TenantEvent::DOMAIN_ADDED,
            TenantEvent::DOMAIN_VERIFIED,
            TenantEvent::API_KEY_ISSUED,
        ];
        let expected = if versioned.contains(&event.event_type()) {
            2
        } else {
            1
        };
        assert_eq!(event.schema_version(), expected, "{}", event.event_type());
    }
}

#[test]
fn version_1_domain_events_upcast_to_no_token_and_no_proof() {
    let v1 = crate::event::encode_payload(&serde_json::json!({"domain": "app.acme.com"})).unwrap();
    let added = TenantEvent::decode(TenantEvent::DOMAIN_ADDED, 1, &v1).unwrap();
    let domain = DomainName::parse("app.acme.com").unwrap();
    assert_eq!(
        added,
        TenantEvent::DomainAdded(DomainAdded {
            domain: domain.clone(),
            challenge: None
        })
    );
    let verified = TenantEvent::decode(TenantEvent::DOMAIN_VERIFIED, 1, &v1).unwrap();
    assert_eq!(
        verified,
        TenantEvent::DomainVerified(DomainVerified {
            domain,
            proof: None
        })
    );
    let renamed = TenantEvent::decode(TenantEvent::RENAMED, 0, &v1);
    assert!(matches!(renamed, Err(EventCodecError::NoUpcaster { .. })));
}

#[test]
fn a_version_1_key_becomes_a_service_key() {
    let TenantEvent::ApiKeyIssued(current) = key_issued(1) else {
        unreachable!()
    };
    let mut v1 = serde_json::to_value(&current).unwrap();
    v1.as_object_mut().unwrap().remove("member_id");
    let bytes = rmp_serde::to_vec_named(&v1).unwrap();
    let decoded = TenantEvent::decode(TenantEvent::API_KEY_ISSUED, 1, &bytes).unwrap();
    assert_eq!(decoded, TenantEvent::ApiKeyIssued(current));
}

#[test]
fn every_payload_has_a_json_view_with_ids_as_text() {
    for event in one_of_each_event() {
        let json = payload_to_json(&event.encode().unwrap());
        assert!(json.is_ok(), "{}: {json:?}", event.event_type());
    }
    let json = payload_to_json(&created()[0].encode().unwrap()).unwrap();
    assert_eq!(json["tenant_id"], tenant_id().to_string());
    assert_eq!(json["owner_member_id"], owner_id().to_string());
    assert_eq!(json["plan"], "standard");
}

#[test]
fn payloads_are_stored_with_readable_field_names() {
    let bytes = key_issued(1).encode().unwrap();
    let json = payload_to_json(&bytes).unwrap();
    assert_eq!(json["secret_hash"], HASH);
    assert_eq!(
        json["scopes"],
        serde_json::json!(["workflows:write", "*:read"])
    );
    assert_eq!(json["prefix"], "kl_live_4f9a");
    assert_eq!(json["key_id"], key_id(1).to_string());

    let settings = TenantEvent::SettingsUpdated(SettingsUpdated {
        require_mfa: Some(true),
        ..Default::default()
    });
    let json = payload_to_json(&settings.encode().unwrap()).unwrap();
    assert_eq!(json, serde_json::json!({"require_mfa": true}));
}

#[test]
fn commands_deserialize_from_json_named_by_a_command_field() {
    let command: TenantCommand =
        serde_json::from_str(r#"{"command": "rename", "name": "Acme Corp"}"#).unwrap();
    assert_eq!(command, rename("Acme Corp"));
    let command: TenantCommand =
        serde_json::from_str(r#"{"command": "update_settings", "require_mfa": true}"#).unwrap();
    assert_eq!(
        command,
        UpdateSettings {
            require_mfa: Some(true),
            ..Default::default()
        }
        .into()
    );
    let body: IssueApiKey = serde_json::from_value(serde_json::json!({
        "grantor": {"kind": "key", "key_id": key_id(2)},
        "key_id": key_id(1),
        "name": "CI",
        "scopes": ["usage:read"],
        "prefix": "kl_abc",
        "secret_hash": HASH,
    }))
    .unwrap();
    assert_eq!(body.expires_at, None);
    assert_eq!(body.grantor, Grantor::Key(key_id(2)));
}

#[test]
fn commands_refuse_unknown_json_fields() {
    let typo = serde_json::from_str::<UpdateSettings>(r#"{"require_mfaa": true}"#);
    assert!(typo.is_err());
    let typo =
        serde_json::from_str::<TenantCommand>(r#"{"command": "rename", "name": "A", "x": 1}"#);
    assert!(typo.is_err());
}

#[test]
fn every_command_name_is_its_json_tag() {
    let mut commands = every_command_but_create();
    commands.push(create_command().into());
    for command in commands {
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["command"], command.name());
        let back: TenantCommand = serde_json::from_value(json).unwrap();
        assert_eq!(back, command);
    }
}

/// A state holding something in every part.
fn rich_state() -> Tenant {
    let events = one_of_each_event();
    // Leave out the last events (which clear and end things) but keep everything else.
    let mut state = <Tenant as crate::Aggregate>::from_events(events.iter().take(events.len() - 4));
    for event in [
        domain_added("www.acme.com"),
        key_issued(2),
        TenantEvent::QuotaOverrideSet(QuotaOverrideSet {
            meter: MeterName::parse("seats").unwrap(),
            limit: 25,
        }),
        member_added(member_id(1), "ada@acme.com", Role::Owner),
        decommission_scheduled(days(30)),
    ] {
        crate::Aggregate::apply(&mut state, &event);
    }
    state
}

#[test]
fn state_snapshot_round_trips_through_json_and_message_pack() {
    let state = rich_state();
    assert!(!state.domains().is_empty() && !state.api_keys().is_empty());
    assert!(!state.quota_overrides().is_empty() && !state.feature_flags().is_empty());
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<Tenant>(&json).unwrap(), state);
    let bytes = crate::event::encode_payload(&state).unwrap();
    assert_eq!(
        crate::event::decode_msgpack::<Tenant>(&bytes).unwrap(),
        state
    );
}

#[test]
fn aggregate_constants_are_as_stored() {
    use crate::Aggregate;
    assert_eq!(Tenant::KIND, "tenant");
    assert_eq!(Tenant::SNAPSHOT_VERSION, 3);
    assert_eq!(SLUG_CLAIM_SCOPE, "tenant-slug");
    assert_eq!(DOMAIN_CLAIM_SCOPE, "tenant-domain");
}

#[test]
fn only_creation_and_domain_verification_claim_anything() {
    use crate::Aggregate;
    for event in one_of_each_event().iter().skip(1) {
        let claims = !Tenant::claims(event).is_empty();
        assert_eq!(
            claims,
            event.event_type() == TenantEvent::DOMAIN_VERIFIED,
            "{}",
            event.event_type()
        );
    }
}

#[test]
fn errors_name_their_field_and_code() {
    let error = given::<Tenant>(created())
        .when(&rename(""))
        .outcome()
        .unwrap_err();
    assert_eq!(error.field(), Some("name"));
    assert_eq!(error.to_string(), "name must not be empty");
    assert_eq!(TenantError::LastOwner.field(), None);
    assert_eq!(TenantError::LastOwner.code(), "last_owner");
    let taken = TenantError::MemberEmailTaken {
        email: "a@b.co".into(),
    };
    assert_eq!(taken.field(), Some("email"));
    assert_eq!(
        taken.to_string(),
        "`a@b.co` is already a member of this tenant"
    );
}
