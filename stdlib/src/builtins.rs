//! Built-in functions: signature (in Pac's type syntax), documentation,
//! example, implementation.
//!
//! Signatures are strings the compiler parses, e.g.
//! `"(s: string, prefix: string) -> bool"` or, generic over one type
//! variable `T`, `"(xs: list<T>, x: T) -> bool"`. Two pseudo-types exist only
//! here: `regex` and `glob` are strings that the compiler precompiles when the
//! argument is a constant (and rejects at compile time when invalid); at run
//! time such an argument arrives as `Value::Regex` / `Value::Glob` if it was
//! constant and as `Value::Str` otherwise. A built-in may have several
//! signatures (overloads); the first that fits the argument types is used.
//!
//! The compiler should precompile constant patterns with [`compile_regex`] and
//! [`compile_glob`], so that constant and computed patterns mean the same.
//!
//! The implementations live in submodules, one per [`CATEGORIES`] group; the
//! table [`BUILTINS`] wires them up, and [`markdown`] renders
//! `docs/builtins.md` from it.

use std::fmt::Write as _;

use crate::value::Value;

mod collections;
mod net;
mod numbers;
mod patterns;
mod strings;
mod time;

/// What a built-in may read besides its arguments.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The evaluation clock, seconds since the Unix epoch (UTC).
    pub now: i64,
}

/// A built-in's implementation. `Err` is an evaluation error (the rule's
/// result becomes `error` with this reason), never a panic.
pub type Imp = fn(&[Value], &Ctx) -> Result<Value, String>;

pub struct Builtin {
    pub name: &'static str,
    /// One or more signatures (overloads), in Pac type syntax.
    pub sigs: &'static [&'static str],
    /// What it does, in one or two sentences (Markdown).
    pub doc: &'static str,
    /// A Pac expression using it, with its result: `starts_with("sg-1", "sg-") == true`.
    pub example: &'static str,
    pub imp: Imp,
}

impl Builtin {
    /// Whether the result depends on the evaluation clock (`Ctx::now`), not
    /// only on the arguments: a rescan re-evaluates what calls these.
    pub fn reads_clock(&self) -> bool {
        READS_CLOCK.contains(&self.name)
    }
}

/// The built-ins whose implementation reads `Ctx::now` (time.rs `age_of`).
const READS_CLOCK: &[&str] = &["age", "older_than"];

pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

pub use patterns::{compile_glob, compile_regex};

/// The documentation groups: every built-in is listed in exactly one (a unit
/// test checks it), in the order `docs/builtins.md` shows them.
pub static CATEGORIES: &[(&str, &[&str])] = &[
    ("General", &["len", "is_empty", "contains", "to_string"]),
    (
        "Strings",
        &[
            "lower",
            "upper",
            "trim",
            "starts_with",
            "ends_with",
            "split",
            "join",
            "replace",
            "matches",
            "glob",
        ],
    ),
    (
        "Lists, maps and sets",
        &[
            "contains_all",
            "contains_any",
            "intersection",
            "difference",
            "distinct",
            "keys",
            "values",
            "has_key",
            "missing_keys",
            "sum",
            "min",
            "max",
        ],
    ),
    (
        "IP addresses and networks",
        &[
            "ip",
            "cidr",
            "parse_ip",
            "parse_cidr",
            "cidr_contains",
            "cidr_overlaps",
            "is_private",
            "is_world",
            "prefix_len",
            "cidr_size",
            "network",
        ],
    ),
    ("Ports", &["port_in_range", "ranges_overlap"]),
    (
        "Time",
        &[
            "age",
            "older_than",
            "days",
            "hours",
            "in_days",
            "in_hours",
            "parse_time",
            "format_date",
            "year",
        ],
    ),
    (
        "Numbers",
        &[
            "abs",
            "floor",
            "ceil",
            "round",
            "to_float",
            "parse_int",
            "parse_float",
            "min_of",
            "max_of",
        ],
    ),
];

