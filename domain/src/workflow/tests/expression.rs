//! The condition language: what parses into which tree, each error with its column, how
//! conditions evaluate, and that no input makes the parser panic.

use crate::workflow::expression::{
    CompareOp, Condition, EvaluationError, Expr, ExpressionError, ExpressionProblem, Literal,
    MAX_CHARS, MAX_DEPTH,
};
use proptest::prelude::*;
use serde_json::json;

fn parse(source: &str) -> Expr {
    Condition::parse(source)
        .unwrap_or_else(|e| panic!("`{source}` should parse: {e}"))
        .expr()
        .clone()
}

fn error(source: &str) -> ExpressionError {
    match Condition::parse(source) {
        Ok(c) => panic!("`{source}` should not parse, got {:?}", c.expr()),
        Err(e) => e,
    }
}

/// The tree as an s-expression, ignoring columns, so shapes are easy to compare.
fn shape(source: &str) -> String {
    fn render(e: &Expr) -> String {
        match e {
            Expr::Literal(Literal::String(s)) => format!("{s:?}"),
            Expr::Literal(Literal::Number(n)) => format!("{n}"),
            Expr::Literal(Literal::Bool(b)) => format!("{b}"),
            Expr::Literal(Literal::Null) => "null".into(),
            Expr::Path(p) => p.path.to_string(),
            Expr::Not(inner) => format!("(not {})", render(inner)),
            Expr::And(l, r) => format!("(and {} {})", render(l), render(r)),
            Expr::Or(l, r) => format!("(or {} {})", render(l), render(r)),
            Expr::Compare(op, l, r) => format!("({} {} {})", op.symbol(), render(l), render(r)),
        }
    }
    render(&parse(source))
}

#[test]
fn a_comparison_of_a_path_and_a_number_parses() {
    assert_eq!(shape("input.seats > 10"), "(> input.seats 10)");
    let Expr::Compare(CompareOp::Gt, left, _) = parse("input.seats > 10") else {
        panic!("not a comparison");
    };
    assert!(matches!(*left, Expr::Path(ref p) if p.column == 1));
}

