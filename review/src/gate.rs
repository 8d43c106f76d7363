//! Merge gates: conditions under which `pacc review` exits 1, so that a
//! workflow can block the merge (`--fail-on`, `--max-new-failures`).

use pac_compiler::ir::Severity;
use serde::Serialize;

use crate::impact::Impact;
use crate::warnings::Warning;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// A resource newly fails a critical rule (or its exception no
    /// longer covers it).
    NewCritical,
    /// The same for high or critical rules.
    NewHigh,
    /// The review raised a warning.
    Warnings,
}

impl FailOn {
    pub fn name(self) -> &'static str {
        match self {
            FailOn::NewCritical => "new-critical",
            FailOn::NewHigh => "new-high",
            FailOn::Warnings => "warnings",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Gate {
    pub fail_on: Vec<FailOn>,
    /// More newly open failures than this (newly failing plus
    /// un-exempted, over all rules) fails.
    pub max_new_failures: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateResult {
    pub passed: bool,
    /// Why it did not pass, one sentence each.
    pub reasons: Vec<String>,
}

fn newly_failing_at_least(impact: &Impact, min: Severity) -> (usize, Vec<&str>) {
    let rules: Vec<_> = impact
        .rules
        .iter()
        .filter(|r| r.severity >= min && r.newly_open() > 0)
        .collect();
    (
        rules.iter().map(|r| r.newly_open()).sum(),
        rules.iter().map(|r| r.rule.as_str()).collect(),
    )
}

impl Gate {
    pub fn check(&self, impact: &Impact, warnings: &[Warning]) -> GateResult {
        let mut reasons = Vec::new();
        for f in &self.fail_on {
            match f {
                FailOn::NewCritical | FailOn::NewHigh => {
                    let min = if *f == FailOn::NewCritical {
                        Severity::Critical
                    } else {
                        Severity::High
                    };
                    let (n, rules) = newly_failing_at_least(impact, min);
                    if n > 0 {
                        reasons.push(format!(
                            "--fail-on {}: {n} resource(s) newly fail (or lost their exception on) {} rule(s): {}",
                            f.name(),
                            if min == Severity::Critical {
                                "critical"
                            } else {
                                "high or critical"
                            },
                            rules.join(", ")
                        ));
                    }
                }
                FailOn::Warnings => {
                    if !warnings.is_empty() {
                        reasons.push(format!(
                            "--fail-on warnings: the review raised {} warning(s)",
                            warnings.len()
                        ));
                    }
                }
            }
        }
        if let Some(max) = self.max_new_failures {
            let n = impact.newly_open();
            if n > max {
                reasons.push(format!(
                    "--max-new-failures {max}: {n} resource(s) newly fail or lost their exception"
                ));
            }
        }
        GateResult {
            passed: reasons.is_empty(),
            reasons,
        }
    }
}
