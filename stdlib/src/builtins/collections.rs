//! Lists, maps and sets, plus `len`, `is_empty` and `contains`, which are
//! overloaded on strings too.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Ctx, arity, kind, list_value, type_error, want_float, want_list, want_map, want_str};
use crate::value::Value;

fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(super) fn len(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("len", args)?;
    match x {
        Value::Str(s) => Ok(count(s.chars().count())),
        Value::List(xs) => Ok(count(xs.len())),
        Value::Map(m) => Ok(count(m.len())),
        other => Err(type_error("len", "a string, list or map", other)),
    }
}

pub(super) fn is_empty(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [x] = arity::<1>("is_empty", args)?;
    match x {
        Value::Str(s) => Ok(Value::Bool(s.is_empty())),
        Value::List(xs) => Ok(Value::Bool(xs.is_empty())),
        Value::Map(m) => Ok(Value::Bool(m.is_empty())),
        other => Err(type_error("is_empty", "a string, list or map", other)),
    }
}

pub(super) fn contains(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "contains";
    let [haystack, needle] = arity::<2>(NAME, args)?;
    match haystack {
        Value::Str(s) => Ok(Value::Bool(s.contains(want_str(NAME, needle)?))),
        Value::List(xs) => Ok(Value::Bool(xs.contains(needle))),
        other => Err(type_error(NAME, "a string or a list", other)),
    }
}

// ----- Set operations ----------------------------------------------------------

/// The hashable values, keyed so that two keys are equal exactly when the
/// values are `==`. Floats are left out (`1 == 1.0`), as are compound values.
#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Time(i64),
    Dur(i64),
    Ip(IpAddr),
    Cidr(IpNet),
}

fn key(v: &Value) -> Option<Key<'_>> {
    Some(match v {
        Value::Bool(b) => Key::Bool(*b),
        Value::Int(i) => Key::Int(*i),
        Value::Str(s) => Key::Str(s),
        Value::Time(t) => Key::Time(*t),
        Value::Dur(d) => Key::Dur(*d),
        Value::Ip(a) => Key::Ip(*a),
        Value::Cidr(n) => Key::Cidr(*n),
        _ => return None,
    })
}

/// Below this size a linear scan beats building a hash set.
const HASH_THRESHOLD: usize = 16;

/// Membership in a list, hashed when the list is long and hashable.
struct Members<'a> {
    items: &'a [Value],
    keys: Option<HashSet<Key<'a>>>,
}

impl<'a> Members<'a> {
    fn new(items: &'a [Value]) -> Self {
        let keys = if items.len() < HASH_THRESHOLD {
            None
        } else {
            items.iter().map(key).collect::<Option<HashSet<_>>>()
        };
        Members { items, keys }
    }

    fn contains(&self, x: &Value) -> bool {
        match (&self.keys, key(x)) {
            (Some(keys), Some(k)) => keys.contains(&k),
            _ => self.items.contains(x),
        }
    }
}

/// Keeps the first occurrence of each value, in order.
#[derive(Default)]
struct Distinct<'a> {
    out: Vec<Value>,
    keys: HashSet<Key<'a>>,
    /// The unhashable values kept so far.
    others: Vec<&'a Value>,
}

impl<'a> Distinct<'a> {
    fn push(&mut self, x: &'a Value) {
        match key(x) {
            Some(k) => {
                if self.keys.contains(&k) || self.others.contains(&x) {
                    return;
                }
                self.keys.insert(k);
            }
            None => {
                if self.out.contains(x) {
                    return;
                }
                self.others.push(x);
            }
        }
        self.out.push(x.clone());
    }

    fn finish(self) -> Value {
        list_value(self.out)
    }
}

fn two_lists<'a>(name: &str, args: &'a [Value]) -> Result<(&'a [Value], &'a [Value]), String> {
    let [xs, ys] = arity::<2>(name, args)?;
    Ok((want_list(name, xs)?, want_list(name, ys)?))
}

pub(super) fn contains_all(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let (xs, ys) = two_lists("contains_all", args)?;
    let xs = Members::new(xs);
    Ok(Value::Bool(ys.iter().all(|y| xs.contains(y))))
}

pub(super) fn contains_any(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let (xs, ys) = two_lists("contains_any", args)?;
    let xs = Members::new(xs);
    Ok(Value::Bool(ys.iter().any(|y| xs.contains(y))))
}

pub(super) fn intersection(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let (xs, ys) = two_lists("intersection", args)?;
    let ys = Members::new(ys);
    let mut out = Distinct::default();
    xs.iter()
        .filter(|x| ys.contains(x))
        .for_each(|x| out.push(x));
    Ok(out.finish())
}