pub static BUILTINS: &[Builtin] = &[
    // ----- General ---------------------------------------------------------
    Builtin {
        name: "len",
        sigs: &[
            "(s: string) -> int",
            "(xs: list<T>) -> int",
            "(m: map<T>) -> int",
        ],
        doc: "The number of characters (Unicode scalar values, not bytes) of a string, \
              of elements of a list, or of entries of a map.",
        example: r#"len("héllo") == 5"#,
        imp: collections::len,
    },
    Builtin {
        name: "is_empty",
        sigs: &[
            "(s: string) -> bool",
            "(xs: list<T>) -> bool",
            "(m: map<T>) -> bool",
        ],
        doc: "True when the string, list or map has no characters, elements or entries.",
        example: r#"is_empty("") == true"#,
        imp: collections::is_empty,
    },
    Builtin {
        name: "contains",
        sigs: &[
            "(s: string, part: string) -> bool",
            "(xs: list<T>, x: T) -> bool",
        ],
        doc: "True when `part` occurs in `s` (case-sensitive), or when `x` is an element of `xs` \
              (the same test as `x in xs`).",
        example: r#"contains("arn:aws:iam::123:root", ":root") == true"#,
        imp: collections::contains,
    },
    Builtin {
        name: "to_string",
        sigs: &["(x: T) -> string"],
        doc: "The value as a message prints it: strings unchanged, other values in Pac syntax \
              (an absent optional prints `<missing>`).",
        example: r#"to_string(22) == "22""#,
        imp: strings::to_string,
    },
    // ----- Strings ---------------------------------------------------------
    Builtin {
        name: "lower",
        sigs: &["(s: string) -> string"],
        doc: "The string in lower case (Unicode rules).",
        example: r#"lower("Prod") == "prod""#,
        imp: strings::lower,
    },
    Builtin {
        name: "upper",
        sigs: &["(s: string) -> string"],
        doc: "The string in upper case (Unicode rules).",
        example: r#"upper("us-east-1") == "US-EAST-1""#,
        imp: strings::upper,
    },
    Builtin {
        name: "trim",
        sigs: &["(s: string) -> string"],
        doc: "The string without leading and trailing whitespace.",
        example: r#"trim("  web \n") == "web""#,
        imp: strings::trim,
    },
    Builtin {
        name: "starts_with",
        sigs: &["(s: string, prefix: string) -> bool"],
        doc: "True when `s` begins with `prefix` (case-sensitive).",
        example: r#"starts_with("sg-0a1b", "sg-") == true"#,
        imp: strings::starts_with,
    },
    Builtin {
        name: "ends_with",
        sigs: &["(s: string, suffix: string) -> bool"],
        doc: "True when `s` ends with `suffix` (case-sensitive).",
        example: r#"ends_with("logs.example.com", ".example.com") == true"#,
        imp: strings::ends_with,
    },
    Builtin {
        name: "split",
        sigs: &["(s: string, sep: string) -> list<string>"],
        doc: "The parts of `s` between occurrences of `sep`, empty parts included. \
              An empty `sep` is an error.",
        example: r#"split("a,b,,c", ",") == ["a", "b", "", "c"]"#,
        imp: strings::split,
    },
    Builtin {
        name: "join",
        sigs: &["(xs: list<string>, sep: string) -> string"],
        doc: "The strings of `xs` joined with `sep` between them.",
        example: r#"join(["cis-5.2", "pci"], ", ") == "cis-5.2, pci""#,
        imp: strings::join,
    },
    Builtin {
        name: "replace",
        sigs: &["(s: string, from: string, to: string) -> string"],
        doc: "`s` with every occurrence of `from` replaced by `to`. An empty `from` is an error.",
        example: r#"replace("a-b-c", "-", "_") == "a_b_c""#,
        imp: strings::replace,
    },
    Builtin {
        name: "matches",
        sigs: &["(s: string, pattern: regex) -> bool"],
        doc: "True when the regular expression matches somewhere in `s` (anchor it with `^…$` \
              to match the whole string). An invalid pattern is a compile-time error when it \
              is a constant, an evaluation error otherwise.",
        example: r#"matches("sg-0a1b2c", "^sg-[0-9a-f]+$") == true"#,
        imp: patterns::matches,
    },
    Builtin {
        name: "glob",
        sigs: &["(s: string, pattern: glob) -> bool"],
        doc: "True when the glob matches the whole of `s`: `*` is any run of characters \
              (`/` included), `?` one character, `[a-z]` a class, `{a,b}` alternatives, \
              `\\` escapes. An invalid pattern is an error, as for `matches`.",
        example: r#"glob("arn:aws:iam::123:role/admin-ops", "arn:aws:iam::*:role/admin-*") == true"#,
        imp: patterns::glob,
    },
    // ----- Lists, maps and sets ---------------------------------------------
    Builtin {
        name: "contains_all",
        sigs: &["(xs: list<T>, ys: list<T>) -> bool"],
        doc: "True when every element of `ys` is in `xs` (true when `ys` is empty).",
        example: r#"contains_all(["a", "b", "c"], ["a", "c"]) == true"#,
        imp: collections::contains_all,
    },
    Builtin {
        name: "contains_any",
        sigs: &["(xs: list<T>, ys: list<T>) -> bool"],
        doc: "True when some element of `ys` is in `xs` (false when `ys` is empty).",
        example: r#"contains_any([22, 80], [3389, 22]) == true"#,
        imp: collections::contains_any,
    },
    Builtin {
        name: "intersection",
        sigs: &["(xs: list<T>, ys: list<T>) -> list<T>"],
        doc: "The elements of `xs` that are also in `ys`, in the order of `xs`, without duplicates.",
        example: "intersection([1, 2, 3, 2], [2, 3, 4]) == [2, 3]",
        imp: collections::intersection,
    },
    Builtin {
        name: "difference",
        sigs: &["(xs: list<T>, ys: list<T>) -> list<T>"],
        doc: "The elements of `xs` that are not in `ys`, in the order of `xs`, without duplicates.",
        example: r#"difference(["s3:*", "ec2:*", "iam:*"], ["ec2:*"]) == ["s3:*", "iam:*"]"#,
        imp: collections::difference,
    },
    Builtin {
        name: "distinct",
        sigs: &["(xs: list<T>) -> list<T>"],
        doc: "The elements of `xs` without duplicates, each where it first occurs.",
        example: "distinct([80, 443, 80]) == [80, 443]",
        imp: collections::distinct,
    },
    Builtin {
        name: "keys",
        sigs: &["(m: map<T>) -> list<string>"],
        doc: "The keys of the map, in sorted order.",
        example: r#"keys(tags) == ["env", "owner"]  // tags = {"owner": "ops", "env": "prod"}"#,
        imp: collections::keys,
    },
    Builtin {
        name: "values",
        sigs: &["(m: map<T>) -> list<T>"],
        doc: "The values of the map, in the sorted order of their keys.",
        example: r#"values(tags) == ["prod", "ops"]  // tags = {"owner": "ops", "env": "prod"}"#,
        imp: collections::values,
    },
    Builtin {
        name: "has_key",
        sigs: &["(m: map<T>, key: string) -> bool"],
        doc: "True when the map has the key (the same test as `key in m`).",
        example: r#"has_key(tags, "owner") == true  // tags = {"owner": "ops"}"#,
        imp: collections::has_key,
    },
    Builtin {
        name: "missing_keys",
        sigs: &["(m: map<T>, required: list<string>) -> list<string>"],
        doc: "The keys of `required` that the map lacks, in the order of `required`, without \
              duplicates; made for tagging policies.",
        example: r#"missing_keys(tags, ["env", "owner", "cost-center"]) == ["owner", "cost-center"]  // tags = {"env": "prod"}"#,
        imp: collections::missing_keys,
    },
    Builtin {
        name: "sum",
        sigs: &["(xs: list<int>) -> int", "(xs: list<float>) -> float"],
        doc: "The sum of the elements (0 for an empty list). An `int` sum that overflows is an error.",
        example: "sum([100, 250, 50]) == 400",
        imp: collections::sum,
    },
    Builtin {
        name: "min",
        sigs: &[
            "(xs: list<int>) -> int?",
            "(xs: list<float>) -> float?",
            "(xs: list<timestamp>) -> timestamp?",
            "(xs: list<duration>) -> duration?",
        ],
        doc: "The smallest element, or absent when the list is empty.",
        example: "min([443, 22, 80]) ?? 0 == 22",
        imp: collections::min,
    },
    Builtin {
        name: "max",
        sigs: &[
            "(xs: list<int>) -> int?",
            "(xs: list<float>) -> float?",
            "(xs: list<timestamp>) -> timestamp?",
            "(xs: list<duration>) -> duration?",
        ],
        doc: "The largest element, or absent when the list is empty.",
        example: "max([443, 22, 80]) ?? 0 == 443",
        imp: collections::max,
    },
    // ----- IP addresses and networks ----------------------------------------
    Builtin {
        name: "ip",
        sigs: &["(s: string) -> ip"],
        doc: "The IPv4 or IPv6 address written in `s`; an invalid address is an error \
              (use `parse_ip` for data that may be malformed).",
        example: r#"ip("10.0.0.1") == 10.0.0.1"#,
        imp: net::ip,
    },
    Builtin {
        name: "cidr",
        sigs: &["(s: string) -> cidr"],
        doc: "The IPv4 or IPv6 network written in `s` (a bare address is a `/32` or `/128`); \
              an invalid network is an error (use `parse_cidr` for data that may be malformed).",
        example: r#"cidr("10.0.0.1") == 10.0.0.1/32"#,
        imp: net::cidr,
    },
    Builtin {
        name: "parse_ip",
        sigs: &["(s: string) -> ip?"],
        doc: "Like `ip`, but absent instead of an error when `s` is not an address.",
        example: r#"has(parse_ip("10.0.0")) == false"#,
        imp: net::parse_ip,
    },
    Builtin {
        name: "parse_cidr",
        sigs: &["(s: string) -> cidr?"],
        doc: "Like `cidr`, but absent instead of an error when `s` is not a network.",
        example: r#"parse_cidr("10.0.0.0/8") ?? 0.0.0.0/32 == 10.0.0.0/8"#,
        imp: net::parse_cidr,
    },
    Builtin {
        name: "cidr_contains",
        sigs: &[
            "(net: cidr, addr: ip) -> bool",
            "(net: cidr, other: cidr) -> bool",
        ],
        doc: "True when the address, or every address of the other network, is in `net`. \
              An IPv4 and an IPv6 value never contain each other.",
        example: "cidr_contains(10.0.0.0/8, 10.20.30.40) == true",
        imp: net::cidr_contains,
    },
    Builtin {
        name: "cidr_overlaps",
        sigs: &["(a: cidr, b: cidr) -> bool"],
        doc: "True when the two networks have at least one address in common.",
        example: "cidr_overlaps(10.0.0.0/16, 10.0.128.0/17) == true",
        imp: net::cidr_overlaps,
    },
    Builtin {
        name: "is_private",
        sigs: &["(addr: ip) -> bool", "(net: cidr) -> bool"],
        doc: "True when the address (or every address of the network) is private: RFC 1918 \
              (`10/8`, `172.16/12`, `192.168/16`), RFC 4193 (`fc00::/7`), loopback or link-local.",
        example: "is_private(172.31.5.9) == true",
        imp: net::is_private,
    },
    Builtin {
        name: "is_world",
        sigs: &["(net: cidr) -> bool"],
        doc: "True when the network is the whole address space, `0.0.0.0/0` or `::/0`.",
        example: r#"is_world(cidr("::/0")) == true"#,
        imp: net::is_world,
    },
    Builtin {
        name: "prefix_len",
        sigs: &["(net: cidr) -> int"],
        doc: "The prefix length of the network, the number after the `/`.",
        example: "prefix_len(10.0.0.0/8) == 8",
        imp: net::prefix_len,
    },
    Builtin {
        name: "cidr_size",
        sigs: &["(net: cidr) -> int"],
        doc: "The number of addresses in the network; saturates at the largest `int` for big \
              IPv6 networks.",
        example: "cidr_size(10.0.0.0/24) == 256",
        imp: net::cidr_size,
    },
    Builtin {
        name: "network",
        sigs: &["(net: cidr) -> cidr"],
        doc: "The network with its host bits cleared, as routers read it.",
        example: r#"network(cidr("10.1.2.3/8")) == 10.0.0.0/8"#,
        imp: net::network,
    },
    // ----- Ports -------------------------------------------------------------
    Builtin {
        name: "port_in_range",
        sigs: &["(port: int, from: int, to: int) -> bool"],
        doc: "True when `from <= port <= to` (false when `from > to`).",
        example: "port_in_range(22, 0, 1024) == true",
        imp: numbers::port_in_range,
    },
    Builtin {
        name: "ranges_overlap",
        sigs: &["(a_from: int, a_to: int, b_from: int, b_to: int) -> bool"],
        doc: "True when the inclusive ranges `a_from..a_to` and `b_from..b_to` share a value \
              (a range with `from > to` is empty and overlaps nothing).",
        example: "ranges_overlap(0, 1024, 1000, 2000) == true",
        imp: numbers::ranges_overlap,
    },
    // ----- Time --------------------------------------------------------------
    Builtin {
        name: "age",
        sigs: &["(t: timestamp) -> duration"],
        doc: "How long ago `t` was: `now - t` (negative for a time in the future).",
        example: "age(now - 3d) == 3d",
        imp: time::age,
    },
    Builtin {
        name: "older_than",
        sigs: &["(t: timestamp, d: duration) -> bool"],
        doc: "True when `t` is more than `d` before `now`.",
        example: "older_than(2024-01-01, 90d) == true  // now = 2025-01-01",
        imp: time::older_than,
    },
    Builtin {
        name: "days",
        sigs: &["(n: int) -> duration"],
        doc: "A duration of `n` days (for counts computed at run time; constants are written `90d`).",
        example: "days(2) == 48h",
        imp: time::days,
    },
    Builtin {
        name: "hours",
        sigs: &["(n: int) -> duration"],
        doc: "A duration of `n` hours (for counts computed at run time; constants are written `12h`).",
        example: "hours(36) == 1d + 12h",
        imp: time::hours,
    },
    Builtin {
        name: "in_days",
        sigs: &["(d: duration) -> int"],
        doc: "The duration in whole days, rounded down (towards the past for negative durations).",
        example: "in_days(36h) == 1",
        imp: time::in_days,
    },
    Builtin {
        name: "in_hours",
        sigs: &["(d: duration) -> int"],
        doc: "The duration in whole hours, rounded down.",
        example: "in_hours(90m) == 1",
        imp: time::in_hours,
    },
    Builtin {
        name: "parse_time",
        sigs: &["(s: string) -> timestamp?"],
        doc: "The time written in `s` as RFC 3339 (`2024-01-31T12:00:00Z`, offsets and fractions \
              allowed, fractions dropped) or as a date (`2024-01-31`, midnight UTC); absent otherwise.",
        example: r#"parse_time("2024-01-31T12:00:00+02:00") ?? now == 2024-01-31T10:00:00Z"#,
        imp: time::parse_time,
    },
    Builtin {
        name: "format_date",
        sigs: &["(t: timestamp) -> string"],
        doc: "The UTC date of `t`, as `YYYY-MM-DD`.",
        example: r#"format_date(2024-01-31T23:59:00Z) == "2024-01-31""#,
        imp: time::format_date,
    },
    Builtin {
        name: "year",
        sigs: &["(t: timestamp) -> int"],
        doc: "The UTC year of `t`.",
        example: "year(2024-01-31) == 2024",
        imp: time::year,
    },
    // ----- Numbers -----------------------------------------------------------
    Builtin {
        name: "abs",
        sigs: &["(x: int) -> int", "(x: float) -> float"],
        doc: "The absolute value. `abs` of the smallest `int` overflows, an error.",
        example: "abs(-3) == 3",
        imp: numbers::abs,
    },
    Builtin {
        name: "floor",
        sigs: &["(x: float) -> int"],
        doc: "The largest `int` not above `x`; an error when `x` is NaN, infinite or out of range.",
        example: "floor(-2.5) == -3",
        imp: numbers::floor,
    },
    Builtin {
        name: "ceil",
        sigs: &["(x: float) -> int"],
        doc: "The smallest `int` not below `x`; an error when `x` is NaN, infinite or out of range.",
        example: "ceil(2.1) == 3",
        imp: numbers::ceil,
    },
    Builtin {
        name: "round",
        sigs: &["(x: float) -> int"],
        doc: "The nearest `int`, halves away from zero; an error when `x` is NaN, infinite or \
              out of range.",
        example: "round(2.5) == 3",
        imp: numbers::round,
    },
    Builtin {
        name: "to_float",
        sigs: &["(x: int) -> float"],
        doc: "The `int` as a `float` (rounded to the nearest `float` beyond 2^53).",
        example: "to_float(3) / 2 == 1.5",
        imp: numbers::to_float,
    },
    Builtin {
        name: "parse_int",
        sigs: &["(s: string) -> int?"],
        doc: "The decimal integer written in `s` (surrounding whitespace and a sign allowed); \
              absent when `s` is not one or does not fit an `int`.",
        example: r#"parse_int(" 8080") ?? 0 == 8080"#,
        imp: numbers::parse_int,
    },
    Builtin {
        name: "parse_float",
        sigs: &["(s: string) -> float?"],
        doc: "The finite decimal number written in `s` (surrounding whitespace allowed, \
              e.g. `7.5`, `-1e3`); absent otherwise.",
        example: r#"parse_float("7.5") ?? 0.0 == 7.5"#,
        imp: numbers::parse_float,
    },
    Builtin {
        name: "min_of",
        sigs: &["(a: int, b: int) -> int", "(a: float, b: float) -> float"],
        doc: "The smaller of two numbers.",
        example: "min_of(90, 30) == 30",
        imp: numbers::min_of,
    },
    Builtin {
        name: "max_of",
        sigs: &["(a: int, b: int) -> int", "(a: float, b: float) -> float"],
        doc: "The larger of two numbers.",
        example: "max_of(90, 30) == 90",
        imp: numbers::max_of,
    },
];

