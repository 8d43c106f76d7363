//! Shared by the engine's tests: compile Pac snippets, evaluate them with
//! both engines, compare.

#![allow(dead_code)]

use pac_compiler::{Severity, compile_sources};
use pac_jit::{CompileOptions, Engine};
use pac_runtime::{EvalOptions, Inventory, Outcome, evaluate, evaluate_with};

/// 2026-11-01.
pub const NOW: i64 = 1_793_491_200;

/// A volume type for the engine's tests: `aws.ec2.volume` as the stdlib
/// declared it before every EC2 member became optional (as aws-sdk-rust
/// models them), so that the tests still reach required fields of each type.
pub const FIXTURE: &str = r#"/// The EC2 volume as the stdlib declared it before every EC2 member became
/// optional: the engine's tests need required fields of each type.
schema fixture.volume {
  volume_id: string
  size: int
  volume_type: string
  state: string
  availability_zone: string
  create_time: timestamp
  encrypted: bool
  kms_key_id: string?
  snapshot_id: string?
  iops: int?
  throughput: int?
  attachments: list<FixtureAttachment>
  tags: map<string>
}

/// A volume's attachment, its state and time required.
record FixtureAttachment {
  volume_id: string
  instance_id: string?
  device: string?
  state: string
  attach_time: timestamp
  delete_on_termination: bool?
}
"#;

pub fn compile(src: &str) -> pac_compiler::Compiled {
    let c = compile_sources(vec![
        ("t.pac".into(), src.into()),
        ("fixture.pac".into(), FIXTURE.into()),
    ]);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    c
}

/// A one-rule policy `p_NAME`.
pub fn policy(name: &str, rtype: &str, cond: &str) -> String {
    format!(
        "policy p_{name} {{\n  title \"{name}\"\n  severity low\n  category security\n  rule on {rtype} {{\n    violation when {cond}\n  }}\n}}\n"
    )
}

/// Evaluates `src` over `docs` (NDJSON lines) with both engines; asserts
/// that every outcome agrees and that no rule falls back. Returns the
/// outcomes by (rule id, resource id).
pub fn agree(src: &str, docs: &[String]) -> Vec<(String, String, Outcome)> {
    let c = compile(src);
    let p = &c.program;
    let (inv, errors) = Inventory::read_str(&p.schemas, "t.ndjson", &docs.join("\n"));
    assert!(errors.is_empty(), "{errors:#?}");
    let mut out = Vec::new();
    for coverage in [false, true] {
        let engine = Engine::compile_with(
            p,
            CompileOptions {
                coverage,
                ..Default::default()
            },
        );
        let fallbacks = pac_jit::fallback_report(p, &engine);
        assert!(fallbacks.is_empty(), "fell back: {fallbacks:#?}");
        let prepared = engine.prepare(&inv);
        let cov_i = pac_runtime::Coverage::for_program(p);
        let cov_j = pac_runtime::Coverage::for_program(p);
        let opts = |cov| EvalOptions {
            now: NOW,
            explain: false,
            coverage: if coverage { Some(cov) } else { None },
        };
        let a = evaluate(p, &inv, &opts(&cov_i));
        let b = evaluate_with(p, &inv, &opts(&cov_j), Some(&prepared));
        assert_eq!(a.results.len(), b.results.len());
        for (x, y) in a.groups.iter().zip(&b.groups) {
            assert_eq!(x.members, y.members, "group {}", p.groups[x.group].name);
            assert_eq!(x.errors, y.errors, "group {}", p.groups[x.group].name);
        }
        for (x, y) in a.results.iter().zip(&b.results) {
            let rule = &p.rules[x.rule].id;
            let res = &inv.resources[x.resource].id;
            assert_eq!(x.outcome, y.outcome, "rule `{rule}` on `{res}`");
            assert_eq!(x.message, y.message, "rule `{rule}` on `{res}`");
            if !coverage {
                out.push((rule.clone(), res.to_string(), x.outcome.clone()));
            }
        }
        // The engine decided these itself: compare its raw outputs too.
        assert_raw_outcomes(p, &inv, &prepared, &a, NOW);
        if coverage {
            let mut max = 0;
            pac_runtime::interp::for_each_root(p, &mut |e| {
                e.walk(&mut |n| max = max.max(n.id + 1))
            });
            for id in 0..max {
                assert_eq!(cov_i.seen(id), cov_j.seen(id), "coverage of node {id}");
            }
        }
    }
    out
}

pub fn outcome_of<'a>(
    results: &'a [(String, String, Outcome)],
    rule: &str,
    res: &str,
) -> &'a Outcome {
    let rule = format!("p_{rule}");
    &results
        .iter()
        .find(|(r, x, _)| *r == rule && x == res)
        .unwrap_or_else(|| panic!("no result for {rule} on {res}"))
        .2
}

pub fn is_error(o: &Outcome) -> bool {
    matches!(o, Outcome::Error(_))
}

pub fn volume(id: &str, size: i64, extra: &str) -> String {
    format!(
        r#"{{"type":"fixture.volume","id":"{id}","account":"1","region":"r","attributes":{{"volume_id":"{id}","size":{size},"volume_type":"gp3","state":"in-use","availability_zone":"a","create_time":"2026-01-01T00:00:00Z","encrypted":true{extra}}}}}"#
    )
}

pub fn finding(id: &str, target: &str, cvss: f64, extra: &str) -> String {
    format!(
        r#"{{"type":"vuln.finding","id":"{id}","account":"1","region":"r","attributes":{{"resource_id":"{target}","cve":"CVE-1","title":"t","cvss":{cvss},"severity":"high","first_seen":"2026-01-01T00:00:00Z","scanner":"s"{extra}}}}}"#
    )
}

pub fn sg(id: &str, perms: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"aws.ec2.security_group","id":"{id}","account":"1","region":"r","attributes":{{"group_id":"{id}","group_name":"g","owner_id":"1","ip_permissions":{perms}{extra}}}}}"#
    )
}

/// The native engine's raw per-row outputs for every rule agree with the
/// interpreter's report (resources outside a rule's scope are skipped).
pub fn assert_raw_outcomes(
    p: &pac_compiler::Program,
    inv: &Inventory,
    prepared: &pac_jit::Prepared<'_>,
    interp: &pac_runtime::EvalReport,
    now: i64,
) {
    for (ri, rule) in p.rules.iter().enumerate() {
        let rows: Vec<usize> = inv
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.rtype == rule.resource)
            .map(|(i, _)| i)
            .collect();
        let raw = prepared.run_rule(ri, &rows, now, None).expect("compiled");
        for (k, &res) in rows.iter().enumerate() {
            let want = match interp.result(ri, res).map(|r| &r.outcome) {
                Some(Outcome::Pass) => 0,
                Some(Outcome::Fail) => 1,
                Some(Outcome::Error(_)) => 2,
                None => continue,
            };
            assert_eq!(
                raw[k], want,
                "raw: rule `{}` on `{}`",
                rule.id, inv.resources[res].id
            );
        }
    }
}
