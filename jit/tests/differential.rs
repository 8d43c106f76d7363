//! Differential testing: the native engine against the reference
//! interpreter, which defines Pac's semantics.
//!
//! Each case is a random, well-typed rule over one of five stdlib resource
//! types (security groups, volumes, instances, buckets, vulnerability
//! findings), written as Pac source, and a small random inventory of
//! schema-conforming documents (absent optionals, empty and long lists,
//! extreme integers, zero divisors, odd strings, duplicated join keys). The
//! rule is compiled with the real compiler and evaluated by every engine of
//! [`engines`]; every (rule, resource) outcome — pass, fail or error — must
//! be the same.
//!
//! Both the rule and the documents are decoded from "tapes" of random
//! numbers, type-directed, so that every tape gives a well-typed rule (a
//! few do not type-check, which the test counts and bounds), and so that
//! proptest's shrinking of the tapes (shorter, smaller numbers) shrinks the
//! rule and the documents towards the simplest ones: a failure is reported
//! as a minimal counterexample, as Pac source and NDJSON.
//!
//! 256 cases by default; more with
//! `PROPTEST_CASES=20000 cargo test -p pac-jit --test differential --release`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use pac_compiler::Program;
use pac_compiler::types::{RecordId, Schemas, Ty};
use pac_runtime::{EvalOptions, Inventory, Outcome};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// The evaluation clock: 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200;

thread_local! {
    /// Evaluations on this thread (one test) where the native engine, not
    /// a fallback to the interpreter, decided the outcomes.
    static NATIVE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

type Run = Box<dyn Fn(&Program, &Inventory) -> Vec<Outcome>>;

fn opts() -> EvalOptions<'static> {
    EvalOptions {
        now: NOW,
        ..Default::default()
    }
}

/// The engines under comparison; the first is the reference. Every
/// (rule, resource) outcome, in the report's order (rule, then inventory).
fn engines() -> Vec<(&'static str, Run)> {
    vec![
        (
            "interpreter",
            Box::new(|p: &Program, inv: &Inventory| {
                outcomes(&pac_runtime::evaluate(p, inv, &opts()), inv)
            }),
        ),
        ("jit", Box::new(jit)),
        ("jit on a layout carried over", Box::new(jit_relayout)),
    ]
}

/// The native engine on a layout carried over from an earlier inventory
/// (`Engine::relayout`, as a rescan does): the earlier inventory holds the
/// same resources in reverse order; the even ones keep their records, the
/// odd ones are written again (their earlier records left behind), so that
/// every resource's record moved and the interned ids are those of the
/// earlier read.
fn jit_relayout(p: &Program, inv: &Inventory) -> Vec<Outcome> {
    let engine = pac_jit::Engine::compile(p);
    let n = inv.len();
    let earlier_inv = Inventory {
        resources: inv.resources.iter().rev().cloned().collect(),
    };
    let earlier = engine.prepare(&earlier_inv).into_layout();
    let same_as: Vec<Option<usize>> = (0..n).map(|i| (i % 2 == 0).then_some(n - 1 - i)).collect();
    let layout = engine.relayout(earlier, inv, &same_as);
    assert_eq!(
        layout.written,
        n + n / 2,
        "carried over, not built anew: the odd resources written again"
    );
    let prepared = engine.prepare_with(inv, layout);
    let engine: &dyn pac_runtime::engine::RuleEngine = &prepared;
    let report = pac_runtime::eval::evaluate_with(p, inv, &opts(), Some(engine));
    outcomes(&report, inv)
}

fn jit(p: &Program, inv: &Inventory) -> Vec<Outcome> {
    let engine = pac_jit::Engine::compile(p);
    let prepared = engine.prepare(inv);
    if (0..p.rules.len()).any(|r| {
        let rt = p.rules[r].resource;
        let rows: Vec<usize> = (0..inv.len())
            .filter(|&i| inv.resources[i].rtype == rt)
            .collect();
        prepared.run_rule(r, &rows, NOW, None).is_some()
    }) {
        NATIVE.with(|n| n.set(n.get() + 1));
    }
    let engine: &dyn pac_runtime::engine::RuleEngine = &prepared;
    let report = pac_runtime::eval::evaluate_with(p, inv, &opts(), Some(engine));
    // The report that keeps no pass (`pacc eval`'s) lists the same
    // failures and errors and sums up the same, with either engine.
    for e in [Some(engine), None] {
        let full;
        let full = match e {
            Some(_) => &report,
            None => {
                full = pac_runtime::eval::evaluate(p, inv, &opts());
                &full
            }
        };
        let lean = pac_runtime::eval::evaluate_failures_with(p, inv, &opts(), e, &[]);
        same_failures(full, &lean);
    }
    outcomes(&report, inv)
}

/// `lean` (passes not kept) is `full` without its passes.
fn same_failures(full: &pac_runtime::EvalReport, lean: &pac_runtime::EvalReport) {
    let key = |r: &pac_runtime::RuleResult| {
        (
            r.rule,
            r.resource,
            r.outcome.clone(),
            r.message.clone(),
            r.exempted_by,
        )
    };
    let want: Vec<_> = full
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(key)
        .collect();
    let got: Vec<_> = lean.results.iter().map(key).collect();
    assert_eq!(want, got, "the failures and errors differ");
    assert_eq!(
        serde_json::to_value(&full.summary).unwrap(),
        serde_json::to_value(&lean.summary).unwrap(),
        "the summaries differ"
    );
}

/// Every (rule, resource) outcome, then, for every asset group and every
/// resource of the inventory, its membership as an outcome: `fail` a
/// member, `error` undecided, `pass` not a member.
fn outcomes(report: &pac_runtime::EvalReport, inv: &Inventory) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = report.results.iter().map(|r| r.outcome.clone()).collect();
    for g in &report.groups {
        let mut m = vec![Outcome::Pass; inv.len()];
        for &i in &g.members {
            m[i] = Outcome::Fail;
        }
        for (i, e) in &g.errors {
            m[*i] = Outcome::Error(e.clone());
        }
        out.extend(m);
    }
    out
}

/// Pass, fail or error, whatever the error's wording.
fn class(o: &Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Error(_) => "error",
    }
}

fn stdlib() -> Arc<Schemas> {
    pac_compiler::compile_sources(Vec::new())
        .program
        .schemas
        .clone()
}

// ----- Tapes ---------------------------------------------------------------------------

/// Random choices, read in order; past the end every choice is 0, the
/// simplest alternative.
struct Tape<'a> {
    data: &'a [u16],
    pos: usize,
}

impl Tape<'_> {
    fn choose(&mut self, n: usize) -> usize {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        if n == 0 { 0 } else { v as usize % n }
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.choose(xs.len())].clone()
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

// ----- Documents -------------------------------------------------------------------------