// ----- Markdown reference ----------------------------------------------------

const MARKDOWN_INTRO: &str = "\
Every built-in function of Pac, with its signatures, what it does and an
example. This file is generated from the standard library's own table
(`pacc doc builtins`); do not edit it by hand.

- **Signatures** are in Pac's type syntax. `T` stands for any type, the same
  everywhere in one signature. A built-in with several signatures is
  overloaded; the first that fits the arguments is used. An `int` argument is
  accepted where a `float` is expected.
- **Patterns**: a `regex` or `glob` parameter takes a `string`. When it is a
  constant it is compiled, and checked, at compile time; otherwise it is
  compiled at evaluation time, and an invalid pattern is an evaluation error.
- **Optional results** (`T?`) are absent when there is no answer (an empty
  list, a string that does not parse). Guard them with `??` or `has(…)`.
- **Errors** (an invalid argument such as `ip(\"10.0.0\")`, an integer
  overflow) make the rule's result `error` with the reason; they are never
  read as a pass or a failure.
- Any built-in can be called as a method on its first argument:
  `group_id.starts_with(\"sg-\")` is `starts_with(group_id, \"sg-\")`.
";

/// `Lists, maps and sets` → `lists-maps-and-sets` (GitHub's heading anchors).
fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The reference of every built-in, grouped by [`CATEGORIES`]: the text of
/// `docs/builtins.md`.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Built-in functions\n\n");
    out.push_str(MARKDOWN_INTRO);
    out.push('\n');
    for (category, names) in CATEGORIES {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let _ = writeln!(
            out,
            "- [{category}](#{}): {}",
            anchor(category),
            list.join(", ")
        );
    }
    for (category, names) in CATEGORIES {
        let _ = write!(out, "\n## {category}\n");
        for name in *names {
            let Some(b) = lookup(name) else { continue };
            let _ = write!(out, "\n### `{}`\n\n```pac\n", b.name);
            for sig in b.sigs {
                let _ = writeln!(out, "{}{sig}", b.name);
            }
            let _ = write!(
                out,
                "```\n\n{}\n\nExample: `{}`\n",
                b.doc.split_whitespace().collect::<Vec<_>>().join(" "),
                b.example
            );
        }
    }
    out
}

