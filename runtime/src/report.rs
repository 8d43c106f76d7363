//! Rendering an [`EvalReport`]: a readable terminal report (compliance table,
//! violations grouped by policy, errors, warnings, totals; at most 120
//! columns) and a JSON document with stable field names.
//!
//! # JSON format
//!
//! ```json
//! {
//!   "now": "2026-11-01T00:00:00Z",
//!   "summary": {
//!     "evaluated": 120, "passed": 100, "failed": 15, "exempt": 5, "errors": 2,
//!     "compliance": 87,
//!     "policies": [
//!       { "policy": "ssh_open_to_world", "title": "…", "severity": "critical",
//!         "category": "security", "evaluated": 31, "passed": 25, "failed": 5,
//!         "exempt": 1, "errors": 0, "compliance": 83 }
//!     ],
//!     "severities": [
//!       { "severity": "critical", "evaluated": 31, "passed": 25, "failed": 5,
//!         "exempt": 1, "errors": 0, "compliance": 83 }
//!     ]
//!   },
//!   "violations": [
//!     { "policy": "ssh_open_to_world", "rule": "ssh_open_to_world",
//!       "severity": "critical", "category": "security",
//!       "resource": { "type": "aws.ec2.security_group", "id": "sg-1",
//!                     "account": "111122223333", "region": "us-east-1" },
//!       "message": "sg-1 allows SSH from anywhere",
//!       "exempted_by": null,
//!       "explanation": { "expr": "…", "value": "true", "detail": "…",
//!                        "witness": { "index": 0, "label": "…", "value": "…" },
//!                        "children": [ … ] } }
//!   ],
//!   "errors": [
//!     { "policy": "…", "rule": "…", "resource": { … }, "reason": "integer overflow in `…`" }
//!   ],
//!   "groups": [
//!     { "group": "prod_running", "members": 12,
//!       "errors": [ { "resource": { … }, "reason": "…" } ] }
//!   ],
//!   "warnings": [
//!     { "kind": "expired_exception", "exception": "CHG-1234", "message": "…" }
//!   ]
//! }
//! ```
//!
//! - `evaluated` counts results with a definite outcome (`passed + failed +
//!   exempt`); `errors` are separate (unknown compliance).
//! - `compliance` is `floor((evaluated − failed) × 100 / evaluated)`, `100`
//!   when nothing was evaluated.
//! - `violations` lists every failing (rule, resource), exempted ones too
//!   (`exempted_by` names the exception; `null` for an open violation), by
//!   rule then inventory order. `explanation` is present only when the
//!   evaluation was asked to explain. Passing results are not listed.
//! - `warnings[].kind` is `expired_exception`, `unused_exception` or
//!   `exception_error`.

use std::fmt::Write as _;

use pac_compiler::ir::{Program, Severity};
use pac_stdlib::Value;
use serde_json::{Value as Json, json};

use crate::eval::{Counts, EvalReport, Messages, Outcome, RuleResult};
use crate::explain::render_text as render_explanation;
use crate::inventory::{Inventory, Resource};

const WIDTH: usize = 120;

fn truncate(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits `s` into lines of at most `width` characters, at spaces where
/// possible.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    if fits_line(s, width) {
        return vec![s.to_string()];
    }
    wrap_words(s, width)
}

/// Whether [`wrap`] gives `s` back as one line as it is: most messages
/// fit (no leading space, which wrapping drops, and nothing to replace).
fn fits_line(s: &str, width: usize) -> bool {
    !s.starts_with(' ') && s.len() <= width.max(1) && !s.chars().any(char::is_control)
}

/// Characters in `s` (its length in bytes when it is ASCII, as ids are).
fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// [`wrap`] word by word (`width` at least 1).
fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    wrap_lines(s, width, &mut String::new(), |_, line| {
        lines.push(line.to_string())
    });
    lines
}

