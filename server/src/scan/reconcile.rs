//! Stage 5, reconcile: what the evaluation means for the stored state —
//! the source's inventory changes, every issue opened, closed, reopened,
//! exempted or unexempted, and the group memberships. Nothing of an
//! unknown resource changes. No I/O.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use pac_compiler::Program;
use pac_runtime::{Env, EvalReport, Outcome};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::evaluate::Estate;
use super::validate::Read;
use crate::store::{
    CloseReason, IssueState, IssueStatus, IssueUpdate, NewIssue, ResourceWrite, ScanBase,
    ScanCounts,
};

/// The source's inventory changes.
#[derive(Default)]
pub(super) struct InventoryChanges {
    /// New or changed resources.
    pub upserts: Vec<ResourceWrite>,
    /// Resources seen unchanged.
    pub seen: Vec<String>,
    /// Every scope was read: all the source's resources were seen.
    pub seen_all: bool,
    /// Resources gone (never those of a failed scope), sorted.
    pub removed: Vec<String>,
}

/// The inventory part: this read's resources against the stored hashes.
pub(super) fn inventory(
    source: &str,
    base: &ScanBase,
    estate: &Estate,
    read: &Read,
) -> InventoryChanges {
    let mut out = InventoryChanges::default();
    for (i, r) in estate.inv.resources.iter().enumerate().take(estate.fresh) {
        let key = &estate.keys[i];
        let (text, hash) = (
            &read.texts[read.fresh_doc[i]],
            &read.hashes[read.fresh_doc[i]],
        );
        match base.resources.get(key) {
            Some((h, s)) if h == hash && s == source => out.seen.push(key.clone()),
            _ => out.upserts.push(ResourceWrite {
                key: key.clone(),
                rtype: r.type_name.to_string(),
                id: r.id.to_string(),
                account: r.account.to_string(),
                region: r.region.to_string(),
                source: source.to_string(),
                doc: text.clone(),
                hash: hash.clone(),
            }),
        }
    }
    out.seen_all = read.failed_scopes.is_empty();
    for key in &read.unread {
        if !estate.unknown_keys.contains(key) {
            out.removed.push(key.clone());
        }
    }
    out.removed.sort();
    out
}

pub(super) struct IssuesInput<'a> {
    pub program: &'a Program,
    /// Over `estate.inv` (for the explanations).
    pub env: &'a Env<'a>,
    pub base: &'a ScanBase,
    pub estate: &'a Estate,
    pub report: &'a EvalReport,
    /// Of `estate.keys`.
    pub index: &'a KeyIndex<'a>,
}

/// The estate's resource keys by number, built once per scan (one string
/// hash per resource), so that the issues and the memberships compare
/// positions instead of hashing every key again per rule and per group.
pub(super) struct KeyIndex<'a> {
    /// A key → its first position.
    first: HashMap<&'a str, u32>,
    /// Each position's canonical one: a key held by two resources maps to
    /// its first (one issue per key).
    canon: Vec<u32>,
}

impl<'a> KeyIndex<'a> {
    pub fn new(keys: &'a [String]) -> KeyIndex<'a> {
        let mut first: HashMap<&str, u32> = HashMap::with_capacity(keys.len());
        let canon = keys
            .iter()
            .enumerate()
            .map(|(i, k)| *first.entry(k.as_str()).or_insert(i as u32))
            .collect();
        KeyIndex { first, canon }
    }

    fn get(&self, key: &str) -> Option<u32> {
        self.first.get(key).copied()
    }
}

/// An issue that became open in this scan (opened, reopened or
/// unexempted): the schedule stage's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Opened {
    pub issue: i64,
    /// Index into `Program::rules`.
    pub rule: usize,
    /// Index into the estate.
    pub resource: usize,
}

