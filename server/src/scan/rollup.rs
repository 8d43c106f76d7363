//! Stage 6, roll up: the compliance figures of the whole estate and of
//! each asset group, today's history rows, and what the coverage says
//! about sources whose resources are unknown. No I/O.

use pac_compiler::Program;
use pac_connectors::Scope;
use pac_runtime::EvalReport;

use super::judge::ReadVerdict;
use crate::compliance::{self, UnreadSource};
use crate::store::{HistoryRow, ScanBase, SourceRead};

/// This read as the next scans must know it: its status, since when the
/// source's resources are unknown, which scopes, and why.
pub(super) fn source_read(
    verdict: &ReadVerdict,
    source: &str,
    scan_id: i64,
    at: i64,
    base: &ScanBase,
    failed_scopes: &[Scope],
) -> SourceRead {
    let note = verdict.explain(source, scan_id);
    SourceRead {
        status: verdict.status(),
        scan_id,
        since: base.unread.get(source).map_or(at, |r| r.since),
        scopes: if verdict == &ReadVerdict::Complete {
            Vec::new()
        } else {
            failed_scopes.to_vec()
        },
        message: (!note.is_empty()).then_some(note),
    }
}

/// The sources whose resources are unknown after this scan: the others'
/// last reads as stored, and this one's `read`; by name.
pub(super) fn unread_sources(
    base: &ScanBase,
    source: &str,
    read: &SourceRead,
) -> Vec<UnreadSource> {
    let own = (!read.scopes.is_empty()).then_some((source, read));
    let mut out: Vec<UnreadSource> = base
        .unread
        .iter()
        .map(|(s, r)| (s.as_str(), r))
        .filter(|(s, _)| *s != source)
        .chain(own)
        .map(|(s, r)| UnreadSource {
            source: s.to_string(),
            status: r.status.to_string(),
            scan: r.scan_id,
            since: crate::clock::rfc3339(r.since),
            scopes: r.scopes.iter().map(ToString::to_string).collect(),
            reason: r.message.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

pub(super) struct Input<'a> {
    pub program: &'a Program,
    pub report: &'a EvalReport,
    /// By estate position: the result does not count as known.
    pub unknown: &'a [bool],
    /// One per `Program::groups`, by estate position.
    pub member_sets: &'a [Vec<bool>],
    pub weights: &'a compliance::Weights,
    /// Shown in every roll-up's coverage.
    pub unread: Vec<UnreadSource>,
    /// The scan's time (the history's day).
    pub at: i64,
}

/// The roll-up stage's output.
pub(super) struct RolledUp {
    /// Group (`""`: everything) → the roll-up as JSON.
    pub compliance: Vec<(String, String)>,
    pub history: Vec<HistoryRow>,
    /// (group, domain, the domain's roll-up within the group as JSON).
    pub domains: Vec<(String, String, String)>,
    /// The overall row of each domain per group (`policy` holds the
    /// domain's name).
    pub domain_history: Vec<HistoryRow>,
}

/// The roll-up stage: everything, then each group.
pub(super) fn rollup(input: Input<'_>) -> RolledUp {
    let Input {
        program: p,
        report,
        unknown,
        member_sets,
        weights,
        unread,
        at,
    } = input;
    let mut out = RolledUp {
        compliance: Vec::new(),
        history: Vec::new(),
        domains: Vec::new(),
        domain_history: Vec::new(),
    };
    // Each domain's policies, by name (what the per-rule counts carry).
    let domain_policies: Vec<(&str, std::collections::HashSet<&str>)> = p
        .domains
        .iter()
        .map(|d| {
            let names = p
                .domain_policies(d)
                .into_iter()
                .map(|i| p.policies[i].name.as_str())
                .collect();
            (d.name.as_str(), names)
        })
        .collect();
    let day = crate::clock::day(at);
    let mut scopes: Vec<(String, Option<&Vec<bool>>)> = vec![(String::new(), None)];
    for (gi, g) in p.groups.iter().enumerate() {
        scopes.push((g.name.clone(), Some(&member_sets[gi])));
    }
    for (gname, members) in scopes {
        let (per_rule, tagging) = compliance::count_results(
            p,
            &report.results,
            |i| unknown[i],
            |i| members.is_none_or(|m| m[i]),
        );
        for (dname, names) in &domain_policies {
            let counts: Vec<compliance::RuleCounts> = per_rule
                .iter()
                .filter(|c| names.contains(c.policy.as_str()))
                .cloned()
                .collect();
            let mut roll = compliance::rollup(&counts, weights, tagging);
            roll.coverage.unread = unread.clone();
            out.domain_history
                .push(overall_row(&day, &gname, dname, &roll));
            out.domains.push((
                gname.clone(),
                dname.to_string(),
                serde_json::to_string(&roll).unwrap_or_else(|_| "{}".into()),
            ));
        }
        let mut roll = compliance::rollup(&per_rule, weights, tagging);
        roll.coverage.unread = unread.clone();
        for f in &roll.policies {
            out.history.push(HistoryRow {
                day: day.clone(),
                group: gname.clone(),
                policy: f.name.clone(),
                compliance: f.compliance.map(|c| c as i64),
                assets: f.assets as i64,
                open: f.open as i64,
                exempt: f.exempt as i64,
                unknown: f.unknown as i64,
            });
        }
        out.history.push(overall_row(&day, &gname, "", &roll));
        out.compliance.push((
            gname,
            serde_json::to_string(&roll).unwrap_or_else(|_| "{}".into()),
        ));
    }
    out
}

/// The history row of a roll-up's overall figure (`policy`: `""` for a
/// group's, the domain's name for a domain's).
fn overall_row(day: &str, group: &str, policy: &str, roll: &compliance::Rollup) -> HistoryRow {
    HistoryRow {
        day: day.to_string(),
        group: group.to_string(),
        policy: policy.to_string(),
        compliance: roll.overall.map(|c| c.floor() as i64),
        assets: roll.coverage.known as i64,
        open: roll.policies.iter().map(|f| f.open as i64).sum(),
        exempt: roll.policies.iter().map(|f| f.exempt as i64).sum(),
        unknown: roll.coverage.unknown as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, NOW, doc};
    use super::*;
    use serde_json::Value;

    fn run(f: &Fixture, docs: &[Value], unknown: &[&str], unread: Vec<UnreadSource>) -> RolledUp {
        let e = f.estate(docs, unknown);
        let report = f.report(&e.inv);
        let sets: Vec<Vec<bool>> = f
            .loaded
            .program()
            .groups
            .iter()
            .enumerate()
            .map(|(gi, _)| {
                let mut s = vec![false; e.inv.len()];
                for &i in &report.groups[gi].members {
                    s[i] = true;
                }
                s
            })
            .collect();
        rollup(Input {
            program: f.loaded.program(),
            report: &report,
            unknown: &e.unknown,
            member_sets: &sets,
            weights: &compliance::Weights::default(),
            unread,
            at: NOW,
        })
    }

    fn body(r: &RolledUp, group: &str) -> Value {
        let (_, b) = r.compliance.iter().find(|(g, _)| g == group).unwrap();
        serde_json::from_str(b).unwrap()
    }

    #[test]
    fn everything_then_each_group_with_history_rows() {
        let f = Fixture::new();
        let docs = [
            doc("b1", "", None),
            doc("b2", "web", None),
            doc("b3", "x", None),
            doc("b4", "y", None),
        ];
        let r = run(&f, &docs, &[], Vec::new());
        let groups: Vec<&str> = r.compliance.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(groups, vec!["", "web"]);
        let all = body(&r, "");
        assert_eq!(all["overall"], 75.0, "{all}");
        assert_eq!(all["coverage"]["percent"], 100);
        assert_eq!(body(&r, "web")["overall"], 100.0);
        // A row per policy and one for the overall figure, per scope.
        assert_eq!(r.history.len(), 4);
        let overall = r
            .history
            .iter()
            .find(|h| h.group.is_empty() && h.policy.is_empty())
            .unwrap();
        assert_eq!(
            (overall.compliance, overall.open, overall.assets),
            (Some(75), 1, 4)
        );
        assert_eq!(overall.day, crate::clock::day(NOW));
    }

    #[test]
    fn unknown_results_are_never_counted_compliant() {
        let f = Fixture::new();
        let docs = [doc("b1", "", None), doc("b2", "x", None)];
        let unread = vec![UnreadSource {
            source: "s".into(),
            status: "failed".into(),
            scan: 3,
            since: crate::clock::rfc3339(NOW),
            scopes: vec!["the whole source".into()],
            reason: None,
        }];
        let r = run(&f, &docs, &["b1", "b2"], unread);
        let all = body(&r, "");
        assert_eq!(all["overall"], Value::Null, "{all}");
        assert_eq!(all["coverage"]["unknown"], 2);
        assert_eq!(all["coverage"]["unread"][0]["source"], "s");
    }

    #[test]
    fn the_read_is_kept_while_it_leaves_resources_unknown() {
        let mut base = ScanBase::default();
        let scopes = [Scope::default()];
        let failed = ReadVerdict::Failed("gone".into());
        let r = source_read(&failed, "s", 4, NOW, &base, &scopes);
        assert_eq!((r.status.as_str(), r.since), ("failed", NOW));
        assert_eq!(r.scopes, scopes.to_vec());
        assert!(r.message.as_deref().is_some_and(|m| m.contains("gone")));
        // A later failure keeps the first one's `since`.
        base.unread.insert("s".into(), r);
        let again = source_read(&failed, "s", 5, NOW + 60, &base, &scopes);
        assert_eq!(again.since, NOW);
        let listed = unread_sources(&base, "s", &again);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].scan, 5);
        // A complete read clears it, whatever scopes it was given.
        let ok = source_read(&ReadVerdict::Complete, "s", 6, NOW + 120, &base, &scopes);
        assert!(ok.scopes.is_empty() && ok.message.is_none());
        assert!(unread_sources(&base, "s", &ok).is_empty());
    }
}
