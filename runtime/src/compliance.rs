//! Compliance roll-ups (docs/compliance.md has the formulas and why).
//!
//! Pure functions over per-rule counts: the scan computes the counts for
//! every asset group and for everything, this module turns them into
//! figures.

use std::collections::BTreeMap;

use pac_compiler::ir::Program;
use serde::{Deserialize, Serialize};

use crate::eval::{Outcome, RuleResult};

/// Weights of the weighted means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights {
    /// Category → weight of the overall figure (PacBot: security 50,
    /// governance 20, cost 20, tagging 10).
    pub categories: BTreeMap<String, u32>,
    /// Severity → weight within a category (PacBot: critical 10, high 5,
    /// medium 3, low 1).
    pub severities: BTreeMap<String, u32>,
}

impl Default for Weights {
    fn default() -> Self {
        let categories = [
            ("security", 50),
            ("governance", 20),
            ("cost", 20),
            ("tagging", 10),
            ("operations", 10),
        ];
        let severities = [
            ("critical", 10),
            ("high", 5),
            ("medium", 3),
            ("low", 1),
            ("info", 1),
        ];
        Weights {
            categories: categories
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            severities: severities
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }
}

/// One rule's results within the resources a figure is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    pub rule: String,
    pub policy: String,
    pub severity: String,
    pub category: String,
    /// Resources with a definite outcome (pass, open failure, exempt).
    pub assets: u64,
    /// Open (not exempted) failures.
    pub open: u64,
    pub exempt: u64,
    /// Evaluation errors and resources whose source could not be read.
    pub unknown: u64,
}

/// Counts each result into its rule's counts, and the tagging pair
/// (taggable, tagged): the one counting that `pacc eval` and the server
/// share, so that both give the same figures. `unknown(resource)` says
/// that the resource's source could not be read; `include(resource)`
/// restricts the counts to an asset group.
pub fn count_results(
    program: &Program,
    results: &[RuleResult],
    unknown: impl Fn(usize) -> bool,
    include: impl Fn(usize) -> bool,
) -> (Vec<RuleCounts>, (u64, u64)) {
    let counts = count_rules(program, results, &[], &[], &unknown, &include);
    // Per resource under some tagging rule: whether a tagging rule fails open.
    let mut tag: std::collections::HashMap<usize, bool> = std::collections::HashMap::new();
    for r in results {
        if !include(r.resource) || unknown(r.resource) || matches!(r.outcome, Outcome::Error(_)) {
            continue;
        }
        let Some(rule) = program.rules.get(r.rule) else {
            continue;
        };
        if program
            .policies
            .get(rule.policy)
            .is_some_and(|p| p.category == "tagging")
        {
            *tag.entry(r.resource).or_insert(false) |= r.is_open_failure();
        }
    }
    let taggable = tag.len() as u64;
    let tagged = tag.values().filter(|o| !**o).count() as u64;
    (counts, (taggable, tagged))
}

/// The rule counts of [`count_results`], of `results` and of `passes`: per
/// rule, how many passes an evaluation counted but did not keep as
/// results (a report that keeps only failures and errors:
/// `eval::evaluate_failures_with`; taken as included and known), and
/// `skipped`, per rule, the unknown results of documents the reader
/// skipped. (No tagging pair: it needs every passing resource.)
pub fn count_rules(
    program: &Program,
    results: &[RuleResult],
    passes: &[usize],
    skipped: &[u64],
    unknown: &dyn Fn(usize) -> bool,
    include: &dyn Fn(usize) -> bool,
) -> Vec<RuleCounts> {
    let mut per_rule: Vec<RuleCounts> = program
        .rules
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            let pol = program.policy_of(ri);
            RuleCounts {
                rule: r.id.clone(),
                policy: pol.name.clone(),
                severity: pol.severity.name().to_string(),
                category: pol.category.clone(),
                ..Default::default()
            }
        })
        .collect();
    for r in results {
        if !include(r.resource) {
            continue;
        }
        let Some(c) = per_rule.get_mut(r.rule) else {
            continue;
        };
        if unknown(r.resource) || matches!(r.outcome, Outcome::Error(_)) {
            c.unknown += 1;
            continue;
        }
        c.assets += 1;
        if r.is_open_failure() {
            c.open += 1;
        } else if r.outcome == Outcome::Fail {
            c.exempt += 1;
        }
    }
    for (c, &n) in per_rule.iter_mut().zip(passes) {
        c.assets += n as u64;
    }
    for (c, &n) in per_rule.iter_mut().zip(skipped) {
        c.unknown += n;
    }
    per_rule
}

