//! Evaluating the head once the base is evaluated: a head rule whose
//! results cannot differ from a base rule's takes that rule's results, and
//! only the other rules are evaluated. Both sides read the same inventory
//! at the same clock, so a rule's results are determined by its resource
//! type, its condition (the `fn`s it calls are inlined), its message, its
//! scope group's definition and the exceptions that may exempt it, in
//! order; when all of these are structurally equal, so are the results.
//! A pull request usually changes a few rules, so the head's evaluation
//! shrinks to those few.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use pac_compiler::Program;
use pac_compiler::ir::MessagePart;
#[cfg(test)]
use pac_runtime::Inventory;
use pac_runtime::{EvalReport, RuleResult};

use crate::facts::hash_expr;
use crate::impact::{Evaluated, rule_results};

/// What a rule's results depend on, as one hash per side.
fn signature(program: &Program, rule: usize, group_fps: &[u64]) -> u64 {
    let r = &program.rules[rule];
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.resource_type.hash(&mut h);
    r.resource.0.hash(&mut h);
    hash_expr(&r.cond, &mut h);
    for (slot, e) in &r.message_lets {
        slot.hash(&mut h);
        hash_expr(e, &mut h);
    }
    for part in &r.message {
        match part {
            MessagePart::Text(t) => (0u8, t).hash(&mut h),
            MessagePart::Expr(e) => {
                1u8.hash(&mut h);
                hash_expr(e, &mut h);
            }
        }
    }
    r.scope.map(|g| group_fps.get(g)).hash(&mut h);
    // The exceptions that may exempt it, in program order (the first that
    // matches is the one a result names).
    for x in program
        .exceptions
        .iter()
        .filter(|x| x.rules.contains(&rule))
    {
        (&x.name, x.sticky, &x.resources, x.expires).hash(&mut h);
        x.scope.map(|g| group_fps.get(g)).hash(&mut h);
        for (t, c) in &x.conds {
            t.0.hash(&mut h);
            hash_expr(c, &mut h);
        }
    }
    h.finish()
}

fn group_fingerprints(program: &Program) -> Vec<u64> {
    program
        .groups
        .iter()
        .map(|g| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for m in &g.members {
                m.resource.0.hash(&mut h);
                match &m.cond {
                    Some(c) => hash_expr(c, &mut h),
                    None => 0u8.hash(&mut h),
                }
            }
            h.finish()
        })
        .collect()
}

/// For each head rule, the base rule whose results it has (by id first,
/// then any base rule with the same signature), or `None`: evaluate it.
/// Both programs must share their schemas (record ids are compared).
pub fn reusable(base: &Program, head: &Program) -> Vec<Option<usize>> {
    let (gb, gh) = (group_fingerprints(base), group_fingerprints(head));
    let sigs: Vec<u64> = (0..base.rules.len())
        .map(|r| signature(base, r, &gb))
        .collect();
    let mut by_sig: HashMap<u64, usize> = HashMap::new();
    for (r, s) in sigs.iter().enumerate() {
        by_sig.entry(*s).or_insert(r);
    }
    let by_id: HashMap<&str, usize> = base
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    (0..head.rules.len())
        .map(|h| {
            let s = signature(head, h, &gh);
            match by_id.get(head.rules[h].id.as_str()) {
                Some(&b) if sigs[b] == s => Some(b),
                _ => by_sig.get(&s).copied(),
            }
        })
        .collect()
}

/// `program` with only `rules` (indices, increasing), and no tests: what
/// the head evaluates. Exceptions keep their indices, so results name
/// them as the head does.
fn only(program: &Program, rules: &[usize]) -> Program {
    let new_index: HashMap<usize, usize> = rules.iter().enumerate().map(|(n, &o)| (o, n)).collect();
    let mut p = Program {
        files: program.files.clone(),
        schemas: program.schemas.clone(),
        policies: program.policies.clone(),
        rules: rules.iter().map(|&r| program.rules[r].clone()).collect(),
        groups: program.groups.clone(),
        domains: program.domains.clone(),
        exceptions: program.exceptions.clone(),
        actions: program.actions.clone(),
        tests: Vec::new(),
    };
    for pol in &mut p.policies {
        pol.rules = pol
            .rules
            .iter()
            .filter_map(|r| new_index.get(r).copied())
            .collect();
    }
    for x in &mut p.exceptions {
        x.rules = x
            .rules
            .iter()
            .filter_map(|r| new_index.get(r).copied())
            .collect();
    }
    p
}