// ----- Argument helpers shared by the implementations -------------------------

/// The name of a value's kind, for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Missing => "an absent value",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Time(_) => "a timestamp",
        Value::Dur(_) => "a duration",
        Value::Ip(_) => "an ip",
        Value::Cidr(_) => "a cidr",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Record(_) => "a record",
        Value::Regex(_) => "a regex",
        Value::Glob(_) => "a glob",
    }
}

fn type_error(name: &str, expected: &str, got: &Value) -> String {
    format!("{name}: expected {expected}, got {}", kind(got))
}

/// The arguments as an array of exactly `N`, or an arity error.
fn arity<'a, const N: usize>(name: &str, args: &'a [Value]) -> Result<&'a [Value; N], String> {
    args.try_into().map_err(|_| {
        format!(
            "{name}: expected {N} argument{}, got {}",
            if N == 1 { "" } else { "s" },
            args.len()
        )
    })
}

fn want_str<'a>(name: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| type_error(name, "a string", v))
}

fn want_int(name: &str, v: &Value) -> Result<i64, String> {
    v.as_int().ok_or_else(|| type_error(name, "an int", v))
}

/// A `float` parameter also takes an `int` (widening, as the type system does).
fn want_float(name: &str, v: &Value) -> Result<f64, String> {
    v.as_float().ok_or_else(|| type_error(name, "a float", v))
}

