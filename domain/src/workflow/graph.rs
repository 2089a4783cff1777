//! The rules a workflow's steps obey as a whole: checked when a definition is decided, and
//! again when a run starts on a pinned copy (which comes from outside the run's stream).
//!
//! - there is at least one step and at most [`MAX_STEPS`];
//! - step ids are unique;
//! - every step a step names as its successor exists;
//! - every field path starts with a known root (`input.`, `context.`, `trigger.`, `tenant.`,
//!   see [`KNOWN_ROOTS`](super::values::KNOWN_ROOTS)), and `set_field` writes only under
//!   `context.`;
//! - every loop passes through a step that waits (an approval or a wait step): a loop of
//!   conditions and actions alone would spin a run forever without anyone being able to step in;
//! - every step can be reached from the first one (an unreachable step is almost always a typo
//!   in a successor's name).
//!
//! Problems are reported in step order, so the same definition always gets the same answer.

use super::steps::Step;
use super::values::{known_roots_rule, StepId, WRITABLE_ROOT};
use std::collections::{BTreeMap, BTreeSet};

/// The most steps a workflow may have.
pub const MAX_STEPS: usize = 100;

/// Why a list of steps does not form a valid workflow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepsError {
    /// The workflow has no steps.
    #[error("a workflow needs at least one step")]
    NoSteps,
    /// The workflow has more than [`MAX_STEPS`] steps.
    #[error("a workflow may have at most {max} steps (got {count})")]
    TooManySteps {
        /// The limit.
        max: usize,
        /// How many were given.
        count: usize,
    },
    /// Two steps share an id.
    #[error("two steps have the id `{step_id}`: step ids must be unique")]
    DuplicateStepId {
        /// The shared id.
        step_id: StepId,
    },
    /// A step names a successor that does not exist.
    #[error("step `{step_id}` names `{target}` in `{field}`, but there is no step `{target}`")]
    MissingStep {
        /// The step that names it.
        step_id: StepId,
        /// The field that names it (`next`, `on_true`, ...).
        field: &'static str,
        /// The missing step's id.
        target: StepId,
    },
    /// A field path does not start with a known root.
    #[error("step `{step_id}` uses the unknown field `{path}` in `{field}`: {rule}")]
    UnknownField {
        /// The step.
        step_id: StepId,
        /// The step's field that holds the path (`condition`, `action.field`, ...).
        field: &'static str,
        /// The path.
        path: String,
        /// The rule, spelled out.
        rule: String,
    },
    /// A `set_field` action writes outside `context.`.
    #[error("step `{step_id}` writes `{path}`, but only fields under `context.` can be set")]
    ReadOnlyField {
        /// The step.
        step_id: StepId,
        /// The path it writes.
        path: String,
    },
    /// Steps form a loop in which nothing waits.
    #[error(
        "steps {} form a loop without an approval or wait step, so a run would never stop",
        .cycle.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" → ")
    )]
    CycleWithoutWait {
        /// The loop, starting and ending with the same step.
        cycle: Vec<StepId>,
    },
    /// A step no run can reach.
    #[error("step `{step_id}` can never be reached from the first step `{first}`")]
    UnreachableStep {
        /// The unreachable step.
        step_id: StepId,
        /// Where runs begin.
        first: StepId,
    },
}

impl StepsError {
    /// A stable snake_case code for this kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            StepsError::NoSteps => "no_steps",
            StepsError::TooManySteps { .. } => "too_many_steps",
            StepsError::DuplicateStepId { .. } => "duplicate_step_id",
            StepsError::MissingStep { .. } => "missing_step",
            StepsError::UnknownField { .. } => "unknown_field",
            StepsError::ReadOnlyField { .. } => "read_only_field",
            StepsError::CycleWithoutWait { .. } => "cycle_without_wait",
            StepsError::UnreachableStep { .. } => "unreachable_step",
        }
    }
}

