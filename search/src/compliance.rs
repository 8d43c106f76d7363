//! What an evaluation says of each resource, as its search document shows
//! it (`pacc search` and the benchmark evaluate an inventory themselves;
//! the server reads the same from its issues).

use pac_compiler::ir::{Program, Severity};
use pac_runtime::{EvalReport, Outcome};

use crate::doc::SearchDoc;

/// One resource's failures and groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// The highest severity of its open (not exempted) failures.
    pub open: Option<Severity>,
    /// Some failure is exempted.
    pub exempted: bool,
    /// Policies and rules failing on it.
    pub policies: Vec<String>,
    /// Indices into the program's asset groups it is a member of.
    pub groups: Vec<u32>,
}

/// Per resource (by its index in the inventory of `report`, `resources`
/// of them).
pub fn verdicts(program: &Program, report: &EvalReport, resources: usize) -> Vec<Verdict> {
    let mut out = vec![Verdict::default(); resources];
    for r in &report.results {
        if r.outcome != Outcome::Fail {
            continue;
        }
        let Some(v) = out.get_mut(r.resource) else {
            continue;
        };
        let rule = &program.rules[r.rule];
        let policy = &program.policies[rule.policy];
        if r.exempted_by.is_some() {
            v.exempted = true;
        } else {
            v.open = v.open.max(Some(policy.severity));
        }
        for name in [&policy.name, &rule.id] {
            if !v.policies.contains(name) {
                v.policies.push(name.clone());
            }
        }
    }
    for m in &report.groups {
        for &i in &m.members {
            if let Some(v) = out.get_mut(i) {
                v.groups.push(m.group as u32);
            }
        }
    }
    out
}

impl Verdict {
    /// Sets `d`'s status (`failing`, `exempted` or `passing`), severity,
    /// failing policies and asset groups.
    pub fn describe(&self, d: &mut SearchDoc, program: &Program) {
        d.status = Some(
            if self.open.is_some() {
                "failing"
            } else if self.exempted {
                "exempted"
            } else {
                "passing"
            }
            .to_string(),
        );
        d.severity = self.open.map(|s| s.name().to_string());
        d.policies = self.policies.clone();
        d.groups = self
            .groups
            .iter()
            .filter_map(|&g| program.groups.get(g as usize).map(|x| x.name.clone()))
            .collect();
    }
}
