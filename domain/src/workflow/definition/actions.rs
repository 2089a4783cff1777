//! From the raw action of an action step to a validated [`Action`]: recipients, integration
//! calls, Keel commands (tenant commands are checked against the tenant's command set, so a typo
//! is caught when the workflow is defined) and field writes.

use super::convert::{at, check_party_list, member, Checked, MAX_JSON_BYTES};
use super::error::WorkflowError;
use super::input::{ActionInput, RecipientInput};
use crate::shared::{Email, Role};
use crate::tenant::TenantCommand;
use crate::workflow::steps::{Action, CommandTarget, Recipient};
use crate::workflow::values::{FieldPath, Message, OperationName, Subject};

pub(super) fn action(input: &ActionInput, prefix: &str) -> Checked<Action> {
    let field = |name: &str| format!("{prefix}.{name}");
    Ok(match input {
        ActionInput::Notify {
            to,
            subject,
            message,
        } => {
            let to = to
                .iter()
                .map(|r| recipient(r, &field("to")))
                .collect::<Checked<Vec<_>>>()?;
            check_party_list(&to, &field("to"))?;
            Action::Notify {
                to,
                subject: at(Subject::parse(subject), &field("subject"))?,
                message: at(Message::parse(message), &field("message"))?,
            }
        }
        ActionInput::CallIntegration {
            integration_id,
            operation,
            payload,
        } => {
            if integration_id.is_nil() {
                return Err(WorkflowError::invalid(
                    field("integration_id"),
                    "must not be the nil id",
                ));
            }
            if !(payload.is_object() || payload.is_null()) {
                return Err(WorkflowError::invalid(
                    field("payload"),
                    "must be a JSON object",
                ));
            }
            check_json_size(payload, &field("payload"))?;
            Action::CallIntegration {
                integration_id: *integration_id,
                operation: at(OperationName::parse(operation), &field("operation"))?,
                payload: payload.clone(),
            }
        }
        ActionInput::KeelCommand {
            target,
            aggregate_id,
            command,
        } => keel_command(target, *aggregate_id, command, prefix)?,
        ActionInput::SetField {
            field: target,
            value,
            from,
        } => {
            let target = at(FieldPath::parse(target), &field("field"))?;
            let from = from
                .as_deref()
                .map(|raw| at(FieldPath::parse(raw), &field("from")))
                .transpose()?;
            if value.is_some() == from.is_some() {
                return Err(WorkflowError::invalid(
                    prefix,
                    "must give exactly one of `value` (a fixed value) and `from` (a field path)",
                ));
            }
            if let Some(value) = value {
                check_json_size(value, &field("value"))?;
            }
            Action::SetField {
                field: target,
                value: value.clone(),
                from,
            }
        }
    })
}

fn recipient(input: &RecipientInput, field: &str) -> Checked<Recipient> {
    match input {
        RecipientInput::Role(role) => at(Role::parse(role).map(Recipient::Role), field),
        RecipientInput::Member(id) => member(*id, field).map(Recipient::Member),
        RecipientInput::Email(email) => at(Email::parse(email).map(Recipient::Email), field),
    }
}

fn keel_command(
    target: &str,
    aggregate_id: Option<uuid::Uuid>,
    command: &serde_json::Value,
    prefix: &str,
) -> Checked<Action> {
    let field = |name: &str| format!("{prefix}.{name}");
    let Some(&(target, _)) = CommandTarget::ALL.iter().find(|(_, name)| *name == target) else {
        let names: Vec<String> = CommandTarget::ALL
            .iter()
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        return Err(WorkflowError::invalid(
            field("target"),
            format!("must be one of {}", names.join(", ")),
        ));
    };
    check_json_size(command, &field("command"))?;
    if !command.get("command").is_some_and(|name| name.is_string()) {
        return Err(WorkflowError::invalid(
            field("command"),
            "must be an object naming its command, e.g. {\"command\": \"suspend\", ...}",
        ));
    }
    match (target, aggregate_id) {
        (CommandTarget::Tenant, Some(_)) => {
            return Err(WorkflowError::invalid(
                field("aggregate_id"),
                "must be absent for `tenant`: a workflow acts on its own tenant only",
            ))
        }
        (CommandTarget::Tenant, None) => {
            // The tenant's command set is known here, so a typo is caught at definition time.
            if let Err(e) = serde_json::from_value::<TenantCommand>(command.clone()) {
                return Err(WorkflowError::invalid(
                    field("command"),
                    format!("is not a valid tenant command: {e}"),
                ));
            }
        }
        (_, None) => {
            return Err(WorkflowError::invalid(
                field("aggregate_id"),
                "is required for this target",
            ))
        }
        (_, Some(id)) if id.is_nil() => {
            return Err(WorkflowError::invalid(
                field("aggregate_id"),
                "must not be the nil id",
            ))
        }
        (_, Some(_)) => {}
    }
    Ok(Action::KeelCommand {
        target,
        aggregate_id,
        command: command.clone(),
    })
}

fn check_json_size(value: &serde_json::Value, field: &str) -> Checked<()> {
    // Serializing a `Value` cannot fail (its keys are strings); an error counts as too large.
    let size = serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_JSON_BYTES {
        return Err(WorkflowError::invalid(
            field,
            format!("must be at most {MAX_JSON_BYTES} bytes of JSON (got {size})"),
        ));
    }
    Ok(())
}