/// Cuts `s` into lines of at most `width` characters (at least 1) at
/// spaces, words longer than a line split, control characters shown as
/// spaces; gives each line to `each` with its number. `cur` is scratch
/// space: a report wraps a million messages without a list per message.
fn wrap_lines(s: &str, width: usize, cur: &mut String, mut each: impl FnMut(usize, &str)) {
    cur.clear();
    let mut n = 0;
    // Characters in `cur`, kept rather than counted again for every word.
    let mut cur_n = 0;
    for word in s.split(' ') {
        // Most words are printable ASCII, used as they are.
        let cleaned: String;
        let (mut word, mut word_n) = if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
        {
            (word, word.len())
        } else {
            cleaned = word
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            (cleaned.as_str(), cleaned.chars().count())
        };
        loop {
            let sep = usize::from(cur_n > 0);
            if cur_n + sep + word_n <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.push_str(word);
                cur_n += sep + word_n;
                break;
            }
            if cur_n > 0 {
                each(n, cur);
                n += 1;
                cur.clear();
                cur_n = 0;
                continue;
            }
            // A word longer than a line: split it.
            let cut = word
                .char_indices()
                .nth(width)
                .map_or(word.len(), |(i, _)| i);
            each(n, &word[..cut]);
            n += 1;
            word = &word[cut..];
            word_n -= width;
        }
    }
    if !cur.is_empty() || n == 0 {
        each(n, cur);
    }
}

/// An item of a list: `  text`, continued on lines indented by four.
fn push_wrapped(out: &mut String, text: &str) {
    for (i, line) in wrap(text, WIDTH - 4).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { "  " } else { "    " });
    }
}

fn pad(s: &str, width: usize) -> String {
    let mut out = String::with_capacity(width);
    push_pad(&mut out, s, width);
    out
}

/// [`pad`], written at the end of `out`.
fn push_pad(out: &mut String, s: &str, width: usize) {
    // The common case (ASCII, fits, nothing to replace) without truncate's copies.
    if s.len() <= width && s.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', width - s.len()));
        return;
    }
    out.push_str(&pad_any(s, width));
}

/// [`pad`] for any text: control characters replaced, truncated with `…`.
fn pad_any(s: &str, width: usize) -> String {
    let s = truncate(s, width);
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

fn severity_text(s: Severity, color: bool) -> String {
    let name = s.name();
    if !color {
        return name.to_string();
    }
    let code = match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{name}\x1b[0m")
}

/// `severity` padded to `width` (colour codes do not count).
fn severity_cell(s: Severity, width: usize, color: bool) -> String {
    let n = s.name().chars().count();
    format!(
        "{}{}",
        severity_text(s, color),
        " ".repeat(width.saturating_sub(n))
    )
}

fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn time_text(t: i64) -> String {
    Value::Time(t).to_string()
}

/// The terminal report. `color` adds ANSI colours (use it only on a
/// terminal). Explanations attached to results are printed under their
/// violations.
pub fn render_text(program: &Program, inv: &Inventory, report: &EvalReport, color: bool) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write_text(&mut out, program, inv, report, color);
    String::from_utf8(out).unwrap_or_default()
}

/// Text written to `out` in pieces of about this size.
const FLUSH_AT: usize = 1 << 16;

/// Violations whose deferred messages are rendered at a time.
const MESSAGE_BATCH: usize = 4096;

/// Runs `write` with the messages of `items`, in order: those `late`
/// renders (deferred by `eval::evaluate_failures_deferred`), `None` where
/// a result has its own. They are rendered a batch at a time on other
/// threads, ahead of the writing (one batch waits), so that rendering and
/// writing overlap.
fn with_late_messages<R>(
    late: Option<&Messages>,
    items: &[&RuleResult],
    write: impl FnOnce(&mut dyn Iterator<Item = Option<String>>) -> R,
) -> R {
    let Some(m) = late else {
        return write(&mut std::iter::repeat_n(None, items.len()));
    };
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Option<String>>>(1);
        s.spawn(move || {
            for batch in items.chunks(MESSAGE_BATCH) {
                // The writer stopped (an error): nothing more to render.
                if tx.send(m.render(batch)).is_err() {
                    break;
                }
            }
        });
        let mut msgs = rx.iter().flatten();
        let out = write(&mut msgs);
        // Unblocks the renderer if the writer stopped early.
        drop(msgs);
        drop(rx);
        out
    })
}

