//! The invoice aggregate: one per tenant and billing period, on the stream
//! `billing-<invoice id>`.
//!
//! An invoice comes into being finalised: while its period runs, the draft is only a view
//! computed from the read models. At period close `finalize` freezes the priced lines and their
//! total in `billing.invoice_finalized`; nothing changes them afterwards. Corrections are
//! credit notes (`billing.credit_note_issued`), which together never exceed the total.
//!
//! The invoice id is derived from the tenant and the period ([`invoice_id`]), and `finalize`
//! refuses any other id and an invoice that already exists. Two closers racing on one period
//! therefore append to the same stream expecting it empty: one wins, the other is refused.

use super::pricing::{LineItem, Period, PricedPeriod};
use crate::event::Upcaster;
use crate::shared::Reason;
use crate::{
    domain_events, Aggregate, AggregateId, DecisionContext, Refusal, RefusalKind, TenantId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The id of `tenant`'s invoice for `period`: the same on every server and every run.
pub fn invoice_id(tenant: TenantId, period: Period) -> Uuid {
    let digest = Sha256::digest(format!("keel invoice/{tenant}/{period}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The aggregate id of `tenant`'s invoice for `period`.
pub fn invoice_aggregate(tenant: TenantId, period: Period) -> AggregateId {
    AggregateId {
        tenant_id: tenant,
        id: invoice_id(tenant, period),
    }
}

/// Commands on an invoice.
#[derive(Debug, Clone, PartialEq)]
pub enum InvoiceCommand {
    /// Freezes a period's priced lines as the tenant's invoice.
    Finalize(FinalizeInvoice),
    /// Credits part of a finalised invoice.
    IssueCreditNote(IssueCreditNote),
}

/// Freezes `priced` as `tenant_id`'s invoice `invoice_id` (which must be [`invoice_id`] of
/// the tenant and the period).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalizeInvoice {
    /// The invoice's id.
    pub invoice_id: Uuid,
    /// The tenant billed.
    pub tenant_id: TenantId,
    /// The priced period: its lines and total.
    pub priced: PricedPeriod,
}

/// Credits `amount_minor` of a finalised invoice, for `reason`.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueCreditNote {
    /// A new, non-nil id for the credit note.
    pub credit_note_id: Uuid,
    /// At least 1 and at most what is not yet credited.
    pub amount_minor: u64,
    /// Why (1-500 characters).
    pub reason: String,
}

/// Payload of `billing.invoice_finalized`: the invoice as it will stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceFinalized {
    /// The invoice's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub invoice_id: Uuid,
    /// The tenant billed.
    #[serde(with = "uuid::serde::hyphenated")]
    pub tenant_id: Uuid,
    /// The period, `YYYY-MM`.
    pub period: Period,
    /// ISO 4217 code.
    pub currency: String,
    /// The frozen lines.
    pub lines: Vec<LineItem>,
    /// Their sum, in minor units.
    pub total_minor: u64,
    /// When it was finalised.
    pub finalized_at: DateTime<Utc>,
}

/// Payload of `billing.credit_note_issued`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditNoteIssued {
    /// The credit note's id.
    #[serde(with = "uuid::serde::hyphenated")]
    pub credit_note_id: Uuid,
    /// The amount credited, in minor units.
    pub amount_minor: u64,
    /// Why.
    pub reason: Reason,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

domain_events! {
    /// Events of an invoice.
    pub enum InvoiceEvent {
        /// See [`InvoiceFinalized`].
        Finalized(InvoiceFinalized) = FINALIZED: "billing.invoice_finalized" v 1,
        /// See [`CreditNoteIssued`].
        CreditNoteIssued(CreditNoteIssued) = CREDIT_NOTE_ISSUED: "billing.credit_note_issued" v 1,
    }
}

impl Upcaster for InvoiceEvent {}

/// Refusals of invoice commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// A field breaks its rule.
    #[error("{field} {reason}")]
    Invalid {
        /// The command field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The period is already invoiced: a final invoice never changes.
    #[error("the invoice for {0} is already finalized")]
    AlreadyFinalized(Period),
    /// There is no finalised invoice to credit.
    #[error("no such invoice")]
    NotFound,
    /// The credit note id is taken.
    #[error("credit note {0} already exists")]
    CreditNoteExists(Uuid),
    /// More than what is left to credit.
    #[error("amount_minor {requested} exceeds the {remaining} not yet credited on this invoice")]
    CreditExceedsRemaining {
        /// What was asked.
        requested: u64,
        /// The total less every credit note so far.
        remaining: u64,
    },
}

impl Refusal for InvoiceError {
    fn kind(&self) -> RefusalKind {
        match self {
            InvoiceError::Invalid { .. } | InvoiceError::CreditExceedsRemaining { .. } => {
                RefusalKind::Invalid
            }
            InvoiceError::NotFound => RefusalKind::NotFound,
            InvoiceError::AlreadyFinalized(_) | InvoiceError::CreditNoteExists(_) => {
                RefusalKind::Conflict
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            InvoiceError::Invalid { .. } => "invalid",
            InvoiceError::AlreadyFinalized(_) => "invoice_already_finalized",
            InvoiceError::NotFound => "invoice_not_found",
            InvoiceError::CreditNoteExists(_) => "credit_note_exists",
            InvoiceError::CreditExceedsRemaining { .. } => "credit_exceeds_invoice",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            InvoiceError::Invalid { field, .. } => Some((*field).to_owned()),
            InvoiceError::CreditExceedsRemaining { .. } => Some("amount_minor".into()),
            InvoiceError::CreditNoteExists(_) => Some("credit_note_id".into()),
            _ => None,
        }
    }
}

/// An invoice: nothing until finalised, then its frozen content and credit notes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    finalized: Option<InvoiceFinalized>,
    credit_notes: Vec<CreditNoteIssued>,
}

impl Invoice {
    /// The finalised invoice, if it exists.
    pub fn finalized(&self) -> Option<&InvoiceFinalized> {
        self.finalized.as_ref()
    }

    /// The credit notes, oldest first.
    pub fn credit_notes(&self) -> &[CreditNoteIssued] {
        &self.credit_notes
    }

    /// The sum of the credit notes.
    pub fn credited_minor(&self) -> u64 {
        self.credit_notes.iter().map(|c| c.amount_minor).sum()
    }

    /// The tenant billed, once finalised.
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.finalized.as_ref().map(|f| TenantId(f.tenant_id))
    }

    fn finalize(&self, c: &FinalizeInvoice, ctx: &DecisionContext) -> Decision {
        if let Some(existing) = &self.finalized {
            return Err(InvoiceError::AlreadyFinalized(existing.period));
        }
        let period = c.priced.period;
        if c.invoice_id != invoice_id(c.tenant_id, period) {
            return Err(invalid(
                "invoice_id",
                "is not the invoice id of this tenant and period",
            ));
        }
        if ctx.now < period.end() {
            return Err(invalid("period", "has not ended yet"));
        }
        if c.priced.lines.is_empty() {
            return Err(invalid(
                "lines",
                "must not be empty: the tenant had no billed day",
            ));
        }
        // The total is recomputed, so a frozen invoice always adds up.
        let total_minor = c
            .priced
            .lines
            .iter()
            .fold(0u64, |sum, line| sum.saturating_add(line.amount_minor));
        Ok(vec![InvoiceEvent::Finalized(InvoiceFinalized {
            invoice_id: c.invoice_id,
            tenant_id: c.tenant_id.0,
            period,
            currency: c.priced.currency.clone(),
            lines: c.priced.lines.clone(),
            total_minor,
            finalized_at: ctx.now,
        })])
    }

    fn issue_credit_note(&self, c: &IssueCreditNote, ctx: &DecisionContext) -> Decision {
        let invoice = self.finalized.as_ref().ok_or(InvoiceError::NotFound)?;
        if c.credit_note_id.is_nil() {
            return Err(invalid("credit_note_id", "must not be the nil id"));
        }
        if self
            .credit_notes
            .iter()
            .any(|n| n.credit_note_id == c.credit_note_id)
        {
            return Err(InvoiceError::CreditNoteExists(c.credit_note_id));
        }
        let reason = Reason::parse(&c.reason).map_err(|e| invalid("reason", e.reason()))?;
        if c.amount_minor == 0 {
            return Err(invalid("amount_minor", "must be at least 1"));
        }
        let remaining = invoice.total_minor.saturating_sub(self.credited_minor());
        if c.amount_minor > remaining {
            return Err(InvoiceError::CreditExceedsRemaining {
                requested: c.amount_minor,
                remaining,
            });
        }
        Ok(vec![InvoiceEvent::CreditNoteIssued(CreditNoteIssued {
            credit_note_id: c.credit_note_id,
            amount_minor: c.amount_minor,
            reason,
            issued_at: ctx.now,
        })])
    }
}

type Decision = Result<Vec<InvoiceEvent>, InvoiceError>;

fn invalid(field: &'static str, reason: &str) -> InvoiceError {
    InvoiceError::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

impl Aggregate for Invoice {
    type Command = InvoiceCommand;
    type Event = InvoiceEvent;
    type Error = InvoiceError;
    const KIND: &'static str = "billing";
    const SNAPSHOT_VERSION: u16 = 1;

    fn decide(&self, command: &InvoiceCommand, ctx: &DecisionContext) -> Decision {
        match command {
            InvoiceCommand::Finalize(c) => self.finalize(c, ctx),
            InvoiceCommand::IssueCreditNote(c) => self.issue_credit_note(c, ctx),
        }
    }

    fn apply(&mut self, event: &InvoiceEvent) {
        match event {
            InvoiceEvent::Finalized(e) => self.finalized = Some(e.clone()),
            InvoiceEvent::CreditNoteIssued(e) => self.credit_notes.push(e.clone()),
        }
    }
}
