//! The semantic diff of two sides' [`Facts`]: policies and rules matched
//! by name, then what is left by body (the rules' resource types and
//! condition fingerprints), so a rename shows as a rename; per match, the
//! fields that changed. Exceptions, asset groups and tests are matched by
//! name.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::facts::{Facts, Location, PolicyFacts, RuleFacts};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Added,
    Removed,
    Renamed,
    Changed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Renamed => "renamed",
            Status::Changed => "changed",
        }
    }
}

/// One changed field, with its text before and after (absent: none, or
/// not shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleDiff {
    pub status: Status,
    pub id: String,
    /// The base's id, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    pub resource_type: String,
    /// On the head; on the base for a removed rule.
    pub at: Location,
    pub changes: Vec<Change>,
    /// The auto-fix the head binds to this rule when the base bound none
    /// or another one: actions that will act on the estate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_autofix: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyDiff {
    /// `None`: the policy itself is unchanged, only rules of it changed.
    pub status: Option<Status>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_name: Option<String>,
    pub severity: pac_compiler::ir::Severity,
    pub at: Location,
    pub changes: Vec<Change>,
    pub rules: Vec<RuleDiff>,
}

/// An exception, an asset group or a test.
#[derive(Clone, Debug, Serialize)]
pub struct ItemDiff {
    pub status: Status,
    pub name: String,
    pub at: Location,
    pub changes: Vec<Change>,
}

/// A rule on either side, matched: indices into the sides' rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RulePair {
    pub base: Option<usize>,
    pub head: Option<usize>,
    /// The rule is listed in the diff (added, removed, renamed, changed).
    pub listed: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Diff {
    pub policies: Vec<PolicyDiff>,
    pub exceptions: Vec<ItemDiff>,
    pub groups: Vec<ItemDiff>,
    pub tests: Vec<ItemDiff>,
    /// Every rule of either side, matched or not (unchanged ones too), in
    /// head order then the base's removed ones.
    #[serde(skip)]
    pub pairs: Vec<RulePair>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.exceptions.is_empty()
            && self.groups.is_empty()
            && self.tests.is_empty()
    }

    /// Every rule diff, with its policy.
    pub fn rules(&self) -> impl Iterator<Item = (&PolicyDiff, &RuleDiff)> {
        self.policies
            .iter()
            .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
    }
}

fn change<T: PartialEq>(
    out: &mut Vec<Change>,
    field: &'static str,
    before: &T,
    after: &T,
    show: impl Fn(&T) -> Option<String>,
) {
    if before != after {
        out.push(Change {
            field,
            before: show(before),
            after: show(after),
        });
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// A date from Unix seconds: `2027-03-31`.
pub fn day(secs: i64) -> String {
    let t = pac_stdlib::Value::Time(secs).to_string();
    t.get(..10).unwrap_or(&t).to_string()
}

fn policy_changes(b: &PolicyFacts, h: &PolicyFacts) -> Vec<Change> {
    let mut out = Vec::new();
    change(&mut out, "title", &b.title, &h.title, |s| some(s));
    change(
        &mut out,
        "description",
        &b.description,
        &h.description,
        |s| s.clone(),
    );
    change(&mut out, "severity", &b.severity, &h.severity, |s| {
        some(s.name())
    });
    change(&mut out, "category", &b.category, &h.category, |s| some(s));
    change(&mut out, "tags", &b.tags, &h.tags, |t| Some(t.join(", ")));
    change(
        &mut out,
        "remediation",
        &b.remediation,
        &h.remediation,
        |s| s.clone(),
    );
    out
}

fn rule_changes(b: &RuleFacts, h: &RuleFacts) -> Vec<Change> {
    let mut out = Vec::new();
    change(
        &mut out,
        "resource_type",
        &b.resource_type,
        &h.resource_type,
        |s| some(s),
    );
    if b.condition != h.condition {
        out.push(Change {
            field: "condition",
            before: some(&b.condition_text),
            after: some(&h.condition_text),
        });
    }
    if b.message != h.message {
        out.push(Change {
            field: "message",
            before: None,
            after: None,
        });
    }
    let scope_name = |s: &Option<(String, u64)>| s.as_ref().map(|(n, _)| n.clone());
    if scope_name(&b.scope) != scope_name(&h.scope) {
        out.push(Change {
            field: "scope",
            before: scope_name(&b.scope),
            after: scope_name(&h.scope),
        });
    } else if b.scope != h.scope {
        out.push(Change {
            field: "scope_group_definition",
            before: scope_name(&b.scope),
            after: scope_name(&h.scope),
        });
    }
    let fp = |a: &Option<crate::facts::AutofixFacts>| a.as_ref().map(|a| a.fingerprint);
    if fp(&b.autofix) != fp(&h.autofix) {
        out.push(Change {
            field: "autofix",
            before: b.autofix.as_ref().map(|a| a.text.clone()),
            after: h.autofix.as_ref().map(|a| a.text.clone()),
        });
    }
    out
}

/// The rule's name inside its policy (`""` for a policy's only rule).
fn local_name<'a>(rule: &'a RuleFacts, policy: &str) -> &'a str {
    rule.id
        .strip_prefix(policy)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or(if rule.id == policy { "" } else { &rule.id })
}

