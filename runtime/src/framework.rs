//! Compliance by the controls of a framework (`pacc eval --framework
//! cis-aws`). Policies name the controls they check in their tags,
//! `<framework>-<version>:<control>` (`cis-aws-1.5:3.8`) or
//! `<framework>:<control>` (`aws-fsbp:KMS.4`); a control's figure is the sum
//! of its policies' results (docs/compliance.md).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use pac_compiler::ir::Program;
use serde::Serialize;

use crate::eval::{Counts, Summary};

/// A framework tag, split: (framework, version, control).
pub fn parse_tag(tag: &str) -> Option<(&str, Option<&str>, &str)> {
    let (left, control) = tag.split_once(':')?;
    if left.is_empty() || control.is_empty() || left == "pacbot" {
        return None;
    }
    // `cis-aws-1.5`: the last `-` part is a version when it is digits and dots.
    if let Some((name, version)) = left.rsplit_once('-')
        && !name.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return Some((name, Some(version), control));
    }
    Some((left, None, control))
}

/// The frameworks some policy of the program is tagged with.
pub fn frameworks(program: &Program) -> BTreeSet<String> {
    program
        .policies
        .iter()
        .flat_map(|p| p.tags.iter())
        .filter_map(|t| parse_tag(t).map(|(f, _, _)| f.to_owned()))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// Every evaluated result passes (or is exempted).
    Pass,
    /// An open failure.
    Fail,
    /// No failure, but some results are unknown (errors, skipped documents).
    Unknown,
    /// None of the control's policies evaluated a resource.
    NoData,
}

impl ControlStatus {
    pub fn name(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::Unknown => "unknown",
            ControlStatus::NoData => "no data",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ControlFigure {
    /// The framework version the tag names (`1.5`), if any.
    pub version: Option<String>,
    pub control: String,
    /// The policies tagged with the control, in program order.
    pub policies: Vec<String>,
    pub counts: Counts,
    pub status: ControlStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct FrameworkReport {
    pub framework: String,
    /// By version, then control in numeric order (`3.2` before `3.10`).
    pub controls: Vec<ControlFigure>,
    pub passing: usize,
    pub failing: usize,
    pub unknown: usize,
    pub no_data: usize,
}

/// `3.10` after `3.9`; `EC2.10` after `EC2.9`: numbers compare as numbers.
fn natural(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split('.')
            .map(|p| {
                let digits: String = p.chars().filter(char::is_ascii_digit).collect();
                let letters: String = p.chars().filter(|c| !c.is_ascii_digit()).collect();
                (digits.parse().unwrap_or(0), letters)
            })
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = x.1.cmp(&y.1).then(x.0.cmp(&y.0));
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len()).then_with(|| a.cmp(b))
}

fn add(into: &mut Counts, c: &Counts) {
    into.passed += c.passed;
    into.failed += c.failed;
    into.exempt += c.exempt;
    into.errors += c.errors;
    into.skipped += c.skipped;
    into.evaluated = into.passed + into.failed + into.exempt;
}

/// Each control of `framework` that a policy is tagged with, and its
/// figure from the evaluation's per-policy counts.
pub fn report(program: &Program, summary: &Summary, framework: &str) -> FrameworkReport {
    let mut controls: BTreeMap<(Option<String>, String), (Vec<String>, Counts)> = BTreeMap::new();
    for ps in &summary.policies {
        let Some(policy) = program.policies.get(ps.policy) else {
            continue;
        };
        for tag in &policy.tags {
            let Some((f, version, control)) = parse_tag(tag) else {
                continue;
            };
            if f != framework {
                continue;
            }
            let e = controls
                .entry((version.map(str::to_owned), control.to_owned()))
                .or_default();
            if !e.0.contains(&policy.name) {
                e.0.push(policy.name.clone());
                add(&mut e.1, &ps.counts);
            }
        }
    }
    let mut list: Vec<ControlFigure> = controls
        .into_iter()
        .map(|((version, control), (policies, counts))| {
            let status = if counts.failed > 0 {
                ControlStatus::Fail
            } else if counts.errors + counts.skipped > 0 {
                ControlStatus::Unknown
            } else if counts.evaluated == 0 {
                ControlStatus::NoData
            } else {
                ControlStatus::Pass
            };
            ControlFigure {
                version,
                control,
                policies,
                counts,
                status,
            }
        })
        .collect();
    list.sort_by(|a, b| {
        a.version
            .cmp(&b.version)
            .then_with(|| natural(&a.control, &b.control))
    });
    let count = |s: ControlStatus| list.iter().filter(|c| c.status == s).count();
    FrameworkReport {
        framework: framework.to_owned(),
        passing: count(ControlStatus::Pass),
        failing: count(ControlStatus::Fail),
        unknown: count(ControlStatus::Unknown),
        no_data: count(ControlStatus::NoData),
        controls: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_into_framework_version_and_control() {
        assert_eq!(
            parse_tag("cis-aws-1.5:3.8"),
            Some(("cis-aws", Some("1.5"), "3.8"))
        );
        assert_eq!(
            parse_tag("aws-fsbp:KMS.4"),
            Some(("aws-fsbp", None, "KMS.4"))
        );
        assert_eq!(parse_tag("pacbot:check-x"), None);
        assert_eq!(parse_tag("tagging-standard"), None);
        assert_eq!(parse_tag("x:"), None);
    }

    #[test]
    fn controls_sort_as_numbers() {
        let mut v = vec!["3.10", "3.2", "1.14", "2.1.1", "3.9", "EC2.10", "EC2.9"];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(
            v,
            ["1.14", "2.1.1", "3.2", "3.9", "3.10", "EC2.9", "EC2.10"]
        );
    }
}
