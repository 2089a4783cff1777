//! A recursive-descent parser from tokens to an [`Expr`], one function per grammar rule (see
//! the [module docs](super)).
//!
//! Each rule returns the expression and the column it starts at, so that the checks made while
//! building the tree (a literal where a condition is expected, an ordering of `true`) can say
//! where the offending part is. Recursion happens only through `not` and parentheses, both
//! counted against [`MAX_DEPTH`]; `and`/`or` chains are built in loops.

use super::lexer::{tokenize, Spanned, Token};
use super::{
    CompareOp, Expr, ExpressionError, ExpressionProblem, Literal, PathRef, MAX_CHARS, MAX_DEPTH,
};
use crate::workflow::values::FieldPath;

/// Parses a condition's (trimmed) text.
pub(super) fn parse(source: &str) -> Result<Expr, ExpressionError> {
    if source.chars().count() > MAX_CHARS {
        return Err(ExpressionError::at(
            MAX_CHARS + 1,
            ExpressionProblem::TooLong { max: MAX_CHARS },
        ));
    }
    let tokens = tokenize(source)?;
    if tokens.is_empty() {
        return Err(ExpressionError::at(1, ExpressionProblem::Empty));
    }
    let end_column = source.chars().count() + 1;
    let mut parser = Parser {
        tokens,
        at: 0,
        end_column,
    };
    let (expr, column) = parser.or(0)?;
    if let Some((token, column)) = parser.peek() {
        let found = token.describe();
        return Err(ExpressionError::at(
            column,
            ExpressionProblem::Expected {
                expected: "`and`, `or` or the end of the condition",
                found,
            },
        ));
    }
    require_condition(&expr, column)?;
    Ok(expr)
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    /// The column just past the text, where "the end" is reported.
    end_column: usize,
}

/// An expression and the column it starts at.
type Parsed = Result<(Expr, usize), ExpressionError>;

impl Parser {
    fn peek(&self) -> Option<(&Token, usize)> {
        self.tokens
            .get(self.at)
            .map(|(token, column)| (token, *column))
    }

    fn advance(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expected(&self, expected: &'static str) -> ExpressionError {
        match self.peek() {
            Some((token, column)) => ExpressionError::at(
                column,
                ExpressionProblem::Expected {
                    expected,
                    found: token.describe(),
                },
            ),
            None => ExpressionError::at(
                self.end_column,
                ExpressionProblem::Expected {
                    expected,
                    found: "the end of the condition".into(),
                },
            ),
        }
    }

    fn or(&mut self, depth: usize) -> Parsed {
        let (mut left, start) = self.and(depth)?;
        while matches!(self.peek(), Some((Token::Or, _))) {
            self.advance();
            require_condition(&left, start)?;
            let (right, column) = self.and(depth)?;
            require_condition(&right, column)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok((left, start))
    }

    fn and(&mut self, depth: usize) -> Parsed {
        let (mut left, start) = self.unary(depth)?;
        while matches!(self.peek(), Some((Token::And, _))) {
            self.advance();
            require_condition(&left, start)?;
            let (right, column) = self.unary(depth)?;
            require_condition(&right, column)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok((left, start))
    }

    fn unary(&mut self, depth: usize) -> Parsed {
        match self.peek() {
            Some((Token::Not, column)) => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(column));
                }
                self.advance();
                let (inner, inner_column) = self.unary(depth + 1)?;
                require_condition(&inner, inner_column)?;
                Ok((Expr::Not(Box::new(inner)), column))
            }
            _ => self.comparison(depth),
        }
    }

    fn comparison(&mut self, depth: usize) -> Parsed {
        let (left, start) = self.operand(depth)?;
        let Some((Token::Compare(op), _)) = self.peek() else {
            return Ok((left, start));
        };
        let op = *op;
        self.advance();
        let (right, right_column) = self.operand(depth)?;
        if let Some((Token::Compare(_), column)) = self.peek() {
            return Err(ExpressionError::at(
                column,
                ExpressionProblem::ChainedComparison,
            ));
        }
        if op.is_ordering() {
            require_orderable(op, &left, start)?;
            require_orderable(op, &right, right_column)?;
        }
        Ok((Expr::Compare(op, Box::new(left), Box::new(right)), start))
    }

    fn operand(&mut self, depth: usize) -> Parsed {
        let Some((token, column)) = self.peek() else {
            return Err(self.expected("a value, a field path or `(`"));
        };
        let expr = match token {
            Token::String(s) => Expr::Literal(Literal::String(s.clone())),
            Token::Number(n) => Expr::Literal(Literal::Number(*n)),
            Token::Bool(b) => Expr::Literal(Literal::Bool(*b)),
            Token::Null => Expr::Literal(Literal::Null),
            Token::Path(segments) => Expr::Path(PathRef {
                path: FieldPath::from_checked_segments(segments),
                column,
            }),
            Token::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(column));
                }
                self.advance();
                let (inner, _) = self.or(depth + 1)?;
                if !matches!(self.peek(), Some((Token::RParen, _))) {
                    return Err(self.expected("`)`"));
                }
                self.advance();
                return Ok((inner, column));
            }
            _ => return Err(self.expected("a value, a field path or `(`")),
        };
        self.advance();
        Ok((expr, column))
    }
}

fn too_deep(column: usize) -> ExpressionError {
    ExpressionError::at(column, ExpressionProblem::TooDeep { max: MAX_DEPTH })
}

/// Refuses a literal that can never be true or false where a condition is expected. Paths pass:
/// their value is only known when the run is evaluated.
fn require_condition(expr: &Expr, column: usize) -> Result<(), ExpressionError> {
    let found = match expr {
        Expr::Literal(Literal::String(_)) => "a string",
        Expr::Literal(Literal::Number(_)) => "a number",
        Expr::Literal(Literal::Null) => "`null`",
        _ => return Ok(()),
    };
    Err(ExpressionError::at(
        column,
        ExpressionProblem::NotACondition { found },
    ))
}

/// Refuses an ordering of something that has no order: a boolean (literal or computed) or null.
fn require_orderable(op: CompareOp, expr: &Expr, column: usize) -> Result<(), ExpressionError> {
    let found = match expr {
        Expr::Literal(Literal::Bool(_)) => "`true` or `false`",
        Expr::Literal(Literal::Null) => "`null`",
        Expr::Not(_) | Expr::And(..) | Expr::Or(..) | Expr::Compare(..) => "a condition",
        _ => return Ok(()),
    };
    Err(ExpressionError::at(
        column,
        ExpressionProblem::NotOrderable {
            op: op.symbol(),
            found,
        },
    ))
}