pub(super) fn difference(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let (xs, ys) = two_lists("difference", args)?;
    let ys = Members::new(ys);
    let mut out = Distinct::default();
    xs.iter()
        .filter(|x| !ys.contains(x))
        .for_each(|x| out.push(x));
    Ok(out.finish())
}

pub(super) fn distinct(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [xs] = arity::<1>("distinct", args)?;
    let mut out = Distinct::default();
    want_list("distinct", xs)?.iter().for_each(|x| out.push(x));
    Ok(out.finish())
}

// ----- Maps ------------------------------------------------------------------------

pub(super) fn keys(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [m] = arity::<1>("keys", args)?;
    let m = want_map("keys", m)?;
    Ok(list_value(
        m.keys().map(|k| Value::Str(k.clone())).collect(),
    ))
}

pub(super) fn values(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [m] = arity::<1>("values", args)?;
    let m = want_map("values", m)?;
    Ok(list_value(m.values().cloned().collect()))
}

pub(super) fn has_key(args: &[Value], _: &Ctx) -> Result<Value, String> {
    let [m, k] = arity::<2>("has_key", args)?;
    let (m, k) = (want_map("has_key", m)?, want_str("has_key", k)?);
    Ok(Value::Bool(m.contains_key(k)))
}

pub(super) fn missing_keys(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "missing_keys";
    let [m, required] = arity::<2>(NAME, args)?;
    let (m, required) = (want_map(NAME, m)?, want_list(NAME, required)?);
    let mut out = Distinct::default();
    for k in required {
        let name = k
            .as_str()
            .ok_or_else(|| type_error(NAME, "a list of strings", k))?;
        if !m.contains_key(name) {
            out.push(k);
        }
    }
    Ok(out.finish())
}

// ----- Aggregates --------------------------------------------------------------------

pub(super) fn sum(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "sum";
    let [xs] = arity::<1>(NAME, args)?;
    let xs = want_list(NAME, xs)?;
    // A `list<float>` may hold ints (widened on the way in); any float makes
    // the sum a float. An empty list sums to `Int(0)`, which `==` and
    // `as_float` treat as `0.0`.
    if xs.iter().any(|x| matches!(x, Value::Float(_))) {
        let mut total = 0.0;
        for x in xs {
            total += want_float(NAME, x)?;
        }
        return Ok(Value::Float(total));
    }
    let mut total: i64 = 0;
    for x in xs {
        let i = x
            .as_int()
            .ok_or_else(|| type_error(NAME, "a list of numbers", x))?;
        total = total
            .checked_add(i)
            .ok_or_else(|| format!("{NAME}: integer overflow"))?;
    }
    Ok(Value::Int(total))
}

/// The smallest (`want_max` false) or largest element of a list of ints,
/// floats, timestamps or durations; `Missing` for an empty list.
fn extreme(name: &str, args: &[Value], want_max: bool) -> Result<Value, String> {
    let [xs] = arity::<1>(name, args)?;
    let xs = want_list(name, xs)?;
    let Some(first) = xs.first() else {
        return Ok(Value::Missing);
    };
    if xs.iter().any(|x| matches!(x, Value::Float(_))) {
        let mut best = want_float(name, first)?;
        for x in &xs[1..] {
            let f = want_float(name, x)?;
            best = if want_max { best.max(f) } else { best.min(f) };
        }
        return Ok(Value::Float(best));
    }
    let rank = |v: &Value| -> Option<i64> {
        match (first, v) {
            (Value::Int(_), Value::Int(i))
            | (Value::Time(_), Value::Time(i))
            | (Value::Dur(_), Value::Dur(i)) => Some(*i),
            _ => None,
        }
    };
    let mut best = first;
    let mut best_rank = rank(first).ok_or_else(|| {
        type_error(
            name,
            "a list of ints, floats, timestamps or durations",
            first,
        )
    })?;
    for x in &xs[1..] {
        let r = rank(x)
            .ok_or_else(|| format!("{name}: the list mixes {} and {}", kind(first), kind(x)))?;
        if (want_max && r > best_rank) || (!want_max && r < best_rank) {
            best = x;
            best_rank = r;
        }
    }
    Ok(best.clone())
}

pub(super) fn min(args: &[Value], _: &Ctx) -> Result<Value, String> {
    extreme("min", args, false)
}

