//! Numbers and port ranges.

use super::{Ctx, arity, type_error, want_float, want_int, want_str};
use crate::value::Value;

pub(super) fn abs(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("abs", args)?;
    match x {
        Value::Int(i) => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| "abs: integer overflow".to_string()),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(type_error("abs", "an int or a float", other)),
    }
}

/// A float already rounded to an integral value, as an `int` if it fits.
fn to_int(name: &str, f: f64) -> Result<Value, String> {
    // 2^63 is exactly representable; every integral float in
    // [-2^63, 2^63) converts without loss.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Err(format!("{name}: NaN is not an int"));
    }
    if !(-LIMIT..LIMIT).contains(&f) {
        return Err(format!("{name}: {f} is out of the int range"));
    }
    Ok(Value::Int(f as i64))
}

fn rounding(name: &str, args: &[Value], f: fn(f64) -> f64) -> Result<Value, String> {
    let [x] = arity::<1>(name, args)?;
    to_int(name, f(want_float(name, x)?))
}

pub(super) fn floor(args: &[Value], _: &Ctx) -> Result<Value, String> {
    rounding("floor", args, f64::floor)
}

pub(super) fn ceil(args: &[Value], _: &Ctx) -> Result<Value, String> {
    rounding("ceil", args, f64::ceil)
}

pub(super) fn round(args: &[Value], _: &Ctx) -> Result<Value, String> {
    rounding("round", args, f64::round)
}

pub(super) fn to_float(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("to_float", args)?;
    Ok(Value::Float(want_int("to_float", x)? as f64))
}

pub(super) fn parse_int(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("parse_int", args)?;
    let s = want_str("parse_int", s)?.trim();
    Ok(s.parse::<i64>().map_or(Value::Missing, Value::Int))
}

pub(super) fn parse_float(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("parse_float", args)?;
    let s = want_str("parse_float", s)?.trim();
    // Rust also reads `inf` and `NaN`; data meaning those is not a number.
    let looks_numeric = s.bytes().any(|c| c.is_ascii_digit())
        && s.bytes()
            .all(|c| c.is_ascii_digit() || b"+-.eE".contains(&c));
    Ok(match s.parse::<f64>() {
        Ok(f) if looks_numeric && f.is_finite() => Value::Float(f),
        _ => Value::Missing,
    })
}

/// `min_of` / `max_of`: ints stay ints; a float on either side makes both floats.
fn pick(name: &str, args: &[Value], want_max: bool) -> Result<Value, String> {
    let [a, b] = arity::<2>(name, args)?;
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(Value::Int(if want_max { *x.max(y) } else { *x.min(y) }));
    }
    let (x, y) = (want_float(name, a)?, want_float(name, b)?);
    Ok(Value::Float(if want_max { x.max(y) } else { x.min(y) }))
}

pub(super) fn min_of(args: &[Value], _: &Ctx) -> Result<Value, String> {
    pick("min_of", args, false)
}

pub(super) fn max_of(args: &[Value], _: &Ctx) -> Result<Value, String> {
    pick("max_of", args, true)
}

pub(super) fn port_in_range(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "port_in_range";
    let [port, from, to] = arity::<3>(NAME, args)?;
    let (port, from, to) = (
        want_int(NAME, port)?,
        want_int(NAME, from)?,
        want_int(NAME, to)?,
    );
    Ok(Value::Bool(from <= port && port <= to))
}

