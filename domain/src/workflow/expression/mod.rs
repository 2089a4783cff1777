//! The condition language of workflows: a small boolean expression over a run's data, parsed
//! once, when a definition is decided, into an [`Expr`] tree.
//!
//! Grammar (keywords are lowercase; `&&`, `||` and `!` are accepted for `and`, `or`, `not`):
//!
//! ```text
//! expression := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | comparison
//! comparison := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand    := literal | path | "(" expression ")"
//! literal    := string | number | "true" | "false" | "null"
//! path       := name ("." name)*          e.g. tenant.plan, input.seats
//! ```
//!
//! Strings are quoted with `"` or `'` and know the escapes `\\ \" \' \n \t`; numbers are
//! decimals with an optional leading `-` (`3`, `-2.5`). Comparisons do not chain (`a < b < c`
//! is refused: write `a < b and b < c`). Besides syntax, the parser refuses what can never be
//! true or false: a number, string or `null` literal where a condition is expected
//! (`not 5`, `"yes" and x`), and an ordering of `true`, `false` or `null`.
//!
//! Errors name the 1-based column (in characters) where the problem is. Nesting (parentheses
//! and `not`) is limited to [`MAX_DEPTH`] and the text to [`MAX_CHARS`], so no input can
//! exhaust the stack. Which roots a path may start with is a rule of definitions, checked with
//! the steps (see [`KNOWN_ROOTS`](super::values::KNOWN_ROOTS)).

mod eval;
mod lexer;
mod parser;

pub use eval::EvaluationError;

use super::values::FieldPath;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The longest condition accepted, in characters.
pub const MAX_CHARS: usize = 1000;
/// The deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(&self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// Whether the operator orders its operands (`<`, `<=`, `>`, `>=`).
    pub fn is_ordering(&self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

/// A literal value written in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    String(String),
    /// A finite decimal number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`: also what a missing field reads as.
    Null,
}

/// A field path as it appears in a condition, with the column it starts at.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRef {
    /// The path.
    pub path: FieldPath,
    /// Its 1-based column in the condition's text.
    pub column: usize,
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Literal(Literal),
    /// The value at a field path.
    Path(PathRef),
    /// `not x`
    Not(Box<Expr>),
    /// `x and y`
    And(Box<Expr>, Box<Expr>),
    /// `x or y`
    Or(Box<Expr>, Box<Expr>),
    /// `x <op> y`
    Compare(CompareOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Every field path the expression reads, in order of appearance.
    pub fn paths(&self) -> Vec<&PathRef> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'a>(&'a self, into: &mut Vec<&'a PathRef>) {
        match self {
            Expr::Literal(_) => {}
            Expr::Path(path) => into.push(path),
            Expr::Not(inner) => inner.collect_paths(into),
            Expr::And(left, right) | Expr::Or(left, right) | Expr::Compare(_, left, right) => {
                left.collect_paths(into);
                right.collect_paths(into);
            }
        }
    }
}

/// What is wrong with a condition's text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpressionProblem {
    /// Nothing but blanks.
    #[error("the condition is empty")]
    Empty,
    /// Longer than [`MAX_CHARS`].
    #[error("the condition is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("parentheses and `not` are nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A character that starts no token.
    #[error("unexpected character `{0}`")]
    UnexpectedCharacter(char),
    /// A single `=`.
    #[error("`=` is not an operator: use `==` to compare")]
    SingleEquals,
    /// A string without its closing quote.
    #[error("this string has no closing quote")]
    UnterminatedString,
    /// An unknown escape in a string.
    #[error("unknown escape `\\{0}` in a string: use `\\\\`, `\\\"`, `\\'`, `\\n` or `\\t`")]
    InvalidEscape(char),
    /// A malformed number.
    #[error(
        "`{0}` is not a number: write digits with an optional `-` and decimal part, e.g. `-2.5`"
    )]
    InvalidNumber(String),
    /// A `.` not followed by a name.
    #[error("a `.` in a field path must be followed by a name")]
    MissingFieldName,
    /// Something else than what the grammar allows here.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What would have been valid.
        expected: &'static str,
        /// What was there (a quoted token or "the end of the condition").
        found: String,
    },
    /// `a < b < c`.
    #[error("comparisons cannot be chained: write `a < b and b < c`")]
    ChainedComparison,
    /// A literal that is not true/false where a condition is expected.
    #[error("{found} cannot be true or false: compare it with something, e.g. `input.seats > 10`")]
    NotACondition {
        /// What the literal is ("a number", "a string", "`null`").
        found: &'static str,
    },
    /// `true < 1`, `null >= x`.
    #[error("`{op}` orders numbers or strings, not {found}")]
    NotOrderable {
        /// The operator.
        op: &'static str,
        /// The literal it was given.
        found: &'static str,
    },
}

/// Why a condition does not parse, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at column {column}: {problem}")]
pub struct ExpressionError {
    /// The 1-based column (in characters) the problem is at.
    pub column: usize,
    /// What is wrong.
    pub problem: ExpressionProblem,
}

impl ExpressionError {
    pub(crate) fn at(column: usize, problem: ExpressionProblem) -> Self {
        ExpressionError { column, problem }
    }
}

/// A condition: its text as written (trimmed) and its parsed tree.
///
/// Stored as its text alone, and parsed again when read: the tree is derived data, and the
/// text is what people read in the audit trail. The grammar may therefore only grow, never
/// shrink, so that every stored condition keeps parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    expr: Expr,
}

impl Condition {
    /// Parses a condition's text.
    pub fn parse(source: &str) -> Result<Self, ExpressionError> {
        let source = source.trim();
        let expr = parser::parse(source)?;
        Ok(Condition {
            source: source.to_owned(),
            expr,
        })
    }

    /// The text as written (trimmed).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Every field path the condition reads.
    pub fn paths(&self) -> Vec<&PathRef> {
        self.expr.paths()
    }

    /// Evaluates the condition over a run's data: an object with the [`KNOWN_ROOTS`] as keys.
    /// See [`EvaluationError`] for the rules.
    ///
    /// [`KNOWN_ROOTS`]: super::values::KNOWN_ROOTS
    pub fn evaluate(&self, data: &serde_json::Value) -> Result<bool, EvaluationError> {
        eval::evaluate(&self.expr, data)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

// As JSON a condition is its text, so its schema is a string's.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Condition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A condition over a run's data, e.g. `input.seats > 10 and tenant.plan == 'enterprise'`.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Condition {}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Condition::parse(&source).map_err(serde::de::Error::custom)
    }
}
