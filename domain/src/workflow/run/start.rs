//! Starting a run: the pinned definition must be the run's tenant's, enabled and valid; the
//! trigger must be the one the definition listens to (or a manual start); the input is a
//! bounded JSON object.

use super::commands::{RunTriggerInput, StartRun};
use super::decide::Decided;
use super::error::WorkflowRunError;
use super::events::{RunEvent, RunStarted, RunTrigger};
use crate::workflow::graph;
use crate::workflow::trigger::Trigger;
use crate::workflow::values::{EventType, HookName};

/// The largest JSON value a command may carry (input, trigger payload, step output), in bytes.
pub const MAX_RUN_JSON_BYTES: usize = 64 * 1024;

/// Checks a JSON value's size (and that it is an object or null, where `object` says so).
pub(super) fn check_json(
    value: &serde_json::Value,
    field: &'static str,
    object: bool,
) -> Result<(), WorkflowRunError> {
    if object && !(value.is_object() || value.is_null()) {
        return Err(WorkflowRunError::invalid(field, "must be a JSON object"));
    }
    // Serializing a `Value` cannot fail (its keys are strings); an error counts as too large.
    let size = serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_RUN_JSON_BYTES {
        return Err(WorkflowRunError::invalid(
            field,
            format!("must be at most {MAX_RUN_JSON_BYTES} bytes of JSON (got {size})"),
        ));
    }
    Ok(())
}

pub(super) fn start(c: &StartRun) -> Decided {
    if c.tenant_id.is_platform() {
        return Err(WorkflowRunError::invalid(
            "tenant_id",
            "must not be the platform (nil) id: a run belongs to a tenant",
        ));
    }
    if c.run_id.is_nil() {
        return Err(WorkflowRunError::invalid(
            "run_id",
            "must not be the nil id",
        ));
    }
    let definition = &c.definition;
    if definition.tenant_id != c.tenant_id {
        return Err(WorkflowRunError::TenantMismatch {
            tenant_id: c.tenant_id,
            definition_tenant_id: definition.tenant_id,
        });
    }
    if !definition.enabled {
        return Err(WorkflowRunError::DefinitionNotEnabled {
            workflow_id: definition.workflow_id,
            version: definition.version,
        });
    }
    graph::validate(&definition.steps).map_err(WorkflowRunError::InvalidDefinition)?;
    let trigger = run_trigger(&c.trigger, &definition.trigger)?;
    check_json(&c.input, "input", true)?;
    let input = if c.input.is_null() {
        serde_json::json!({})
    } else {
        c.input.clone()
    };
    // `validate` refused an empty list, so there is a first step.
    let Some(first) = definition.steps.first() else {
        return Err(WorkflowRunError::InvalidDefinition(
            graph::StepsError::NoSteps,
        ));
    };
    Ok(vec![RunEvent::Started(RunStarted {
        tenant_id: c.tenant_id,
        run_id: c.run_id,
        workflow_id: definition.workflow_id,
        definition_version: definition.version,
        steps: definition.steps.clone(),
        trigger,
        input,
        first_step: first.id().clone(),
    })])
}

/// Checks what started the run against what the definition listens to.
fn run_trigger(
    input: &RunTriggerInput,
    expected: &Trigger,
) -> Result<RunTrigger, WorkflowRunError> {
    let trigger = match input {
        RunTriggerInput::Event {
            event_id,
            event_type,
            payload,
        } => {
            check_json(payload, "trigger.payload", false)?;
            RunTrigger::Event {
                event_id: *event_id,
                event_type: EventType::parse(event_type)
                    .map_err(|e| WorkflowRunError::invalid("trigger.event_type", e.reason()))?,
                payload: payload.clone(),
            }
        }
        RunTriggerInput::Schedule { scheduled_for } => RunTrigger::Schedule {
            scheduled_for: *scheduled_for,
        },
        RunTriggerInput::Manual {} => RunTrigger::Manual,
        RunTriggerInput::Webhook {
            hook,
            delivery_id,
            body,
        } => {
            check_json(body, "trigger.body", false)?;
            RunTrigger::Webhook {
                hook: HookName::parse(hook)
                    .map_err(|e| WorkflowRunError::invalid("trigger.hook", e.reason()))?,
                delivery_id: *delivery_id,
                body: body.clone(),
            }
        }
    };
    let matches = match (&trigger, expected) {
        (RunTrigger::Manual, _) => true,
        (RunTrigger::Event { event_type, .. }, Trigger::Event { event_type: e, .. }) => {
            event_type == e
        }
        (RunTrigger::Schedule { .. }, Trigger::Schedule { .. }) => true,
        (RunTrigger::Webhook { hook, .. }, Trigger::Webhook { hook: h }) => hook == h,
        _ => false,
    };
    if !matches {
        let given = match &trigger {
            RunTrigger::Event { event_type, .. } => format!("event `{event_type}`"),
            RunTrigger::Schedule { .. } => "a schedule".into(),
            RunTrigger::Manual => "manual".into(),
            RunTrigger::Webhook { hook, .. } => format!("webhook `{hook}`"),
        };
        return Err(WorkflowRunError::TriggerMismatch {
            expected: expected.describe(),
            given,
        });
    }
    Ok(trigger)
}