pub(super) fn ranges_overlap(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "ranges_overlap";
    let [a_from, a_to, b_from, b_to] = arity::<4>(NAME, args)?;
    let (a_from, a_to) = (want_int(NAME, a_from)?, want_int(NAME, a_to)?);
    let (b_from, b_to) = (want_int(NAME, b_from)?, want_int(NAME, b_to)?);
    Ok(Value::Bool(
        a_from <= a_to && b_from <= b_to && a_from <= b_to && b_from <= a_to,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::value::Value;

    fn i(x: i64) -> Value {
        Value::Int(x)
    }

    fn f(x: f64) -> Value {
        Value::Float(x)
    }

    #[test]
    fn abs_on_ints_and_floats() {
        assert_eq!(call("abs", &[i(-3)]), Ok(i(3)));
        assert_eq!(call("abs", &[i(3)]), Ok(i(3)));
        assert_eq!(call("abs", &[f(-2.5)]), Ok(f(2.5)));
        assert_err("abs", &[i(i64::MIN)], "abs: integer overflow");
        assert_err(
            "abs",
            &[s("-3")],
            "expected an int or a float, got a string",
        );
    }

    #[test]
    fn rounding_to_ints() {
        assert_eq!(call("floor", &[f(-2.5)]), Ok(i(-3)));
        assert_eq!(call("floor", &[f(2.7)]), Ok(i(2)));
        assert_eq!(call("ceil", &[f(2.1)]), Ok(i(3)));
        assert_eq!(call("ceil", &[f(-2.1)]), Ok(i(-2)));
        assert_eq!(call("round", &[f(2.5)]), Ok(i(3)));
        assert_eq!(call("round", &[f(-2.5)]), Ok(i(-3)));
        assert_eq!(call("round", &[f(2.4)]), Ok(i(2)));
        // An int argument widens.
        assert_eq!(call("floor", &[i(7)]), Ok(i(7)));
        assert_eq!(
            call("floor", &[f(-9_223_372_036_854_775_808.0)]),
            Ok(i(i64::MIN))
        );
        assert_err("floor", &[f(f64::NAN)], "NaN is not an int");
        assert_err("ceil", &[f(f64::INFINITY)], "out of the int range");
        assert_err("round", &[f(9.3e18)], "out of the int range");
        assert_err("round", &[s("2.5")], "expected a float, got a string");
    }

    #[test]
    fn to_float_widens() {
        assert_eq!(call("to_float", &[i(3)]), Ok(f(3.0)));
        assert!(matches!(call("to_float", &[i(3)]), Ok(Value::Float(_))));
        assert_err("to_float", &[f(3.0)], "expected an int, got a float");
    }

    #[test]
    fn parse_numbers_from_data() {
        assert_eq!(call("parse_int", &[s(" 8080")]), Ok(i(8080)));
        assert_eq!(call("parse_int", &[s("-1")]), Ok(i(-1)));
        assert_eq!(call("parse_int", &[s("+22")]), Ok(i(22)));
        for bad in [
            "",
            "22.0",
            "0x16",
            "1_000",
            "99999999999999999999",
            "twenty",
        ] {
            assert_eq!(call("parse_int", &[s(bad)]), Ok(Value::Missing), "{bad:?}");
        }
        assert_err("parse_int", &[i(1)], "expected a string, got an int");
        assert_eq!(call("parse_float", &[s("7.5")]), Ok(f(7.5)));
        assert_eq!(call("parse_float", &[s(" -1e3 ")]), Ok(f(-1000.0)));
        assert_eq!(call("parse_float", &[s("3")]), Ok(f(3.0)));
        for bad in ["", "NaN", "inf", "-infinity", "1e999", "7,5", "e"] {
            assert_eq!(
                call("parse_float", &[s(bad)]),
                Ok(Value::Missing),
                "{bad:?}"
            );
        }
        assert_err("parse_float", &[f(1.0)], "expected a string, got a float");
    }

    #[test]
    fn min_of_and_max_of() {
        assert_eq!(call("min_of", &[i(90), i(30)]), Ok(i(30)));
        assert_eq!(call("max_of", &[i(90), i(30)]), Ok(i(90)));
        let min = call("min_of", &[i(1), f(2.5)]);
        assert!(matches!(min, Ok(Value::Float(x)) if x == 1.0), "{min:?}");
        assert_eq!(call("max_of", &[f(-0.5), i(-1)]), Ok(f(-0.5)));
        assert_err("min_of", &[i(1), s("2")], "expected a float, got a string");
        assert_err(
            "max_of",
            &[Value::Dur(1), i(2)],
            "expected a float, got a duration",
        );
    }

    #[test]
    fn ports() {
        let b = |x| Ok(Value::Bool(x));
        assert_eq!(call("port_in_range", &[i(22), i(0), i(1024)]), b(true));
        assert_eq!(call("port_in_range", &[i(22), i(22), i(22)]), b(true));
        assert_eq!(call("port_in_range", &[i(22), i(23), i(65535)]), b(false));
        assert_eq!(call("port_in_range", &[i(22), i(30), i(10)]), b(false));
        assert_err(
            "port_in_range",
            &[i(22), i(0)],
            "expected 3 arguments, got 2",
        );
        assert_err(
            "port_in_range",
            &[s("22"), i(0), i(1)],
            "expected an int, got a string",
        );
        assert_eq!(
            call("ranges_overlap", &[i(0), i(1024), i(1000), i(2000)]),
            b(true)
        );
        assert_eq!(
            call("ranges_overlap", &[i(1000), i(2000), i(0), i(1000)]),
            b(true)
        );
        assert_eq!(
            call("ranges_overlap", &[i(20), i(21), i(22), i(22)]),
            b(false)
        );
        assert_eq!(
            call("ranges_overlap", &[i(30), i(10), i(0), i(100)]),
            b(false)
        );
        assert_err(
            "ranges_overlap",
            &[i(0), i(1), i(2), Value::Missing],
            "got an absent value",
        );
    }
}
