//! A review as Markdown sized for a pull-request comment: the headline
//! figures and a table of rules first, warnings, then the policy changes
//! and the resources that move folded in `<details>`.
//!
//! Text from the policies and the inventory (ids, messages) is hostile: it
//! is shown in code spans (no Markdown, HTML or @-mentions inside), with
//! table pipes escaped. Past [`LIMIT`] characters the details are cut,
//! with a note (GitHub refuses comments over 65,536 characters).

use std::fmt::Write;

use crate::Review;
use crate::diff::{Change, PolicyDiff, RuleDiff, Status};
use crate::facts::Location;
use crate::impact::{Moved, RuleImpact};

/// The most characters a rendered review has.
pub const LIMIT: usize = 60_000;

/// The marker the example workflow looks for to update its own comment.
pub const MARKER: &str = "<!-- pacc-review -->";

/// `s` as an inline code span, safe for any text (and in table cells).
pub fn code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = s.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

fn at(l: &Location) -> String {
    code(&format!("{}:{}", l.file, l.line))
}

/// Where a change is: on the head, or on the base for what was removed.
fn where_(l: &Location, status: Option<Status>) -> String {
    if status == Some(Status::Removed) {
        format!("{} (base)", at(l))
    } else {
        at(l)
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn change_text(c: &Change) -> String {
    match (&c.before, &c.after) {
        (Some(b), Some(a)) => format!("{}: {} → {}", c.field, code(b), code(a)),
        (None, Some(a)) => format!("{}: added {}", c.field, code(a)),
        (Some(b), None) => format!("{}: removed {}", c.field, code(b)),
        (None, None) => format!("{} changed", c.field),
    }
}

/// The rule's row text in the "change" column.
fn rule_summary(review: &Review, imp: &RuleImpact) -> String {
    let found = review
        .diff
        .rules()
        .find(|(_, r)| r.id == imp.rule && (r.status != Status::Removed || imp.after.is_none()));
    let mut parts: Vec<String> = Vec::new();
    if let Some((p, r)) = found {
        match r.status {
            Status::Changed => {}
            s => parts.push(s.name().to_string()),
        }
        for c in &r.changes {
            parts.push(match c.field {
                "autofix" if r.new_autofix.is_some() => "⚡ auto-fix bound".to_string(),
                f => f.replace('_', " "),
            });
        }
        for c in &p.changes {
            parts.push(match (c.field, &c.before, &c.after) {
                ("severity", Some(b), Some(a)) => format!("severity {b} → {a}"),
                (f, _, _) => f.to_string(),
            });
        }
    } else if let Some(p) = review.diff.policies.iter().find(|p| p.name == imp.policy) {
        for c in &p.changes {
            parts.push(c.field.to_string());
        }
    }
    if parts.is_empty() {
        parts.push("results only (exceptions or groups changed)".into());
    }
    parts.join(", ")
}

fn num(n: usize) -> String {
    if n == 0 {
        "0".into()
    } else {
        format!("**{n}**")
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("unknown".into(), |v| format!("{v:.1}%"))
}

fn headline(review: &Review, out: &mut String) {
    let d = &review.diff;
    let i = &review.impact;
    let count = |s: Status| d.rules().filter(|(_, r)| r.status == s).count();
    let changed = d
        .rules()
        .filter(|(_, r)| r.status != Status::Added && r.status != Status::Removed)
        .count();
    let mut bits = Vec::new();
    for (n, what) in [
        (count(Status::Added), "added"),
        (count(Status::Removed), "removed"),
        (changed, "changed"),
    ] {
        if n > 0 {
            bits.push(format!("{n} rule(s) {what}"));
        }
    }
    for (n, what) in [
        (d.exceptions.len(), "exception(s)"),
        (d.groups.len(), "group(s)"),
        (d.tests.len(), "test(s)"),
    ] {
        if n > 0 {
            bits.push(format!("{n} {what} touched"));
        }
    }
    if bits.is_empty() {
        bits.push("no policy changes".into());
    }
    let _ = writeln!(
        out,
        "**{}** · **{}** newly failing · **{}** no longer failing · compliance {} → {}",
        bits.join(" · "),
        i.newly_failing(),
        i.no_longer_failing(),
        pct(i.before.overall),
        pct(i.after.overall),
    );
    out.push('\n');
}

fn table(review: &Review, out: &mut String) {
    if review.impact.rules.is_empty() {
        return;
    }
    out.push_str("| Rule | Severity | Change | Newly failing | No longer failing | Newly exempted | Un-exempted | Failing after |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for r in &review.impact.rules {
        let after = r.after.map_or("—".to_string(), |a| {
            format!("{} / {}", a.failing, a.evaluated)
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&r.rule),
            r.severity.name(),
            rule_summary(review, r).replace('|', "\\|"),
            num(r.newly_failing.count),
            num(r.no_longer_failing.count),
            num(r.newly_exempted.count),
            num(r.un_exempted.count),
            after,
        );
    }
    out.push('\n');
}

fn policy_details(p: &PolicyDiff, out: &mut String) {
    let status = match (p.status, &p.previous_name) {
        (Some(Status::Renamed), Some(prev)) => format!("renamed from {}", code(prev)),
        (Some(s), _) => s.name().to_string(),
        (None, _) => "rules changed".to_string(),
    };
    let _ = writeln!(
        out,
        "**{}** ({status}) at {}",
        code(&p.name),
        where_(&p.at, p.status)
    );
    for c in &p.changes {
        let _ = writeln!(out, "- {}", change_text(c));
    }
    for r in &p.rules {
        rule_details(r, out);
    }
    out.push('\n');
}

fn rule_details(r: &RuleDiff, out: &mut String) {
    let status = match (&r.status, &r.previous_id) {
        (Status::Renamed, Some(prev)) => format!("renamed from {}", code(prev)),
        (s, _) => s.name().to_string(),
    };
    let _ = writeln!(
        out,
        "- rule {} on {} ({status}) at {}",
        code(&r.id),
        code(&r.resource_type),
        where_(&r.at, Some(r.status))
    );
    if let Some(fix) = &r.new_autofix {
        let _ = writeln!(
            out,
            "  - ⚡ **new auto-fix acting on the estate**: {}",
            code(fix)
        );
    }
    for c in &r.changes {
        if c.field == "autofix" && r.new_autofix.is_some() && c.before.is_none() {
            continue;
        }
        let _ = writeln!(out, "  - {}", change_text(c));
    }
}

fn moved_details(r: &RuleImpact, out: &mut String) {
    let _ = writeln!(out, "**{}** ({})", code(&r.rule), r.severity.name());
    for (what, m) in [
        ("newly failing", &r.newly_failing),
        ("no longer failing", &r.no_longer_failing),
        ("newly exempted", &r.newly_exempted),
        ("un-exempted", &r.un_exempted),
        ("newly erroring", &r.newly_erroring),
    ] {
        moved_list(what, m, out);
    }
    out.push('\n');
}

fn moved_list(what: &str, m: &Moved, out: &mut String) {
    if m.count == 0 {
        return;
    }
    let _ = writeln!(out, "- {what} ({}):", m.count);
    for s in &m.first {
        let mut line = format!("  - {} ({})", code(&s.id), s.resource_type);
        if let Some(msg) = &s.message {
            let _ = write!(line, ": {}", code(msg));
        }
        if let Some(x) = &s.exception {
            let _ = write!(line, " — exempted by {}", code(x));
        }
        let _ = writeln!(out, "{line}");
    }
    if m.count > m.first.len() {
        let _ = writeln!(out, "  - … and {} more", m.count - m.first.len());
    }
}

/// Renders the review.
pub fn render(review: &Review) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}\n### Pac policy review\n");
    let _ = writeln!(
        out,
        "{} ({}) → {} ({}) · inventory {} ({} resources{})\n",
        code(&review.base.reference),
        short(&review.base.commit),
        code(&review.head.reference),
        short(&review.head.commit),
        code(&review.impact.inventory),
        review.impact.resources,
        if review.impact.skipped_documents > 0 {
            format!(", {} documents skipped", review.impact.skipped_documents)
        } else {
            String::new()
        }
    );
    headline(review, &mut out);
    if !review.gate.passed {
        for r in &review.gate.reasons {
            let _ = writeln!(out, "❌ **Merge gate:** {}", r.replace('`', "'"));
        }
        out.push('\n');
    }
    table(review, &mut out);
    if !review.warnings.is_empty() {
        let _ = writeln!(out, "#### ⚠️ Warnings ({})\n", review.warnings.len());
        for w in &review.warnings {
            let _ = writeln!(
                out,
                "- **{}** {}: {} ({})",
                w.kind.id(),
                code(&w.subject),
                w.message.replace(['<', '>'], ""),
                where_(
                    &w.at,
                    (w.kind == crate::warnings::WarningKind::TestRemoved)
                        .then_some(Status::Removed)
                )
            );
        }
        out.push('\n');
    }
    let mut sections: Vec<(String, String)> = Vec::new();
    let d = &review.diff;
    if !d.is_empty() {
        let mut s = String::new();
        for p in &d.policies {
            policy_details(p, &mut s);
        }
        for (kind, items) in [
            ("Exception", &d.exceptions),
            ("Asset group", &d.groups),
            ("Test", &d.tests),
        ] {
            for x in items {
                let _ = writeln!(
                    s,
                    "**{kind} {}** ({}) at {}",
                    code(&x.name),
                    x.status.name(),
                    where_(&x.at, Some(x.status))
                );
                for c in &x.changes {
                    let _ = writeln!(s, "- {}", change_text(c));
                }
                s.push('\n');
            }
        }
        sections.push(("Policy changes".into(), s));
    }
    let moved: Vec<_> = review
        .impact
        .rules
        .iter()
        .filter(|r| {
            r.newly_failing.count
                + r.no_longer_failing.count
                + r.newly_exempted.count
                + r.un_exempted.count
                + r.newly_erroring.count
                > 0
        })
        .collect();
    if !moved.is_empty() {
        let mut s = String::new();
        for r in moved {
            moved_details(r, &mut s);
        }
        sections.push(("Resources whose result moves".into(), s));
    }
    let b = &review.impact.before;
    let a = &review.impact.after;
    let mut figures = String::new();
    figures.push_str("| | before | after |\n| --- | ---: | ---: |\n");
    for (name, x, y) in [
        ("overall compliance", pct(b.overall), pct(a.overall)),
        (
            "results passing",
            format!("{}%", b.compliance),
            format!("{}%", a.compliance),
        ),
        (
            "open failures",
            b.failing.to_string(),
            a.failing.to_string(),
        ),
        ("exempted", b.exempt.to_string(), a.exempt.to_string()),
        ("errors", b.errors.to_string(), a.errors.to_string()),
        (
            "results evaluated",
            b.evaluated.to_string(),
            a.evaluated.to_string(),
        ),
    ] {
        let _ = writeln!(figures, "| {name} | {x} | {y} |");
    }
    sections.push(("Compliance figures".into(), figures));
    for (title, body) in sections {
        let section = format!(
            "<details><summary>{title}</summary>\n\n{}\n\n</details>\n\n",
            body.trim_end()
        );
        if out.len() + section.len() > LIMIT {
            let _ = writeln!(
                out,
                "_{title} left out: the comment would exceed {LIMIT} characters. Run `pacc review --format json` for everything._\n"
            );
            continue;
        }
        out.push_str(&section);
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code("sg-1"), "`sg-1`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x `y` z"), "`` x `y` z ``");
        assert_eq!(code("line\nbreak"), "`line break`");
        assert_eq!(code("<img src=x>"), "`<img src=x>`");
    }
}