/// The violations of one policy in the text report: `open[start..end]`,
/// under `head`, in columns as wide as their widest id, account and
/// region (within bounds).
struct ViolationGroup {
    start: usize,
    end: usize,
    /// The policy's heading line, with the blank line before it.
    head: String,
    id_w: usize,
    acct_w: usize,
    region_w: usize,
    msg_w: usize,
    /// What continues a wrapped message: spaces to the message column.
    indent: String,
    /// The policy has several rules: each row says which.
    named_rules: bool,
}

/// The groups of `open` (sorted by policy), with their column widths.
fn violation_groups(
    program: &Program,
    inv: &Inventory,
    open: &[&RuleResult],
    color: bool,
) -> Vec<ViolationGroup> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < open.len() {
        let policy_idx = program.rules[open[start].rule].policy;
        let end = open[start..]
            .iter()
            .position(|r| program.rules[r.rule].policy != policy_idx)
            .map_or(open.len(), |n| start + n);
        let group = &open[start..end];
        let policy = &program.policies[policy_idx];
        let head = format!(
            "{} ({}, {}): ",
            policy.name,
            policy.severity.name(),
            policy.category
        );
        let title_w = WIDTH.saturating_sub(head.chars().count());
        let head = format!(
            "\n{}{}\n",
            bold(&head, color),
            truncate(&policy.title, title_w)
        );
        let width = |f: &dyn Fn(&Resource) -> usize, lo: usize, hi: usize| {
            group
                .iter()
                .map(|r| f(&inv.resources[r.resource]))
                .max()
                .unwrap_or(0)
                .clamp(lo, hi)
        };
        let id_w = width(&|r| char_len(&r.id), 4, 40);
        let acct_w = width(&|r| char_len(&r.account), 4, 14);
        let region_w = width(&|r| char_len(&r.region), 4, 16);
        let msg_col = 2 + id_w + 1 + acct_w + 1 + region_w + 1;
        let msg_w = WIDTH.saturating_sub(msg_col).max(30);
        groups.push(ViolationGroup {
            start,
            end,
            head,
            id_w,
            acct_w,
            region_w,
            msg_w,
            indent: " ".repeat(WIDTH.saturating_sub(msg_w)),
            named_rules: policy.rules.len() > 1,
        });
        start = end;
    }
    groups
}

/// What a row of the violations is written from.
struct Rows<'a> {
    program: &'a Program,
    inv: &'a Inventory,
    groups: &'a [ViolationGroup],
    late: Option<&'a Messages<'a>>,
}

/// Rows rendered into one piece of text on the pool.
const ROWS_PIECE: usize = 256;

/// What [`Rows::render`] reuses from row to row: the interpreter's frame
/// (for messages), a row's message and a wrapped line.
#[derive(Default)]
struct RowScratch {
    frame: crate::interp::Frame,
    msg: String,
    line: String,
}