type Body<'a> = (&'a str, u64);

fn body(r: &RuleFacts) -> Body<'_> {
    (&r.resource_type, r.condition)
}

/// Matches `base` with `head` items: first by `name`, then what is left by
/// `body` (when the body is `Some`); returns pairs (base, head) plus the
/// unmatched on each side, in order.
fn match_items<K: Eq + std::hash::Hash, B: Eq>(
    base: &[usize],
    head: &[usize],
    name_b: impl Fn(usize) -> K,
    name_h: impl Fn(usize) -> K,
    body_b: impl Fn(usize) -> Option<B>,
    body_h: impl Fn(usize) -> Option<B>,
) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
    let by_name: HashMap<K, usize> = head.iter().map(|&h| (name_h(h), h)).collect();
    let mut pairs = Vec::new();
    let mut taken = std::collections::HashSet::new();
    let mut left_b = Vec::new();
    for &b in base {
        match by_name.get(&name_b(b)) {
            Some(&h) if taken.insert(h) => pairs.push((b, h)),
            _ => left_b.push(b),
        }
    }
    let mut left_h: Vec<usize> = head
        .iter()
        .copied()
        .filter(|h| !taken.contains(h))
        .collect();
    let mut still_b = Vec::new();
    for b in left_b {
        let found = body_b(b).and_then(|bb| {
            left_h
                .iter()
                .position(|&h| body_h(h).is_some_and(|hb| hb == bb))
        });
        match found {
            Some(i) => pairs.push((b, left_h.remove(i))),
            None => still_b.push(b),
        }
    }
    (pairs, still_b, left_h)
}

fn rule_diff(
    status: Status,
    r: &RuleFacts,
    previous_id: Option<String>,
    changes: Vec<Change>,
    base_autofix: Option<u64>,
) -> RuleDiff {
    let new_autofix = r
        .autofix
        .as_ref()
        .filter(|a| Some(a.fingerprint) != base_autofix && status != Status::Removed)
        .map(|a| a.text.clone());
    RuleDiff {
        status,
        id: r.id.clone(),
        previous_id,
        resource_type: r.resource_type.clone(),
        at: r.at.clone(),
        changes,
        new_autofix,
    }
}

fn policy_body(f: &Facts, p: usize) -> Option<Vec<(String, u64)>> {
    let mut v: Vec<(String, u64)> = f.policies[p]
        .rules
        .iter()
        .filter_map(|&r| f.rules.get(r))
        .map(|r| (r.resource_type.clone(), r.condition))
        .collect();
    v.sort();
    (!v.is_empty()).then_some(v)
}