pub(super) fn max(args: &[Value], _: &Ctx) -> Result<Value, String> {
    extreme("max", args, true)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::value::Value;

    fn b(x: bool) -> Result<Value, String> {
        Ok(Value::Bool(x))
    }

    #[test]
    fn len_counts_chars_elements_and_entries() {
        assert_eq!(call("len", &[s("héllo")]), Ok(Value::Int(5)));
        assert_eq!(call("len", &[s("")]), Ok(Value::Int(0)));
        assert_eq!(call("len", &[ints(&[1, 2, 3])]), Ok(Value::Int(3)));
        assert_eq!(
            call("len", &[map(&[("a", "1"), ("b", "2")])]),
            Ok(Value::Int(2))
        );
        assert_err(
            "len",
            &[Value::Int(3)],
            "expected a string, list or map, got an int",
        );
    }

    #[test]
    fn is_empty_on_each_overload() {
        assert_eq!(call("is_empty", &[s("")]), b(true));
        assert_eq!(call("is_empty", &[s(" ")]), b(false));
        assert_eq!(call("is_empty", &[ints(&[])]), b(true));
        assert_eq!(call("is_empty", &[ints(&[0])]), b(false));
        assert_eq!(call("is_empty", &[map(&[])]), b(true));
        assert_eq!(call("is_empty", &[map(&[("k", "v")])]), b(false));
        assert_err("is_empty", &[Value::Bool(false)], "got a bool");
    }

    #[test]
    fn contains_on_strings_and_lists() {
        assert_eq!(
            call("contains", &[s("arn:aws:iam::123:root"), s(":root")]),
            b(true)
        );
        assert_eq!(call("contains", &[s("abc"), s("C")]), b(false));
        assert_eq!(
            call("contains", &[ints(&[22, 80]), Value::Int(22)]),
            b(true)
        );
        assert_eq!(
            call("contains", &[ints(&[22, 80]), Value::Int(443)]),
            b(false)
        );
        // Ints and floats compare by value, as `==` does.
        assert_eq!(call("contains", &[ints(&[1]), Value::Float(1.0)]), b(true));
        assert_err(
            "contains",
            &[s("abc"), Value::Int(1)],
            "expected a string, got an int",
        );
        assert_err(
            "contains",
            &[Value::Int(1), Value::Int(1)],
            "expected a string or a list",
        );
    }

    #[test]
    fn contains_all_and_any() {
        let abc = strs(&["a", "b", "c"]);
        assert_eq!(
            call("contains_all", &[abc.clone(), strs(&["a", "c"])]),
            b(true)
        );
        assert_eq!(
            call("contains_all", &[abc.clone(), strs(&["a", "d"])]),
            b(false)
        );
        assert_eq!(call("contains_all", &[abc.clone(), strs(&[])]), b(true));
        assert_eq!(
            call("contains_any", &[ints(&[22, 80]), ints(&[3389, 22])]),
            b(true)
        );
        assert_eq!(call("contains_any", &[abc.clone(), strs(&["x"])]), b(false));
        assert_eq!(call("contains_any", &[abc.clone(), strs(&[])]), b(false));
        assert_err(
            "contains_all",
            &[abc.clone(), s("a")],
            "expected a list, got a string",
        );
        assert_err(
            "contains_any",
            &[s("a"), abc],
            "expected a list, got a string",
        );
    }

    #[test]
    fn long_lists_are_hashed_with_the_same_answers() {
        let big: Vec<i64> = (0..100).collect();
        let xs = ints(&big);
        assert_eq!(call("contains_all", &[xs.clone(), ints(&[5, 99])]), b(true));
        assert_eq!(
            call("contains_any", &[xs.clone(), ints(&[100, 200])]),
            b(false)
        );
        // A float probe falls back to `==`, which widens.
        let probe = super::super::list_value(vec![Value::Float(42.0)]);
        assert_eq!(call("contains_all", &[xs.clone(), probe]), b(true));
        assert_eq!(
            call("intersection", &[ints(&[7, 300, 7]), xs.clone()]),
            Ok(ints(&[7]))
        );
        assert_eq!(
            call("difference", &[ints(&[7, 300, 300]), xs]),
            Ok(ints(&[300]))
        );
    }

    #[test]
    fn intersection_difference_distinct() {
        assert_eq!(
            call("intersection", &[ints(&[1, 2, 3, 2]), ints(&[2, 3, 4])]),
            Ok(ints(&[2, 3]))
        );
        assert_eq!(
            call("intersection", &[ints(&[1]), ints(&[])]),
            Ok(ints(&[]))
        );
        assert_eq!(
            call(
                "difference",
                &[strs(&["s3:*", "ec2:*", "iam:*"]), strs(&["ec2:*"])]
            ),
            Ok(strs(&["s3:*", "iam:*"]))
        );
        assert_eq!(
            call("distinct", &[ints(&[80, 443, 80])]),
            Ok(ints(&[80, 443]))
        );
        // Mixed hashable and unhashable values still deduplicate by `==`.
        let mixed = super::super::list_value(vec![
            Value::Float(1.0),
            Value::Int(1),
            strs(&["a"]),
            strs(&["a"]),
            Value::Int(2),
        ]);
        let expected =
            super::super::list_value(vec![Value::Float(1.0), strs(&["a"]), Value::Int(2)]);
        assert_eq!(call("distinct", &[mixed]), Ok(expected));
        assert_err("intersection", &[ints(&[1])], "expected 2 arguments");
        assert_err(
            "difference",
            &[map(&[]), ints(&[])],
            "expected a list, got a map",
        );
        assert_err("distinct", &[s("aa")], "expected a list, got a string");
    }

    #[test]
    fn map_keys_values_has_key() {
        let tags = map(&[("owner", "ops"), ("env", "prod")]);
        assert_eq!(call("keys", [tags.clone()]), Ok(strs(&["env", "owner"])));
        assert_eq!(call("values", [tags.clone()]), Ok(strs(&["prod", "ops"])));
        assert_eq!(call("has_key", &[tags.clone(), s("owner")]), b(true));
        assert_eq!(call("has_key", &[tags.clone(), s("Owner")]), b(false));
        assert_eq!(call("keys", &[map(&[])]), Ok(strs(&[])));
        assert_err("keys", &[strs(&["a"])], "expected a map, got a list");
        assert_err("values", &[s("a")], "expected a map, got a string");
        assert_err(
            "has_key",
            &[tags, Value::Int(1)],
            "expected a string, got an int",
        );
    }

    #[test]
    fn missing_keys_for_tagging() {
        let tags = map(&[("env", "prod")]);
        assert_eq!(
            call(
                "missing_keys",
                &[
                    tags.clone(),
                    strs(&["env", "owner", "cost-center", "owner"])
                ]
            ),
            Ok(strs(&["owner", "cost-center"]))
        );
        assert_eq!(
            call("missing_keys", &[tags.clone(), strs(&["env"])]),
            Ok(strs(&[]))
        );
        assert_err(
            "missing_keys",
            &[tags.clone(), ints(&[1])],
            "expected a list of strings",
        );
        assert_err(
            "missing_keys",
            &[strs(&[]), strs(&[])],
            "expected a map, got a list",
        );
    }

    #[test]
    fn sums() {
        assert_eq!(call("sum", &[ints(&[100, 250, 50])]), Ok(Value::Int(400)));
        assert_eq!(call("sum", &[ints(&[])]), Ok(Value::Int(0)));
        let floats = super::super::list_value(vec![Value::Float(0.5), Value::Int(2)]);
        assert_eq!(call("sum", &[floats]), Ok(Value::Float(2.5)));
        assert_err("sum", &[ints(&[i64::MAX, 1])], "integer overflow");
        assert_err("sum", &[ints(&[i64::MIN, -1])], "integer overflow");
        assert_err(
            "sum",
            &[strs(&["1"])],
            "expected a list of numbers, got a string",
        );
        assert_err("sum", &[Value::Int(1)], "expected a list, got an int");
    }

    #[test]
    fn min_and_max() {
        assert_eq!(call("min", &[ints(&[443, 22, 80])]), Ok(Value::Int(22)));
        assert_eq!(call("max", &[ints(&[443, 22, 80])]), Ok(Value::Int(443)));
        assert_eq!(call("min", &[ints(&[])]), Ok(Value::Missing));
        assert_eq!(call("max", &[ints(&[])]), Ok(Value::Missing));
        let floats = super::super::list_value(vec![Value::Int(3), Value::Float(1.5)]);
        assert_eq!(call("min", [floats.clone()]), Ok(Value::Float(1.5)));
        assert_eq!(call("max", &[floats]), Ok(Value::Float(3.0)));
        let times = super::super::list_value(vec![Value::Time(50), Value::Time(10)]);
        assert_eq!(call("min", [times.clone()]), Ok(Value::Time(10)));
        assert_eq!(call("max", &[times]), Ok(Value::Time(50)));
        let durs = super::super::list_value(vec![Value::Dur(5), Value::Dur(7)]);
        assert_eq!(call("max", &[durs]), Ok(Value::Dur(7)));
        let mixed = super::super::list_value(vec![Value::Int(5), Value::Dur(7)]);
        assert_err("max", &[mixed], "the list mixes an int and a duration");
        assert_err(
            "min",
            &[strs(&["a"])],
            "expected a list of ints, floats, timestamps or durations",
        );
        assert_err("min", &[s("a")], "expected a list, got a string");
    }
}
