//! `matches` (regular expressions) and `glob`, with the pattern compilers the
//! compiler shares for constant patterns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};

use super::{Ctx, arity, type_error, want_str};
use crate::value::Value;

/// Bounds the memory a (possibly data-supplied) pattern may compile to.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// How many computed patterns each thread keeps compiled.
const CACHE_CAPACITY: usize = 256;

/// Compiles a `regex` argument: Rust `regex` syntax, unanchored (a search),
/// at most 1 MiB compiled. The error is one line, fit for a diagnostic.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let detail = match &e {
                regex::Error::Syntax(msg) => msg
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("error:"))
                    .map(|l| l.trim_start_matches("error:").trim().to_string())
                    .unwrap_or_else(|| msg.replace('\n', " ")),
                other => other.to_string().replace('\n', " "),
            };
            format!("invalid regex {pattern:?}: {detail}")
        })
}

/// Compiles a `glob` argument, matched against a whole string: `*` matches
/// any run of characters including `/`, `?` one character, `[…]` a class,
/// `{a,b}` alternatives, and `\` escapes.
pub fn compile_glob(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob {pattern:?}: {}", e.kind()))
}

thread_local! {
    static REGEXES: RefCell<HashMap<Box<str>, Arc<Regex>>> = RefCell::new(HashMap::new());
    static GLOBS: RefCell<HashMap<Box<str>, Arc<GlobMatcher>>> = RefCell::new(HashMap::new());
}

/// A small per-thread cache, emptied when full: patterns computed from data
/// usually repeat across resources.
fn cached<T>(
    cache: &'static std::thread::LocalKey<RefCell<HashMap<Box<str>, Arc<T>>>>,
    pattern: &str,
    compile: fn(&str) -> Result<T, String>,
) -> Result<Arc<T>, String> {
    if let Some(hit) = cache.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(hit);
    }
    let compiled = Arc::new(compile(pattern)?);
    cache.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_CAPACITY {
            c.clear();
        }
        c.insert(pattern.into(), compiled.clone());
    });
    Ok(compiled)
}

pub(super) fn matches(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "matches";
    let [s, pattern] = arity::<2>(NAME, args)?;
    let s = want_str(NAME, s)?;
    let found = match pattern {
        Value::Regex(re) => re.is_match(s),
        Value::Str(p) => cached(&REGEXES, p, compile_regex)
            .map_err(|e| format!("{NAME}: {e}"))?
            .is_match(s),
        other => return Err(type_error(NAME, "a regex", other)),
    };
    Ok(Value::Bool(found))
}

pub(super) fn glob(args: &[Value], _: &Ctx) -> Result<Value, String> {
    const NAME: &str = "glob";
    let [s, pattern] = arity::<2>(NAME, args)?;
    let s = want_str(NAME, s)?;
    let found = match pattern {
        Value::Glob(g) => g.is_match(s),
        Value::Str(p) => cached(&GLOBS, p, compile_glob)
            .map_err(|e| format!("{NAME}: {e}"))?
            .is_match(s),
        other => return Err(type_error(NAME, "a glob", other)),
    };
    Ok(Value::Bool(found))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn matches_searches_with_constant_and_computed_patterns() {
        let re = Value::Regex(Arc::new(compile_regex("^sg-[0-9a-f]+$").unwrap()));
        assert_eq!(
            call("matches", &[s("sg-0a1b2c"), re.clone()]),
            Ok(Value::Bool(true))
        );
        assert_eq!(call("matches", &[s("sg-XYZ"), re]), Ok(Value::Bool(false)));
        // Unanchored: a search, not a whole-string match.
        assert_eq!(
            call("matches", &[s("prod-web"), s("web")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("matches", &[s("prod-web"), s("^web")]),
            Ok(Value::Bool(false))
        );
        // The cache gives the same answer the second time.
        assert_eq!(
            call("matches", &[s("prod-web"), s("web")]),
            Ok(Value::Bool(true))
        );
    }

    #[test]
    fn matches_reports_invalid_patterns() {
        assert_err(
            "matches",
            &[s("x"), s("(unclosed")],
            "invalid regex \"(unclosed\"",
        );
        let e = call("matches", &[s("x"), s("[z-a]")]).unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        assert_err(
            "matches",
            &[s("x"), Value::Int(1)],
            "expected a regex, got an int",
        );
        assert_err("matches", &[Value::Int(1), s("x")], "expected a string");
        // A pattern that compiles too big is an error, not an allocation storm.
        assert_err(
            "matches",
            &[s("x"), s(r"\w{1000}\w{1000}\w{1000}")],
            "invalid regex",
        );
    }

    #[test]
    fn glob_matches_whole_strings() {
        let arn = s("arn:aws:iam::123:role/admin-ops");
        assert_eq!(
            call("glob", &[arn.clone(), s("arn:aws:iam::*:role/admin-*")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call("glob", &[arn.clone(), s("admin-*")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(call("glob", &[arn.clone(), s("*")]), Ok(Value::Bool(true)));
        let g = Value::Glob(Arc::new(compile_glob("prod-{web,db}-?").unwrap()));
        assert_eq!(
            call("glob", &[s("prod-db-1"), g.clone()]),
            Ok(Value::Bool(true))
        );
        assert_eq!(call("glob", &[s("prod-db-10"), g]), Ok(Value::Bool(false)));
        assert_eq!(call("glob", &[s("a*b"), s(r"a\*b")]), Ok(Value::Bool(true)));
        assert_eq!(
            call("glob", &[s("axb"), s(r"a\*b")]),
            Ok(Value::Bool(false))
        );
    }

    #[test]
    fn glob_reports_invalid_patterns() {
        assert_err("glob", &[s("x"), s("[a-")], "invalid glob \"[a-\"");
        assert_err("glob", &[s("x"), s("{a,b")], "invalid glob");
        assert_err(
            "glob",
            &[s("x"), Value::Bool(true)],
            "expected a glob, got a bool",
        );
    }
}