impl Rows<'_> {
    /// The rows of `open[range]` (each group's heading before its first),
    /// as text; `scratch` is reused from piece to piece.
    fn render(
        &self,
        open: &[&RuleResult],
        range: std::ops::Range<usize>,
        scratch: &mut RowScratch,
    ) -> String {
        let RowScratch { frame, msg, line } = scratch;
        let mut out = String::with_capacity(range.len() * 128);
        // The deferred messages of the whole range at once.
        let mut late = match self.late {
            Some(late) => late.render_piece(frame, open.get(range.clone()).unwrap_or(&[])),
            None => Vec::new(),
        }
        .into_iter();
        let mut gi = self.groups.partition_point(|g| g.end <= range.start);
        for k in range {
            while self.groups.get(gi).is_some_and(|g| g.end <= k) {
                gi += 1;
            }
            let (Some(g), Some(r)) = (self.groups.get(gi), open.get(k)) else {
                break;
            };
            if k == g.start {
                out.push_str(&g.head);
            }
            msg.clear();
            if g.named_rules {
                let id = &self.program.rules[r.rule].id;
                msg.push('[');
                msg.push_str(id.rsplit('.').next().unwrap_or(id));
                msg.push_str("] ");
            }
            // One deferred entry per row, whether or not the row needs it.
            let late_msg = late.next().flatten();
            if let Some(m) = r.message.as_deref().or(late_msg.as_deref()) {
                msg.push_str(m);
            }
            self.push_row(&mut out, g, r, msg, line);
        }
        out
    }

    /// One violation's row (its message `msg`), and its explanation.
    fn push_row(
        &self,
        out: &mut String,
        g: &ViolationGroup,
        r: &RuleResult,
        msg: &str,
        line: &mut String,
    ) {
        let res = &self.inv.resources[r.resource];
        // Written cell by cell: a row costs no allocation unless its
        // message wraps. An id too long for its column gets a line of its own.
        out.push_str("  ");
        if char_len(&res.id) > g.id_w {
            out.push_str(&res.id);
            out.push_str("\n  ");
            push_pad(out, "", g.id_w);
        } else {
            push_pad(out, &res.id, g.id_w);
        }
        out.push(' ');
        push_pad(out, &res.account, g.acct_w);
        out.push(' ');
        push_pad(out, &res.region, g.region_w);
        out.push(' ');
        if fits_line(msg, g.msg_w) {
            out.push_str(msg);
            out.push('\n');
        } else {
            wrap_lines(msg, g.msg_w.max(1), line, |i, text| {
                if i > 0 {
                    out.push_str(&g.indent);
                }
                out.push_str(text);
                out.push('\n');
            });
        }
        if let Some(x) = &r.explanation {
            for line in render_explanation(x, 3).lines() {
                let body = line.trim_start();
                let lead = line.len() - body.len();
                let width = WIDTH.saturating_sub(lead + 4).max(40);
                for (i, part) in wrap(body, width).iter().enumerate() {
                    let pad = if i == 0 { lead } else { lead + 4 };
                    let _ = writeln!(out, "{}{part}", " ".repeat(pad));
                }
            }
        }
    }
}

