//! Validated values: what each accepts and refuses.

use crate::workflow::values::*;

#[test]
fn step_ids_and_hook_names_are_lowercase_handles() {
    assert!(StepId::parse("check-plan_2").is_ok());
    assert!(StepId::parse("2nd").is_ok());
    for bad in ["", "Check", "-x", "a b", &"x".repeat(65)] {
        assert!(StepId::parse(bad).is_err(), "`{bad}`");
        assert!(HookName::parse(bad).is_err(), "`{bad}`");
    }
}

#[test]
fn event_types_are_aggregate_dot_fact() {
    assert!(EventType::parse("tenant.plan_changed").is_ok());
    for bad in [
        "tenant",
        "tenant.",
        ".x",
        "Tenant.created",
        "a.b.c",
        "tenant.plan-changed",
    ] {
        let error = EventType::parse(bad).unwrap_err();
        assert!(error.reason().contains("<aggregate>.<fact>"), "`{bad}`");
    }
}

#[test]
fn names_and_subjects_are_one_trimmed_line() {
    assert_eq!(WorkflowName::parse("  Upgrade  ").unwrap(), "Upgrade");
    assert_eq!(
        WorkflowName::parse("a\nb").unwrap_err().reason(),
        "must not contain control characters such as line breaks"
    );
    assert_eq!(
        Subject::parse(" ").unwrap_err().reason(),
        "must not be empty"
    );
    assert!(WorkflowName::parse(&"x".repeat(201)).is_err());
}

#[test]
fn messages_may_span_lines() {
    assert!(Message::parse("line one\nline two\ttabbed").is_ok());
    assert!(Message::parse("bell \u{7}").is_err());
    assert!(Message::parse(&"x".repeat(5001)).is_err());
}

#[test]
fn field_paths_check_syntax_and_know_their_root() {
    let path = FieldPath::parse("input.order.seats").unwrap();
    assert_eq!(path.root(), "input");
    assert_eq!(
        path.segments().collect::<Vec<_>>(),
        vec!["input", "order", "seats"]
    );
    assert!(path.has_known_root());
    assert!(!FieldPath::parse("input").unwrap().has_known_root());
    assert!(!FieldPath::parse("payload.x").unwrap().has_known_root());
    for bad in [
        "",
        "input.",
        "input..a",
        "input.1a",
        "in put.a",
        "input.a-b",
    ] {
        assert!(FieldPath::parse(bad).is_err(), "`{bad}`");
    }
    assert!(FieldPath::parse(&vec!["a"; 17].join(".")).is_err());
}
