//! Tests of the pieces both workflow aggregates share: the condition language, cron
//! expressions and validated values. The aggregates' own tests are in `definition/tests` and
//! `run/tests`.

mod cron;
mod expression;
mod values;
