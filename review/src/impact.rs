//! What a change does to an estate: both sides evaluated over the same
//! inventory with the native engine, then, per matched rule, the resources
//! whose result moved (newly failing, no longer failing, newly exempted,
//! un-exempted, newly erroring), with counts and the first few ids and
//! messages, and the compliance figures before and after.

use std::collections::HashMap;
use std::sync::Arc;

use pac_compiler::Program;
use pac_compiler::ir::Severity;
use pac_runtime::{EvalOptions, EvalReport, Inventory, Outcome, RuleResult};
use serde::Serialize;

use crate::diff::RulePair;

/// The figures of one side over the inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// (rule, resource) results with a pass, fail or exempt outcome.
    pub evaluated: usize,
    pub passed: usize,
    /// Open failures.
    pub failing: usize,
    pub exempt: usize,
    pub errors: usize,
    /// The share of evaluated results that do not fail, in percent (floor).
    pub compliance: u32,
    /// The overall compliance figure of `pacc eval` and the server
    /// (docs/compliance.md); `None` when every result is unknown.
    pub overall: Option<f64>,
}

/// One rule's counts on one side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    pub evaluated: usize,
    pub failing: usize,
    pub exempt: usize,
    pub errors: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub id: String,
    pub resource_type: String,
    /// The failure's message (the head's, or the base's for a failure that
    /// went away), or an error's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The exception that exempts it, where one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

/// Resources that moved one way: how many, and the first few.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub count: usize,
    pub first: Vec<Sample>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleImpact {
    /// The head's rule id (the base's for a removed rule).
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_rule: Option<String>,
    pub policy: String,
    pub severity: Severity,
    /// `None` when the rule is new / gone.
    pub before: Option<RuleCounts>,
    pub after: Option<RuleCounts>,
    pub newly_failing: Moved,
    pub no_longer_failing: Moved,
    pub newly_exempted: Moved,
    pub un_exempted: Moved,
    pub newly_erroring: Moved,
}

impl RuleImpact {
    /// Newly failing plus un-exempted resources.
    pub fn newly_open(&self) -> usize {
        self.newly_failing.count + self.un_exempted.count
    }

    fn moved(&self) -> bool {
        [
            &self.newly_failing,
            &self.no_longer_failing,
            &self.newly_exempted,
            &self.un_exempted,
            &self.newly_erroring,
        ]
        .iter()
        .any(|m| m.count > 0)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Impact {
    /// The inventory's name (a path, or `<bundled>/…`).
    pub inventory: String,
    pub resources: usize,
    /// Documents skipped because they did not match their schema.
    pub skipped_documents: usize,
    pub before: Figures,
    pub after: Figures,
    /// Rules listed in the diff or with at least one resource that moved,
    /// in diff order.
    pub rules: Vec<RuleImpact>,
}

impl Impact {
    pub fn newly_failing(&self) -> usize {
        self.rules.iter().map(|r| r.newly_failing.count).sum()
    }
    /// Failures that are open on the head and were not on the base:
    /// newly failing plus un-exempted.
    pub fn newly_open(&self) -> usize {
        self.rules.iter().map(RuleImpact::newly_open).sum()
    }
    pub fn no_longer_failing(&self) -> usize {
        self.rules.iter().map(|r| r.no_longer_failing.count).sum()
    }
}

/// One side, evaluated.
pub struct Evaluated<'a> {
    pub program: &'a Program,
    pub inventory: &'a Inventory,
    pub report: EvalReport,
}

/// Evaluates `program` over `inventory` with the native engine.
pub fn evaluate<'a>(program: &'a Program, inventory: &'a Inventory, now: i64) -> Evaluated<'a> {
    let engine = pac_jit::Engine::compile(program);
    let prepared = engine.prepare(inventory);
    let opts = EvalOptions {
        now,
        explain: false,
        coverage: None,
    };
    let report = pac_runtime::evaluate_with(
        program,
        inventory,
        &opts,
        Some(&prepared as &dyn pac_runtime::RuleEngine),
    );
    Evaluated {
        program,
        inventory,
        report,
    }
}

fn figures(r: &EvalReport) -> Figures {
    let t = &r.summary.total;
    Figures {
        evaluated: t.evaluated,
        passed: t.passed,
        failing: t.failed,
        exempt: t.exempt,
        errors: t.errors,
        compliance: r.summary.compliance,
        overall: r.summary.overall,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Pass,
    Open,
    Exempt,
    Error,
}

fn state(r: Option<&RuleResult>) -> State {
    match r {
        None => State::Absent,
        Some(r) => match (&r.outcome, r.exempted_by) {
            (Outcome::Pass, _) => State::Pass,
            (Outcome::Fail, None) => State::Open,
            (Outcome::Fail, Some(_)) => State::Exempt,
            (Outcome::Error(_), _) => State::Error,
        },
    }
}

/// The results of `rule`, sorted by resource (the report is sorted by
/// (rule, resource)).
pub(crate) fn rule_results(report: &EvalReport, rule: usize) -> &[RuleResult] {
    let lo = report.results.partition_point(|r| r.rule < rule);
    let hi = report.results.partition_point(|r| r.rule <= rule);
    &report.results[lo..hi]
}

fn counts<'r>(results: impl IntoIterator<Item = &'r RuleResult>) -> RuleCounts {
    let mut c = RuleCounts::default();
    for r in results {
        match state(Some(r)) {
            State::Pass => c.evaluated += 1,
            State::Open => {
                c.evaluated += 1;
                c.failing += 1;
            }
            State::Exempt => {
                c.evaluated += 1;
                c.exempt += 1;
            }
            State::Error => c.errors += 1,
            State::Absent => {}
        }
    }
    c
}

/// Maps each head resource to the key it shares with the base: its base
/// index when both sides read the same inventory, else the base index of
/// the resource with the same type and id (or a key past the base's).
pub fn align(base: &Inventory, head: &Inventory) -> Vec<usize> {
    let by_key: HashMap<(&Arc<str>, &Arc<str>), usize> = base
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| ((&r.type_name, &r.id), i))
        .collect();
    head.resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            by_key
                .get(&(&r.type_name, &r.id))
                .copied()
                .unwrap_or(base.len() + i)
        })
        .collect()
}

