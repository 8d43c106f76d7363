//! String built-ins (`len`, `contains` and `is_empty` live with the
//! collections, since they are overloaded on both).

use super::{Ctx, arity, list_value, type_error, want_list, want_str};
use crate::value::Value;

/// Applies `f` to a one-string-argument call.
fn unary_str(name: &str, args: &[Value], f: impl Fn(&str) -> String) -> Result<Value, String> {
    let [s] = arity::<1>(name, args)?;
    Ok(Value::str(&f(want_str(name, s)?)))
}

/// Applies `f` to a two-string-argument call giving a bool.
fn binary_str_pred(
    name: &str,
    args: &[Value],
    f: impl Fn(&str, &str) -> bool,
) -> Result<Value, String> {
    let [a, b] = arity::<2>(name, args)?;
    Ok(Value::Bool(f(want_str(name, a)?, want_str(name, b)?)))
}

pub(super) fn to_string(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("to_string", args)?;
    Ok(match x {
        Value::Str(_) => x.clone(),
        other => Value::str(&other.to_string()),
    })
}

pub(super) fn lower(args: &[Value], _: &Ctx) -> Result<Value, String> {
    unary_str("lower", args, str::to_lowercase)
}

pub(super) fn upper(args: &[Value], _: &Ctx) -> Result<Value, String> {
    unary_str("upper", args, str::to_uppercase)
}

pub(super) fn trim(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [s] = arity::<1>("trim", args)?;
    let text = want_str("trim", s)?;
    let trimmed = text.trim();
    Ok(if trimmed.len() == text.len() {
        s.clone()
    } else {
        Value::str(trimmed)
    })
}

pub(super) fn starts_with(args: &[Value], _: &Ctx) -> Result<Value, String> {
    binary_str_pred("starts_with", args, |s, p| s.starts_with(p))
}

pub(super) fn ends_with(args: &[Value], _: &Ctx) -> Result<Value, String> {
    binary_str_pred("ends_with", args, |s, p| s.ends_with(p))
}

pub(super) fn split(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "split";
    let [s, sep] = arity::<2>(NAME, args)?;
    let (s, sep) = (want_str(NAME, s)?, want_str(NAME, sep)?);
    if sep.is_empty() {
        return Err(format!("{NAME}: the separator is empty"));
    }
    Ok(list_value(s.split(sep).map(Value::str).collect()))
}

pub(super) fn join(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "join";
    let [xs, sep] = arity::<2>(NAME, args)?;
    let (xs, sep) = (want_list(NAME, xs)?, want_str(NAME, sep)?);
    let mut out = String::new();
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(
            x.as_str()
                .ok_or_else(|| type_error(NAME, "a list of strings", x))?,
        );
    }
    Ok(Value::str(&out))
}

pub(super) fn replace(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "replace";
    let [s, from, to] = arity::<3>(NAME, args)?;
    let (s, from, to) = (
        want_str(NAME, s)?,
        want_str(NAME, from)?,
        want_str(NAME, to)?,
    );
    if from.is_empty() {
        return Err(format!("{NAME}: the string to replace is empty"));
    }
    Ok(Value::str(&s.replace(from, to)))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::value::Value;

    #[test]
    fn to_string_prints_like_messages() {
        assert_eq!(call("to_string", &[Value::Int(22)]), Ok(s("22")));
        assert_eq!(call("to_string", &[s("sg-1")]), Ok(s("sg-1")));
        assert_eq!(call("to_string", &[strs(&["a"])]), Ok(s("[\"a\"]")));
        assert_eq!(call("to_string", &[Value::Float(7.0)]), Ok(s("7.0")));
        assert_eq!(call("to_string", &[Value::Dur(90 * 86_400)]), Ok(s("90d")));
        assert_eq!(call("to_string", &[Value::Missing]), Ok(s("<missing>")));
        assert_err("to_string", &[], "expected 1 argument, got 0");
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(call("lower", &[s("Prod")]), Ok(s("prod")));
        assert_eq!(call("lower", &[s("ÉTÉ")]), Ok(s("été")));
        assert_eq!(call("upper", &[s("us-east-1")]), Ok(s("US-EAST-1")));
        assert_eq!(call("trim", &[s("  web \n")]), Ok(s("web")));
        assert_eq!(call("trim", &[s("web")]), Ok(s("web")));
        assert_eq!(call("trim", &[s(" \t ")]), Ok(s("")));
        assert_err("lower", &[Value::Int(1)], "expected a string, got an int");
        assert_err(
            "upper",
            &[Value::Bool(true)],
            "expected a string, got a bool",
        );
        assert_err("trim", &[strs(&[])], "expected a string, got a list");
    }

    #[test]
    fn prefixes_and_suffixes() {
        assert_eq!(
            call("starts_with", &[s("sg-0a1b"), s("sg-")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("starts_with", &[s("sg-0a1b"), s("SG-")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(call("starts_with", &[s("x"), s("")]), Ok(Value::Bool(true)));
        assert_eq!(
            call("ends_with", &[s("logs.example.com"), s(".example.com")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("ends_with", &[s("a"), s("ba")]),
            Ok(Value::Bool(false))
        );
        assert_err("starts_with", &[s("a"), Value::Int(1)], "expected a string");
        assert_err(
            "ends_with",
            &[Value::Missing, s("a")],
            "got an absent value",
        );
    }

    #[test]
    fn split_keeps_empty_parts() {
        assert_eq!(
            call("split", &[s("a,b,,c"), s(",")]),
            Ok(strs(&["a", "b", "", "c"]))
        );
        assert_eq!(call("split", &[s(""), s(",")]), Ok(strs(&[""])));
        assert_eq!(call("split", &[s("a::b"), s("::")]), Ok(strs(&["a", "b"])));
        assert_err("split", &[s("abc"), s("")], "the separator is empty");
        assert_err("split", &[s("abc")], "expected 2 arguments, got 1");
    }

    #[test]
    fn join_strings() {
        assert_eq!(
            call("join", &[strs(&["cis-5.2", "pci"]), s(", ")]),
            Ok(s("cis-5.2, pci"))
        );
        assert_eq!(call("join", &[strs(&[]), s(",")]), Ok(s("")));
        assert_err(
            "join",
            &[ints(&[1]), s(",")],
            "expected a list of strings, got an int",
        );
        assert_err("join", &[s("ab"), s(",")], "expected a list, got a string");
    }

    #[test]
    fn replace_all_occurrences() {
        assert_eq!(
            call("replace", &[s("a-b-c"), s("-"), s("_")]),
            Ok(s("a_b_c"))
        );
        assert_eq!(call("replace", &[s("abc"), s("x"), s("y")]), Ok(s("abc")));
        assert_eq!(call("replace", &[s("aaa"), s("aa"), s("")]), Ok(s("a")));
        assert_err(
            "replace",
            &[s("abc"), s(""), s("x")],
            "the string to replace is empty",
        );
    }
}