#[test]
fn every_comparison_operator_parses() {
    for (symbol, op) in [
        ("==", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
    ] {
        let source = format!("input.a {symbol} 1");
        assert!(
            matches!(parse(&source), Expr::Compare(o, _, _) if o == op),
            "{source}"
        );
    }
}

#[test]
fn and_binds_tighter_than_or() {
    assert_eq!(
        shape("input.a or input.b and input.c"),
        "(or input.a (and input.b input.c))"
    );
    assert_eq!(
        shape("input.a and input.b or input.c and input.d"),
        "(or (and input.a input.b) (and input.c input.d))"
    );
}

#[test]
fn chains_of_and_and_or_group_from_the_left() {
    assert_eq!(
        shape("input.a and input.b and input.c"),
        "(and (and input.a input.b) input.c)"
    );
}

#[test]
fn parentheses_override_precedence() {
    assert_eq!(
        shape("(input.a or input.b) and input.c"),
        "(and (or input.a input.b) input.c)"
    );
}

#[test]
fn not_applies_to_the_comparison_that_follows() {
    assert_eq!(
        shape("not tenant.plan == 'free'"),
        "(not (== tenant.plan \"free\"))"
    );
    assert_eq!(shape("not not input.a"), "(not (not input.a))");
}

#[test]
fn symbol_operators_mean_the_same_as_keywords() {
    assert_eq!(
        shape("!(input.a && input.b) || input.c"),
        shape("not (input.a and input.b) or input.c")
    );
}

#[test]
fn literals_of_every_kind_parse() {
    assert_eq!(shape("input.a == -2.5"), "(== input.a -2.5)");
    assert_eq!(shape("input.a == \"x\""), "(== input.a \"x\")");
    assert_eq!(shape("input.a == 'x'"), "(== input.a \"x\")");
    assert_eq!(shape("input.a != null"), "(!= input.a null)");
    assert_eq!(shape("false"), "false");
}

#[test]
fn string_escapes_are_decoded() {
    let Expr::Compare(_, _, right) = parse(r#"input.a == "say \"hi\"\n\t\\ it's""#) else {
        panic!("not a comparison");
    };
    assert_eq!(
        *right,
        Expr::Literal(Literal::String("say \"hi\"\n\t\\ it's".into()))
    );
}

#[test]
fn keywords_can_be_path_segments() {
    assert_eq!(
        Condition::parse("input.not and context.or")
            .unwrap()
            .paths()
            .iter()
            .map(|p| p.path.as_str())
            .collect::<Vec<_>>(),
        vec!["input.not", "context.or"]
    );
}

#[test]
fn paths_are_listed_with_their_columns() {
    let condition = Condition::parse("  input.seats > 10 and tenant.plan == 'free'  ").unwrap();
    assert_eq!(
        condition.source(),
        "input.seats > 10 and tenant.plan == 'free'"
    );
    let paths: Vec<_> = condition
        .paths()
        .iter()
        .map(|p| (p.path.as_str(), p.column))
        .collect();
    assert_eq!(paths, vec![("input.seats", 1), ("tenant.plan", 22)]);
}

#[test]
fn each_syntax_error_names_its_problem_and_column() {
    use ExpressionProblem as P;
    let cases: Vec<(&str, usize, ExpressionProblem)> = vec![
        ("   ", 1, P::Empty),
        ("input.a # 1", 9, P::UnexpectedCharacter('#')),
        ("input.a = 1", 9, P::SingleEquals),
        ("input.a == 'open", 12, P::UnterminatedString),
        (r"input.a == 'a\qb'", 14, P::InvalidEscape('q')),
        ("input.a == 1.2.3", 12, P::InvalidNumber("1.2.3".into())),
        ("input.a == 12abc", 12, P::InvalidNumber("12abc".into())),
        ("input.a == 1.", 12, P::InvalidNumber("1.".into())),
        ("input. == 1", 6, P::MissingFieldName),
        ("input.a.1 == 1", 8, P::MissingFieldName),
        (
            "input.a ==",
            11,
            P::Expected {
                expected: "a value, a field path or `(`",
                found: "the end of the condition".into(),
            },
        ),
        (
            "(input.a == 1",
            14,
            P::Expected {
                expected: "`)`",
                found: "the end of the condition".into(),
            },
        ),
        (
            "input.a == 1 input.b",
            14,
            P::Expected {
                expected: "`and`, `or` or the end of the condition",
                found: "`input.b`".into(),
            },
        ),
        (
            "input.a and or",
            13,
            P::Expected {
                expected: "a value, a field path or `(`",
                found: "`or`".into(),
            },
        ),
        ("1 < input.a < 3", 13, P::ChainedComparison),
        ("input.a and 5", 13, P::NotACondition { found: "a number" }),
        ("not 'yes'", 5, P::NotACondition { found: "a string" }),
        ("null", 1, P::NotACondition { found: "`null`" }),
        (
            "input.a < true",
            11,
            P::NotOrderable {
                op: "<",
                found: "`true` or `false`",
            },
        ),
        (
            "(input.a == 1) >= 2",
            1,
            P::NotOrderable {
                op: ">=",
                found: "a condition",
            },
        ),
    ];
    for (source, column, problem) in cases {
        assert_eq!(
            error(source),
            ExpressionError { column, problem },
            "for `{source}`"
        );
    }
}

#[test]
fn errors_read_as_sentences_with_the_column() {
    assert_eq!(
        error("input.a = 1").to_string(),
        "at column 9: `=` is not an operator: use `==` to compare"
    );
}

#[test]
fn overlong_and_overdeep_conditions_are_refused_without_exhausting_the_stack() {
    let long = format!("input.a == '{}'", "x".repeat(MAX_CHARS));
    assert_eq!(
        error(&long).problem,
        ExpressionProblem::TooLong { max: MAX_CHARS }
    );

    let deep = format!(
        "{}input.a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        error(&deep).problem,
        ExpressionProblem::TooDeep { max: MAX_DEPTH }
    );
    let nots = format!("{}input.a", "not ".repeat(MAX_DEPTH + 1));
    assert_eq!(
        error(&nots).problem,
        ExpressionProblem::TooDeep { max: MAX_DEPTH }
    );

    let just_deep_enough = format!("{}input.a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Condition::parse(&just_deep_enough).is_ok());
}

#[test]
fn a_condition_is_stored_as_its_text_and_parsed_again_when_read() {
    let condition = Condition::parse("input.seats >= 5").unwrap();
    let json = serde_json::to_value(&condition).unwrap();
    assert_eq!(json, json!("input.seats >= 5"));
    let back: Condition = serde_json::from_value(json).unwrap();
    assert_eq!(back, condition);
    assert!(serde_json::from_value::<Condition>(json!("input.seats >=")).is_err());
}

fn data() -> serde_json::Value {
    json!({
        "input": {"seats": 12, "name": "acme", "urgent": true, "ratio": 0.5},
        "context": {"approved": false},
        "trigger": {},
        "tenant": {"plan": "free"},
    })
}

fn eval(source: &str) -> Result<bool, EvaluationError> {
    Condition::parse(source).unwrap().evaluate(&data())
}

#[test]
fn conditions_evaluate_over_run_data() {
    for (source, expected) in [
        ("input.seats > 10 and tenant.plan == 'free'", true),
        ("input.seats <= 10 or context.approved", false),
        ("not context.approved", true),
        ("input.urgent", true),
        ("input.seats == 12.0", true),
        ("input.name < 'b'", true),
        ("input.ratio >= 0.5", true),
        ("input.missing == null", true),
        ("input.missing", false),
        ("input.missing > 3", false),
        ("input.name != 'acme'", false),
        ("input.seats == '12'", false),
    ] {
        assert_eq!(eval(source), Ok(expected), "{source}");
    }
}

#[test]
fn evaluation_refuses_values_without_truth_or_order() {
    assert_eq!(
        eval("input.seats and true"),
        Err(EvaluationError::NotBoolean {
            what: "`input.seats`".into(),
            found: "a number"
        })
    );
    assert_eq!(
        eval("input.name > 3"),
        Err(EvaluationError::NotComparable {
            op: ">",
            left: "a string",
            right: "a number"
        })
    );
}

#[test]
fn or_short_circuits_past_a_value_that_cannot_be_evaluated() {
    assert_eq!(eval("input.urgent or input.seats"), Ok(true));
}

proptest! {
    #[test]
    fn parsing_never_panics(source in "\\PC{0,200}") {
        let _ = Condition::parse(&source);
    }

    #[test]
    fn parsing_operator_soup_never_panics(source in "[a-z. ()!=<>&|'\"0-9-]{0,120}") {
        if let Ok(condition) = Condition::parse(&source) {
            let _ = condition.evaluate(&data());
        }
    }
}
