//! Storage and wire shapes: event encoding, command JSON and snapshots.

use super::*;
use crate::event::{decode_msgpack, encode_payload, payload_to_json};
use crate::{Aggregate, DomainEvent};
use serde_json::json;

/// One instance of every event, with documents of every kind.
fn one_of_each_event() -> Vec<PolicyEvent> {
    vec![
        drafted(),
        revised(2),
        published(2, None),
        PolicyEvent::Revised(PolicyRevised {
            tenant_id: tenant_id(),
            policy_id: policy_id(),
            name: PolicyName::parse(NAME).unwrap(),
            kind: PolicyKind::IpAllowlist,
            version: 3,
            document: validate_json(json!({"kind": "ip_allowlist", "rules": [
                {"cidr": "10.0.0.0/8", "description": "VPN"}, {"cidr": "2001:db8::/32"}]}))
            .unwrap(),
        }),
        published(3, Some(2)),
        deactivated(3),
        archived(3),
    ]
}

#[test]
fn every_event_type_round_trips_and_has_a_json_view() {
    let events = one_of_each_event();
    crate::testing::assert_codec_covers(&events, PolicyEvent::EVENT_TYPES);
    assert!(events.iter().all(|e| e.schema_version() == 1));
}

#[test]
fn documents_of_every_kind_round_trip_through_message_pack() {
    let documents = [
        json!({"kind": "access", "rules": [{"effect": "allow", "roles": ["*"], "actions": ["read"],
            "resources": ["*"], "not_before": "2026-01-01T00:00:00Z"}]}),
        json!({"kind": "ip_allowlist", "rules": [{"cidr": "::/0"}]}),
        json!({"kind": "rate_limit", "rules": [{"endpoint_group": "*", "requests_per_second": 5, "burst": 10}]}),
        json!({"kind": "data_retention", "rules": [{"data_class": "audit_log", "days": 365}]}),
        json!({"kind": "mfa", "rules": [{"role": "admin", "required": true}]}),
        json!({"kind": "compliance", "rules": [{"framework": "soc2", "controls": ["audit_log"]}]}),
    ];
    for json in documents {
        let document = validate_json(json.clone()).unwrap();
        let bytes = encode_payload(&document).unwrap();
        assert_eq!(decode_msgpack::<PolicyDocument>(&bytes).unwrap(), document);
        assert_eq!(
            payload_to_json(&bytes).unwrap(),
            serde_json::to_value(&document).unwrap()
        );
        // The stored shape is the shape a command carries.
        let as_input: PolicyDocumentInput = serde_json::to_value(&document)
            .and_then(serde_json::from_value)
            .unwrap();
        assert_eq!(as_input.validate().unwrap(), document);
    }
}

#[test]
fn payloads_have_a_json_view_with_ids_as_text_and_the_document_tagged() {
    let json = payload_to_json(&published(2, Some(1)).encode().unwrap()).unwrap();
    assert_eq!(json["tenant_id"], tenant_id().to_string());
    assert_eq!(json["policy_id"], policy_id().to_string());
    assert_eq!(json["name"], NAME);
    assert_eq!(json["kind"], "access");
    assert_eq!(json["version"], 2);
    assert_eq!(json["replaced_version"], 1);
    assert_eq!(json["document"]["kind"], "access");
    assert_eq!(json["document"]["rules"][0]["roles"], json!(["admin"]));
}

#[test]
fn commands_deserialize_from_the_api_json() {
    let command: PolicyCommand = serde_json::from_value(json!({
        "command": "draft",
        "policy_id": policy_id(),
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "name": "Office only",
        "document": {"kind": "ip_allowlist", "rules": [{"cidr": "10.0.0.0/8"}]},
    }))
    .unwrap();
    assert_eq!(command.name(), "draft");
    let PolicyCommand::Draft(draft) = command else {
        panic!("expected a draft");
    };
    assert!(draft.tenant_id.is_platform());
    assert_eq!(draft.document.kind(), PolicyKind::IpAllowlist);

    let publish: PolicyCommand =
        serde_json::from_value(json!({"command": "publish", "version": 2})).unwrap();
    assert_eq!(publish, PublishPolicy { version: 2 }.into());
    for name in ["deactivate", "archive"] {
        let command: PolicyCommand = serde_json::from_value(json!({"command": name})).unwrap();
        assert_eq!(command.name(), name);
    }
    assert!(serde_json::from_value::<PolicyCommand>(
        json!({"command": "publish", "version": 2, "force": true})
    )
    .is_err());
    assert!(serde_json::from_value::<PolicyCommand>(json!({"command": "delete"})).is_err());
}

#[test]
fn state_snapshot_round_trips_through_json_and_message_pack() {
    let state = Policy::from_events(
        drafted_and([revised(2), revised(3), published(2, None), revised(4)]).iter(),
    );
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), state);
    let bytes = encode_payload(&state).unwrap();
    assert_eq!(decode_msgpack::<Policy>(&bytes).unwrap(), state);
}

#[test]
fn aggregate_constants_are_as_stored() {
    use crate::Aggregate;
    assert_eq!(Policy::KIND, "policy");
    assert_eq!(Policy::SNAPSHOT_VERSION, 1);
}

#[test]
fn folding_events_out_of_order_never_panics_and_keeps_versions_numbered() {
    // A valid stream never holds these; apply must still be total.
    let odd = [
        revised(5),
        published(9, None),
        deactivated(1),
        archived(0),
        published(1, None),
    ];
    let policy = Policy::from_events(odd.iter());
    assert!(policy.versions().is_empty());
    let policy = Policy::from_events(drafted_and([revised(3), revised(2)]).iter());
    let numbers: Vec<u32> = policy.versions().iter().map(|v| v.number).collect();
    assert_eq!(numbers, [1, 2]);
}