/// Writes the rows of `open` to `w`: rendered (deferred messages and all)
/// on the pool a batch at a time, one batch ahead of the writing, so that
/// the writer only copies text.
fn write_rows(
    w: &mut dyn std::io::Write,
    open: &[&RuleResult],
    rows: &Rows,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let n = open.len();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<String>>(1);
        s.spawn(move || {
            for b in (0..n).step_by(MESSAGE_BATCH) {
                let e = (b + MESSAGE_BATCH).min(n);
                let pieces: Vec<usize> = (b..e).step_by(ROWS_PIECE).collect();
                let text: Vec<String> = pieces
                    .into_par_iter()
                    .map_init(RowScratch::default, |scratch, p| {
                        rows.render(open, p..(p + ROWS_PIECE).min(e), scratch)
                    })
                    .collect();
                // The writer stopped (an error): nothing more to render.
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
        for text in rx {
            for piece in text {
                w.write_all(piece.as_bytes())?;
            }
        }
        Ok(())
    })
}

/// [`render_text`] written to `w` as it is produced (a report of half a
/// million violations is never one string).
pub fn write_text(
    w: &mut dyn std::io::Write,
    program: &Program,
    inv: &Inventory,
    report: &EvalReport,
    color: bool,
) -> std::io::Result<()> {
    write_text_with(w, program, inv, report, color, None)
}

/// [`write_text`] of a report whose messages were deferred: `late`
/// renders them, a batch at a time, as the violations are written.
pub fn write_text_with(
    w: &mut dyn std::io::Write,
    program: &Program,
    inv: &Inventory,
    report: &EvalReport,
    color: bool,
    late: Option<&Messages>,
) -> std::io::Result<()> {
    let mut out = String::new();
    let s = &report.summary;

    // Compliance by policy.
    let _ = writeln!(
        out,
        "{}",
        bold(&format!("Compliance at {}", time_text(report.now)), color)
    );
    let name_w = s
        .policies
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0);
    // An UNKNOWN column only when documents were skipped (results of
    // their types are unknown); the table is unchanged otherwise.
    let skipped = s.total.skipped > 0;
    let name_w = name_w.clamp(6, if skipped { 48 } else { 56 });
    let _ = writeln!(
        out,
        "{} {} {} {:>9} {:>7} {:>6} {:>6} {}{:>10}",
        pad("POLICY", name_w),
        pad("SEVERITY", 8),
        pad("CATEGORY", 11),
        "EVALUATED",
        "FAILING",
        "EXEMPT",
        "ERRORS",
        if skipped { "UNKNOWN " } else { "" },
        "COMPLIANCE"
    );
    for p in &s.policies {
        let c = &p.counts;
        let unknown = if skipped {
            format!("{:>7} ", c.skipped)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {} {} {:>9} {:>7} {:>6} {:>6} {unknown}{:>9}%",
            pad(&p.name, name_w),
            severity_cell(p.severity, 8, color),
            pad(&p.category, 11),
            c.evaluated,
            c.failed,
            c.exempt,
            c.errors,
            p.compliance
        );
    }

    // Violations, grouped by policy.
    let open: Vec<_> = report.open_failures().collect();
    if !open.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!("Violations ({})", open.len()), color)
        );
    }
    // The rows, rendered ahead of the writing on other threads.
    w.write_all(out.as_bytes())?;
    out.clear();
    let groups = violation_groups(program, inv, &open, color);
    write_rows(
        w,
        &open,
        &Rows {
            program,
            inv,
            groups: &groups,
            late,
        },
    )?;

    // Errors: results that could not be evaluated, and group conditions.
    let errors: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Error(reason) => Some((r, reason)),
            _ => None,
        })
        .collect();
    let group_errors: usize = report.groups.iter().map(|g| g.errors.len()).sum();
    if !errors.is_empty() || group_errors > 0 {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!("Errors ({})", errors.len() + group_errors), color)
        );
        for (r, reason) in errors {
            let res = &inv.resources[r.resource];
            let line = format!(
                "{} on {} {} ({}, {}): {reason}",
                program.rules[r.rule].id, res.type_name, res.id, res.account, res.region
            );
            push_wrapped(&mut out, &line);
            if out.len() >= FLUSH_AT {
                w.write_all(out.as_bytes())?;
                out.clear();
            }
        }
        for g in &report.groups {
            for (i, reason) in &g.errors {
                let res = &inv.resources[*i];
                let line = format!(
                    "group {} on {} {}: {reason}",
                    program.groups[g.group].name, res.type_name, res.id
                );
                push_wrapped(&mut out, &line);
            }
        }
    }

    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            bold(&format!("Warnings ({})", report.warnings.len()), color)
        );
        for w in &report.warnings {
            push_wrapped(&mut out, &w.message);
        }
    }

    let t = &s.total;
    let unknown = if t.skipped > 0 {
        format!(
            ", {} unknown (documents skipped: they match no schema)",
            t.skipped
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\nTotal: {} evaluated, {} failing, {} exempt, {} error{}{unknown}; overall compliance {}",
        t.evaluated,
        t.failed,
        t.exempt,
        t.errors,
        if t.errors == 1 { "" } else { "s" },
        s.overall
            .map_or_else(|| "unknown".to_string(), |o| format!("{o}%"))
    );
    w.write_all(out.as_bytes())
}

fn counts_json(c: &Counts, compliance: u32) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    m.insert("evaluated".into(), json!(c.evaluated));
    m.insert("passed".into(), json!(c.passed));
    m.insert("failed".into(), json!(c.failed));
    m.insert("exempt".into(), json!(c.exempt));
    m.insert("errors".into(), json!(c.errors));
    m.insert("compliance".into(), json!(compliance));
    // Only when documents were skipped (the format is unchanged otherwise).
    if c.skipped > 0 {
        m.insert("skipped".into(), json!(c.skipped));
    }
    m
}

/// One violation as the JSON report lists it (the whole tree and the
/// streamed writer share it, so the two stay byte-identical).
fn violation_json(
    program: &Program,
    r: &crate::eval::RuleResult,
    message: Option<&str>,
    rule: &pac_compiler::ir::Rule,
    policy: &pac_compiler::ir::Policy,
    res: &Resource,
) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("policy".into(), json!(policy.name));
    m.insert("rule".into(), json!(rule.id));
    m.insert("severity".into(), json!(policy.severity));
    m.insert("category".into(), json!(policy.category));
    m.insert("resource".into(), resource_json(res));
    m.insert("message".into(), json!(message));
    m.insert(
        "exempted_by".into(),
        json!(r.exempted_by.map(|x| &program.exceptions[x].name)),
    );
    if let Some(x) = &r.explanation {
        m.insert("explanation".into(), json!(x));
    }
    Json::Object(m)
}

