//! Timestamps (seconds since the Unix epoch, UTC) and durations (seconds).

use chrono::{DateTime, Datelike, NaiveDate};

use super::{Ctx, arity, want_dur, want_int, want_str, want_time};
use crate::value::Value;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn overflow(name: &str) -> String {
    format!("{name}: integer overflow")
}

fn datetime(name: &str, t: i64) -> Result<DateTime<chrono::Utc>, String> {
    DateTime::from_timestamp(t, 0)
        .ok_or_else(|| format!("{name}: timestamp {t} is outside the supported calendar"))
}

fn age_of(name: &str, t: i64, ctx: &Ctx) -> Result<i64, String> {
    ctx.now.checked_sub(t).ok_or_else(|| overflow(name))
}

pub(super) fn age(args: &[Value], ctx: &Ctx) -> Result<Value, String> {
    let [t] = arity::<1>("age", args)?;
    Ok(Value::Dur(age_of("age", want_time("age", t)?, ctx)?))
}

pub(super) fn older_than(args: &[Value], ctx: &Ctx) -> Result<Value, String> {
    const NAME: &str = "older_than";
    let [t, d] = arity::<2>(NAME, args)?;
    let (t, d) = (want_time(NAME, t)?, want_dur(NAME, d)?);
    Ok(Value::Bool(age_of(NAME, t, ctx)? > d))
}

fn scaled(name: &str, args: &[Value], unit: i64) -> Result<Value, String> {
    let [n] = arity::<1>(name, args)?;
    want_int(name, n)?
        .checked_mul(unit)
        .map(Value::Dur)
        .ok_or_else(|| overflow(name))
}

pub(super) fn days(args: &[Value], _: &Ctx) -> Result<Value, String> {
    scaled("days", args, DAY)
}

pub(super) fn hours(args: &[Value], _: &Ctx) -> Result<Value, String> {
    scaled("hours", args, HOUR)
}

pub(super) fn in_days(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [d] = arity::<1>("in_days", args)?;
    Ok(Value::Int(want_dur("in_days", d)?.div_euclid(DAY)))
}

pub(super) fn in_hours(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [d] = arity::<1>("in_hours", args)?;
    Ok(Value::Int(want_dur("in_hours", d)?.div_euclid(HOUR)))
}

/// RFC 3339 (fractions of a second dropped) or a bare `YYYY-MM-DD` date.
fn parse(s: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    // `%Y-%m-%d` alone would also take `2024-1-5`; insist on the fixed width.
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

pub(super) fn parse_time(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("parse_time", args)?;
    Ok(parse(want_str("parse_time", s)?).map_or(Value::Missing, Value::Time))
}

pub(super) fn format_date(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [t] = arity::<1>("format_date", args)?;
    let dt = datetime("format_date", want_time("format_date", t)?)?;
    Ok(Value::str(&dt.format("%Y-%m-%d").to_string()))
}

pub(super) fn year(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [t] = arity::<1>("year", args)?;
    let dt = datetime("year", want_time("year", t)?)?;
    Ok(Value::Int(i64::from(dt.year())))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// 2024-01-31T00:00:00Z.
    const JAN31: i64 = 1_706_659_200;

    #[test]
    fn age_and_older_than_read_the_clock() {
        assert_eq!(
            call("age", &[Value::Time(NOW - 3 * DAY)]),
            Ok(Value::Dur(3 * DAY))
        );
        assert_eq!(call("age", &[Value::Time(NOW + 60)]), Ok(Value::Dur(-60)));
        assert_err("age", &[Value::Time(i64::MIN)], "integer overflow");
        assert_err(
            "age",
            &[Value::Dur(5)],
            "expected a timestamp, got a duration",
        );
        // 2024-01-01 is 366 days before 2025-01-01.
        let jan1 = Value::Time(NOW - 366 * DAY);
        assert_eq!(
            call("older_than", &[jan1.clone(), Value::Dur(90 * DAY)]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("older_than", &[jan1.clone(), Value::Dur(366 * DAY)]),
            Ok(Value::Bool(false))
        );
        assert_err(
            "older_than",
            &[Value::Time(i64::MIN), Value::Dur(0)],
            "integer overflow",
        );
        assert_err(
            "older_than",
            &[jan1, Value::Int(90)],
            "expected a duration, got an int",
        );
    }

    #[test]
    fn durations_from_and_to_counts() {
        assert_eq!(call("days", &[Value::Int(2)]), Ok(Value::Dur(2 * DAY)));
        assert_eq!(call("days", &[Value::Int(-1)]), Ok(Value::Dur(-DAY)));
        assert_eq!(call("hours", &[Value::Int(36)]), Ok(Value::Dur(36 * HOUR)));
        assert_err(
            "days",
            &[Value::Int(i64::MAX / 1000)],
            "days: integer overflow",
        );
        assert_err("hours", &[Value::Int(i64::MIN)], "hours: integer overflow");
        assert_err("days", &[Value::Float(1.5)], "expected an int, got a float");
        assert_eq!(call("in_days", &[Value::Dur(36 * HOUR)]), Ok(Value::Int(1)));
        assert_eq!(call("in_days", &[Value::Dur(-1)]), Ok(Value::Int(-1)));
        assert_eq!(
            call("in_days", &[Value::Dur(i64::MIN)]),
            Ok(Value::Int(i64::MIN.div_euclid(DAY)))
        );
        assert_eq!(call("in_hours", &[Value::Dur(90 * 60)]), Ok(Value::Int(1)));
        assert_err(
            "in_days",
            &[Value::Int(5)],
            "expected a duration, got an int",
        );
        assert_err(
            "in_hours",
            &[Value::Time(5)],
            "expected a duration, got a timestamp",
        );
    }

    #[test]
    fn parse_time_accepts_rfc3339_and_dates() {
        let p = |x: &str| call("parse_time", &[s(x)]);
        assert_eq!(p("2024-01-31"), Ok(Value::Time(JAN31)));
        assert_eq!(p("2024-01-31T00:00:00Z"), Ok(Value::Time(JAN31)));
        assert_eq!(
            p("2024-01-31T12:00:00+02:00"),
            Ok(Value::Time(JAN31 + 10 * HOUR))
        );
        assert_eq!(p("2024-01-31T00:00:01.999Z"), Ok(Value::Time(JAN31 + 1)));
        assert_eq!(p("1969-12-31T23:59:59Z"), Ok(Value::Time(-1)));
        for bad in [
            "",
            "2024-02-30",
            "2024-1-5",
            "2024-01-31T25:00:00Z",
            "yesterday",
            "2024-01-31 ",
        ] {
            assert_eq!(p(bad), Ok(Value::Missing), "{bad:?}");
        }
        assert_err(
            "parse_time",
            &[Value::Time(0)],
            "expected a string, got a timestamp",
        );
    }

    #[test]
    fn calendar_fields() {
        let t = Value::Time(JAN31 + 23 * HOUR + 59 * 60);
        assert_eq!(call("format_date", [t.clone()]), Ok(s("2024-01-31")));
        assert_eq!(call("year", &[t]), Ok(Value::Int(2024)));
        assert_eq!(call("year", &[Value::Time(-1)]), Ok(Value::Int(1969)));
        assert_err(
            "format_date",
            &[Value::Time(i64::MAX)],
            "outside the supported calendar",
        );
        assert_err(
            "year",
            &[Value::Time(i64::MIN)],
            "outside the supported calendar",
        );
        assert_err("year", &[s("2024")], "expected a timestamp, got a string");
    }
}
