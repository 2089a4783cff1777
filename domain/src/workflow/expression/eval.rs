//! Evaluates a parsed condition over a run's data (pure; the engine calls it).
//!
//! The rules, chosen so that optional data does not need guarding:
//! - a field path that leads nowhere reads as `null`;
//! - in a condition position (`and`, `or`, `not`, the whole expression) `null` counts as false,
//!   any other non-boolean value is an [`EvaluationError::NotBoolean`];
//! - `==` and `!=` compare any two values (numbers by value: `1 == 1.0`);
//! - `<`, `<=`, `>`, `>=` order two numbers or two strings; with `null` on either side they are
//!   false, other mixes are an [`EvaluationError::NotComparable`];
//! - `and` and `or` short-circuit.

use super::{CompareOp, Expr, Literal};
use serde_json::Value;
use std::cmp::Ordering;

/// Why a condition could not be evaluated over a run's data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    /// A value used as a condition is not a boolean.
    #[error("{what} is {found}, which is neither true nor false")]
    NotBoolean {
        /// The path (or "a value") that was used as a condition.
        what: String,
        /// What it was ("a number", "a string", ...).
        found: &'static str,
    },
    /// An ordering of two values that have no common order.
    #[error("`{op}` cannot order {left} and {right}")]
    NotComparable {
        /// The operator.
        op: &'static str,
        /// What the left value was.
        left: &'static str,
        /// What the right value was.
        right: &'static str,
    },
}

/// Evaluates `expr` as a condition over `data`.
pub(super) fn evaluate(expr: &Expr, data: &Value) -> Result<bool, EvaluationError> {
    truth(expr, data)
}

fn truth(expr: &Expr, data: &Value) -> Result<bool, EvaluationError> {
    match expr {
        Expr::Not(inner) => Ok(!truth(inner, data)?),
        Expr::And(left, right) => Ok(truth(left, data)? && truth(right, data)?),
        Expr::Or(left, right) => Ok(truth(left, data)? || truth(right, data)?),
        Expr::Compare(op, left, right) => compare(*op, &value(left, data)?, &value(right, data)?),
        Expr::Literal(_) | Expr::Path(_) => match value(expr, data)? {
            Value::Bool(b) => Ok(b),
            Value::Null => Ok(false),
            other => Err(EvaluationError::NotBoolean {
                what: match expr {
                    Expr::Path(path) => format!("`{}`", path.path),
                    _ => "a value".into(),
                },
                found: kind(&other),
            }),
        },
    }
}

fn value(expr: &Expr, data: &Value) -> Result<Value, EvaluationError> {
    Ok(match expr {
        Expr::Literal(Literal::String(s)) => Value::String(s.clone()),
        Expr::Literal(Literal::Number(n)) => serde_json::Number::from_f64(*n)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Expr::Literal(Literal::Bool(b)) => Value::Bool(*b),
        Expr::Literal(Literal::Null) => Value::Null,
        Expr::Path(path) => lookup(data, path.path.segments()),
        Expr::Not(_) | Expr::And(..) | Expr::Or(..) | Expr::Compare(..) => {
            Value::Bool(truth(expr, data)?)
        }
    })
}

/// The value at a path, or `null` where the path leads nowhere.
fn lookup<'a>(data: &Value, segments: impl Iterator<Item = &'a str>) -> Value {
    let mut current = data;
    for segment in segments {
        match current.get(segment) {
            Some(next) => current = next,
            None => return Value::Null,
        }
    }
    current.clone()
}

fn compare(op: CompareOp, left: &Value, right: &Value) -> Result<bool, EvaluationError> {
    if !op.is_ordering() {
        let equal = match (left.as_f64(), right.as_f64()) {
            (Some(l), Some(r)) if left.is_number() && right.is_number() => l == r,
            _ => left == right,
        };
        return Ok(equal == (op == CompareOp::Eq));
    }
    let ordering = match (left, right) {
        (Value::Null, _) | (_, Value::Null) => return Ok(false),
        (Value::Number(l), Value::Number(r)) => l.as_f64().partial_cmp(&r.as_f64()),
        (Value::String(l), Value::String(r)) => Some(l.cmp(r)),
        _ => {
            return Err(EvaluationError::NotComparable {
                op: op.symbol(),
                left: kind(left),
                right: kind(right),
            })
        }
    };
    Ok(match (op, ordering) {
        (_, None) => false,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Eq | CompareOp::Ne, Some(_)) => false,
    })
}

/// What kind of JSON value this is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
