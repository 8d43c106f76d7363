//! Findings: one located message each, the common form of review results
//! and `pacc check` diagnostics that [`crate::sarif`] and
//! [`crate::github`] render, so both formats say the same things.

use pac_compiler::Diagnostic;
use pac_compiler::ir::{Severity, SourceFile};
use pac_compiler::render::Renderer;
use sha2::{Digest, Sha256};

use crate::Review;
use crate::diff::Status;
use crate::facts::Location;
use crate::warnings::WarningKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl Level {
    pub fn sarif(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// A kind of finding (a SARIF reporting descriptor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kind {
    pub id: String,
    pub description: String,
    pub level: Level,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// [`Kind::id`].
    pub kind: String,
    pub level: Level,
    pub title: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    /// Stable across pushes: a hash of what the finding is about, never of
    /// its line number (SARIF `partialFingerprints`).
    pub fingerprint: String,
}

/// The first 32 hex digits of SHA-256 over the parts, separated.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn located(
    kind: &str,
    level: Level,
    title: String,
    message: String,
    at: &Location,
    subject: &[&str],
) -> Finding {
    let mut parts = vec![kind];
    parts.extend_from_slice(subject);
    Finding {
        kind: kind.to_string(),
        level,
        title,
        message,
        file: Some(at.file.clone()),
        line: Some(at.line),
        column: None,
        end_line: None,
        end_column: None,
        fingerprint: fingerprint(&parts),
    }
}

pub const POLICY_CHANGE: &str = "pac-review/policy-change";
pub const RULE_CHANGE: &str = "pac-review/rule-change";
pub const AUTOFIX_BOUND: &str = "pac-review/autofix-bound";
pub const NEW_FAILURES: &str = "pac-review/new-failures";
pub const ITEM_CHANGE: &str = "pac-review/item-change";

/// Every kind a review reports.
pub fn review_kinds() -> Vec<Kind> {
    let mut kinds = vec![
        Kind {
            id: POLICY_CHANGE.into(),
            description: "A policy was added, removed, renamed, or its severity, category, tags, title, description or remediation changed.".into(),
            level: Level::Note,
        },
        Kind {
            id: RULE_CHANGE.into(),
            description: "A rule was added, removed or renamed, or its condition, message, resource type, scope group or auto-fix changed.".into(),
            level: Level::Note,
        },
        Kind {
            id: AUTOFIX_BOUND.into(),
            description: "An auto-fix is newly bound to a rule: an action that will change resources of the estate.".into(),
            level: Level::Warning,
        },
        Kind {
            id: NEW_FAILURES.into(),
            description: "Resources of the inventory newly fail a rule after this change.".into(),
            level: Level::Warning,
        },
        Kind {
            id: ITEM_CHANGE.into(),
            description: "An exception, asset group or test was added, removed or changed.".into(),
            level: Level::Note,
        },
    ];
    for w in WarningKind::ALL {
        kinds.push(Kind {
            id: format!("pac-review/{}", w.id()),
            description: w.description().into(),
            level: Level::Warning,
        });
    }
    kinds
}

/// What a review found, as findings.
pub fn review_findings(review: &Review) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &review.diff.policies {
        if let Some(s) = p.status {
            let what: Vec<String> = p.changes.iter().map(|c| c.field.to_string()).collect();
            let message = match (s, &p.previous_name) {
                (Status::Renamed, Some(prev)) => {
                    format!("policy `{}` renamed from `{prev}`", p.name)
                }
                (Status::Changed, _) => format!("policy `{}`: {} changed", p.name, what.join(", ")),
                _ => format!("policy `{}` {}", p.name, s.name()),
            };
            let f = located(
                POLICY_CHANGE,
                Level::Note,
                format!("Policy {}", s.name()),
                message,
                &p.at,
                &[&p.name],
            );
            out.push(on_side(f, Some(s)));
        }
        for r in &p.rules {
            let fields: Vec<&str> = r.changes.iter().map(|c| c.field).collect();
            let message = match r.status {
                Status::Changed => format!("rule `{}`: {} changed", r.id, fields.join(", ")),
                s => format!("rule `{}` {}", r.id, s.name()),
            };
            let f = located(
                RULE_CHANGE,
                Level::Note,
                format!("Rule {}", r.status.name()),
                message,
                &r.at,
                &[&r.id],
            );
            out.push(on_side(f, Some(r.status)));
            if let Some(fix) = &r.new_autofix {
                out.push(located(
                    AUTOFIX_BOUND,
                    Level::Warning,
                    "New auto-fix".into(),
                    format!(
                        "auto-fix `{fix}` is newly bound to `{}`: it will act on the estate",
                        r.id
                    ),
                    &r.at,
                    &[&r.id, fix],
                ));
            }
        }
    }
    for (kind, items) in [
        ("exception", &review.diff.exceptions),
        ("group", &review.diff.groups),
        ("test", &review.diff.tests),
    ] {
        for x in items {
            let fields: Vec<&str> = x.changes.iter().map(|c| c.field).collect();
            let message = if fields.is_empty() {
                format!("{kind} `{}` {}", x.name, x.status.name())
            } else {
                format!("{kind} `{}`: {} changed", x.name, fields.join(", "))
            };
            let f = located(
                ITEM_CHANGE,
                Level::Note,
                format!("{kind} {}", x.status.name()),
                message,
                &x.at,
                &[kind, &x.name],
            );
            out.push(on_side(f, Some(x.status)));
        }
    }
    // A rule whose results moved without a change of its own (an
    // exception or a group changed) is shown at its policy, else at the
    // first changed exception or group.
    let fallback = review
        .diff
        .exceptions
        .iter()
        .chain(&review.diff.groups)
        .map(|x| x.at.clone())
        .next();
    for r in review
        .impact
        .rules
        .iter()
        .filter(|r| r.newly_failing.count > 0)
    {
        let at = review
            .diff
            .rules()
            .find(|(_, d)| d.id == r.rule)
            .map(|(_, d)| d.at.clone())
            .or_else(|| {
                review
                    .diff
                    .policies
                    .iter()
                    .find(|p| p.name == r.policy)
                    .map(|p| p.at.clone())
            })
            .or_else(|| fallback.clone());
        let mut f = new_failures(r, at.as_ref());
        if at.is_none() {
            f.file = None;
            f.line = None;
        }
        out.push(f);
    }
    for w in &review.warnings {
        let f = located(
            &format!("pac-review/{}", w.kind.id()),
            Level::Warning,
            w.kind.id().replace('-', " "),
            w.message.clone(),
            &w.at,
            &[&w.subject],
        );
        // A removed test is located on the base.
        let removed = (w.kind == WarningKind::TestRemoved).then_some(Status::Removed);
        out.push(on_side(f, removed));
    }
    out
}