/// A figure with its coverage. `compliance` is `None` (unknown) when every
/// result behind it is unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub compliance: Option<f64>,
    pub assets: u64,
    pub open: u64,
    pub exempt: u64,
    pub unknown: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tagging {
    pub compliance: Option<f64>,
    /// Resources some tagging rule evaluated.
    pub taggable: u64,
    /// Of those, resources no tagging rule found an open failure on.
    pub tagged: u64,
}

/// The whole roll-up for one asset group (or everything).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    pub overall: Option<f64>,
    pub categories: Vec<Figure>,
    pub severities: Vec<Figure>,
    pub policies: Vec<Figure>,
    pub rules: Vec<Figure>,
    pub tagging: Tagging,
    /// Results with a definite outcome vs unknown ones, over all rules.
    pub coverage: Coverage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub known: u64,
    pub unknown: u64,
    /// known × 100 / (known + unknown), floored; 100 when there is nothing.
    pub percent: u64,
    /// The sources whose last read left resources unknown, and why (the
    /// scan fills it in: the formulas do not know sources).
    #[serde(default)]
    pub unread: Vec<UnreadSource>,
}

/// A source whose last read failed, was partial or is held as suspect:
/// its resources (in `scopes`) keep their last known state and count as
/// unknown until a read of it succeeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnreadSource {
    pub source: String,
    /// `failed`, `partial` or `suspect`.
    pub status: String,
    /// The scan that says why.
    pub scan: i64,
    /// RFC 3339: the first of the consecutive reads that left it unknown.
    pub since: String,
    /// What is unknown: "the whole source" or the failed scopes.
    pub scopes: Vec<String>,
    pub reason: Option<String>,
}

/// floor((assets − open) × 100 / assets); 100 with no assets at all;
/// unknown when every result is unknown.
pub fn rule_compliance(assets: u64, open: u64, unknown: u64) -> Option<u64> {
    if assets == 0 {
        return if unknown > 0 { None } else { Some(100) };
    }
    Some((assets - open.min(assets)) * 100 / assets)
}

/// Floors to two decimals so that a figure is never rounded up to 100.
fn floor2(x: f64) -> f64 {
    (x * 100.0).floor() / 100.0
}

fn sum_figure(name: &str, rules: &[&RuleCounts]) -> Figure {
    let assets = rules.iter().map(|r| r.assets).sum();
    let open = rules.iter().map(|r| r.open).sum();
    let exempt = rules.iter().map(|r| r.exempt).sum();
    let unknown = rules.iter().map(|r| r.unknown).sum();
    Figure {
        name: name.to_string(),
        compliance: rule_compliance(assets, open, unknown).map(|c| c as f64),
        assets,
        open,
        exempt,
        unknown,
    }
}

