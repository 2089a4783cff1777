//! From the raw trigger and steps of a command to validated [`Trigger`] and [`Step`] values.
//!
//! Each step is checked on its own first (formats, ranges, conditions), with errors naming the
//! field as a path into the command (`steps[2].approvers`); then the steps are checked as a whole
//! by [`graph::validate`](crate::workflow::graph::validate).

use super::actions;
use super::error::WorkflowError;
use super::input::{ApproverInput, OnTimeoutInput, RetryInput, StepInput, TriggerInput};
use crate::shared::Role;
use crate::workflow::cron::CronExpression;
use crate::workflow::expression::Condition;
use crate::workflow::graph::{self, MAX_STEPS};
use crate::workflow::steps::{
    ActionStep, ApprovalStep, Approver, ConditionStep, OnTimeout, RetryPolicy, Step, WaitStep,
};
use crate::workflow::trigger::{Trigger, FILTER_ROOTS};
use crate::workflow::values::{EventType, HookName, InvalidValue, StepId};
use std::collections::BTreeSet;

/// The most approvers or recipients one step may list.
pub const MAX_PARTIES: usize = 50;
/// The longest approval deadline and wait: a year, in seconds.
pub const MAX_DURATION_SECONDS: u32 = 365 * 86_400;
/// The shortest approval deadline, in seconds.
pub const MIN_APPROVAL_SECONDS: u32 = 60;
/// The largest JSON value a step may carry (payload, command, fixed value), in bytes.
pub const MAX_JSON_BYTES: usize = 16 * 1024;

pub(super) type Checked<T> = Result<T, WorkflowError>;

/// Attaches a field path to a value's parse failure.
pub(super) fn at<T>(result: Result<T, InvalidValue>, field: &str) -> Checked<T> {
    result.map_err(|e| WorkflowError::invalid(field, e.reason()))
}

/// Checks a trigger.
pub(super) fn trigger(input: &TriggerInput) -> Checked<Trigger> {
    Ok(match input {
        TriggerInput::Event { event_type, filter } => Trigger::Event {
            event_type: at(EventType::parse(event_type), "trigger.event_type")?,
            filter: filter
                .as_deref()
                .map(|raw| event_filter(raw, "trigger.filter"))
                .transpose()?,
        },
        TriggerInput::Schedule { cron } => Trigger::Schedule {
            cron: at(CronExpression::parse(cron), "trigger.cron")?,
        },
        TriggerInput::Manual {} => Trigger::Manual,
        TriggerInput::Webhook { hook } => Trigger::Webhook {
            hook: at(HookName::parse(hook), "trigger.hook")?,
        },
    })
}

/// An event filter: a condition reading only the event and the tenant.
fn event_filter(raw: &str, field: &str) -> Checked<Condition> {
    let filter = condition(raw, field)?;
    if let Some(path) = filter
        .paths()
        .into_iter()
        .find(|p| !(FILTER_ROOTS.contains(&p.path.root()) && p.path.has_known_root()))
    {
        return Err(WorkflowError::invalid(
            field,
            format!(
                "uses `{}` (column {}): a trigger filter can only read fields under `trigger.` \
                 (the event's payload) and `tenant.`",
                path.path, path.column
            ),
        ));
    }
    Ok(filter)
}

fn condition(raw: &str, field: &str) -> Checked<Condition> {
    Condition::parse(raw).map_err(|error| WorkflowError::InvalidCondition {
        field: field.to_owned(),
        error,
    })
}

/// Checks every step, then the steps as a whole.
pub(super) fn steps(inputs: &[StepInput]) -> Checked<Vec<Step>> {
    // Refuse an oversized list before checking each of its steps.
    if inputs.len() > MAX_STEPS {
        return Err(graph::StepsError::TooManySteps {
            max: MAX_STEPS,
            count: inputs.len(),
        }
        .into());
    }
    let steps = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| step(input, &format!("steps[{i}]")))
        .collect::<Checked<Vec<Step>>>()?;
    graph::validate(&steps)?;
    Ok(steps)
}