const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    22,
    443,
    3389,
    65535,
    100,
    7,
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    i64::MIN + 1,
    3_037_000_500,
    -3_037_000_500,
    1 << 62,
    1_000_000_007,
];
const FLOATS: &[&str] = &[
    "0.0", "1.0", "5.5", "7.0", "9.0", "9.8", "10.0", "-1.0", "0.1", "1e300", "7", "-0.0",
];
/// Strings, including join keys shared between documents (`i-1`, `sg-1`).
const STRS: &[&str] = &[
    "",
    "i-1",
    "i-2",
    "sg-1",
    "prod",
    "Prod",
    "running",
    "stopped",
    "Enabled",
    "aws:kms",
    "AES256",
    "tcp",
    "-1",
    "critical",
    "default",
    "0.0.0.0/0",
    "ünïcødé ß",
    "emoji 🙂 e\u{301}",
    "quote \" back \\ slash",
    "tab\tnew\nline",
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "N/A",
    "i-3",
    "(",
    "[z-a]",
    "sg-*",
];
const TIMES: &[&str] = &[
    "2026-11-01T00:00:00Z",
    "2026-10-01T00:00:00Z",
    "2025-01-01T12:30:00Z",
    "1970-01-01T00:00:00Z",
    "2026-11-01T00:00:00.500Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-11-02T00:00:00+02:00",
];
const IPS: &[&str] = &["10.0.0.1", "54.12.34.56", "::1", "2600:1f18::1", "0.0.0.0"];
const CIDRS: &[&str] = &[
    "0.0.0.0/0",
    "10.0.0.0/8",
    "::/0",
    "192.168.1.0/24",
    "10.1.2.3/32",
    "2600:1f18::/32",
];
const REGEXES: &[&str] = &[
    "^i-[0-9]+$",
    "(?i)prod",
    "^$",
    "[\\\\\"]",
    "^.{3,}$",
    "\\p{L}+",
    "[0-9]{2}",
];
const GLOBS: &[&str] = &["*.example.com", "sg-*", "[a-z]*", "**", "i-?", ""];
const TAG_KEYS: &[&str] = &["env", "owner", "", "Env", "cost-center", "ünï"];

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON value of type `ty`.
fn json_value(s: &Schemas, t: &mut Tape, ty: &Ty, out: &mut String, depth: usize) {
    match ty {
        Ty::Bool => out.push_str(if t.choose(2) == 1 { "true" } else { "false" }),
        Ty::Int => out.push_str(&t.pick(INTS).to_string()),
        Ty::Float => out.push_str(t.pick(FLOATS)),
        Ty::Str => json_str(out, t.pick(STRS)),
        Ty::Time => json_str(out, t.pick(TIMES)),
        Ty::Ip => json_str(out, t.pick(IPS)),
        Ty::Cidr => json_str(out, t.pick(CIDRS)),
        Ty::Opt(inner) => {
            // Absent optionals are written by the record (key omitted) or
            // as null; here: null or a value.
            if t.choose(3) == 0 {
                out.push_str("null");
            } else {
                json_value(s, t, inner, out, depth);
            }
        }
        Ty::List(el) => {
            let n = if depth > 3 {
                0
            } else {
                t.pick(&[0usize, 1, 2, 3, 1, 2, 24])
            };
            out.push('[');
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                json_value(s, t, el, out, depth + 1);
            }
            out.push(']');
        }
        Ty::Map(el) => {
            out.push('{');
            let mut first = true;
            for k in TAG_KEYS {
                if t.choose(3) != 1 {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                json_str(out, k);
                out.push(':');
                json_value(s, t, el, out, depth + 1);
            }
            out.push('}');
        }
        Ty::Record(r) => json_record(s, t, *r, out, depth + 1, 0),
        _ => out.push_str("null"),
    }
}

/// A JSON object of record `r` (its fields from `skip` on).
fn json_record(
    s: &Schemas,
    t: &mut Tape,
    r: RecordId,
    out: &mut String,
    depth: usize,
    skip: usize,
) {
    out.push('{');
    let mut first = true;
    for f in s.record(r).fields.iter().skip(skip) {
        // Optionals: absent (simplest), null or a value; lists and maps
        // may be absent too (read as empty).
        let absent = match &f.ty {
            Ty::Opt(_) | Ty::List(_) | Ty::Map(_) => t.choose(2) == 0,
            _ => false,
        };
        if absent {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        json_str(out, &f.name);
        out.push(':');
        json_value(s, t, &f.ty, out, depth);
    }
    out.push('}');
}

/// A document of type `type_name` with id `id`.
fn document(s: &Schemas, t: &mut Tape, type_name: &str, id: &str) -> String {
    let r = s.resource(type_name).expect("stdlib type");
    let mut out = String::new();
    out.push_str("{\"type\":");
    json_str(&mut out, type_name);
    out.push_str(",\"id\":");
    json_str(&mut out, id);
    out.push_str(",\"account\":");
    json_str(&mut out, t.pick(&["111122223333", "444455556666"]));
    out.push_str(",\"region\":");
    json_str(
        &mut out,
        t.pick(&["us-east-1", "eu-west-1", "ap-southeast-2"]),
    );
    out.push_str(",\"attributes\":");
    json_record(s, t, r, &mut out, 0, 3);
    out.push('}');
    out
}

/// The rule types under test, and the short prefix of their document ids.
const TYPES: &[(&str, &str)] = &[
    ("aws.ec2.security_group", "sg"),
    ("aws.ec2.volume", "vol"),
    ("aws.ec2.instance", "i"),
    ("aws.s3.bucket", "b"),
    ("vuln.finding", "f"),
];

/// The inventory of a case: documents of the rule's type, plus findings and
/// security groups for the cross-resource quantifiers. Ids repeat the join
/// keys of the string pool (`i-1`, `sg-1`).
fn inventory_text(s: &Schemas, t: &mut Tape, rule_type: usize) -> String {
    let mut lines = Vec::new();
    let (ty, prefix) = TYPES[rule_type];
    let n = 1 + t.choose(4);
    for k in 1..=n {
        lines.push(document(s, t, ty, &format!("{prefix}-{k}")));
    }
    for (other, prefix) in [TYPES[4], TYPES[0]] {
        if other == ty {
            continue;
        }
        for k in 1..=t.choose(4) {
            lines.push(document(s, t, other, &format!("{prefix}-{k}")));
        }
    }
    lines.join("\n")
}

// ----- Built-ins -------------------------------------------------------------------------

/// A built-in's signature: `T` is `Ty::Var`, patterns `Ty::Regex`/`Ty::Glob`.
struct Sig {
    name: &'static str,
    params: Vec<Ty>,
    ret: Ty,
}

/// Every overload of every built-in, from the stdlib's own table.
fn signatures() -> Vec<Sig> {
    let mut out = Vec::new();
    for b in pac_stdlib::BUILTINS {
        for sig in b.sigs {
            // The compiler's own parser of signature strings.
            if let Some(parsed) = pac_compiler::sig::parse_sig(sig) {
                out.push(Sig {
                    name: b.name,
                    params: parsed.params.into_iter().map(|(_, t)| t).collect(),
                    ret: parsed.ret,
                });
            }
        }
    }
    out
}

fn subst(ty: &Ty, t: &Ty) -> Ty {
    match ty {
        Ty::Var => t.clone(),
        Ty::List(x) => Ty::List(Box::new(subst(x, t))),
        Ty::Map(x) => Ty::Map(Box::new(subst(x, t))),
        Ty::Opt(x) => subst(x, t).opt(),
        other => other.clone(),
    }
}

// ----- Rules ---------------------------------------------------------------------------------

/// Generates well-typed Pac expressions as source text.
struct Gen<'a> {
    s: &'a Schemas,
    sigs: &'a [Sig],
    t: Tape<'a>,
    /// The rule's resource type.
    rtype: RecordId,
    /// Bound names (quantifier variables, `let`s) with their types.
    vars: Vec<(String, Ty)>,
    /// Paths known present (`has(p)` held), with their unwrapped type.
    narrowed: Vec<(String, Ty)>,
    fresh: usize,
    /// Nodes left; at 0 only leaves are generated.
    budget: usize,
}

