//! Tests of the invoice aggregate, as given (past events) / when (command) / then (new events
//! or a refusal).

use super::*;
use crate::shared::{Plan, Reason};
use crate::testing::{assert_codec_covers, given};
use crate::TenantId;
use chrono::{TimeZone, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

fn tenant() -> TenantId {
    TenantId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

fn november() -> Period {
    Period::parse("2026-11").unwrap()
}

/// November priced for a tenant on standard since October: one base line of 4,900.
fn priced() -> PricedPeriod {
    let history = PlanHistory {
        records: vec![(
            Utc.with_ymd_and_hms(2026, 10, 3, 0, 0, 0).unwrap(),
            Plan::Standard,
        )],
        closed_at: None,
    };
    price_period(
        &Catalogue::builtin(),
        november(),
        &history,
        &BTreeMap::new(),
    )
}

/// After November ended.
fn december() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()
}

fn finalize() -> InvoiceCommand {
    InvoiceCommand::Finalize(FinalizeInvoice {
        invoice_id: invoice_id(tenant(), november()),
        tenant_id: tenant(),
        priced: priced(),
    })
}

fn finalized() -> InvoiceEvent {
    let priced = priced();
    InvoiceEvent::Finalized(InvoiceFinalized {
        invoice_id: invoice_id(tenant(), november()),
        tenant_id: tenant().0,
        period: november(),
        currency: "USD".into(),
        total_minor: 4_900,
        lines: priced.lines,
        finalized_at: december(),
    })
}

fn credit(n: u128, amount_minor: u64) -> InvoiceCommand {
    InvoiceCommand::IssueCreditNote(IssueCreditNote {
        credit_note_id: Uuid::from_u128(n),
        amount_minor,
        reason: "  outage on the 3rd ".into(),
    })
}

fn credited(n: u128, amount_minor: u64) -> InvoiceEvent {
    InvoiceEvent::CreditNoteIssued(CreditNoteIssued {
        credit_note_id: Uuid::from_u128(n),
        amount_minor,
        reason: Reason::parse("outage on the 3rd").unwrap(),
        issued_at: december(),
    })
}

/// The field an `Invalid` refusal names.
#[track_caller]
fn invalid_field(then: crate::testing::Then<Invoice>) -> &'static str {
    match then.outcome() {
        Err(InvoiceError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn a_finished_period_is_finalized_with_its_lines_and_total() {
    let state = given::<Invoice>(vec![])
        .at(december())
        .when(&finalize())
        .then(vec![finalized()]);
    assert_eq!(state.tenant_id(), Some(tenant()));
    assert_eq!(state.finalized().unwrap().total_minor, 4_900);
}

#[test]
fn a_finalized_invoice_is_never_finalized_again() {
    given::<Invoice>(vec![finalized()])
        .at(december())
        .when(&finalize())
        .then_err(InvoiceError::AlreadyFinalized(november()));
}

#[test]
fn a_running_period_cannot_be_finalized() {
    assert_eq!(
        invalid_field(
            given::<Invoice>(vec![])
                .at(Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).unwrap())
                .when(&finalize())
        ),
        "period"
    );
}

#[test]
fn an_invoice_id_not_derived_from_tenant_and_period_is_refused() {
    let InvoiceCommand::Finalize(mut command) = finalize() else {
        unreachable!()
    };
    command.invoice_id = Uuid::from_u128(7);
    assert_eq!(
        invalid_field(
            given::<Invoice>(vec![])
                .at(december())
                .when(&InvoiceCommand::Finalize(command))
        ),
        "invoice_id"
    );
}

#[test]
fn an_invoice_without_lines_is_refused() {
    let InvoiceCommand::Finalize(mut command) = finalize() else {
        unreachable!()
    };
    command.priced.lines.clear();
    assert_eq!(
        invalid_field(
            given::<Invoice>(vec![])
                .at(december())
                .when(&InvoiceCommand::Finalize(command))
        ),
        "lines"
    );
}

#[test]
fn the_total_is_recomputed_from_the_lines() {
    let InvoiceCommand::Finalize(mut command) = finalize() else {
        unreachable!()
    };
    command.priced.total_minor = 1;
    given::<Invoice>(vec![])
        .at(december())
        .when(&InvoiceCommand::Finalize(command))
        .then(vec![finalized()]);
}

#[test]
fn credit_notes_credit_up_to_the_total() {
    let state = given::<Invoice>(vec![finalized(), credited(1, 4_000)])
        .at(december())
        .when(&credit(2, 900))
        .then(vec![credited(2, 900)]);
    assert_eq!(state.credited_minor(), 4_900);
    assert_eq!(state.credit_notes().len(), 2);
}

#[test]
fn a_credit_note_beyond_what_remains_names_the_amount() {
    let refusal = InvoiceError::CreditExceedsRemaining {
        requested: 901,
        remaining: 900,
    };
    assert_eq!(
        crate::Refusal::field(&refusal).as_deref(),
        Some("amount_minor")
    );
    assert_eq!(crate::Refusal::kind(&refusal), crate::RefusalKind::Invalid);
    given::<Invoice>(vec![finalized(), credited(1, 4_000)])
        .at(december())
        .when(&credit(2, 901))
        .then_err(refusal);
}

#[test]
fn only_a_finalized_invoice_can_be_credited() {
    given::<Invoice>(vec![])
        .when(&credit(1, 10))
        .then_err(InvoiceError::NotFound);
}

#[test]
fn a_credit_note_needs_an_amount_a_reason_and_a_new_id() {
    assert_eq!(
        invalid_field(given::<Invoice>(vec![finalized()]).when(&credit(1, 0))),
        "amount_minor"
    );
    let InvoiceCommand::IssueCreditNote(mut blank) = credit(1, 5) else {
        unreachable!()
    };
    blank.reason = "  ".into();
    assert_eq!(
        invalid_field(
            given::<Invoice>(vec![finalized()]).when(&InvoiceCommand::IssueCreditNote(blank))
        ),
        "reason"
    );
    given::<Invoice>(vec![finalized(), credited(1, 5)])
        .when(&credit(1, 5))
        .then_err(InvoiceError::CreditNoteExists(Uuid::from_u128(1)));
    assert_eq!(
        invalid_field(given::<Invoice>(vec![finalized()]).when(&credit(0, 5))),
        "credit_note_id"
    );
}

#[test]
fn invoice_ids_are_stable_per_tenant_and_period() {
    assert_eq!(
        invoice_id(tenant(), november()),
        invoice_id(tenant(), november())
    );
    assert_ne!(
        invoice_id(tenant(), november()),
        invoice_id(tenant(), november().next())
    );
    assert_ne!(
        invoice_id(tenant(), november()),
        invoice_id(TenantId(Uuid::from_u128(2)), november())
    );
}

#[test]
fn every_invoice_event_round_trips_through_its_codec() {
    assert_codec_covers(&[finalized(), credited(1, 5)], InvoiceEvent::EVENT_TYPES);
}