/// The semantic diff from `base` to `head`.
pub fn diff(base: &Facts, head: &Facts) -> Diff {
    let all_b: Vec<usize> = (0..base.policies.len()).collect();
    let all_h: Vec<usize> = (0..head.policies.len()).collect();
    let (pairs, removed, added) = match_items(
        &all_b,
        &all_h,
        |b| base.policies[b].name.as_str(),
        |h| head.policies[h].name.as_str(),
        |b| policy_body(base, b),
        |h| policy_body(head, h),
    );
    let mut out = Diff::default();
    // Head order for kept and added policies, then the removed ones.
    let mut order: Vec<(Option<usize>, Option<usize>)> = all_h
        .iter()
        .map(|&h| (pairs.iter().find(|p| p.1 == h).map(|p| p.0), Some(h)))
        .collect();
    order.extend(removed.iter().map(|&b| (Some(b), None)));
    let _ = added;
    for (b, h) in order {
        match (b, h) {
            (Some(b), Some(h)) => {
                let (pb, ph) = (&base.policies[b], &head.policies[h]);
                let (rpairs, rremoved, radded) = match_items(
                    &pb.rules,
                    &ph.rules,
                    |r| local_name(&base.rules[r], &pb.name),
                    |r| local_name(&head.rules[r], &ph.name),
                    |r| Some(body(&base.rules[r])),
                    |r| Some(body(&head.rules[r])),
                );
                let mut rules = Vec::new();
                for &hr in &ph.rules {
                    if let Some(&(br, _)) = rpairs.iter().find(|p| p.1 == hr) {
                        let (rb, rh) = (&base.rules[br], &head.rules[hr]);
                        let changes = rule_changes(rb, rh);
                        let renamed = local_name(rb, &pb.name) != local_name(rh, &ph.name);
                        out.pairs.push(RulePair {
                            base: Some(br),
                            head: Some(hr),
                            listed: renamed || !changes.is_empty() || rb.id != rh.id,
                        });
                        if renamed || !changes.is_empty() {
                            rules.push(rule_diff(
                                if renamed {
                                    Status::Renamed
                                } else {
                                    Status::Changed
                                },
                                rh,
                                (rb.id != rh.id).then(|| rb.id.clone()),
                                changes,
                                rb.autofix.as_ref().map(|a| a.fingerprint),
                            ));
                        } else if rb.id != rh.id {
                            // The policy was renamed: its rule's id follows.
                            rules.push(rule_diff(
                                Status::Renamed,
                                rh,
                                Some(rb.id.clone()),
                                changes,
                                rb.autofix.as_ref().map(|a| a.fingerprint),
                            ));
                        }
                    } else if radded.contains(&hr) {
                        out.pairs.push(RulePair {
                            base: None,
                            head: Some(hr),
                            listed: true,
                        });
                        rules.push(rule_diff(
                            Status::Added,
                            &head.rules[hr],
                            None,
                            vec![],
                            None,
                        ));
                    }
                }
                for br in rremoved {
                    out.pairs.push(RulePair {
                        base: Some(br),
                        head: None,
                        listed: true,
                    });
                    rules.push(rule_diff(
                        Status::Removed,
                        &base.rules[br],
                        None,
                        vec![],
                        None,
                    ));
                }
                let changes = policy_changes(pb, ph);
                let status = if pb.name != ph.name {
                    Some(Status::Renamed)
                } else if !changes.is_empty() {
                    Some(Status::Changed)
                } else {
                    None
                };
                if status.is_some() || !rules.is_empty() {
                    out.policies.push(PolicyDiff {
                        status,
                        name: ph.name.clone(),
                        previous_name: (pb.name != ph.name).then(|| pb.name.clone()),
                        severity: ph.severity,
                        at: ph.at.clone(),
                        changes,
                        rules,
                    });
                }
            }
            (None, Some(h)) => {
                let ph = &head.policies[h];
                let rules = ph
                    .rules
                    .iter()
                    .map(|&r| {
                        out.pairs.push(RulePair {
                            base: None,
                            head: Some(r),
                            listed: true,
                        });
                        rule_diff(Status::Added, &head.rules[r], None, vec![], None)
                    })
                    .collect();
                out.policies.push(PolicyDiff {
                    status: Some(Status::Added),
                    name: ph.name.clone(),
                    previous_name: None,
                    severity: ph.severity,
                    at: ph.at.clone(),
                    changes: vec![],
                    rules,
                });
            }
            (Some(b), None) => {
                let pb = &base.policies[b];
                let rules = pb
                    .rules
                    .iter()
                    .map(|&r| {
                        out.pairs.push(RulePair {
                            base: Some(r),
                            head: None,
                            listed: true,
                        });
                        rule_diff(Status::Removed, &base.rules[r], None, vec![], None)
                    })
                    .collect();
                out.policies.push(PolicyDiff {
                    status: Some(Status::Removed),
                    name: pb.name.clone(),
                    previous_name: None,
                    severity: pb.severity,
                    at: pb.at.clone(),
                    changes: vec![],
                    rules,
                });
            }
            (None, None) => {}
        }
    }
    out.exceptions = by_name(
        base.exceptions.iter().map(|x| (x.name.as_str(), x)),
        head.exceptions.iter().map(|x| (x.name.as_str(), x)),
        |x| x.at.clone(),
        |b, h| {
            let mut out = Vec::new();
            change(&mut out, "sticky", &b.sticky, &h.sticky, |s| {
                Some(s.to_string())
            });
            change(&mut out, "rules", &b.rules, &h.rules, |r| {
                Some(r.join(", "))
            });
            change(&mut out, "resources", &b.resources, &h.resources, |r| {
                Some(r.join(", "))
            });
            if b.condition != h.condition {
                out.push(Change {
                    field: "condition",
                    before: b.condition_text.clone(),
                    after: h.condition_text.clone(),
                });
            }
            change(&mut out, "expires", &b.expires, &h.expires, |e| e.map(day));
            change(&mut out, "reason", &b.reason, &h.reason, |s| some(s));
            out
        },
    );
    out.groups = by_name(
        base.groups.iter().map(|g| (g.name.as_str(), g)),
        head.groups.iter().map(|g| (g.name.as_str(), g)),
        |g| g.at.clone(),
        |b, h| {
            if b.fingerprint == h.fingerprint {
                vec![]
            } else {
                vec![Change {
                    field: "members",
                    before: None,
                    after: None,
                }]
            }
        },
    );
    out.tests = by_name(
        base.tests.iter().map(|t| (t.name.as_str(), t)),
        head.tests.iter().map(|t| (t.name.as_str(), t)),
        |t| t.at.clone(),
        |_, _| vec![],
    );
    out
}