fn sample(side: &Evaluated, r: &RuleResult) -> Sample {
    let res = &side.inventory.resources[r.resource];
    Sample {
        id: res.id.to_string(),
        resource_type: res.type_name.to_string(),
        message: match &r.outcome {
            Outcome::Error(reason) => Some(reason.clone()),
            _ => r.message.clone(),
        },
        exception: r
            .exempted_by
            .and_then(|x| side.program.exceptions.get(x))
            .map(|x| x.name.clone()),
    }
}

fn push(m: &mut Moved, first: usize, s: impl FnOnce() -> Sample) {
    m.count += 1;
    if m.first.len() < first {
        m.first.push(s());
    }
}

/// Compares the two sides rule by rule. `head_keys` is [`align`]'s map
/// (`None`: both sides read the same inventory); `first` is how many
/// samples each movement keeps.
pub fn compare(
    base: &Evaluated,
    head: &Evaluated,
    head_keys: Option<&[usize]>,
    pairs: &[RulePair],
    first: usize,
    inventory_name: &str,
    skipped_documents: usize,
) -> Impact {
    let key = |i: usize| head_keys.map_or(i, |k| k[i]);
    let mut rules = Vec::new();
    for pair in pairs {
        let b = pair
            .base
            .map(|r| rule_results(&base.report, r))
            .unwrap_or(&[]);
        let mut h: Vec<&RuleResult> = pair
            .head
            .map(|r| rule_results(&head.report, r))
            .unwrap_or(&[])
            .iter()
            .collect();
        if head_keys.is_some() {
            h.sort_by_key(|r| key(r.resource));
        }
        let (name_side, rule) = match (pair.head, pair.base) {
            (Some(r), _) => (head, r),
            (None, Some(r)) => (base, r),
            (None, None) => continue,
        };
        let policy = name_side.program.policy_of(rule);
        let mut imp = RuleImpact {
            rule: name_side.program.rules[rule].id.clone(),
            previous_rule: match (pair.base, pair.head) {
                (Some(b), Some(h)) if base.program.rules[b].id != head.program.rules[h].id => {
                    Some(base.program.rules[b].id.clone())
                }
                _ => None,
            },
            policy: policy.name.clone(),
            severity: policy.severity,
            before: pair.base.map(|_| counts(b)),
            after: pair.head.map(|_| counts(h.iter().copied())),
            newly_failing: Moved::default(),
            no_longer_failing: Moved::default(),
            newly_exempted: Moved::default(),
            un_exempted: Moved::default(),
            newly_erroring: Moved::default(),
        };
        // Merge the two resource-sorted lists.
        let (mut i, mut j) = (0, 0);
        while i < b.len() || j < h.len() {
            let kb = b.get(i).map(|r| r.resource);
            let kh = h.get(j).map(|r| key(r.resource));
            let (rb, rh) = match (kb, kh) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                    (Some(&b[i - 1]), Some(h[j - 1]))
                }
                (Some(x), Some(y)) if x < y => {
                    i += 1;
                    (Some(&b[i - 1]), None)
                }
                (Some(_), None) => {
                    i += 1;
                    (Some(&b[i - 1]), None)
                }
                _ => {
                    j += 1;
                    (None, Some(h[j - 1]))
                }
            };
            let (sb, sh) = (state(rb), state(rh));
            if sb == sh {
                continue;
            }
            use State::*;
            match (sb, sh, rb, rh) {
                (Pass | Absent | Error, Open, _, Some(r)) => {
                    push(&mut imp.newly_failing, first, || sample(head, r))
                }
                (Open, Pass | Absent, Some(r), _) => {
                    push(&mut imp.no_longer_failing, first, || sample(base, r))
                }
                (Open, Exempt, _, Some(r)) => {
                    push(&mut imp.newly_exempted, first, || sample(head, r))
                }
                (Exempt, Open, _, Some(r)) => push(&mut imp.un_exempted, first, || sample(head, r)),
                (_, Error, _, Some(r)) => push(&mut imp.newly_erroring, first, || sample(head, r)),
                _ => {}
            }
        }
        if imp.moved() || pair.listed {
            rules.push(imp);
        }
    }
    Impact {
        inventory: inventory_name.to_string(),
        resources: head.inventory.len(),
        skipped_documents,
        before: figures(&base.report),
        after: figures(&head.report),
        rules,
    }
}
