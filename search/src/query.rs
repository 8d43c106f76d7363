//! The query language (docs/search.md): words, `field:value`, ranges and
//! negation, parsed into [`Clause`]s without recursion and within limits.
//!
//! ```text
//! web prod                       free text (every word, typos forgiven)
//! type:aws.ec2.instance          exact, case-insensitive
//! type:aws.ec2.*                 prefix
//! tag:Owner=alice  tag:Owner     a tag's value, or that the tag is set
//! state.name:running             any attribute by path
//! size:>100  size:10..100        ranges on numbers,
//! launch_time:>=2026-01-01       and on times
//! -status:passing  -"old box"    negation
//! ```

use std::ops::Bound;

use crate::doc::time_value;

/// Longer queries are refused.
pub const MAX_QUERY: usize = 1_000;
/// At most this many clauses in one query.
pub const MAX_CLAUSES: usize = 32;

/// What a `field:` clause is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Kind,
    Type,
    Account,
    Region,
    Status,
    Severity,
    /// A policy or a rule (`policy.rule`).
    Policy,
    Group,
    Id,
    Tag,
    /// Any other name: a resource attribute's path.
    Attribute(String),
}

impl Target {
    fn of(name: &str) -> Target {
        match name.to_ascii_lowercase().as_str() {
            "kind" => Target::Kind,
            "type" => Target::Type,
            "account" => Target::Account,
            "region" => Target::Region,
            "status" => Target::Status,
            "severity" => Target::Severity,
            "policy" | "rule" => Target::Policy,
            "group" => Target::Group,
            "id" => Target::Id,
            "tag" | "tags" => Target::Tag,
            _ => Target::Attribute(name.to_string()),
        }
    }
}

/// How a value matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Match {
    /// The whole value, lowercased.
    Exact(String),
    /// Values starting with this (lowercased); empty: any value.
    Prefix(String),
    /// Numbers (times in seconds since the epoch) within bounds.
    Range(Bound<f64>, Bound<f64>),
}

/// One clause; every clause of a query must hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// Free text: documents containing these words (or close misspellings).
    Words { text: String, negated: bool },
    Field {
        target: Target,
        matches: Match,
        negated: bool,
    },
}

/// A query the parser refused, with the character offset of the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {at} of the query)")]
pub struct QueryError {
    pub message: String,
    pub at: usize,
}

fn err(at: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        message: message.into(),
        at,
    }
}

/// Parses a query. An empty query has no clauses (it matches everything
/// in scope).
pub fn parse(q: &str) -> Result<Vec<Clause>, QueryError> {
    if q.chars().count() > MAX_QUERY {
        return Err(err(
            MAX_QUERY,
            format!("the query is longer than {MAX_QUERY} characters; shorten it"),
        ));
    }
    let mut clauses = Vec::new();
    for (at, token) in tokens(q)? {
        if clauses.len() == MAX_CLAUSES {
            return Err(err(
                at,
                format!(
                    "more than {MAX_CLAUSES} terms; narrow the query with fewer, more precise terms"
                ),
            ));
        }
        clauses.push(clause(at, &token)?);
    }
    Ok(clauses)
}

/// A token as written: its raw text with quotes removed, and whether the
/// field part (before `:`) was quoted, which makes it plain text.
struct Token {
    text: String,
    /// Byte offset of the `:` separating field and value, when unquoted.
    colon: Option<usize>,
    negated: bool,
}

/// Splits on whitespace outside double quotes; offsets are in characters.
fn tokens(q: &str) -> Result<Vec<(usize, Token)>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut t = Token {
            text: String::new(),
            colon: None,
            negated: false,
        };
        if chars[i] == '-' {
            t.negated = true;
            i += 1;
        }
        let mut open: Option<usize> = None;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                open = if open.is_some() { None } else { Some(i) };
            } else if c.is_whitespace() && open.is_none() {
                break;
            } else if c == ':' && open.is_none() && t.colon.is_none() && !t.text.is_empty() {
                t.colon = Some(t.text.len());
                t.text.push(c);
            } else {
                t.text.push(c);
            }
            i += 1;
        }
        if let Some(at) = open {
            return Err(err(at, "a quote is not closed; add the closing `\"`"));
        }
        if !t.text.is_empty() {
            out.push((start, t));
        }
    }
    Ok(out)
}

fn clause(at: usize, t: &Token) -> Result<Clause, QueryError> {
    let Some(colon) = t.colon else {
        return Ok(Clause::Words {
            text: t.text.clone(),
            negated: t.negated,
        });
    };
    let (name, value) = (&t.text[..colon], &t.text[colon + 1..]);
    let valid_name = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_name {
        // Not a field (e.g. a URL): the whole token is text.
        return Ok(Clause::Words {
            text: t.text.clone(),
            negated: t.negated,
        });
    }
    if value.is_empty() {
        return Err(err(
            at,
            format!("`{name}:` has no value; write `{name}:VALUE` (or `{name}:*` for any value)"),
        ));
    }
    let target = Target::of(name);
    let mut matches = value_match(at, name, value)?;
    if target == Target::Group {
        // Group names are matched as written: `prod` and `Prod` are two
        // groups, and a scope must not mix them up.
        matches = match matches {
            Match::Exact(_) => Match::Exact(value.to_string()),
            Match::Prefix(_) => Match::Prefix(value.trim_end_matches('*').to_string()),
            r => r,
        };
    }
    Ok(Clause::Field {
        target,
        matches,
        negated: t.negated,
    })
}