const MAX_DEPTH: usize = 6;

fn is_scalar(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Bool | Ty::Int | Ty::Float | Ty::Str | Ty::Time | Ty::Dur | Ty::Ip | Ty::Cidr
    )
}

fn pac_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Gen<'_> {
    fn name(&mut self) -> String {
        self.fresh += 1;
        format!("x{}", self.fresh)
    }

    /// Every path in scope up to a small depth, with its type: the
    /// resource's fields, the bound names, their fields, `?.` fields of
    /// optional records, list elements `[0]`/`[1]` and map entries
    /// `["env"]`.
    fn paths(&self) -> Vec<(String, Ty)> {
        self.paths_with(true)
    }

    /// [`Gen::paths`]; without `narrow`, as the argument of `has(…)` sees
    /// them (the checker reads it without narrowing).
    fn paths_with(&self, narrow: bool) -> Vec<(String, Ty)> {
        let mut out: Vec<(String, Ty)> = Vec::new();
        let mut frontier: Vec<(String, Ty)> = Vec::new();
        for f in &self.s.record(self.rtype).fields {
            frontier.push((f.name.clone(), f.ty.clone()));
        }
        for (n, ty) in &self.vars {
            frontier.push((n.clone(), ty.clone()));
        }
        for _ in 0..3 {
            let mut next = Vec::new();
            for (p, ty) in frontier {
                let ty = match self.narrowed.iter().find(|(q, _)| narrow && *q == p) {
                    Some((_, t)) => t.clone(),
                    None => ty,
                };
                match &ty {
                    Ty::Record(r) => {
                        for f in &self.s.record(*r).fields {
                            next.push((format!("{p}.{}", f.name), f.ty.clone()));
                        }
                    }
                    Ty::Opt(inner) => {
                        if let Ty::Record(r) = &**inner {
                            for f in &self.s.record(*r).fields {
                                next.push((format!("{p}?.{}", f.name), f.ty.clone().opt()));
                            }
                        }
                    }
                    Ty::List(el) => {
                        for i in ["0", "1"] {
                            next.push((format!("{p}[{i}]"), (**el).clone().opt()));
                        }
                    }
                    Ty::Map(el) => {
                        next.push((format!("{p}[\"env\"]"), (**el).clone().opt()));
                    }
                    _ => {}
                }
                out.push((p, ty));
            }
            frontier = next;
        }
        out.extend(frontier);
        out
    }

    fn paths_of(&self, want: &Ty) -> Vec<String> {
        self.paths()
            .into_iter()
            .filter(|(_, t)| t == want)
            .map(|(p, _)| p)
            .collect()
    }

    /// A path of type `ty`, if there is one (chosen by the tape).
    fn path(&mut self, ty: &Ty) -> Option<String> {
        let ps = self.paths_of(ty);
        if ps.is_empty() {
            return None;
        }
        let i = self.t.choose(ps.len());
        Some(ps[i].clone())
    }

    /// Lists in scope, with their element type.
    fn list_paths(&self) -> Vec<(String, Ty)> {
        self.paths()
            .into_iter()
            .filter_map(|(p, t)| match t {
                Ty::List(el) => Some((p, *el)),
                _ => None,
            })
            .collect()
    }

    fn leaf(&mut self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => self.t.pick(&["false", "true"]).into(),
            Ty::Int => match self.t.choose(8) {
                0 => "0".into(),
                1 => "1".into(),
                2 => "-1".into(),
                3 => "9223372036854775807".into(),
                4 => "(-9223372036854775807 - 1)".into(),
                5 => "2".into(),
                6 => "3037000500".into(),
                _ => "22".into(),
            },
            Ty::Float => self.t.pick(&["0.0", "7.0", "9.0", "0.5", "10.0"]).into(),
            Ty::Str => pac_str(self.t.pick(STRS)),
            Ty::Time => self
                .t
                .pick(&["2026-01-01", "now", "2026-11-01T00:00:00Z", "1970-01-01"])
                .into(),
            Ty::Dur => self.t.pick(&["0s", "30d", "90d", "24h", "1w"]).into(),
            Ty::Ip => self.t.pick(&["10.0.0.1", "ip(\"::1\")", "0.0.0.0"]).into(),
            Ty::Cidr => self
                .t
                .pick(&["0.0.0.0/0", "10.0.0.0/8", "cidr(\"::/0\")"])
                .into(),
            Ty::Opt(inner) => self.leaf(inner),
            Ty::List(el) => {
                let a = self.leaf(el);
                let b = self.leaf(el);
                format!("[{a}, {b}]")
            }
            _ => "false".into(),
        }
    }

    /// An expression of type `ty`.
    fn expr(&mut self, ty: &Ty, depth: usize) -> String {
        if self.budget == 0 || depth >= MAX_DEPTH || self.t.done() {
            // A path when there is one (choice 1), else a constant.
            if self.t.choose(2) == 1
                && let Some(p) = self.path(ty)
            {
                return p;
            }
            return self.leaf(ty);
        }
        self.budget -= 1;
        let d = depth + 1;
        let e = match ty {
            Ty::Bool => self.bool_expr(d),
            Ty::Int => self.int_expr(d),
            Ty::Float => self.float_expr(d),
            Ty::Str => self.str_expr(d),
            Ty::Time => self.time_expr(d),
            Ty::Dur => self.dur_expr(d),
            Ty::Ip | Ty::Cidr => match self.path(ty) {
                Some(p) if self.t.choose(3) > 0 => Some(p),
                _ => None,
            },
            Ty::List(el) => self.list_expr(el, d),
            _ => None,
        };
        match e {
            Some(e) => e,
            None => self.leaf(ty),
        }
    }

    /// Common forms of every scalar type: a path, `opt ?? default`,
    /// `if`, `let`, an element of a literal list with a default.
    fn common(&mut self, ty: &Ty, d: usize, choice: usize) -> Option<String> {
        Some(match choice {
            0 => self.path(ty)?,
            1 => {
                let p = self.path(&ty.clone().opt())?;
                let dflt = self.expr(ty, d);
                format!("({p} ?? {dflt})")
            }
            2 => {
                let c = self.expr(&Ty::Bool, d);
                let a = self.expr(ty, d);
                let b = self.expr(ty, d);
                format!("(if {c} then {a} else {b})")
            }
            3 => {
                let vty = self.any_type();
                let v = self.expr(&vty, d);
                let n = self.name();
                self.vars.push((n.clone(), vty));
                let body = self.expr(ty, d);
                self.vars.pop();
                format!("(let {n} = {v}; {body})")
            }
            4 => {
                // `if has(p) then … p … else …`: narrowing.
                let (p, inner) = self.opt_path()?;
                self.narrowed.push((p.clone(), inner));
                let a = self.expr(ty, d);
                self.narrowed.pop();
                let b = self.expr(ty, d);
                format!("(if has({p}) then {a} else {b})")
            }
            _ => {
                let a = self.expr(ty, d);
                let b = self.expr(ty, d);
                let i = self.expr(&Ty::Int, d);
                let dflt = self.expr(ty, d);
                format!("([{a}, {b}][{i}] ?? {dflt})")
            }
        })
    }

    /// A scalar type for `let` and comparisons.
    fn any_type(&mut self) -> Ty {
        self.t
            .pick(&[Ty::Int, Ty::Str, Ty::Bool, Ty::Time, Ty::Dur, Ty::Float])
    }

    /// An optional path (of a scalar or record type), with its inner type.
    fn opt_path(&mut self) -> Option<(String, Ty)> {
        let ps: Vec<(String, Ty)> = self
            .paths_with(false)
            .into_iter()
            .filter_map(|(p, t)| match t {
                Ty::Opt(inner) => Some((p, *inner)),
                _ => None,
            })
            .collect();
        if ps.is_empty() {
            return None;
        }
        let i = self.t.choose(ps.len());
        Some(ps[i].clone())
    }

    fn cmp_op(&mut self) -> &'static str {
        self.t.pick(&["==", "!=", "<", "<=", ">", ">="])
    }

    fn bool_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(28) {
            0 => self.leaf(&Ty::Bool),
            c @ 1..=3 => self.common(&Ty::Bool, d, c - 1)?,
            4 => {
                let op = self.cmp_op();
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Int, d);
                format!("({a} {op} {b})")
            }
            5 => {
                let op = self.cmp_op();
                let a = self.expr(&Ty::Str, d);
                let b = self.expr(&Ty::Str, d);
                format!("({a} {op} {b})")
            }
            6 => {
                let op = self.cmp_op();
                let (a, b) = if self.t.choose(2) == 0 {
                    (self.expr(&Ty::Time, d), self.expr(&Ty::Time, d))
                } else {
                    (self.expr(&Ty::Dur, d), self.expr(&Ty::Dur, d))
                };
                format!("({a} {op} {b})")
            }
            7 => {
                let op = self.cmp_op();
                let a = self.expr(&Ty::Float, d);
                let b = if self.t.choose(2) == 0 {
                    self.expr(&Ty::Int, d)
                } else {
                    self.expr(&Ty::Float, d)
                };
                format!("({a} {op} {b})")
            }
            8 => {
                let a = self.expr(&Ty::Bool, d);
                let b = self.expr(&Ty::Bool, d);
                format!("({a} and {b})")
            }
            9 => {
                let a = self.expr(&Ty::Bool, d);
                let b = self.expr(&Ty::Bool, d);
                format!("({a} or {b})")
            }
            10 => {
                let a = self.expr(&Ty::Bool, d);
                format!("(not {a})")
            }
            11 => {
                let (p, _) = self.opt_path()?;
                format!("has({p})")
            }
            12 => {
                // `has(p) and … p …` (or `not has(p) or …`): narrowing.
                let (p, inner) = self.opt_path()?;
                self.narrowed.push((p.clone(), inner));
                let b = self.expr(&Ty::Bool, d);
                self.narrowed.pop();
                if self.t.choose(2) == 0 {
                    format!("(has({p}) and {b})")
                } else {
                    format!("(not has({p}) or {b})")
                }
            }
            13 | 14 => {
                let kind = self.t.pick(&["any", "all", "none"]);
                let (coll, el) = self.coll(d)?;
                let n = self.name();
                self.vars.push((n.clone(), el));
                let body = self.expr(&Ty::Bool, d);
                self.vars.pop();
                format!("({kind} {n} in {coll}: {body})")
            }
            15 => {
                // Membership.
                match self.t.choose(3) {
                    0 => {
                        let x = self.expr(&Ty::Int, d);
                        let l = self.list_expr(&Ty::Int, d)?;
                        let not = if self.t.choose(2) == 0 { "" } else { "not " };
                        format!("({x} {not}in {l})")
                    }
                    1 => {
                        let x = self.expr(&Ty::Str, d);
                        let l = self.list_expr(&Ty::Str, d)?;
                        format!("({x} in {l})")
                    }
                    _ => {
                        let m = self.path(&Ty::Map(Box::new(Ty::Str)))?;
                        let k = self.expr(&Ty::Str, d);
                        format!("({k} in {m})")
                    }
                }
            }
            16 => {
                let s = self.expr(&Ty::Str, d);
                let lit = pac_str(self.t.pick(&["", "i-", "prod", "ü", "\"", "-1"]));
                let f = self.t.pick(&["starts_with", "ends_with", "contains"]);
                format!("{f}({s}, {lit})")
            }
            17 => {
                let s = self.expr(&Ty::Str, d);
                // Usually a constant pattern (compiled at compile time),
                // sometimes a string of the data (an invalid one is an
                // evaluation error).
                let re = if self.t.choose(4) == 3 {
                    self.expr(&Ty::Str, d)
                } else {
                    pac_str(self.t.pick(REGEXES))
                };
                format!("matches({s}, {re})")
            }
            18 => {
                let t = self.expr(&Ty::Time, d);
                let du = self.expr(&Ty::Dur, d);
                format!("older_than({t}, {du})")
            }
            19 => {
                let c = self.expr(&Ty::Cidr, d);
                if self.t.choose(2) == 0 {
                    let ip = self.expr(&Ty::Ip, d);
                    format!("cidr_contains({c}, {ip})")
                } else {
                    let c2 = self.expr(&Ty::Cidr, d);
                    format!("cidr_contains({c}, {c2})")
                }
            }
            20 => {
                let ty = self.t.pick(&[Ty::Cidr, Ty::Ip, Ty::Bool]);
                let op = self.t.pick(&["==", "!="]);
                let a = self.expr(&ty, d);
                let b = self.expr(&ty, d);
                format!("({a} {op} {b})")
            }
            21 | 22 => self.cross(d, false)?,
            23 => {
                let (coll, _) = self.coll(d)?;
                format!("is_empty({coll})")
            }
            24 | 25 => self.call(&Ty::Bool, d)?,
            _ => self.structural_eq(d)?,
        })
    }

    /// `==`/`!=` on lists, maps and records (structural), or `in` on a list
    /// of records.
    fn structural_eq(&mut self, d: usize) -> Option<String> {
        let ps: Vec<(String, Ty)> = self
            .paths()
            .into_iter()
            .filter(|(_, t)| matches!(t, Ty::List(_) | Ty::Map(_) | Ty::Record(_)))
            .collect();
        if ps.is_empty() {
            return None;
        }
        let (a, ty) = ps[self.t.choose(ps.len())].clone();
        let same: Vec<&String> = ps
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(p, _)| p)
            .collect();
        let b = same[self.t.choose(same.len())].clone();
        Some(match (&ty, self.t.choose(3)) {
            (Ty::List(el), 2) if matches!(**el, Ty::Record(_)) => {
                // An element of one list in another.
                let n = self.name();
                format!("(any {n} in {a}: {n} in {b})")
            }
            (Ty::List(el), 2) if is_scalar(el) => {
                let l = self.list_expr(el, d)?;
                let op = self.t.pick(&["==", "!="]);
                format!("({a} {op} {l})")
            }
            _ => {
                let op = self.t.pick(&["==", "!="]);
                format!("({a} {op} {b})")
            }
        })
    }

    /// A call of a built-in whose result is `want` (or `want?`, then with a
    /// default), its arguments generated by type.
    fn call(&mut self, want: &Ty, d: usize) -> Option<String> {
        let t = self
            .t
            .pick(&[Ty::Int, Ty::Str, Ty::Float, Ty::Bool, Ty::Time, Ty::Dur]);
        let fits: Vec<usize> = (0..self.sigs.len())
            .filter(|&i| {
                let r = subst(&self.sigs[i].ret, &t);
                r == *want || r == want.clone().opt()
            })
            .collect();
        if fits.is_empty() {
            return None;
        }
        let sig = &self.sigs[fits[self.t.choose(fits.len())]];
        let (name, params, ret) = (sig.name, sig.params.clone(), subst(&sig.ret, &t));
        let mut args = Vec::new();
        for p in &params {
            let p = subst(p, &t);
            args.push(match (&p, name) {
                // Their argument must be a constant.
                (_, "ip") => pac_str(self.t.pick(&["10.0.0.1", "::1", "0.0.0.0"])),
                (_, "cidr") => pac_str(self.t.pick(&["0.0.0.0/0", "::/0", "10.0.0.0/8"])),
                (Ty::Regex, _) if self.t.choose(5) > 0 => pac_str(self.t.pick(REGEXES)),
                (Ty::Glob, _) if self.t.choose(5) > 0 => pac_str(self.t.pick(GLOBS)),
                (Ty::Regex | Ty::Glob, _) => self.expr(&Ty::Str, d),
                (Ty::List(el), _) => {
                    if !is_scalar(el) {
                        return None;
                    }
                    self.list_expr(el, d)?
                }
                (Ty::Map(el), _) => self.path(&Ty::Map(el.clone()))?,
                (p, _) if is_scalar(p) => self.expr(p, d),
                _ => return None,
            });
        }
        let call = format!("{name}({})", args.join(", "));
        Some(if ret == *want {
            call
        } else {
            let dflt = self.expr(want, d);
            format!("({call} ?? {dflt})")
        })
    }

    /// A quantifier over the inventory's findings or security groups,
    /// with (usually) an equality join the compiler plans as a probe.
    fn cross(&mut self, d: usize, count: bool) -> Option<String> {
        let (ty, join) = if self.t.choose(3) == 0 {
            ("aws.ec2.security_group", "id")
        } else {
            ("vuln.finding", "resource_id")
        };
        let r = self.s.resource(ty)?;
        let kind = if count {
            "count"
        } else {
            self.t.pick(&["any", "all", "none", "exists"])
        };
        let n = self.name();
        // Usually the natural join key; sometimes another scalar field
        // (a float key cannot be hashed: the engines scan).
        let (join, jty) = if self.t.choose(3) > 0 {
            (join.to_string(), Ty::Str)
        } else {
            let fs: Vec<(String, Ty)> = self
                .s
                .record(r)
                .fields
                .iter()
                .filter(|f| is_scalar(&f.ty))
                .map(|f| (f.name.clone(), f.ty.clone()))
                .collect();
            fs[self.t.choose(fs.len())].clone()
        };
        let key = self.expr(&jty, d);
        self.vars.push((n.clone(), Ty::Record(r)));
        let body = self.expr(&Ty::Bool, d);
        let extra = if ty == "vuln.finding" && self.t.choose(2) == 0 {
            let k = self.t.pick(&["7.0", "9.0", "0.0", "5"]);
            format!(" and {n}.cvss > {k}")
        } else {
            String::new()
        };
        self.vars.pop();
        Some(match self.t.choose(4) {
            // No join: a scan.
            0 => format!("({kind} {n} in {ty}: {body})"),
            _ => format!("({kind} {n} in {ty} where {n}.{join} == {key}{extra} and {body})"),
        })
    }

    /// A list to quantify over, with its element type.
    fn coll(&mut self, d: usize) -> Option<(String, Ty)> {
        let lists = self.list_paths();
        if !lists.is_empty() && self.t.choose(3) > 0 {
            let i = self.t.choose(lists.len());
            return Some(lists[i].clone());
        }
        self.any_list(d)
    }

    fn list_expr(&mut self, el: &Ty, d: usize) -> Option<String> {
        let paths = self.paths_of(&Ty::List(Box::new(el.clone())));
        Some(match self.t.choose(4) {
            0 | 1 => {
                let n = self.t.choose(4);
                let items: Vec<String> = (0..n.max(1)).map(|_| self.expr(el, d)).collect();
                format!("[{}]", items.join(", "))
            }
            2 if !paths.is_empty() => paths[self.t.choose(paths.len())].clone(),
            _ if *el == Ty::Str => {
                let s = self.expr(&Ty::Str, d);
                let sep = pac_str(self.t.pick(&[",", "-", "ü"]));
                format!("split({s}, {sep})")
            }
            _ => {
                let a = self.expr(el, d);
                format!("[{a}]")
            }
        })
    }

    /// A list of any scalar type.
    fn any_list(&mut self, d: usize) -> Option<(String, Ty)> {
        let el = self.any_type();
        Some((self.list_expr(&el, d)?, el))
    }

    fn int_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(19) {
            // The corners of checked arithmetic, directly.
            18 => {
                let edge = [
                    "(-9223372036854775807 - 1)",
                    "9223372036854775807",
                    "-1",
                    "0",
                    "1",
                    "2",
                ];
                let op = self.t.pick(&["+", "-", "*", "/", "%"]);
                let a = self.t.pick(&edge);
                let b = self.t.pick(&edge);
                format!("({a} {op} {b})")
            }
            0 => self.leaf(&Ty::Int),
            c @ 1..=6 => self.common(&Ty::Int, d, c - 1)?,
            7 | 8 => {
                let op = self.t.pick(&["+", "-", "*", "/", "%"]);
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Int, d);
                format!("({a} {op} {b})")
            }
            9 => {
                let a = self.expr(&Ty::Int, d);
                format!("(-{a})")
            }
            10 => match self.t.choose(3) {
                0 => {
                    let s = self.expr(&Ty::Str, d);
                    format!("len({s})")
                }
                1 => {
                    let (c, _) = self.coll(d)?;
                    format!("len({c})")
                }
                _ => {
                    let m = self.path(&Ty::Map(Box::new(Ty::Str)))?;
                    format!("len({m})")
                }
            },
            11 => {
                let (coll, el) = self.coll(d)?;
                let n = self.name();
                self.vars.push((n.clone(), el));
                let body = self.expr(&Ty::Bool, d);
                self.vars.pop();
                format!("(count {n} in {coll}: {body})")
            }
            12 => {
                let f = self.t.pick(&["abs", "in_days", "in_hours", "year", "sum"]);
                match f {
                    "abs" => {
                        let a = self.expr(&Ty::Int, d);
                        format!("abs({a})")
                    }
                    "year" => {
                        let a = self.expr(&Ty::Time, d);
                        format!("year({a})")
                    }
                    "sum" => {
                        let l = self.list_expr(&Ty::Int, d)?;
                        format!("sum({l})")
                    }
                    _ => {
                        let a = self.expr(&Ty::Dur, d);
                        format!("{f}({a})")
                    }
                }
            }
            13 => self.cross(d, true)?,
            16 | 17 => self.call(&Ty::Int, d)?,
            14 => {
                let f = self.t.pick(&["min_of", "max_of"]);
                let a = self.expr(&Ty::Int, d);
                let b = self.expr(&Ty::Int, d);
                format!("{f}({a}, {b})")
            }
            _ => {
                // Integer lists of the data (ports) by index, with a default.
                let p = self.path(&Ty::Int.opt())?;
                let dflt = self.expr(&Ty::Int, d);
                format!("({p} ?? {dflt})")
            }
        })
    }

    fn float_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(10) {
            // An int where a float is expected (it stays an int).
            6 | 7 => self.expr(&Ty::Int, d),
            8 => {
                let op = self.t.pick(&["+", "-", "*", "/", "%"]);
                let a = self.expr(&Ty::Float, d);
                let b = self.expr(&Ty::Int, d);
                if self.t.choose(2) == 0 {
                    format!("({a} {op} {b})")
                } else {
                    format!("({b} {op} {a})")
                }
            }
            9 => self.call(&Ty::Float, d)?,
            0 => self.leaf(&Ty::Float),
            c @ 1..=3 => self.common(&Ty::Float, d, c - 1)?,
            4 => {
                let op = self.t.pick(&["+", "-", "*", "/"]);
                let a = self.expr(&Ty::Float, d);
                let b = self.expr(&Ty::Float, d);
                format!("({a} {op} {b})")
            }
            _ => {
                let a = self.expr(&Ty::Int, d);
                format!("to_float({a})")
            }
        })
    }

    fn str_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(12) {
            10 | 11 => self.call(&Ty::Str, d)?,
            0 => self.leaf(&Ty::Str),
            c @ 1..=4 => self.common(&Ty::Str, d, c - 1)?,
            5 => {
                let f = self.t.pick(&["lower", "upper", "trim"]);
                let a = self.expr(&Ty::Str, d);
                format!("{f}({a})")
            }
            6 => {
                let a = self.expr(&Ty::Str, d);
                let b = self.expr(&Ty::Str, d);
                format!("({a} + {b})")
            }
            7 => {
                let m = self.path(&Ty::Map(Box::new(Ty::Str)))?;
                let k = pac_str(self.t.pick(TAG_KEYS));
                let dflt = self.expr(&Ty::Str, d);
                format!("({m}[{k}] ?? {dflt})")
            }
            8 => {
                let a = self.expr(&Ty::Int, d);
                format!("to_string({a})")
            }
            _ => {
                let a = self.expr(&Ty::Str, d);
                format!("replace({a}, \"-\", \"_\")")
            }
        })
    }

    fn time_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(8) {
            7 => self.call(&Ty::Time, d)?,
            0 => self.leaf(&Ty::Time),
            c @ 1..=3 => self.common(&Ty::Time, d, c - 1)?,
            4 => "now".into(),
            5 => {
                let op = self.t.pick(&["+", "-"]);
                let a = self.expr(&Ty::Time, d);
                let b = self.expr(&Ty::Dur, d);
                format!("({a} {op} {b})")
            }
            _ => {
                let s = self.expr(&Ty::Str, d);
                let dflt = self.expr(&Ty::Time, d);
                format!("(parse_time({s}) ?? {dflt})")
            }
        })
    }

    fn dur_expr(&mut self, d: usize) -> Option<String> {
        Some(match self.t.choose(9) {
            8 => self.call(&Ty::Dur, d)?,
            0 => self.leaf(&Ty::Dur),
            c @ 1..=2 => self.common(&Ty::Dur, d, c - 1)?,
            3 => {
                let a = self.expr(&Ty::Time, d);
                format!("age({a})")
            }
            4 => {
                let a = self.expr(&Ty::Time, d);
                let b = self.expr(&Ty::Time, d);
                format!("({a} - {b})")
            }
            5 => {
                let op = self.t.pick(&["+", "-"]);
                let a = self.expr(&Ty::Dur, d);
                let b = self.expr(&Ty::Dur, d);
                format!("({a} {op} {b})")
            }
            6 => {
                let a = self.expr(&Ty::Dur, d);
                let n = self.expr(&Ty::Int, d);
                format!("({a} * {n})")
            }
            _ => {
                let f = self.t.pick(&["days", "hours"]);
                let n = self.expr(&Ty::Int, d);
                format!("{f}({n})")
            }
        })
    }
}