/// Rolls per-rule counts up. `tagging` is (taggable, tagged).
pub fn rollup(rules: &[RuleCounts], weights: &Weights, tagging: (u64, u64)) -> Rollup {
    let rule_figures: Vec<Figure> = rules.iter().map(|r| sum_figure(&r.rule, &[r])).collect();

    let mut by_policy: BTreeMap<&str, Vec<&RuleCounts>> = BTreeMap::new();
    let mut by_severity: BTreeMap<&str, Vec<&RuleCounts>> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, Vec<(usize, &RuleCounts)>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        by_policy.entry(&r.policy).or_default().push(r);
        by_severity.entry(&r.severity).or_default().push(r);
        by_category.entry(&r.category).or_default().push((i, r));
    }
    let policies = by_policy
        .iter()
        .map(|(name, rs)| sum_figure(name, rs))
        .collect();
    let sev_order = ["critical", "high", "medium", "low", "info"];
    let mut severities: Vec<Figure> = by_severity
        .iter()
        .map(|(name, rs)| sum_figure(name, rs))
        .collect();
    severities.sort_by_key(|f| sev_order.iter().position(|s| *s == f.name).unwrap_or(9));

    // A category: the severity-weighted mean of its rules' figures.
    let categories: Vec<Figure> = by_category
        .iter()
        .map(|(name, rs)| {
            let mut num = 0.0;
            let mut den = 0.0;
            for (i, r) in rs {
                if let Some(c) = rule_figures[*i].compliance {
                    let w = f64::from(*weights.severities.get(&r.severity).unwrap_or(&1));
                    num += w * c;
                    den += w;
                }
            }
            let plain: Vec<&RuleCounts> = rs.iter().map(|(_, r)| *r).collect();
            let mut f = sum_figure(name, &plain);
            // A category none of whose results is known (no assets, some
            // unknown) is unknown, even when some of its rules apply to
            // nothing and so count 100 on their own.
            if f.compliance.is_some() {
                f.compliance = (den > 0.0).then(|| floor2(num / den));
            }
            f
        })
        .collect();

    // Overall: the category-weighted mean.
    let mut num = 0.0;
    let mut den = 0.0;
    for c in &categories {
        if let Some(v) = c.compliance {
            let w = f64::from(*weights.categories.get(&c.name).unwrap_or(&0));
            num += w * v;
            den += w;
        }
    }
    let overall = (den > 0.0).then(|| floor2(num / den));
    let overall = if rules.is_empty() {
        Some(100.0)
    } else {
        overall
    };

    let known: u64 = rules.iter().map(|r| r.assets).sum();
    let unknown: u64 = rules.iter().map(|r| r.unknown).sum();
    let (taggable, tagged) = tagging;
    Rollup {
        overall,
        categories,
        severities,
        policies,
        rules: rule_figures,
        tagging: Tagging {
            compliance: if taggable == 0 {
                Some(100.0)
            } else {
                Some(floor2(tagged as f64 * 100.0 / taggable as f64))
            },
            taggable,
            tagged,
        },
        coverage: Coverage {
            known,
            unknown,
            percent: (known * 100).checked_div(known + unknown).unwrap_or(100),
            unread: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(rule: &str, sev: &str, cat: &str, assets: u64, open: u64, unknown: u64) -> RuleCounts {
        RuleCounts {
            rule: rule.into(),
            policy: rule.into(),
            severity: sev.into(),
            category: cat.into(),
            assets,
            open,
            exempt: 0,
            unknown,
        }
    }

    #[test]
    fn rule_figure_is_floored_and_unknown_is_never_compliant() {
        assert_eq!(rule_compliance(3, 1, 0), Some(66));
        assert_eq!(rule_compliance(0, 0, 0), Some(100));
        assert_eq!(rule_compliance(0, 0, 5), None);
        assert_eq!(rule_compliance(10, 0, 1000), Some(100));
    }

    #[test]
    fn categories_weight_severities_and_overall_weights_categories() {
        let rules = vec![
            rc("a", "critical", "security", 10, 5, 0), // 50
            rc("b", "low", "security", 10, 0, 0),      // 100
            rc("c", "medium", "tagging", 4, 1, 0),     // 75
            rc("d", "high", "cost", 0, 0, 7),          // unknown
        ];
        let r = rollup(&rules, &Weights::default(), (4, 3));
        let sec = r.categories.iter().find(|c| c.name == "security").unwrap();
        // (10×50 + 1×100) / 11 = 54.54…
        assert_eq!(sec.compliance, Some(54.54));
        let cost = r.categories.iter().find(|c| c.name == "cost").unwrap();
        assert_eq!(cost.compliance, None);
        assert_eq!(cost.unknown, 7);
        // (50×54.54 + 10×75) / 60 = 57.95
        assert_eq!(r.overall, Some(57.95));
        assert_eq!(r.tagging.compliance, Some(75.0));
        assert_eq!(r.coverage.unknown, 7);
        assert_eq!(r.coverage.percent, 24 * 100 / 31);
        assert_eq!(r.severities[0].name, "critical");
    }

    #[test]
    fn a_category_with_nothing_known_is_unknown_even_with_inapplicable_rules() {
        // Every resource unknown (its source failed); one rule applies to
        // no resource at all. Nothing is known, so nothing is compliant.
        let rules = vec![
            rc("a", "critical", "security", 0, 0, 30),
            rc("b", "low", "security", 0, 0, 0),
        ];
        let r = rollup(&rules, &Weights::default(), (0, 0));
        assert_eq!(r.categories[0].compliance, None);
        assert_eq!(r.overall, None);
        // With one known result the inapplicable rule counts again.
        let rules = vec![
            rc("a", "critical", "security", 1, 1, 29),
            rc("b", "low", "security", 0, 0, 0),
        ];
        let r = rollup(&rules, &Weights::default(), (0, 0));
        assert_eq!(r.categories[0].compliance, Some(9.09));
    }

    #[test]
    fn configured_weights_change_the_overall_figure() {
        let rules = vec![
            rc("a", "high", "security", 2, 1, 0),
            rc("b", "high", "cost", 2, 0, 0),
        ];
        let mut w = Weights::default();
        assert_eq!(rollup(&rules, &w, (0, 0)).overall, Some(64.28));
        w.categories.insert("cost".into(), 0);
        assert_eq!(rollup(&rules, &w, (0, 0)).overall, Some(50.0));
    }
}