/// The issues part's output.
#[derive(Default)]
pub(super) struct IssueChanges {
    pub new_issues: Vec<NewIssue>,
    pub issue_updates: Vec<IssueUpdate>,
    /// (issue, kind, detail).
    pub events: Vec<(i64, String, String)>,
    /// Waiting jobs whose issue closed or became exempt: (job, reason).
    pub cancel_jobs: Vec<(i64, String)>,
    /// `opened`, `closed`, `reopened`, `exempted` and `unknown` (the rest
    /// is the inventory's).
    pub counts: ScanCounts,
    pub opened: Vec<Opened>,
}

impl IssueChanges {
    fn close(&mut self, base: &ScanBase, id: i64, reason: CloseReason) {
        self.counts.closed += 1;
        self.events.push((id, "closed".into(), reason.to_string()));
        self.issue_updates.push(IssueUpdate {
            id,
            status: IssueStatus::Closed,
            message: String::new(),
            exception: None,
            reopened: false,
            explanation: None,
            close_reason: Some(reason),
        });
        if let Some(job) = base.waiting_jobs.get(&id) {
            self.cancel_jobs.push((
                *job,
                format!("the issue closed ({reason}) before the fix was due"),
            ));
        }
    }
}

/// The issues part: one issue per (rule, resource key), changed only by a
/// known result; an issue no result touched is closed (its resource, rule
/// or scope is gone) unless its resource is unknown.
pub(super) fn issues(input: IssuesInput<'_>) -> IssueChanges {
    let IssuesInput {
        program: p,
        env,
        base,
        estate,
        report,
        index,
    } = input;
    let keys = &estate.keys;
    let unknown_idx = &estate.unknown;
    let mut out = IssueChanges::default();
    let Existing {
        mut current,
        orphans,
    } = existing(p, base, index);
    let canon = &index.canon;
    let mut next_issue = base.next_issue_id;
    // Explanations are worked out after the loop, on every core: at a
    // first scan every failure opens an issue, and each explanation runs
    // the rule again through the interpreter.
    let mut explain_new: Vec<(usize, usize)> = Vec::new();
    let mut explain_reopened: Vec<(usize, usize, usize)> = Vec::new();
    for r in &report.results {
        let rule = &p.rules[r.rule];
        let key = &keys[r.resource];
        let pair = (r.rule as u32, canon[r.resource]);
        let entry = current.get_mut(&pair);
        if unknown_idx[r.resource] {
            out.counts.unknown += 1;
            if let Some(e) = entry {
                e.1 = true;
            }
            continue;
        }
        let want: Option<(IssueStatus, Option<&str>)> = match (&r.outcome, r.exempted_by) {
            (Outcome::Error(_), _) => {
                // Unknown: leave the issue as it is.
                out.counts.unknown += 1;
                if let Some(e) = entry {
                    e.1 = true;
                }
                continue;
            }
            (Outcome::Pass, _) => None,
            (Outcome::Fail, None) => Some((IssueStatus::Open, None)),
            (Outcome::Fail, Some(x)) => {
                Some((IssueStatus::Exempted, Some(p.exceptions[x].name.as_str())))
            }
        };
        let message = r.message.as_deref().unwrap_or_default();
        match (entry, want) {
            (None, None) => {}
            (None, Some((status, exception))) => {
                let res = &estate.inv.resources[r.resource];
                let pol = p.policy_of(r.rule);
                let id = next_issue;
                next_issue += 1;
                let exception = exception.map(str::to_string);
                out.new_issues.push(NewIssue {
                    id,
                    rule: rule.id.clone(),
                    policy: pol.name.clone(),
                    rkey: key.clone(),
                    rid: res.id.to_string(),
                    rtype: res.type_name.to_string(),
                    account: res.account.to_string(),
                    region: res.region.to_string(),
                    severity: pol.severity.name().to_string(),
                    category: pol.category.clone(),
                    status,
                    message: message.to_string(),
                    explanation: None,
                    exception: exception.clone(),
                });
                explain_new.push((r.rule, r.resource));
                out.counts.opened += 1;
                out.events.push((id, "opened".into(), message.to_string()));
                if let Some(x) = &exception {
                    out.counts.exempted += 1;
                    out.events
                        .push((id, "exempted".into(), format!("by exception `{x}`")));
                } else {
                    out.opened.push(Opened {
                        issue: id,
                        rule: r.rule,
                        resource: r.resource,
                    });
                }
                current.insert(
                    pair,
                    (
                        Cow::Owned(IssueState {
                            id,
                            status,
                            message: message.to_string(),
                            exception,
                        }),
                        true,
                    ),
                );
            }
            (Some((old, touched)), None) => {
                *touched = true;
                if old.status != IssueStatus::Closed {
                    out.close(base, old.id, CloseReason::Passed);
                }
            }
            (Some((old, touched)), Some((status, exception))) => {
                *touched = true;
                if old.status == IssueStatus::Closed {
                    out.counts.reopened += 1;
                    out.events
                        .push((old.id, "reopened".into(), message.to_string()));
                    out.issue_updates.push(IssueUpdate {
                        id: old.id,
                        status,
                        message: message.to_string(),
                        exception: exception.map(str::to_string),
                        reopened: true,
                        explanation: None,
                        close_reason: None,
                    });
                    explain_reopened.push((out.issue_updates.len() - 1, r.rule, r.resource));
                    match exception {
                        Some(x) => {
                            out.counts.exempted += 1;
                            out.events.push((
                                old.id,
                                "exempted".into(),
                                format!("by exception `{x}`"),
                            ));
                        }
                        None => out.opened.push(Opened {
                            issue: old.id,
                            rule: r.rule,
                            resource: r.resource,
                        }),
                    }
                } else if old.status != status
                    || old.exception.as_deref() != exception
                    || old.message != message
                {
                    if old.exception.as_deref() != exception {
                        match (&old.exception, exception) {
                            (_, Some(x)) => {
                                out.counts.exempted += 1;
                                out.events.push((
                                    old.id,
                                    "exempted".into(),
                                    format!("by exception `{x}`"),
                                ));
                                if let Some(job) = base.waiting_jobs.get(&old.id) {
                                    out.cancel_jobs
                                        .push((*job, format!("the issue is exempted by `{x}`")));
                                }
                            }
                            (Some(x), None) => {
                                out.events.push((
                                    old.id,
                                    "unexempted".into(),
                                    format!(
                                        "exception `{x}` no longer applies (expired or removed)"
                                    ),
                                ));
                                out.opened.push(Opened {
                                    issue: old.id,
                                    rule: r.rule,
                                    resource: r.resource,
                                });
                            }
                            (None, None) => {}
                        }
                    }
                    out.issue_updates.push(IssueUpdate {
                        id: old.id,
                        status,
                        message: message.to_string(),
                        exception: exception.map(str::to_string),
                        reopened: false,
                        explanation: None,
                        close_reason: None,
                    });
                }
            }
        }
    }
    let explain = |&(rule, res): &(usize, usize)| -> Option<String> {
        serde_json::to_string(&pac_runtime::explain::explain_rule(p, env, rule, res)).ok()
    };
    let texts: Vec<Option<String>> = explain_new.par_iter().map(explain).collect();
    for (issue, text) in out.new_issues.iter_mut().zip(texts) {
        issue.explanation = text;
    }
    let texts: Vec<Option<String>> = explain_reopened
        .par_iter()
        .map(|&(_, rule, res)| explain(&(rule, res)))
        .collect();
    for (&(at, ..), text) in explain_reopened.iter().zip(texts) {
        out.issue_updates[at].explanation = text;
    }
    close_untouched(&mut out, base, estate, &current, &orphans);
    out
}

