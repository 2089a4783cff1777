//! Cron expressions: the forms accepted, and a refusal naming the field for each mistake.

use crate::workflow::cron::CronExpression;

fn refusal(raw: &str) -> String {
    match CronExpression::parse(raw) {
        Ok(cron) => panic!("`{raw}` should be refused, got {cron}"),
        Err(e) => e.reason().to_owned(),
    }
}

#[test]
fn classic_expressions_are_accepted() {
    for raw in [
        "* * * * *",
        "0 9 * * mon-fri",
        "*/15 0-6,18-23 1,15 JAN-jun 0",
        "30 2 1-31/2 */3 7",
        "5-55/10 * * dec sun",
    ] {
        assert!(
            CronExpression::parse(raw).is_ok(),
            "`{raw}` should be accepted"
        );
    }
}

#[test]
fn blanks_between_fields_are_normalized() {
    assert_eq!(
        CronExpression::parse("  0   9 * *\tmon ").unwrap().as_str(),
        "0 9 * * mon"
    );
}

#[test]
fn shorthands_are_accepted_in_any_case() {
    assert_eq!(CronExpression::parse("@Daily").unwrap().as_str(), "@daily");
    assert!(refusal("@fortnightly").contains("is not a known shorthand"));
}

#[test]
fn a_wrong_number_of_fields_is_refused() {
    assert!(refusal("0 9 * *").contains("has 4 fields; a cron expression has 5"));
    assert!(refusal("0 0 9 * * mon").contains("has 6 fields"));
    assert_eq!(refusal("   "), "must not be empty");
}

#[test]
fn each_mistake_names_its_field() {
    for (raw, expected) in [
        ("60 * * * *", "minute field: `60` is out of range 0-59"),
        ("* 24 * * *", "hour field: `24` is out of range 0-23"),
        ("* * 0 * *", "day-of-month field: `0` is out of range 1-31"),
        ("* * * 13 *", "month field: `13` is out of range 1-12"),
        ("* * * * 8", "day-of-week field: `8` is out of range 0-7"),
        (
            "* * * foo *",
            "month field: `foo` is not a value: use a number 1-12 or a name (jan-dec)",
        ),
        ("* * * * L", "day-of-week field: `L` is not a value"),
        ("* * ? * *", "day-of-month field: `?` is not a value"),
        ("10-5 * * * *", "minute field: range `10-5` goes backwards"),
        (
            "*/0 * * * *",
            "minute field: step `0` must be a whole number from 1 to 59",
        ),
        ("*/x * * * *", "minute field: step `x` must be"),
        (
            "1,,2 * * * *",
            "minute field: `1,,2` has an empty list item",
        ),
    ] {
        let reason = refusal(raw);
        assert!(reason.starts_with(expected), "`{raw}`: got `{reason}`");
    }
}
