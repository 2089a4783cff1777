//! Turns a condition's text into tokens, each with the 1-based column it starts at.
//!
//! Field paths are read whole (`tenant.plan` is one token), so a keyword can still be a
//! segment of a path (`input.not` is a path, `not` alone is the operator).

use super::{CompareOp, ExpressionError, ExpressionProblem};

/// One token of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Compare(CompareOp),
    String(String),
    Number(f64),
    Bool(bool),
    Null,
    Path(Vec<String>),
}

impl Token {
    /// How the token reads in an error message.
    pub(super) fn describe(&self) -> String {
        match self {
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::And => "`and`".into(),
            Token::Or => "`or`".into(),
            Token::Not => "`not`".into(),
            Token::Compare(op) => format!("`{}`", op.symbol()),
            Token::String(_) => "a string".into(),
            Token::Number(_) => "a number".into(),
            Token::Bool(b) => format!("`{b}`"),
            Token::Null => "`null`".into(),
            Token::Path(segments) => format!("`{}`", segments.join(".")),
        }
    }
}

/// A token and the column it starts at.
pub(super) type Spanned = (Token, usize);

/// Splits `source` into tokens.
pub(super) fn tokenize(source: &str) -> Result<Vec<Spanned>, ExpressionError> {
    let chars: Vec<char> = source.chars().collect();
    let mut lexer = Lexer { chars, at: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer {
    chars: Vec<char>,
    /// Index of the next character (0-based; columns are this + 1).
    at: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn error(&self, index: usize, problem: ExpressionProblem) -> ExpressionError {
        ExpressionError::at(index + 1, problem)
    }

    fn next_token(&mut self) -> Result<Option<Spanned>, ExpressionError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.at += 1;
        }
        let start = self.at;
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let two = (c, self.peek(1));
        let (token, width) = match two {
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('=', Some('=')) => (Token::Compare(CompareOp::Eq), 2),
            ('=', _) => return Err(self.error(start, ExpressionProblem::SingleEquals)),
            ('!', Some('=')) => (Token::Compare(CompareOp::Ne), 2),
            ('!', _) => (Token::Not, 1),
            ('<', Some('=')) => (Token::Compare(CompareOp::Le), 2),
            ('<', _) => (Token::Compare(CompareOp::Lt), 1),
            ('>', Some('=')) => (Token::Compare(CompareOp::Ge), 2),
            ('>', _) => (Token::Compare(CompareOp::Gt), 1),
            ('&', Some('&')) => (Token::And, 2),
            ('|', Some('|')) => (Token::Or, 2),
            ('"' | '\'', _) => return self.string(c).map(|t| Some((t, start + 1))),
            ('-', Some(d)) if d.is_ascii_digit() => {
                return self.number().map(|t| Some((t, start + 1)))
            }
            (d, _) if d.is_ascii_digit() => return self.number().map(|t| Some((t, start + 1))),
            (a, _) if a.is_ascii_alphabetic() || a == '_' => {
                return self.word().map(|t| Some((t, start + 1)))
            }
            (other, _) => {
                return Err(self.error(start, ExpressionProblem::UnexpectedCharacter(other)))
            }
        };
        self.at += width;
        Ok(Some((token, start + 1)))
    }

    fn string(&mut self, quote: char) -> Result<Token, ExpressionError> {
        let start = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek(0) {
                None => return Err(self.error(start, ExpressionProblem::UnterminatedString)),
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(Token::String(text));
                }
                Some('\\') => {
                    let escaped = match self.peek(1) {
                        Some('\\') => '\\',
                        Some('"') => '"',
                        Some('\'') => '\'',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some(other) => {
                            return Err(self.error(self.at, ExpressionProblem::InvalidEscape(other)))
                        }
                        None => {
                            return Err(self.error(start, ExpressionProblem::UnterminatedString))
                        }
                    };
                    text.push(escaped);
                    self.at += 2;
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Token, ExpressionError> {
        let start = self.at;
        if self.peek(0) == Some('-') {
            self.at += 1;
        }
        // Take everything a number could be glued to, so `12abc` or `1.2.3` is reported whole.
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let well_formed = match digits.split_once('.') {
            Some((whole, fraction)) => is_digits(whole) && is_digits(fraction),
            None => is_digits(digits),
        };
        match text.parse::<f64>() {
            Ok(value) if well_formed && value.is_finite() => Ok(Token::Number(value)),
            _ => Err(self.error(start, ExpressionProblem::InvalidNumber(text))),
        }
    }

    fn word(&mut self) -> Result<Token, ExpressionError> {
        let mut segments = vec![self.segment()];
        while self.peek(0) == Some('.') {
            if !self
                .peek(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            {
                return Err(self.error(self.at, ExpressionProblem::MissingFieldName));
            }
            self.at += 1;
            segments.push(self.segment());
        }
        if segments.len() > 1 {
            return Ok(Token::Path(segments));
        }
        Ok(match segments[0].as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "true" => Token::Bool(true),
            "false" => Token::Bool(false),
            "null" => Token::Null,
            _ => Token::Path(segments),
        })
    }

    /// Reads one path segment; the caller checked that it starts with a letter or '_'.
    fn segment(&mut self) -> String {
        let start = self.at;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