/// The stored issues, indexed for the per-result loop.
struct Existing<'a> {
    /// (rule, resource) → (state, touched by a result of this scan).
    /// (Fx-hashed: positions, not text from a source.)
    current: FxHashMap<(u32, u32), (Cow<'a, IssueState>, bool)>,
    /// Open issues whose rule or resource is no longer there: (id, close
    /// reason, rkey).
    orphans: Vec<(i64, CloseReason, &'a String)>,
}

/// Existing issues by (rule index, resource index), built once from the
/// stored state, so that the per-result loop (400k results at 100k
/// resources) neither allocates keys nor hashes strings. Issues whose rule
/// or resource is gone are closed after the loop.
fn existing<'a>(p: &Program, base: &'a ScanBase, index: &KeyIndex<'_>) -> Existing<'a> {
    let rule_ix: HashMap<&str, u32> = p
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u32))
        .collect();
    let mut current = FxHashMap::with_capacity_and_hasher(base.issues.len(), Default::default());
    let mut orphans = Vec::new();
    for ((rule, key), st) in &base.issues {
        match (rule_ix.get(rule.as_str()), index.get(key)) {
            (Some(&ri), Some(xi)) => {
                current.insert((ri, xi), (Cow::Borrowed(st), false));
            }
            (ri, _) if st.status != IssueStatus::Closed => {
                let reason = if ri.is_none() {
                    CloseReason::RuleRemoved
                } else {
                    CloseReason::ResourceRemoved
                };
                orphans.push((st.id, reason, key));
            }
            _ => {}
        }
    }
    Existing { current, orphans }
}