fn want_list<'a>(name: &str, v: &'a Value) -> Result<&'a [Value], String> {
    v.as_list().ok_or_else(|| type_error(name, "a list", v))
}

type MapRef<'a> = &'a std::collections::BTreeMap<std::sync::Arc<str>, Value>;

fn want_map<'a>(name: &str, v: &'a Value) -> Result<MapRef<'a>, String> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(type_error(name, "a map", other)),
    }
}

fn want_time(name: &str, v: &Value) -> Result<i64, String> {
    match v {
        Value::Time(t) => Ok(*t),
        other => Err(type_error(name, "a timestamp", other)),
    }
}

fn want_dur(name: &str, v: &Value) -> Result<i64, String> {
    match v {
        Value::Dur(d) => Ok(*d),
        other => Err(type_error(name, "a duration", other)),
    }
}

fn want_cidr(name: &str, v: &Value) -> Result<ipnet::IpNet, String> {
    match v {
        Value::Cidr(n) => Ok(*n),
        other => Err(type_error(name, "a cidr", other)),
    }
}

fn list_value(items: Vec<Value>) -> Value {
    Value::List(items.into())
}

#[cfg(test)]
mod test_support {
    use super::*;

    /// 2025-01-01T00:00:00Z.
    pub const NOW: i64 = 1_735_689_600;