fn step(input: &StepInput, prefix: &str) -> Checked<Step> {
    let field = |name: &str| format!("{prefix}.{name}");
    Ok(match input {
        StepInput::Condition {
            id,
            condition: raw,
            on_true,
            on_false,
        } => Step::Condition(ConditionStep {
            id: at(StepId::parse(id), &field("id"))?,
            condition: condition(raw, &field("condition"))?,
            on_true: step_ref(on_true, &field("on_true"))?,
            on_false: step_ref(on_false, &field("on_false"))?,
        }),
        StepInput::Action {
            id,
            action: raw,
            retry,
            next,
        } => Step::Action(ActionStep {
            id: at(StepId::parse(id), &field("id"))?,
            action: actions::action(raw, &field("action"))?,
            retry: retry_policy(retry.as_ref(), &field("retry"))?,
            next: step_ref(next, &field("next"))?,
        }),
        StepInput::Approval {
            id,
            approvers,
            platform_admins_may_approve,
            required,
            timeout_seconds,
            on_timeout,
            on_approved,
            on_rejected,
        } => {
            let approvers = approver_list(approvers, &field("approvers"))?;
            check_required(*required, &approvers, &field("required"))?;
            check_duration(
                *timeout_seconds,
                MIN_APPROVAL_SECONDS,
                &field("timeout_seconds"),
            )?;
            Step::Approval(ApprovalStep {
                id: at(StepId::parse(id), &field("id"))?,
                approvers,
                platform_admins_may_approve: *platform_admins_may_approve,
                required: *required,
                timeout_seconds: *timeout_seconds,
                on_timeout: match on_timeout {
                    OnTimeoutInput::Reject => OnTimeout::Reject,
                    OnTimeoutInput::Approve => OnTimeout::Approve,
                    OnTimeoutInput::Escalate { to } => OnTimeout::Escalate {
                        to: at(StepId::parse(to), &field("on_timeout.to"))?,
                    },
                },
                on_approved: step_ref(on_approved, &field("on_approved"))?,
                on_rejected: step_ref(on_rejected, &field("on_rejected"))?,
            })
        }
        StepInput::Wait { id, seconds, next } => {
            check_duration(*seconds, 1, &field("seconds"))?;
            Step::Wait(WaitStep {
                id: at(StepId::parse(id), &field("id"))?,
                seconds: *seconds,
                next: step_ref(next, &field("next"))?,
            })
        }
    })
}

fn step_ref(raw: &Option<String>, field: &str) -> Checked<Option<StepId>> {
    raw.as_deref()
        .map(|raw| at(StepId::parse(raw), field))
        .transpose()
}

fn check_duration(seconds: u32, min: u32, field: &str) -> Checked<()> {
    if (min..=MAX_DURATION_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(WorkflowError::invalid(
            field,
            format!("must be from {min} to {MAX_DURATION_SECONDS} seconds (365 days)"),
        ))
    }
}

fn retry_policy(input: Option<&RetryInput>, field: &str) -> Checked<RetryPolicy> {
    let Some(input) = input else {
        return Ok(RetryPolicy::default());
    };
    if !(1..=RetryPolicy::MAX_ATTEMPTS).contains(&input.max_attempts) {
        return Err(WorkflowError::invalid(
            format!("{field}.max_attempts"),
            format!("must be from 1 to {}", RetryPolicy::MAX_ATTEMPTS),
        ));
    }
    if !(1..=RetryPolicy::MAX_BACKOFF_SECONDS).contains(&input.backoff_seconds) {
        return Err(WorkflowError::invalid(
            format!("{field}.backoff_seconds"),
            format!(
                "must be from 1 to {} seconds",
                RetryPolicy::MAX_BACKOFF_SECONDS
            ),
        ));
    }
    Ok(RetryPolicy {
        max_attempts: input.max_attempts,
        backoff_seconds: input.backoff_seconds,
    })
}

fn approver_list(inputs: &[ApproverInput], field: &str) -> Checked<Vec<Approver>> {
    let approvers = inputs
        .iter()
        .map(|input| match input {
            ApproverInput::Role(role) => at(Role::parse(role).map(Approver::Role), field),
            ApproverInput::Member(id) => member(*id, field).map(Approver::Member),
        })
        .collect::<Checked<Vec<_>>>()?;
    check_party_list(&approvers, field)?;
    Ok(approvers)
}

fn check_required(required: u32, approvers: &[Approver], field: &str) -> Checked<()> {
    let only_members = approvers.iter().all(|a| matches!(a, Approver::Member(_)));
    let max = if only_members {
        approvers.len()
    } else {
        MAX_PARTIES
    };
    if required == 0 || required as usize > max {
        let reason = if only_members {
            format!("must be from 1 to the {max} named approver(s)")
        } else {
            format!("must be from 1 to {max}")
        };
        return Err(WorkflowError::invalid(field, reason));
    }
    Ok(())
}

pub(super) fn member(id: uuid::Uuid, field: &str) -> Checked<uuid::Uuid> {
    if id.is_nil() {
        Err(WorkflowError::invalid(
            field,
            "must not name the nil member id",
        ))
    } else {
        Ok(id)
    }
}

/// Refuses an empty, oversized or repetitive list of approvers or recipients.
pub(super) fn check_party_list<T: Ord>(parties: &[T], field: &str) -> Checked<()> {
    if parties.is_empty() || parties.len() > MAX_PARTIES {
        return Err(WorkflowError::invalid(
            field,
            format!("must list 1 to {MAX_PARTIES} entries"),
        ));
    }
    let distinct: BTreeSet<&T> = parties.iter().collect();
    if distinct.len() != parties.len() {
        return Err(WorkflowError::invalid(field, "lists the same entry twice"));
    }
    Ok(())
}