/// Closes the issues no result touched: the resource is gone, the rule is
/// gone, or the resource left the rule's scope — unless the resource is
/// unknown. In id order.
fn close_untouched(
    out: &mut IssueChanges,
    base: &ScanBase,
    estate: &Estate,
    current: &FxHashMap<(u32, u32), (Cow<'_, IssueState>, bool)>,
    orphans: &[(i64, CloseReason, &String)],
) {
    let mut untouched: Vec<(i64, CloseReason)> = Vec::new();
    for ((_, xi), (st, touched)) in current {
        if *touched
            || st.status == IssueStatus::Closed
            || estate.unknown_keys.contains(&estate.keys[*xi as usize])
        {
            continue;
        }
        untouched.push((st.id, CloseReason::OutOfScope));
    }
    for (id, reason, key) in orphans {
        if !estate.unknown_keys.contains(*key) {
            untouched.push((*id, *reason));
        }
    }
    untouched.sort();
    for (id, reason) in untouched {
        out.close(base, id, reason);
    }
}

/// Group membership changes, and each group's members by position in the
/// estate (for the roll-ups).
pub(super) struct Memberships {
    /// (group, key).
    pub adds: Vec<(String, String)>,
    pub removes: Vec<(String, String)>,
    /// One per `Program::groups`: member or not, by estate position.
    pub sets: Vec<Vec<bool>>,
}

/// The memberships part: resources of failed scopes keep theirs; groups
/// no longer defined lose all.
pub(super) fn memberships(
    p: &Program,
    base: &ScanBase,
    estate: &Estate,
    report: &EvalReport,
    index: &KeyIndex<'_>,
) -> Memberships {
    let (keys, unknown_idx) = (&estate.keys, &estate.unknown);
    let mut out = Memberships {
        adds: Vec::new(),
        removes: Vec::new(),
        sets: Vec::with_capacity(p.groups.len()),
    };
    let group_names: HashSet<&str> = p.groups.iter().map(|g| g.name.as_str()).collect();
    for (gi, g) in p.groups.iter().enumerate() {
        let mut set = vec![false; estate.inv.len()];
        if let Some(m) = report.groups.get(gi) {
            for &i in &m.members {
                set[i] = true;
            }
        }
        // The stored members by position (each key hashed once); those no
        // longer in the estate leave the group unless unknown.
        let mut was = vec![false; estate.inv.len()];
        if let Some(old) = base.members.get(&g.name) {
            for k in old {
                match index.get(k) {
                    Some(x) => was[x as usize] = true,
                    None if !estate.unknown_keys.contains(k) => {
                        out.removes.push((g.name.clone(), k.clone()));
                    }
                    None => {}
                }
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if unknown_idx[i] {
                continue;
            }
            match (set[i], was[index.canon[i] as usize]) {
                (true, false) => out.adds.push((g.name.clone(), k.clone())),
                (false, true) => out.removes.push((g.name.clone(), k.clone())),
                _ => {}
            }
        }
        out.sets.push(set);
    }
    for (g, old) in &base.members {
        if !group_names.contains(g.as_str()) {
            for k in old {
                out.removes.push((g.clone(), k.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, NOW, doc, issue, key};
    use super::*;
    use serde_json::Value;

    /// The rule's id in the fixture.
    const RULE: &str = "named";

    /// Reconciles `docs` (ids in `unknown` unknown) against `base`.
    fn run(f: &Fixture, docs: &[Value], unknown: &[&str], base: &ScanBase) -> IssueChanges {
        let estate = f.estate(docs, unknown);
        let report = f.report(&estate.inv);
        let env = Env::for_program(f.loaded.program(), &estate.inv, NOW);
        issues(IssuesInput {
            program: f.loaded.program(),
            env: &env,
            base,
            estate: &estate,
            report: &report,
            index: &KeyIndex::new(&estate.keys),
        })
    }

    fn base_with(issues: &[(&str, IssueState)]) -> ScanBase {
        let mut base = ScanBase {
            next_issue_id: 100,
            next_job_id: 1,
            ..Default::default()
        };
        for (id, st) in issues {
            base.issues.insert((RULE.into(), key(id)), st.clone());
        }
        base
    }

    fn kinds(c: &IssueChanges) -> Vec<(i64, &str, &str)> {
        c.events
            .iter()
            .map(|(id, k, d)| (*id, k.as_str(), d.as_str()))
            .collect()
    }

    #[test]
    fn the_fixture_rule_is_named_as_the_tests_say() {
        let f = Fixture::new();
        assert_eq!(f.loaded.program().rules[0].id, RULE);
    }

    #[test]
    fn a_new_failure_opens_an_issue_and_is_scheduled() {
        let f = Fixture::new();
        let c = run(
            &f,
            &[doc("b1", "", None), doc("b2", "x", None)],
            &[],
            &base_with(&[]),
        );
        assert_eq!(c.new_issues.len(), 1);
        let n = &c.new_issues[0];
        assert_eq!(
            (n.id, n.rkey.as_str(), n.status),
            (100, key("b1").as_str(), IssueStatus::Open)
        );
        assert_eq!(n.message, "b1 has no name");
        assert!(n.explanation.is_some());
        assert_eq!(kinds(&c), vec![(100, "opened", "b1 has no name")]);
        assert_eq!(
            c.opened,
            vec![Opened {
                issue: 100,
                rule: 0,
                resource: 0
            }]
        );
        assert_eq!(c.counts.opened, 1);
    }

    #[test]
    fn an_open_issue_whose_resource_now_passes_is_closed_and_its_job_cancelled() {
        let f = Fixture::new();
        let mut base = base_with(&[("b1", issue(7, "open", None))]);
        base.waiting_jobs.insert(7, 70);
        let c = run(&f, &[doc("b1", "fixed", None)], &[], &base);
        assert_eq!(kinds(&c), vec![(7, "closed", "passed")]);
        assert_eq!(c.issue_updates.len(), 1);
        assert_eq!(c.issue_updates[0].status, IssueStatus::Closed);
        assert_eq!(c.issue_updates[0].close_reason, Some(CloseReason::Passed));
        assert_eq!(c.cancel_jobs.len(), 1);
        assert_eq!(c.cancel_jobs[0].0, 70);
        assert_eq!(c.counts.closed, 1);
        assert!(c.opened.is_empty());
    }

    #[test]
    fn an_exempted_failure_is_marked_exempted_and_not_scheduled() {
        let f = Fixture::new();
        // New: opened as exempted.
        let c = run(&f, &[doc("b-legacy", "", None)], &[], &base_with(&[]));
        assert_eq!(c.new_issues[0].status, IssueStatus::Exempted);
        assert_eq!(c.new_issues[0].exception.as_deref(), Some("LEGACY"));
        assert_eq!(
            kinds(&c),
            vec![
                (100, "opened", "b-legacy has no name"),
                (100, "exempted", "by exception `LEGACY`")
            ]
        );
        assert!(c.opened.is_empty());
        assert_eq!((c.counts.opened, c.counts.exempted), (1, 1));
        // Already open, with a waiting fix: exempted now, the fix cancelled.
        let mut base = base_with(&[("b-legacy", issue(7, "open", None))]);
        base.waiting_jobs.insert(7, 70);
        let c = run(&f, &[doc("b-legacy", "", None)], &[], &base);
        assert_eq!(kinds(&c), vec![(7, "exempted", "by exception `LEGACY`")]);
        assert_eq!(c.issue_updates[0].status, IssueStatus::Exempted);
        assert_eq!(
            c.cancel_jobs,
            vec![(70, "the issue is exempted by `LEGACY`".to_string())]
        );
        assert!(c.opened.is_empty());
    }

    #[test]
    fn an_exception_that_no_longer_applies_opens_the_issue_again() {
        let f = Fixture::new();
        let mut st = issue(7, "exempted", Some("GONE"));
        st.message = "b1 has no name".into();
        let c = run(&f, &[doc("b1", "", None)], &[], &base_with(&[("b1", st)]));
        assert_eq!(kinds(&c)[0].1, "unexempted");
        assert_eq!(c.issue_updates[0].status, IssueStatus::Open);
        assert_eq!(c.opened.len(), 1, "the fix is scheduled again");
    }

    #[test]
    fn unknown_results_change_nothing() {
        let f = Fixture::new();
        // b1 now passes and b2 fails, but both are in an unread scope; b3
        // is not there at all but its key is unknown too (failed scope).
        let base = base_with(&[
            ("b1", issue(7, "open", None)),
            ("b3", issue(8, "open", None)),
        ]);
        let c = run(
            &f,
            &[doc("b1", "fixed", None), doc("b2", "", None)],
            &["b1", "b2", "b3"],
            &base,
        );
        assert!(c.events.is_empty() && c.issue_updates.is_empty() && c.new_issues.is_empty());
        assert!(c.opened.is_empty() && c.cancel_jobs.is_empty());
        assert_eq!(c.counts.unknown, 2);
    }

    #[test]
    fn a_failed_read_closes_nothing() {
        // A held read carries every stored document as unknown: the estate
        // is the stored one, all unknown.
        let f = Fixture::new();
        let base = base_with(&[("b1", issue(7, "open", None))]);
        let c = run(&f, &[doc("b1", "", None)], &["b1"], &base);
        assert_eq!(c.counts.closed, 0);
        assert!(c.issue_updates.is_empty());
    }

    #[test]
    fn a_reappearing_failure_reopens_the_same_issue() {
        let f = Fixture::new();
        let base = base_with(&[("b1", issue(7, "closed", None))]);
        let c = run(&f, &[doc("b1", "", None)], &[], &base);
        assert!(c.new_issues.is_empty(), "the same issue, not a new one");
        assert_eq!(kinds(&c), vec![(7, "reopened", "b1 has no name")]);
        let u = &c.issue_updates[0];
        assert!(u.reopened && u.status == IssueStatus::Open && u.explanation.is_some());
        assert_eq!(c.counts.reopened, 1);
        assert_eq!(c.opened.len(), 1);
    }

    #[test]
    fn issues_of_gone_resources_and_rules_are_closed_with_the_reason() {
        let f = Fixture::new();
        let mut base = base_with(&[
            ("gone", issue(7, "open", None)),
            ("old", issue(9, "closed", None)),
        ]);
        base.issues
            .insert(("dropped_rule".into(), key("b1")), issue(8, "open", None));
        let c = run(&f, &[doc("b1", "x", None)], &[], &base);
        assert_eq!(
            kinds(&c),
            vec![
                (7, "closed", "resource_removed"),
                (8, "closed", "rule_removed")
            ]
        );
    }

    #[test]
    fn an_unchanged_open_issue_is_left_alone() {
        let f = Fixture::new();
        let mut st = issue(7, "open", None);
        st.message = "b1 has no name".into();
        let c = run(&f, &[doc("b1", "", None)], &[], &base_with(&[("b1", st)]));
        assert!(c.events.is_empty() && c.issue_updates.is_empty());
        assert!(
            c.opened.is_empty(),
            "no new grace period for a still-open issue"
        );
    }

    #[test]
    fn inventory_changes_skip_unchanged_and_unknown_resources() {
        let f = Fixture::new();
        let estate = f.estate(&[doc("b1", "a", None), doc("b2", "b", None)], &["b4"]);
        let texts: Vec<String> = [doc("b1", "a", None), doc("b2", "b", None)]
            .iter()
            .map(Value::to_string)
            .collect();
        let hashes: Vec<String> = texts.iter().map(|t| super::super::hash_text(t)).collect();
        let mut base = ScanBase::default();
        base.resources
            .insert(key("b1"), (hashes[0].clone(), "s".into()));
        base.resources.insert(key("b3"), ("h".into(), "s".into()));
        base.resources.insert(key("b4"), ("h".into(), "s".into()));
        base.resources
            .insert(key("o1"), ("h".into(), "other".into()));
        let fresh_keys = estate.keys.iter().cloned().collect();
        let (own_stored, unread) = super::super::validate::own_unread(&base, "s", &fresh_keys);
        assert_eq!(own_stored, 3);
        let read = Read {
            documents: 2,
            fresh_doc: vec![0, 1],
            fresh_keys,
            own_stored,
            unread,
            failed_scopes: Vec::new(),
            source_errors: Value::Null,
            texts,
            hashes: hashes.clone(),
        };
        let c = inventory("s", &base, &estate, &read);
        assert_eq!(c.seen, vec![key("b1")]);
        assert_eq!(c.upserts.len(), 1);
        assert_eq!(c.upserts[0].key, key("b2"));
        assert_eq!(c.upserts[0].doc, read.texts[1]);
        // b3 is gone; b4 is unknown (kept); o1 is another source's.
        assert_eq!(c.removed, vec![key("b3")]);
        assert!(c.seen_all);
    }

    #[test]
    fn memberships_follow_the_groups_except_for_unknown_resources() {
        let f = Fixture::new();
        let estate = f.estate(
            &[
                doc("b1", "web", None),
                doc("b2", "db", None),
                doc("b5", "db", None),
            ],
            &["b5"],
        );
        let report = f.report(&estate.inv);
        let mut base = ScanBase::default();
        let web = |ks: &[&str]| ks.iter().map(|k| key(k)).collect::<HashSet<String>>();
        // b2 left the group, b3 is gone, b4 is gone but unknown, b5 unknown.
        base.members
            .insert("web".into(), web(&["b2", "b3", "b4", "b5"]));
        base.members.insert("retired".into(), web(&["b1"]));
        let mut est = estate;
        est.unknown_keys.insert(key("b4"));
        let m = memberships(
            f.loaded.program(),
            &base,
            &est,
            &report,
            &KeyIndex::new(&est.keys),
        );
        assert_eq!(m.adds, vec![("web".to_string(), key("b1"))]);
        let mut removes = m.removes.clone();
        removes.sort();
        assert_eq!(
            removes,
            vec![
                ("retired".to_string(), key("b1")),
                ("web".to_string(), key("b2")),
                ("web".to_string(), key("b3")),
            ]
        );
        assert_eq!(m.sets, vec![vec![true, false, false]]);
    }
}