fn resource_json(r: &Resource) -> Json {
    json!({
        "type": &*r.type_name,
        "id": &*r.id,
        "account": &*r.account,
        "region": &*r.region,
    })
}

/// The JSON document described in the module documentation.
pub fn to_json(program: &Program, inv: &Inventory, report: &EvalReport) -> Json {
    let s = &report.summary;
    let mut summary = counts_json(&s.total, s.compliance);
    // The figure `pacc serve` shows for the same inventory (compliance.md).
    summary.insert("overall".into(), json!(s.overall));
    let policies: Vec<Json> = s
        .policies
        .iter()
        .map(|p| {
            let mut m = serde_json::Map::new();
            m.insert("policy".into(), json!(p.name));
            m.insert("title".into(), json!(program.policies[p.policy].title));
            m.insert("severity".into(), json!(p.severity));
            m.insert("category".into(), json!(p.category));
            m.extend(counts_json(&p.counts, p.compliance));
            Json::Object(m)
        })
        .collect();
    let severities: Vec<Json> = s
        .severities
        .iter()
        .map(|x| {
            let mut m = serde_json::Map::new();
            m.insert("severity".into(), json!(x.severity));
            m.extend(counts_json(&x.counts, x.compliance));
            Json::Object(m)
        })
        .collect();
    summary.insert("policies".into(), Json::Array(policies));
    summary.insert("severities".into(), Json::Array(severities));

    let mut violations = Vec::new();
    let mut errors = Vec::new();
    for r in &report.results {
        let rule = &program.rules[r.rule];
        let policy = &program.policies[rule.policy];
        let res = &inv.resources[r.resource];
        match &r.outcome {
            Outcome::Pass => {}
            Outcome::Fail => {
                violations.push(violation_json(
                    program,
                    r,
                    r.message.as_deref(),
                    rule,
                    policy,
                    res,
                ));
            }
            Outcome::Error(reason) => errors.push(json!({
                "policy": policy.name,
                "rule": rule.id,
                "resource": resource_json(res),
                "reason": reason,
            })),
        }
    }
    let groups: Vec<Json> = report
        .groups
        .iter()
        .map(|g| {
            json!({
                "group": program.groups[g.group].name,
                "members": g.members.len(),
                "errors": g.errors.iter().map(|(i, reason)| json!({
                    "resource": resource_json(&inv.resources[*i]),
                    "reason": reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let warnings: Vec<Json> = report
        .warnings
        .iter()
        .map(|w| {
            json!({
                "kind": w.kind,
                "exception": program.exceptions[w.exception].name,
                "message": w.message,
            })
        })
        .collect();
    json!({
        "now": time_text(report.now),
        "summary": Json::Object(summary),
        "violations": violations,
        "errors": errors,
        "groups": groups,
        "warnings": warnings,
    })
}

/// [`to_json`] as compact JSON, one line (for machines: pipe it through
/// `jq` to read it).
pub fn render_json(program: &Program, inv: &Inventory, report: &EvalReport) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write_json(&mut out, program, inv, report);
    String::from_utf8(out).unwrap_or_default()
}

/// A JSON array of the items an iterator gives, serialized as they come.
struct Lazy<F>(F);

impl<F, I, T> serde::Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator<Item = T>,
    T: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// [`render_json`] written to `w` as it is produced: the same bytes, but
/// only one violation's JSON tree at a time (the keys in the order the
/// whole tree prints them, sorted).
pub fn write_json(
    w: &mut dyn std::io::Write,
    program: &Program,
    inv: &Inventory,
    report: &EvalReport,
) -> std::io::Result<()> {
    write_json_with(w, program, inv, report, None)
}

/// [`write_json`] of a report whose messages were deferred (see
/// [`write_text_with`]).
pub fn write_json_with(
    w: &mut dyn std::io::Write,
    program: &Program,
    inv: &Inventory,
    report: &EvalReport,
    late: Option<&Messages>,
) -> std::io::Result<()> {
    use serde::ser::{SerializeMap, Serializer};
    let whole = |r: &crate::eval::RuleResult| {
        let rule = &program.rules[r.rule];
        (
            rule,
            &program.policies[rule.policy],
            &inv.resources[r.resource],
        )
    };
    let errors = Lazy(|| {
        report.results.iter().filter_map(|r| match &r.outcome {
            Outcome::Error(reason) => {
                let (rule, policy, res) = whole(r);
                Some(json!({
                    "policy": policy.name,
                    "rule": rule.id,
                    "resource": resource_json(res),
                    "reason": reason,
                }))
            }
            _ => None,
        })
    });
    let failing: Vec<&RuleResult> = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .collect();
    let whole = &whole;
    // Everything but the two long lists, as the whole tree has it.
    let mut rest = to_json(
        program,
        inv,
        &EvalReport {
            now: report.now,
            results: Vec::new(),
            groups: report.groups.clone(),
            warnings: report.warnings.clone(),
            summary: report.summary.clone(),
        },
    );
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    with_late_messages(late, &failing, |msgs| {
        let msgs = std::cell::RefCell::new(msgs);
        let violations = Lazy(|| {
            failing.iter().map(|r| {
                let m = msgs.borrow_mut().next().flatten();
                let (rule, policy, res) = whole(r);
                let message = r.message.as_deref().or(m.as_deref());
                violation_json(program, r, message, rule, policy, res)
            })
        });
        let mut ser = serde_json::Serializer::new(&mut out);
        let mut map = ser.serialize_map(Some(6))?;
        map.serialize_entry("errors", &errors)?;
        map.serialize_entry("groups", &rest["groups"].take())?;
        map.serialize_entry("now", &rest["now"].take())?;
        map.serialize_entry("summary", &rest["summary"].take())?;
        map.serialize_entry("violations", &violations)?;
        map.serialize_entry("warnings", &rest["warnings"].take())?;
        map.end()?;
        std::io::Result::Ok(())
    })?;
    std::io::Write::flush(&mut out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{NOW, POLICIES, compile, sg, vol};
    use crate::eval::{EvalOptions, evaluate};

    fn setup() -> (std::sync::Arc<Program>, Inventory) {
        let program = compile(POLICIES);
        let docs = [
            sg("sg-1", "0.0.0.0/0", "prod"),
            sg("sg-2", "0.0.0.0/0", "prod"),
            sg("sg-3", "10.0.0.0/8", "prod"),
            vol("vol-1", 10, "prod"),
        ]
        .join("\n");
        let (inv, errors) = Inventory::read_str(&program.schemas, "inv", &docs);
        assert!(errors.is_empty());
        (program, inv)
    }

    /// The text report of `program` over `inv` at `NOW`.
    fn text_of(program: &Program, inv: &Inventory) -> String {
        let opts = EvalOptions {
            now: NOW,
            ..Default::default()
        };
        render_text(program, inv, &evaluate(program, inv, &opts), false)
    }

    #[test]
    fn text_report() {
        let (program, inv) = setup();
        let text = text_of(&program, &inv);
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "too wide: {line:?}");
        }
        assert!(text.contains("ssh_open"), "{text}");
        assert!(
            text.contains("\n  sg-1 1    r    sg-1 allows SSH from anywhere (<missing>)\n"),
            "{text}"
        );
        assert!(
            text.contains("ssh_open (critical, security): SSH open to the world"),
            "{text}"
        );
        assert!(
            text.contains("big_volume on aws.ec2.volume vol-1 (1, r): integer overflow"),
            "{text}"
        );
        assert!(text.contains("\n    1073741824)\n"), "{text}");
        assert!(
            text.contains("exception `OLD` expired on 2020-01-01"),
            "{text}"
        );
        assert!(
            text.trim_end().ends_with(
                "Total: 3 evaluated, 1 failing, 1 exempt, 1 error; overall compliance 66%"
            ),
            "{text}"
        );
        let policy_line = text.lines().find(|l| l.starts_with("ssh_open ")).unwrap();
        assert!(policy_line.ends_with("66%"), "{policy_line}");
    }

    #[test]
    fn a_long_id_gets_its_own_line_and_a_long_message_wraps_under_its_column() {
        let program = compile(POLICIES);
        let id = format!("sg-{}", "x".repeat(45));
        let docs = sg(&id, "0.0.0.0/0", "prod");
        let (inv, errors) = Inventory::read_str(&program.schemas, "inv", &docs);
        assert!(errors.is_empty());
        let text = text_of(&program, &inv);
        // The id column is 40 wide, account and region 4: the message
        // column starts at 53 and is 67 wide.
        let msg = format!("{id} allows SSH from anywhere (<missing>)");
        let lines = wrap(&msg, 67);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let row = format!(
            "\n  {id}\n  {} 1    r    {}\n{}{}\n",
            " ".repeat(40),
            lines[0],
            " ".repeat(53),
            lines[1]
        );
        assert!(text.contains(&row), "{text}\nwanted:{row}");
        assert_eq!(char_len("héllo"), 5);
        assert_eq!(char_len(&id), id.len());
    }

    #[test]
    fn a_writer_that_stops_early_stops_the_renderer() {
        let (program, inv) = setup();
        let opts = EvalOptions {
            now: NOW,
            ..Default::default()
        };
        let report = evaluate(&program, &inv, &opts);
        let late = Messages::new(&program, &inv, NOW, None);
        // Many batches, as a broken pipe meets them: the writer takes one
        // message and returns; the renderer must not wait for it forever.
        let items: Vec<&RuleResult> =
            std::iter::repeat_n(&report.results[0], 5 * MESSAGE_BATCH).collect();
        let taken = with_late_messages(Some(&late), &items, |msgs| msgs.take(1).count());
        assert_eq!(taken, 1);
    }

    #[test]
    fn wrap_splits_at_spaces_and_long_words() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
        for line in wrap(&"word ".repeat(100), 30) {
            assert!(line.chars().count() <= 30);
        }
    }

    /// The word loop as it was, counting the line for every word.
    fn wrap_reference(s: &str, width: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        for word in s.split(' ') {
            let mut word: String = word
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            loop {
                let cur_n = cur.chars().count();
                let word_n = word.chars().count();
                let sep = usize::from(cur_n > 0);
                if cur_n + sep + word_n <= width {
                    if sep == 1 {
                        cur.push(' ');
                    }
                    cur.push_str(&word);
                    break;
                }
                if cur_n > 0 {
                    lines.push(std::mem::take(&mut cur));
                    continue;
                }
                // A word longer than a line: split it.
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    proptest::proptest! {
        /// The one-line and ASCII shortcuts give what the general code gives.
        #[test]
        fn wrap_and_pad_shortcuts_agree(s in "[ a-zé\\t\\x01-]{0,40}", w in 0usize..45) {
            proptest::prop_assert_eq!(wrap(&s, w), wrap_reference(&s, w.max(1)));
            proptest::prop_assert_eq!(wrap_words(&s, w.max(1)), wrap_reference(&s, w.max(1)));
            proptest::prop_assert_eq!(pad(&s, w), pad_any(&s, w));
        }
    }

    #[test]
    fn json_report() {
        let (program, inv) = setup();
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                explain: true,
                coverage: None,
            },
        );
        let j = to_json(&program, &inv, &report);
        assert_eq!(j["now"], "2026-11-01T00:00:00Z");
        assert_eq!(j["summary"]["compliance"], 66);
        assert_eq!(j["summary"]["policies"][0]["severity"], "critical");
        assert_eq!(j["summary"]["policies"][0]["failed"], 1);
        let v = &j["violations"];
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["resource"]["id"], "sg-1");
        assert_eq!(v[0]["exempted_by"], Json::Null);
        assert_eq!(v[1]["exempted_by"], "CHG-1");
        assert_eq!(v[0]["explanation"]["value"], "true");
        assert_eq!(j["errors"][0]["rule"], "big_volume");
        assert_eq!(j["groups"][0]["members"], 1);
        assert_eq!(j["warnings"][0]["kind"], "expired_exception");
        assert_eq!(j["warnings"][0]["exception"], "OLD");
        let text = render_json(&program, &inv, &report);
        assert!(text.starts_with("{\"errors\":["), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
        // The streamed writer gives the whole tree's bytes.
        assert_eq!(text, serde_json::to_string(&j).unwrap());
    }
}