/// One case: the rule's type, the rule's tape, the inventory's tape.
#[derive(Clone, Debug)]
struct Case {
    rule_type: usize,
    rule: Vec<u16>,
    docs: Vec<u16>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..TYPES.len(),
        proptest::collection::vec(any::<u16>(), 0..160),
        proptest::collection::vec(any::<u16>(), 0..400),
    )
        .prop_map(|(rule_type, rule, docs)| Case {
            rule_type,
            rule,
            docs,
        })
}

/// The policy source and the inventory of a case.
fn decode(s: &Schemas, c: &Case) -> (String, String) {
    let (ty, _) = TYPES[c.rule_type];
    static SIGS: OnceLock<Vec<Sig>> = OnceLock::new();
    let mut g = Gen {
        s,
        sigs: SIGS.get_or_init(signatures),
        t: Tape {
            data: &c.rule,
            pos: 0,
        },
        rtype: s.resource(ty).expect("stdlib type"),
        vars: Vec::new(),
        narrowed: Vec::new(),
        fresh: 0,
        budget: 40,
    };
    let cond = g.expr(&Ty::Bool, 0);
    // An asset group whose condition is a second expression (the native
    // engine evaluates group conditions too).
    g.budget = 20;
    let member = g.expr(&Ty::Bool, 0);
    let src = format!(
        "policy generated {{\n  title \"generated\"\n  severity low\n  category security\n  rule on {ty} {{\n    violation when {cond}\n  }}\n}}\n\ngroup generated_group {{\n  {ty} where {member}\n}}\n"
    );
    let mut t = Tape {
        data: &c.docs,
        pos: 0,
    };
    (src, inventory_text(s, &mut t, c.rule_type))
}