/// What the head evaluates itself: the rules [`reusable`] could not
/// match, as a program of their own.
pub struct Plan {
    /// Per head rule, the base rule whose results it takes.
    pub reuse: Vec<Option<usize>>,
    /// The rest, as a program (`None` when every rule is reused).
    pub program: Option<Program>,
}

pub fn plan(base: &Program, head: &Program) -> Plan {
    let reuse = reusable(base, head);
    let dirty: Vec<usize> = (0..head.rules.len())
        .filter(|&h| reuse[h].is_none())
        .collect();
    Plan {
        program: (!dirty.is_empty()).then(|| only(head, &dirty)),
        reuse,
    }
}

/// The head's evaluation: the base's results where the plan reuses them
/// (re-indexed; without messages, as only results that moved are shown
/// and a reused one never moves), and `evaluated` — the plan's program
/// evaluated over the same inventory — for the rest.
pub fn compose<'a>(
    base: &Evaluated<'a>,
    head: &'a Program,
    plan: &Plan,
    evaluated: Option<EvalReport>,
) -> Evaluated<'a> {
    let head_exception: HashMap<&str, usize> = head
        .exceptions
        .iter()
        .enumerate()
        .map(|(i, x)| (x.name.as_str(), i))
        .collect();
    let (sub_results, groups, warnings) = evaluated
        .map(|r| (r.results, r.groups, r.warnings))
        .unwrap_or_default();
    let mut sub_results = sub_results.into_iter().peekable();
    let mut results: Vec<RuleResult> = Vec::with_capacity(base.report.results.len());
    let mut next_dirty = 0;
    for (h, reused) in plan.reuse.iter().enumerate() {
        match reused {
            Some(b) => {
                for r in rule_results(&base.report, *b) {
                    results.push(RuleResult {
                        rule: h,
                        resource: r.resource,
                        outcome: r.outcome.clone(),
                        message: None,
                        exempted_by: r.exempted_by.and_then(|x| {
                            head_exception
                                .get(base.program.exceptions[x].name.as_str())
                                .copied()
                        }),
                        explanation: None,
                    });
                }
            }
            None => {
                let sub_rule = next_dirty;
                next_dirty += 1;
                while let Some(r) = sub_results.next_if(|r| r.rule == sub_rule) {
                    results.push(RuleResult { rule: h, ..r });
                }
            }
        }
    }
    let summary = pac_runtime::eval::summarize(head, &results);
    Evaluated {
        program: head,
        inventory: base.inventory,
        report: EvalReport {
            now: base.report.now,
            results,
            groups,
            warnings,
            summary,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(src: &str) -> Program {
        let c = pac_compiler::compile_sources(vec![("p.pac".into(), src.into())]);
        assert!(
            !c.diagnostics.iter().any(|d| d.is_error()),
            "{:?}",
            c.diagnostics
        );
        (*c.program).clone()
    }

    /// The workspace's root, found at run time (a target directory shared
    /// between checkouts keeps test binaries built in another).
    fn workspace() -> std::path::PathBuf {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        std::path::PathBuf::from(dir).join("..")
    }

    const SRC: &str = r#"
policy a {
  title "a"
  severity high
  category security
  rule on aws.ec2.volume {
    violation when not (encrypted ?? false)
    message "{volume_id} is not encrypted"
  }
}

policy b {
  title "b"
  severity low
  category cost
  rule on aws.ec2.volume {
    violation when (volume_type ?? "") == "gp2"
  }
}

exception "keep" for b {
  resources ["vol-1"]
  expires 2030-01-01
  reason "legacy"
}
"#;

    #[test]
    fn only_rules_whose_inputs_changed_are_evaluated_again() {
        let base = compile(SRC);
        let ai = |p: &Program, id: &str| p.rule(id).unwrap();
        // Severity and layout do not change results; the condition does.
        let head = compile(&SRC.replace("severity low", "severity high").replace(
            "(volume_type ?? \"\") == \"gp2\"",
            "(volume_type ?? \"\") in [\"gp2\", \"standard\"]",
        ));
        let reuse = reusable(&base, &head);
        assert_eq!(reuse[ai(&head, "a")], Some(ai(&base, "a")));
        assert_eq!(reuse[ai(&head, "b")], None);
        // A message or an exception is part of a rule's results.
        let head = compile(&SRC.replace("is not encrypted", "is unencrypted"));
        assert_eq!(reusable(&base, &head)[ai(&head, "a")], None);
        let head = compile(&SRC.replace("vol-1", "vol-2"));
        let reuse = reusable(&base, &head);
        assert_eq!(reuse[ai(&head, "b")], None);
        assert_eq!(reuse[ai(&head, "a")], Some(ai(&base, "a")));
        // A renamed policy with the same rule reuses it.
        let head = compile(&SRC.replace("policy a {", "policy a2 {"));
        assert_eq!(
            reusable(&base, &head)[ai(&head, "a2")],
            Some(ai(&base, "a"))
        );
    }

    fn library() -> Vec<(String, String)> {
        let dir = workspace().join("policies/aws");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pac"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    fn edit(files: &[(String, String)], from: &str, to: &str) -> Vec<(String, String)> {
        let out: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| (n.clone(), t.replacen(from, to, 1)))
            .collect();
        assert_ne!(out, files, "`{from}` is not in the library");
        out
    }

    /// The composed head equals the head evaluated in full, result by
    /// result and in its figures, for changes of every kind.
    #[test]
    fn reused_results_equal_a_full_evaluation() {
        let root = workspace();
        let lib = library();
        let build = |files: Vec<(String, String)>| {
            let c = pac_compiler::compile_sources(files);
            let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{errors:?}");
            (*c.program).clone()
        };
        let base = build(lib.clone());
        let text = std::fs::read_to_string(root.join("examples/demo/inventory.json")).unwrap();
        let (inv, _) = Inventory::read_str(&base.schemas, "demo", &text);
        let now = 1_790_000_000;
        let eb = crate::impact::evaluate(&base, &inv, now);
        let heads = [
            edit(&lib, "severity low", "severity critical"),
            edit(
                &lib,
                "older_than(create_time, 30d)",
                "older_than(create_time, 3d)",
            ),
            edit(&lib, "is unattached and", "is unattached, and"),
            edit(
                &lib,
                "\"sg-0example0bastion\"",
                "\"sg-0example0bastion\", \"sg-1\"",
            ),
            edit(&lib, "expires 2030-01-01", "expires 2020-01-01"),
            edit(&lib, "and is_production_env(tags)", ""),
            edit(
                &lib,
                "title \"Production workloads\"",
                "title \"Production\"",
            ),
        ];
        for (i, files) in heads.into_iter().enumerate() {
            let head = build(files);
            let plan = plan(&base, &head);
            let evaluated = plan
                .program
                .as_ref()
                .map(|p| crate::impact::evaluate(p, &inv, now).report);
            let composed = compose(&eb, &head, &plan, evaluated);
            let full = crate::impact::evaluate(&head, &inv, now);
            let key = |r: &RuleResult| (r.rule, r.resource, r.outcome.clone(), r.exempted_by);
            let a: Vec<_> = composed.report.results.iter().map(key).collect();
            let b: Vec<_> = full.report.results.iter().map(key).collect();
            assert_eq!(a, b, "head {i}");
            assert_eq!(
                format!("{:?}", composed.report.summary),
                format!("{:?}", full.report.summary),
                "head {i}"
            );
            // Something was reused; something evaluated unless only a
            // severity or a title changed.
            let reused = plan.reuse.iter().filter(|r| r.is_some()).count();
            assert!(reused > 0, "head {i}");
            assert_eq!(reused < head.rules.len(), i != 0 && i != 6, "head {i}");
        }
    }
}