/// A removed item's location is on the base: keep its file, not a line
/// that means something else on the head.
fn on_side(mut f: Finding, status: Option<Status>) -> Finding {
    if status == Some(Status::Removed) {
        f.line = None;
    }
    f
}

fn new_failures(r: &crate::impact::RuleImpact, at: Option<&Location>) -> Finding {
    let nowhere = Location {
        file: String::new(),
        line: 1,
    };
    let first: Vec<&str> = r
        .newly_failing
        .first
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let level = if r.severity >= Severity::High {
        Level::Error
    } else {
        Level::Warning
    };
    located(
        NEW_FAILURES,
        level,
        format!("{} resource(s) newly fail", r.newly_failing.count),
        format!(
            "{} resource(s) newly fail `{}` ({}), e.g. {}",
            r.newly_failing.count,
            r.rule,
            r.severity.name(),
            first.join(", ")
        ),
        at.unwrap_or(&nowhere),
        &[&r.rule],
    )
}

/// `pacc check` diagnostics as findings, with the kinds they use.
pub fn check_findings(files: &[SourceFile], diags: &[Diagnostic]) -> (Vec<Kind>, Vec<Finding>) {
    let mut renderer = Renderer::new(files);
    let mut kinds: Vec<Kind> = Vec::new();
    let mut out = Vec::new();
    for d in diags {
        let j = renderer.to_json(d);
        let level = match d.severity {
            pac_compiler::Severity::Error => Level::Error,
            pac_compiler::Severity::Warning => Level::Warning,
        };
        if !kinds.iter().any(|k| k.id == d.code) {
            kinds.push(Kind {
                id: d.code.to_string(),
                description: format!("Pac diagnostic {} (docs/diagnostics.md)", d.code),
                level,
            });
        }
        // The text of the primary line, not its number, so that the
        // fingerprint survives lines added above it.
        let line_text = files
            .get(d.file as usize)
            .and_then(|f| f.text.lines().nth(j.line.saturating_sub(1)))
            .unwrap_or("")
            .trim();
        let mut message = d.message.clone();
        if !d.label.is_empty() {
            message = format!("{message}: {}", d.label);
        }
        for n in &d.notes {
            message = format!("{message}\n{n}");
        }
        out.push(Finding {
            kind: d.code.to_string(),
            level,
            title: format!("{} {}", d.code, d.message),
            message,
            file: Some(j.file.clone()),
            line: Some(j.line),
            column: Some(j.column),
            end_line: Some(j.end_line),
            end_column: Some(j.end_column),
            fingerprint: fingerprint(&[d.code, &j.file, &d.message, line_text]),
        });
    }
    kinds.sort_by(|a, b| a.id.cmp(&b.id));
    (kinds, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_separate_their_parts() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
        assert_eq!(fingerprint(&["x"]).len(), 32);
    }

    #[test]
    fn check_fingerprints_survive_lines_added_above() {
        let src = "policy p {\n  severity high\n  category security\n  rule on aws.ec2.volume {\n    violation when not encryptd\n  }\n}\n";
        let a = pac_compiler::compile_sources(vec![("p.pac".into(), src.into())]);
        let b = pac_compiler::compile_sources(vec![("p.pac".into(), format!("\n\n{src}"))]);
        let (ka, fa) = check_findings(&a.program.files, &a.diagnostics);
        let (_, fb) = check_findings(&b.program.files, &b.diagnostics);
        assert!(!fa.is_empty());
        assert_eq!(ka[0].level, Level::Error);
        assert_eq!(fa[0].line.unwrap() + 2, fb[0].line.unwrap());
        assert_eq!(fa[0].fingerprint, fb[0].fingerprint);
    }
}