/// The policy compiled, or None when it does not type-check.
fn compile(src: &str) -> Option<Arc<Program>> {
    let c = pac_compiler::compile_sources(vec![("generated.pac".into(), src.into())]);
    let ok = c
        .diagnostics
        .iter()
        .all(|d| d.severity != pac_compiler::Severity::Error);
    ok.then_some(c.program)
}

/// Runs one case; `Err` describes a disagreement.
fn check(s: &Schemas, c: &Case, counts: &Counts) -> Result<(), TestCaseError> {
    let (src, text) = decode(s, c);
    counts.total.fetch_add(1, Ordering::Relaxed);
    let Some(program) = compile(&src) else {
        return Err(TestCaseError::reject("does not type-check"));
    };
    counts.compiled.fetch_add(1, Ordering::Relaxed);
    let (inv, errors) = Inventory::read_str(&program.schemas, "generated.ndjson", &text);
    if let Some(e) = errors.first() {
        // A generator bug, not an engine disagreement.
        panic!("generated document does not load: {e}\n{text}");
    }
    let engines = engines();
    let (ref_name, reference) = &engines[0];
    let want = reference(&program, &inv);
    for o in &want {
        match o {
            Outcome::Error(r) if r.starts_with("internal") => {
                counts.internal.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Error(_) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    for (name, run) in &engines[1..] {
        let got = run(&program, &inv);
        let differ =
            want.len() != got.len() || want.iter().zip(&got).any(|(a, b)| class(a) != class(b));
        if differ {
            let show = |os: &[Outcome]| {
                os.iter()
                    .map(|o| match o {
                        Outcome::Error(r) => format!("error ({r})"),
                        o => class(o).to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(TestCaseError::fail(format!(
                "{name} disagrees with the {ref_name}\n--- rule ---\n{src}--- inventory ---\n{text}\n--- {ref_name} ---\n{}\n--- {name} ---\n{}",
                show(&want),
                show(&got)
            )));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    total: AtomicUsize,
    compiled: AtomicUsize,
    errors: AtomicUsize,
    internal: AtomicUsize,
}

/// Runs `PROPTEST_CASES` (default `default`) cases of `check`, panicking
/// with the minimal counterexample on a failure.
fn run_cases(default: u32, check: impl Fn(&Case) -> Result<(), TestCaseError>) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let mut runner = TestRunner::new(Config {
        cases,
        max_global_rejects: cases * 4,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        source_file: Some(file!()),
        ..Config::default()
    });
    if let Err(e) = runner.run(&case(), |c| check(&c)) {
        match e {
            TestError::Fail(why, c) => panic!(
                "minimal counterexample (rule type {}, tapes {:?} / {:?}):\n{why}",
                TYPES[c.rule_type].0, c.rule, c.docs
            ),
            TestError::Abort(why) => panic!("aborted: {why}"),
        }
    }
}

#[test]
fn jit_agrees_with_the_interpreter() {
    let s = stdlib();
    let counts = Counts::default();
    run_cases(256, |c| check(&s, c, &counts));
    let total = counts.total.load(Ordering::Relaxed);
    let compiled = counts.compiled.load(Ordering::Relaxed);
    let native = NATIVE.with(|n| n.get());
    eprintln!(
        "differential: {compiled} of {total} generated rules type-checked; {native} ran natively; {} error outcomes, {} internal",
        counts.errors.load(Ordering::Relaxed),
        counts.internal.load(Ordering::Relaxed)
    );
    // The generator stays honest: nearly every rule it writes is well typed.
    assert!(
        compiled * 10 >= total * 8,
        "only {compiled} of {total} generated rules type-check"
    );
    // The native engine itself decided most cases (a fallback to the
    // interpreter agrees by construction and tests nothing).
    assert!(
        native * 2 >= compiled,
        "only {native} of {compiled} cases ran as native code"
    );
    // And evaluation errors (overflow, division by zero) are exercised.
    assert!(counts.errors.load(Ordering::Relaxed) > 0);
}

/// The outcomes and the coverage bits (which outcomes each boolean node of
/// the rule produced) of one engine with coverage on.
fn with_coverage(p: &Program, inv: &Inventory, jit: bool) -> (Vec<Outcome>, Vec<(bool, bool)>) {
    let cov = pac_runtime::Coverage::for_program(p);
    let opts = EvalOptions {
        now: NOW,
        coverage: Some(&cov),
        ..Default::default()
    };
    let report = if jit {
        let engine = pac_jit::Engine::compile_with(
            p,
            pac_jit::CompileOptions {
                coverage: true,
                ..Default::default()
            },
        );
        let prepared = engine.prepare(inv);
        let scratch = pac_runtime::Coverage::for_program(p);
        let rows: Vec<usize> = (0..inv.len())
            .filter(|&i| inv.resources[i].rtype == p.rules[0].resource)
            .collect();
        if prepared.run_rule(0, &rows, NOW, Some(&scratch)).is_some() {
            NATIVE.with(|n| n.set(n.get() + 1));
        }
        let e: &dyn pac_runtime::engine::RuleEngine = &prepared;
        pac_runtime::eval::evaluate_with(p, inv, &opts, Some(e))
    } else {
        pac_runtime::evaluate(p, inv, &opts)
    };
    let mut bits = Vec::new();
    for r in &p.rules {
        r.cond.walk(&mut |e| bits.push(cov.seen(e.id)));
    }
    (outcomes(&report, inv), bits)
}

/// With coverage on (`pacc test --coverage`), the native engine records
/// the same outcomes of the same nodes as the interpreter.
#[test]
fn coverage_agrees() {
    let s = stdlib();
    let cases = std::cell::Cell::new(0);
    run_cases(128, |c| {
        let (src, text) = decode(&s, c);
        let Some(program) = compile(&src) else {
            return Err(TestCaseError::reject("does not type-check"));
        };
        let (inv, errors) = Inventory::read_str(&program.schemas, "generated.ndjson", &text);
        assert!(errors.is_empty(), "{errors:?}");
        cases.set(cases.get() + 1);
        let (want, want_bits) = with_coverage(&program, &inv, false);
        let (got, got_bits) = with_coverage(&program, &inv, true);
        let classes = |os: &[Outcome]| os.iter().map(class).collect::<Vec<_>>();
        if classes(&want) != classes(&got) || want_bits != got_bits {
            let mut nodes = Vec::new();
            program.rules[0].cond.walk(&mut |e| nodes.push(e));
            let diff: Vec<String> = nodes
                .iter()
                .zip(want_bits.iter().zip(&got_bits))
                .filter(|(_, (a, b))| a != b)
                .map(|(e, (a, b))| {
                    format!(
                        "`{}`: interpreter (true, false) seen {a:?}, jit {b:?}",
                        program.snippet(e.file, e.span)
                    )
                })
                .collect();
            return Err(TestCaseError::fail(format!(
                "with coverage, the jit disagrees with the interpreter\n--- rule ---\n{src}--- inventory ---\n{text}\n--- outcomes ---\n{:?}\n{:?}\n--- coverage ---\n{}",
                classes(&want),
                classes(&got),
                diff.join("\n")
            )));
        }
        Ok(())
    });
    let native = NATIVE.with(|n| n.get());
    assert!(
        native * 2 >= cases.get(),
        "only {native} of {} cases ran as native code with coverage",
        cases.get()
    );
}

/// The generator's output, for inspection:
/// `cargo test -p pac-jit --test differential -- --ignored --nocapture samples`.
#[test]
#[ignore]
fn samples() {
    let s = stdlib();
    let mut runner = TestRunner::deterministic();
    for _ in 0..20 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let (src, text) = decode(&s, &c);
        let ok = compile(&src).is_some();
        println!("{src}-- compiles: {ok}\n{text}\n");
    }
}

/// Why generated rules fail to type-check, for tuning the generator:
/// `cargo test -p pac-jit --test differential -- --ignored --nocapture rejected`.
#[test]
#[ignore]
fn rejected() {
    let s = stdlib();
    let mut runner = TestRunner::deterministic();
    let mut shown = 0;
    for _ in 0..3000 {
        let c = case().new_tree(&mut runner).unwrap().current();
        let (src, _) = decode(&s, &c);
        let r = pac_compiler::compile_sources(vec![("generated.pac".into(), src.clone())]);
        let errs: Vec<String> = r
            .diagnostics
            .iter()
            .filter(|d| d.severity == pac_compiler::Severity::Error)
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        if !errs.is_empty() && shown < 40 {
            shown += 1;
            println!("{src}{errs:#?}\n");
        }
    }
}

/// The shipped policy library over the demo inventory: every engine gives
/// the same outcomes.
#[test]
fn the_library_on_the_demo_inventory() {
    let root = format!(
        "{}/..",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
    );
    let mut files = Vec::new();
    let dir = format!("{root}/policies/aws");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pac") {
            files.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    files.sort();
    let program = compile_all(files);
    let (inv, errors) = Inventory::read_path(
        &program.schemas,
        std::path::Path::new(&format!("{root}/examples/demo/inventory.json")),
    );
    assert!(errors.is_empty());
    let engines = engines();
    let want = (engines[0].1)(&program, &inv);
    assert!(want.len() > 1000);
    for (name, run) in &engines[1..] {
        let got = run(&program, &inv);
        assert_eq!(want.len(), got.len(), "{name}");
        let report = pac_runtime::evaluate(&program, &inv, &opts());
        for (k, (a, b)) in want.iter().zip(&got).enumerate() {
            let what = match report.results.get(k) {
                Some(r) => format!(
                    "rule {} on {}",
                    program.rules[r.rule].id, inv.resources[r.resource].id
                ),
                None => {
                    let k = k - report.results.len();
                    format!(
                        "group {} on {}",
                        program.groups[k / inv.len()].name,
                        inv.resources[k % inv.len()].id
                    )
                }
            };
            assert_eq!(class(a), class(b), "{name}: {what}");
        }
    }
}

fn compile_all(files: Vec<(String, String)>) -> Arc<Program> {
    let c = pac_compiler::compile_sources(files);
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == pac_compiler::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    c.program
}

/// Hand-written edge cases the generator reaches only rarely: `-0.0` and
/// `7` in float fields, NaN, the `i64::MIN` corner of `/` and `%`,
/// overflowing built-ins, structural equality of lists with floats.
#[test]
fn edge_cases() {
    let findings = [
        ("f-1", "-0.0"),
        ("f-2", "0.0"),
        ("f-3", "7"),
        ("f-4", "7.0"),
        ("f-5", "1e300"),
    ]
    .iter()
    .map(|(id, cvss)| {
        format!(
            r#"{{"type":"vuln.finding","id":"{id}","account":"1","region":"r","attributes":{{"resource_id":"i-1","cve":"CVE-1","title":"t","cvss":{cvss},"severity":"low","first_seen":"2026-01-01T00:00:00Z","scanner":"s"}}}}"#
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    let conds = [
        "cvss == 0.0",
        "cvss == 7.0",
        "cvss == 7",
        "[cvss] == [0.0]",
        "[cvss] == [7.0]",
        "[cvss] != [0.0]",
        "cvss in [0.0, 7.0]",
        "0.0 in [cvss]",
        "(cvss / 2) == 3",
        "(cvss / 2) == 3.5",
        "(cvss % 2) == 1",
        "((0.0 / 0.0) == (0.0 / 0.0))",
        "((0.0 / 0.0) != (0.0 / 0.0))",
        "([0.0 / 0.0] == [0.0 / 0.0])",
        "([0.0 / 0.0] != [0.0 / 0.0])",
        "((0.0 / 0.0) in [0.0 / 0.0])",
        "((cvss * cvss) > 1.0)",
        "(((-9223372036854775807 - 1) % -1) == 0)",
        "(((-9223372036854775807 - 1) / -1) == 0)",
        "(abs(-9223372036854775807 - 1) > 0)",
        "((-(-9223372036854775807 - 1)) > 0)",
        "(sum([9223372036854775807, 1]) > 0)",
        "(floor(cvss) > 0)",
        "(round(cvss) >= 0)",
        "(now + days(9223372036854775807) > now)",
        "(now + days(106751991167300) > now)",
        "(in_days(now - 0001-01-01) > 0)",
        "(any x in vuln.finding where x.cvss == cvss and x.id != id)",
        "(count x in vuln.finding where x.cvss == 0.0) == 2",
        "(count x in vuln.finding where x.cvss == 7) == 2",
        "(any x in vuln.finding: x == self)",
        "(all x in vuln.finding: x != self or x.cvss == cvss)",
        "(to_string(cvss) == \"7\")",
        "(to_string(cvss) == \"-0.0\")",
        "(max_of(cvss, 0.0) == 0.0)",
        "(min_of(cvss, -0.0) == 0.0)",
        "(len(to_string(cvss)) > 3)",
        "matches(to_string(cvss), \"^7$\")",
    ];
    let s = stdlib();
    let engines = engines();
    let mut bad = Vec::new();
    for cond in conds {
        let src = format!(
            "policy edge {{\n  title \"edge\"\n  severity low\n  category security\n  rule on vuln.finding {{\n    violation when {cond}\n  }}\n}}\n"
        );
        let program = compile(&src).unwrap_or_else(|| panic!("does not compile: {cond}"));
        let (inv, errors) = Inventory::read_str(&s, "edge.ndjson", &findings);
        assert!(errors.is_empty(), "{errors:?}");
        let engine = pac_jit::Engine::compile(&program);
        if let Some((_, why)) = engine.fallbacks().first() {
            bad.push(format!("{cond}: not compiled to native code: {why}"));
        }
        let want = (engines[0].1)(&program, &inv);
        for (name, run) in &engines[1..] {
            let got = run(&program, &inv);
            let show = |os: &[Outcome]| os.iter().map(class).collect::<Vec<_>>().join(" ");
            if want.iter().map(class).ne(got.iter().map(class)) {
                bad.push(format!(
                    "{cond}: interpreter [{}], {name} [{}]",
                    show(&want),
                    show(&got)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "disagreements:\n{}", bad.join("\n"));
}