/// Items matched by name: added and changed in head order, then removed.
fn by_name<'a, T: 'a>(
    base: impl Iterator<Item = (&'a str, &'a T)>,
    head: impl Iterator<Item = (&'a str, &'a T)>,
    at: impl Fn(&T) -> Location,
    changes: impl Fn(&T, &T) -> Vec<Change>,
) -> Vec<ItemDiff> {
    let base: BTreeMap<&str, &T> = base.collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (name, h) in head {
        seen.insert(name);
        match base.get(name) {
            None => out.push(ItemDiff {
                status: Status::Added,
                name: name.to_string(),
                at: at(h),
                changes: vec![],
            }),
            Some(b) => {
                let changes = changes(b, h);
                if !changes.is_empty() {
                    out.push(ItemDiff {
                        status: Status::Changed,
                        name: name.to_string(),
                        at: at(h),
                        changes,
                    });
                }
            }
        }
    }
    for (name, b) in base {
        if !seen.contains(name) {
            out.push(ItemDiff {
                status: Status::Removed,
                name: name.to_string(),
                at: at(b),
                changes: vec![],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::test_support::{UNENCRYPTED, facts};

    fn base() -> String {
        format!("{UNENCRYPTED}{REST}")
    }

    const REST: &str = r#"
policy gp2 {
  title "Volumes are not gp2"
  severity low
  category cost
  rule on aws.ec2.volume {
    violation when (volume_type ?? "") == "gp2"
    message "{volume_id} is gp2"
  }
}

exception "CHG-1" for gp2 {
  resources ["vol-1"]
  expires 2027-01-01
  reason "migration planned"
}

test "gp2 fails" {
  given aws.ec2.volume v {
    volume_id: "vol-9", volume_type: "gp2", size: 8, state: "in-use",
    availability_zone: "us-east-1a", create_time: 2026-01-01, encrypted: true,
  }
  expect gp2 fails v
}
"#;

    #[test]
    fn nothing_changed_is_an_empty_diff_with_every_rule_paired() {
        let f = facts(&base());
        let d = diff(&f, &f);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.pairs.len(), 2);
        assert!(d.pairs.iter().all(|p| p.base.is_some() && p.head.is_some()));
    }

    #[test]
    fn condition_severity_exception_and_test_changes_are_named() {
        let head = base()
            .replace("severity low", "severity medium")
            .replace(
                "(volume_type ?? \"\") == \"gp2\"",
                "(volume_type ?? \"\") in [\"gp2\", \"standard\"]",
            )
            .replace("expires 2027-01-01", "expires 2027-06-01")
            .replace("test \"gp2 fails\"", "test \"gp2 and standard fail\"");
        let d = diff(&facts(&base()), &facts(&head));
        assert_eq!(d.policies.len(), 1);
        let p = &d.policies[0];
        assert_eq!((p.name.as_str(), p.status), ("gp2", Some(Status::Changed)));
        assert_eq!(
            p.changes,
            vec![Change {
                field: "severity",
                before: some("low"),
                after: some("medium")
            }]
        );
        assert_eq!(p.rules[0].changes[0].field, "condition");
        assert_eq!(
            p.rules[0].changes[0].after.as_deref(),
            Some("(volume_type ?? \"\") in [\"gp2\", \"standard\"]")
        );
        assert_eq!(d.exceptions[0].changes[0].field, "expires");
        assert_eq!(
            d.exceptions[0].changes[0].after.as_deref(),
            Some("2027-06-01")
        );
        let tests: Vec<_> = d
            .tests
            .iter()
            .map(|t| (t.status, t.name.as_str()))
            .collect();
        assert_eq!(
            tests,
            vec![
                (Status::Added, "gp2 and standard fail"),
                (Status::Removed, "gp2 fails")
            ]
        );
    }

    #[test]
    fn a_renamed_policy_is_matched_by_body_and_a_new_autofix_stands_out() {
        let head = base()
            .replace("policy gp2 {", "policy volume_gp2 {")
            .replace("for gp2 {", "for volume_gp2 {")
            .replace("expect gp2 fails", "expect volume_gp2 fails");
        let d = diff(&facts(&base()), &facts(&head));
        let p = &d.policies[0];
        assert_eq!(p.status, Some(Status::Renamed));
        assert_eq!(p.previous_name.as_deref(), Some("gp2"));
        assert_eq!(p.rules[0].previous_id.as_deref(), Some("gp2"));
        assert_eq!(d.pairs.len(), 2);

        let head = base().replace(
            "    message \"{volume_id} is not encrypted\"\n  }\n",
            "    message \"{volume_id} is not encrypted\"\n  }\n  autofix notify_only() notify \"secops@example.com\"\n",
        );
        let d = diff(&facts(&base()), &facts(&head));
        let r = &d.policies[0].rules[0];
        assert_eq!(r.changes[0].field, "autofix");
        assert!(
            r.new_autofix
                .as_deref()
                .unwrap()
                .starts_with("autofix notify_only()")
        );
    }

    #[test]
    fn added_and_removed_policies_list_their_rules() {
        let head = base()
            .replace("policy unencrypted_volumes", "policy encrypted_volumes")
            .replace(
                "not (encrypted ?? false)\n",
                "(encrypted ?? false) == false\n",
            );
        let d = diff(&facts(&base()), &facts(&head));
        let got: Vec<_> = d
            .policies
            .iter()
            .map(|p| (p.status, p.name.as_str(), p.rules.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(Status::Added), "encrypted_volumes", 1),
                (Some(Status::Removed), "unencrypted_volumes", 1)
            ]
        );
        assert_eq!(d.pairs.len(), 3);
    }
}