    /// Calls a built-in through the table, as the evaluator does.
    pub fn call(name: &str, args: impl AsRef<[Value]>) -> Result<Value, String> {
        let b = lookup(name).unwrap_or_else(|| panic!("no built-in {name}"));
        (b.imp)(args.as_ref(), &Ctx { now: NOW })
    }

    pub fn s(x: &str) -> Value {
        Value::str(x)
    }

    pub fn list(items: Vec<Value>) -> Value {
        list_value(items)
    }

    pub fn strs(items: &[&str]) -> Value {
        list(items.iter().map(|x| s(x)).collect())
    }

    pub fn ints(items: &[i64]) -> Value {
        list(items.iter().map(|i| Value::Int(*i)).collect())
    }

    pub fn map(entries: &[(&str, &str)]) -> Value {
        Value::Map(std::sync::Arc::new(
            entries
                .iter()
                .map(|(k, v)| (std::sync::Arc::from(*k), s(v)))
                .collect(),
        ))
    }

    /// Asserts an `Err` whose message starts with `name:` and contains `part`.
    #[track_caller]
    pub fn assert_err(name: &str, args: impl AsRef<[Value]>, part: &str) {
        match call(name, args) {
            Err(e) => {
                assert!(
                    e.starts_with(&format!("{name}: ")),
                    "{e:?} does not name {name}"
                );
                assert!(e.contains(part), "{e:?} does not mention {part:?}");
            }
            Ok(v) => panic!("{name} gave {v:?}, expected an error mentioning {part:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_identifiers() {
        let mut seen = HashSet::new();
        for b in BUILTINS {
            assert!(seen.insert(b.name), "{} is listed twice", b.name);
            assert!(
                !b.name.is_empty()
                    && b.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{:?} is not a snake_case identifier",
                b.name
            );
        }
    }

    #[test]
    fn every_sig_is_well_formed() {
        for b in BUILTINS {
            assert!(!b.sigs.is_empty(), "{} has no signature", b.name);
            for sig in b.sigs {
                assert!(
                    !sig.is_empty() && sig.starts_with('('),
                    "{}: bad signature {sig:?}",
                    b.name
                );
                assert!(
                    sig.contains(") -> "),
                    "{}: no result type in {sig:?}",
                    b.name
                );
                let depth = sig.chars().try_fold(0i32, |d, c| match c {
                    '(' | '<' => Some(d + 1),
                    ')' | '>' if d > 0 => Some(d - 1),
                    ')' => None,
                    _ => Some(d),
                });
                // `->` contributes one unmatched `>`; everything else balances.
                assert!(depth.is_some(), "{}: unbalanced {sig:?}", b.name);
            }
        }
    }

    #[test]
    fn every_example_mentions_its_builtin() {
        for b in BUILTINS {
            let call = format!("{}(", b.name);
            assert!(
                b.example.contains(&call),
                "the example of {} does not call it: {:?}",
                b.name,
                b.example
            );
            assert!(
                b.example.contains("=="),
                "the example of {} shows no result",
                b.name
            );
            assert!(!b.doc.trim().is_empty(), "{} has no doc", b.name);
        }
    }

    #[test]
    fn every_builtin_is_in_exactly_one_category() {
        let mut seen = HashSet::new();
        for (category, names) in CATEGORIES {
            for name in *names {
                assert!(lookup(name).is_some(), "{category} lists unknown {name}");
                assert!(seen.insert(*name), "{name} is in two categories");
            }
        }
        for b in BUILTINS {
            assert!(seen.contains(b.name), "{} is in no category", b.name);
        }
    }

    #[test]
    fn arity_is_checked() {
        for b in BUILTINS {
            let args = vec![Value::Int(1); 7];
            let err = (b.imp)(&args, &Ctx { now: NOW }).unwrap_err();
            assert!(err.starts_with(&format!("{}: expected", b.name)), "{err}");
        }
    }

    #[test]
    fn missing_arguments_are_errors_not_panics() {
        // The type checker keeps absent values away from non-optional
        // parameters; should one slip through, it is an error, not a panic.
        for b in BUILTINS {
            let arity = b.sigs[0].matches(':').count();
            let args = vec![Value::Missing; arity];
            let res = (b.imp)(&args, &Ctx { now: NOW });
            if b.name == "to_string" {
                assert_eq!(res, Ok(s("<missing>")));
            } else {
                assert!(
                    res.is_err(),
                    "{} accepted absent arguments: {res:?}",
                    b.name
                );
            }
        }
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("Lists, maps and sets"), "lists-maps-and-sets");
        assert_eq!(
            anchor("IP addresses and networks"),
            "ip-addresses-and-networks"
        );
    }

    #[test]
    fn markdown_lists_every_builtin() {
        let md = markdown();
        for b in BUILTINS {
            assert!(
                md.contains(&format!("### `{}`", b.name)),
                "{} missing",
                b.name
            );
            assert!(md.contains(b.example), "example of {} missing", b.name);
        }
    }

    #[test]
    fn clock_readers_exist() {
        for name in READS_CLOCK {
            assert!(lookup(name).is_some_and(Builtin::reads_clock), "{name}");
        }
        assert!(!lookup("len").unwrap().reads_clock());
    }

    #[test]
    fn docs_builtins_md_is_up_to_date() {
        let path = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../docs/builtins.md");
        let expected = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &expected).expect("writing docs/builtins.md");
            return;
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        let first_difference = actual
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (a, e))| a != e)
            .map(|(i, (a, e))| format!("line {}:\n  file:     {a}\n  expected: {e}", i + 1));
        assert!(
            actual == expected,
            "docs/builtins.md is out of date with the built-in table ({}); regenerate it with \
             `UPDATE_DOCS=1 cargo test -p pac-stdlib docs_builtins_md_is_up_to_date`",
            first_difference.unwrap_or_else(|| "lengths differ".into())
        );
    }
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "builtin `{}`", self.name)
    }
}