/// Checks the rules above.
pub fn validate(steps: &[Step]) -> Result<(), StepsError> {
    let Some(first) = steps.first() else {
        return Err(StepsError::NoSteps);
    };
    if steps.len() > MAX_STEPS {
        return Err(StepsError::TooManySteps {
            max: MAX_STEPS,
            count: steps.len(),
        });
    }
    let mut by_id: BTreeMap<&StepId, &Step> = BTreeMap::new();
    for step in steps {
        if by_id.insert(step.id(), step).is_some() {
            return Err(StepsError::DuplicateStepId {
                step_id: step.id().clone(),
            });
        }
    }
    for step in steps {
        check_successors(step, &by_id)?;
        check_fields(step)?;
    }
    check_loops(steps, &by_id)?;
    check_reachable(steps, first, &by_id)
}

fn check_successors(step: &Step, by_id: &BTreeMap<&StepId, &Step>) -> Result<(), StepsError> {
    for (field, target) in step.successors() {
        if !by_id.contains_key(target) {
            return Err(StepsError::MissingStep {
                step_id: step.id().clone(),
                field,
                target: target.clone(),
            });
        }
    }
    Ok(())
}

fn check_fields(step: &Step) -> Result<(), StepsError> {
    for (field, path) in step.field_paths() {
        if !path.has_known_root() {
            return Err(StepsError::UnknownField {
                step_id: step.id().clone(),
                field,
                path: path.to_string(),
                rule: known_roots_rule(),
            });
        }
        if field == "action.field" && path.root() != WRITABLE_ROOT {
            return Err(StepsError::ReadOnlyField {
                step_id: step.id().clone(),
                path: path.to_string(),
            });
        }
    }
    Ok(())
}

/// Finds a loop among the steps that do not wait: removing the waiting steps must leave a graph
/// without cycles. Depth-first search with the classic three colours; the depth is bounded by
/// [`MAX_STEPS`].
fn check_loops(steps: &[Step], by_id: &BTreeMap<&StepId, &Step>) -> Result<(), StepsError> {
    let mut done: BTreeSet<&StepId> = BTreeSet::new();
    for step in steps.iter().filter(|s| !s.waits()) {
        let mut path = Vec::new();
        if let Some(cycle) = find_cycle(step, by_id, &mut path, &mut done) {
            return Err(StepsError::CycleWithoutWait { cycle });
        }
    }
    Ok(())
}

fn find_cycle<'a>(
    step: &'a Step,
    by_id: &BTreeMap<&'a StepId, &'a Step>,
    path: &mut Vec<&'a StepId>,
    done: &mut BTreeSet<&'a StepId>,
) -> Option<Vec<StepId>> {
    if done.contains(step.id()) {
        return None;
    }
    if let Some(start) = path.iter().position(|id| *id == step.id()) {
        let mut cycle: Vec<StepId> = path[start..].iter().map(|id| (*id).clone()).collect();
        cycle.push(step.id().clone());
        return Some(cycle);
    }
    path.push(step.id());
    for (_, target) in step.successors() {
        match by_id.get(target).copied() {
            Some(next) if !next.waits() => {
                if let Some(cycle) = find_cycle(next, by_id, path, done) {
                    return Some(cycle);
                }
            }
            _ => {}
        }
    }
    path.pop();
    done.insert(step.id());
    None
}

fn check_reachable(
    steps: &[Step],
    first: &Step,
    by_id: &BTreeMap<&StepId, &Step>,
) -> Result<(), StepsError> {
    let mut reached: BTreeSet<&StepId> = BTreeSet::new();
    let mut queue = vec![first];
    while let Some(step) = queue.pop() {
        if reached.insert(step.id()) {
            queue.extend(
                step.successors()
                    .into_iter()
                    .filter_map(|(_, target)| by_id.get(target).copied()),
            );
        }
    }
    match steps.iter().find(|s| !reached.contains(s.id())) {
        Some(step) => Err(StepsError::UnreachableStep {
            step_id: step.id().clone(),
            first: first.id().clone(),
        }),
        None => Ok(()),
    }
}
