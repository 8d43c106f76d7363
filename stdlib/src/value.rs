//! Runtime values, shared by the built-ins, the interpreter and (through its
//! helpers) the JIT.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

/// A record's (or a resource's) fields, in the order of its declaration; the
/// compiler resolves field names to indices, so lookups are positional.
pub type Record = Arc<[Value]>;

/// A value computed by a Pac expression. `Missing` is the absent value of an
/// optional (`T?`); the type checker makes sure it never reaches an operator
/// that needs a `T`.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Missing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// Seconds since the Unix epoch, UTC.
    Time(i64),
    /// Seconds.
    Dur(i64),
    Ip(IpAddr),
    Cidr(IpNet),
    List(Arc<[Value]>),
    Map(Arc<BTreeMap<Arc<str>, Value>>),
    Record(Record),
    /// A pattern precompiled at compile time (a constant `regex` argument).
    Regex(Arc<regex::Regex>),
    /// A glob precompiled at compile time (a constant `glob` argument).
    Glob(Arc<globset::GlobMatcher>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Ints widen to floats, as in the type system.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

/// Structural equality, as Pac's `==` defines it (ints and floats compare by
/// value; NaN is not equal to itself).
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Missing, Missing) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(_), _) | (_, Float(_)) => match (self.as_float(), other.as_float()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            (Str(a), Str(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Dur(a), Dur(b)) => a == b,
            (Ip(a), Ip(b)) => a == b,
            (Cidr(a), Cidr(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Record(a), Record(b)) => a == b,
            (Regex(a), Regex(b)) => a.as_str() == b.as_str(),
            (Glob(a), Glob(b)) => a.glob() == b.glob(),
            _ => false,
        }
    }
}

/// How values print in messages and explanations: strings unquoted at the top
/// level (`{group_id}` prints `sg-1`), quoted inside lists and records.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => write_nested(other, f),
        }
    }
}

fn write_nested(v: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match v {
        Value::Missing => f.write_str("<missing>"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::Float(x) => {
            if x.fract() == 0.0 && x.is_finite() && x.abs() < 1e15 {
                write!(f, "{x:.1}")
            } else {
                write!(f, "{x}")
            }
        }
        Value::Str(s) => write!(f, "{s:?}"),
        Value::Time(t) => match chrono::DateTime::from_timestamp(*t, 0) {
            Some(dt) => write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%SZ")),
            None => write!(f, "@{t}"),
        },
        Value::Dur(d) => write!(f, "{}", format_duration(*d)),
        Value::Ip(ip) => write!(f, "{ip}"),
        Value::Cidr(net) => write!(f, "{net}"),
        Value::List(items) => {
            f.write_str("[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                if i == 8 && items.len() > 10 {
                    return write!(f, "… {} more]", items.len() - 8);
                }
                write_nested(item, f)?;
            }
            f.write_str("]")
        }
        Value::Map(m) => {
            f.write_str("{")?;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k:?}: ")?;
                write_nested(v, f)?;
            }
            f.write_str("}")
        }
        Value::Record(fields) => write!(f, "{{…{} fields}}", fields.len()),
        Value::Regex(r) => write!(f, "regex({:?})", r.as_str()),
        Value::Glob(g) => write!(f, "glob({:?})", g.glob().glob()),
    }
}

/// `90d`, `24h`, `1d 2h`, `-5m`, `0s`.
pub fn format_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
    }
    let mut rest = secs.unsigned_abs();
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            if !out.is_empty() && out != "-" {
                out.push(' ');
            }
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_compactly() {
        assert_eq!(format_duration(90 * 86_400), "90d");
        assert_eq!(format_duration(86_400 + 7_200), "1d 2h");
        assert_eq!(format_duration(-300), "-5m");
    }

    #[test]
    fn ints_and_floats_compare_by_value() {
        assert_eq!(Value::Int(7), Value::Float(7.0));
        assert_ne!(Value::Float(f64::NAN), Value::Float(f64::NAN));
    }
}
