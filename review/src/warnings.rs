//! What a reviewer must not miss, found in the diff and the impact: a
//! changed rule that now fails much of what it reads, an auto-fix newly
//! bound to a rule with many open failures (its blast radius), exceptions
//! without an expiry or with a far one, and tests removed.

use serde::Serialize;

use crate::diff::{Diff, Status, day};
use crate::facts::{Facts, Location};
use crate::impact::Impact;

/// The thresholds, each with its command-line flag.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// `--warn-failure-rate`: percent of a rule's evaluated resources.
    pub failure_rate: u32,
    /// `--warn-autofix-targets`: open failures an auto-fix newly acts on.
    pub autofix_targets: usize,
    /// `--warn-exception-days`: how far ahead an exception may expire.
    pub exception_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            failure_rate: 50,
            autofix_targets: 10,
            exception_days: 365,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    HighFailureRate,
    AutofixBlastRadius,
    ExceptionWithoutExpiry,
    ExceptionFarExpiry,
    TestRemoved,
}

impl WarningKind {
    pub const ALL: [WarningKind; 5] = [
        WarningKind::HighFailureRate,
        WarningKind::AutofixBlastRadius,
        WarningKind::ExceptionWithoutExpiry,
        WarningKind::ExceptionFarExpiry,
        WarningKind::TestRemoved,
    ];

    /// The id used in SARIF and JSON (`high-failure-rate`).
    pub fn id(self) -> &'static str {
        match self {
            WarningKind::HighFailureRate => "high-failure-rate",
            WarningKind::AutofixBlastRadius => "autofix-blast-radius",
            WarningKind::ExceptionWithoutExpiry => "exception-without-expiry",
            WarningKind::ExceptionFarExpiry => "exception-far-expiry",
            WarningKind::TestRemoved => "test-removed",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            WarningKind::HighFailureRate => {
                "A rule this change adds or changes fails more than the threshold of the resources it evaluates: the condition may be wrong."
            }
            WarningKind::AutofixBlastRadius => {
                "An auto-fix newly bound to a rule will act on many resources once the grace period ends."
            }
            WarningKind::ExceptionWithoutExpiry => {
                "An exception this change adds or changes never expires."
            }
            WarningKind::ExceptionFarExpiry => {
                "An exception this change adds or changes expires further ahead than the threshold."
            }
            WarningKind::TestRemoved => "A policy test was removed.",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// The rule, exception or test it is about.
    pub subject: String,
    pub message: String,
    pub at: Location,
}

/// The warnings of a review.
pub fn warnings(
    diff: &Diff,
    impact: &Impact,
    head: &Facts,
    now: i64,
    t: &Thresholds,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for (_, r) in diff.rules() {
        if r.status == Status::Removed {
            continue;
        }
        let after = impact
            .rules
            .iter()
            .find(|i| i.rule == r.id)
            .and_then(|i| i.after.map(|a| (a, i.newly_failing.count)));
        if let Some((a, newly)) = after
            && newly > 0
            && a.evaluated > 0
            && a.failing * 100 > a.evaluated * t.failure_rate as usize
        {
            out.push(Warning {
                kind: WarningKind::HighFailureRate,
                subject: r.id.clone(),
                message: format!(
                    "`{}` now fails {} of the {} resources it evaluates ({}%, above {}%): check the condition",
                    r.id,
                    a.failing,
                    a.evaluated,
                    a.failing * 100 / a.evaluated,
                    t.failure_rate
                ),
                at: r.at.clone(),
            });
        }
        if let Some(fix) = &r.new_autofix {
            let failing = impact
                .rules
                .iter()
                .find(|i| i.rule == r.id)
                .and_then(|i| i.after)
                .map_or(0, |a| a.failing);
            if failing >= t.autofix_targets {
                out.push(Warning {
                    kind: WarningKind::AutofixBlastRadius,
                    subject: r.id.clone(),
                    message: format!(
                        "auto-fix `{fix}` is newly bound to `{}`, which has {failing} open failures on this inventory: it will act on each of them after its grace period",
                        r.id
                    ),
                    at: r.at.clone(),
                });
            }
        }
    }
    let horizon = now.saturating_add(t.exception_days.saturating_mul(86_400));
    for x in &diff.exceptions {
        if x.status == Status::Removed {
            continue;
        }
        let Some(h) = head.exceptions.iter().find(|e| e.name == x.name) else {
            continue;
        };
        match h.expires {
            None => out.push(Warning {
                kind: WarningKind::ExceptionWithoutExpiry,
                subject: h.name.clone(),
                message: format!(
                    "exception `{}` has no expiry: every exception should end (`expires 2027-03-31`)",
                    h.name
                ),
                at: h.at.clone(),
            }),
            Some(e) if e > horizon => out.push(Warning {
                kind: WarningKind::ExceptionFarExpiry,
                subject: h.name.clone(),
                message: format!(
                    "exception `{}` expires on {}, more than {} days ahead",
                    h.name,
                    day(e),
                    t.exception_days
                ),
                at: h.at.clone(),
            }),
            Some(_) => {}
        }
    }
    for test in diff.tests.iter().filter(|t| t.status == Status::Removed) {
        out.push(Warning {
            kind: WarningKind::TestRemoved,
            subject: test.name.clone(),
            message: format!("test \"{}\" was removed", test.name),
            at: test.at.clone(),
        });
    }
    out
}