fn value_match(at: usize, name: &str, value: &str) -> Result<Match, QueryError> {
    let bound = |s: &str| -> Result<f64, QueryError> {
        number(s).ok_or_else(|| {
            err(
                at,
                format!("`{name}:` compares with `{s}`, which is neither a number nor a date (YYYY-MM-DD or RFC 3339)"),
            )
        })
    };
    for (op, lo) in [(">=", true), ("<=", false), (">", true), ("<", false)] {
        if let Some(rest) = value.strip_prefix(op) {
            let v = bound(rest)?;
            let inclusive = op.len() == 2;
            let b = if inclusive {
                Bound::Included(v)
            } else {
                Bound::Excluded(v)
            };
            return Ok(if lo {
                Match::Range(b, Bound::Unbounded)
            } else {
                Match::Range(Bound::Unbounded, b)
            });
        }
    }
    if let Some((a, b)) = value.split_once("..")
        && (number(a).is_some() || a.is_empty())
        && (number(b).is_some() || b.is_empty())
        && !(a.is_empty() && b.is_empty())
    {
        let lo = if a.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(bound(a)?)
        };
        let hi = if b.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(bound(b)?)
        };
        return Ok(Match::Range(lo, hi));
    }
    let lower = value.to_lowercase();
    Ok(match lower.strip_suffix('*') {
        Some(prefix) => Match::Prefix(prefix.to_string()),
        None => Match::Exact(lower),
    })
}

/// A number, or a time as seconds since the epoch.
pub fn number(s: &str) -> Option<f64> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(f),
        _ => time_value(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(target: Target, matches: Match) -> Clause {
        Clause::Field {
            target,
            matches,
            negated: false,
        }
    }

    #[test]
    fn words_fields_and_negation() {
        let c = parse(r#"web  type:AWS.ec2.instance -status:passing "two words" tag:Owner=alice"#)
            .unwrap();
        assert_eq!(
            c,
            vec![
                Clause::Words {
                    text: "web".into(),
                    negated: false
                },
                field(Target::Type, Match::Exact("aws.ec2.instance".into())),
                Clause::Field {
                    target: Target::Status,
                    matches: Match::Exact("passing".into()),
                    negated: true
                },
                Clause::Words {
                    text: "two words".into(),
                    negated: false
                },
                field(Target::Tag, Match::Exact("owner=alice".into())),
            ]
        );
    }

    #[test]
    fn ranges_prefixes_and_quoted_values() {
        let c = parse(r#"size:>100 size:10..20 launch_time:>=2026-01-01 type:aws.ec2.* name:"web server" x:..5"#)
            .unwrap();
        assert_eq!(
            c,
            vec![
                field(
                    Target::Attribute("size".into()),
                    Match::Range(Bound::Excluded(100.0), Bound::Unbounded)
                ),
                field(
                    Target::Attribute("size".into()),
                    Match::Range(Bound::Included(10.0), Bound::Included(20.0))
                ),
                field(
                    Target::Attribute("launch_time".into()),
                    Match::Range(Bound::Included(1_767_225_600.0), Bound::Unbounded)
                ),
                field(Target::Type, Match::Prefix("aws.ec2.".into())),
                field(
                    Target::Attribute("name".into()),
                    Match::Exact("web server".into())
                ),
                field(
                    Target::Attribute("x".into()),
                    Match::Range(Bound::Unbounded, Bound::Included(5.0))
                ),
            ]
        );
    }

    #[test]
    fn mistakes_are_reported_with_where_and_what_to_do() {
        let e = parse("size:>big").unwrap_err();
        assert_eq!(e.at, 0);
        assert!(e.message.contains("neither a number nor a date"), "{e}");
        let e = parse(r#"a "open"#).unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.message.contains("closing"), "{e}");
        let e = parse("ok type:").unwrap_err();
        assert_eq!(e.at, 3);
        assert!(parse(&"x ".repeat(33)).is_err());
        assert!(parse(&"x".repeat(1_001)).is_err());
    }

    #[test]
    fn hostile_text_is_plain_text() {
        for q in [
            "http://x/y",
            "'; DROP TABLE resources; --",
            "<script>alert(1)</script>",
            "-",
            "\"\"",
            ":",
            "a:b:c",
            "\u{0}:\u{0}",
        ] {
            let _ = parse(q);
        }
        assert_eq!(parse("-").unwrap(), vec![]);
        assert_eq!(
            parse("a:b:c").unwrap(),
            vec![field(
                Target::Attribute("a".into()),
                Match::Exact("b:c".into())
            )]
        );
    }
}
