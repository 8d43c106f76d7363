//! PacBot parity (issue 18): every AWS rule PacBot ships
//! (`docs/pacbot/pacbot-aws-rules.tsv`, its 112 rule instances) is either
//! expressed by policies of the bundled library or explained
//! (`docs/pacbot/coverage.tsv`), and `docs/pacbot-coverage.md` is the table
//! generated from both. The claims are checked against the compiled
//! library: a listed policy exists, carries the `pacbot:<rule_key>` tag and
//! has a rule on the type the row names; every `pacbot:` tag of the library
//! is claimed by a row. `PAC_BLESS=1` rewrites the generated table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
}

fn tsv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

const STATUSES: &[(&str, &str)] = &[
    ("pac", "expressed by the library"),
    ("partial", "partly expressed (what is missing is said)"),
    ("later", "needs a collector or a rule not written yet"),
    (
        "declined",
        "left out of the bundled library on purpose (one line adds it)",
    ),
    (
        "never",
        "not a configuration check (metrics, content, Trusted Advisor)",
    ),
];

struct Row {
    key: String,
    target: String,
    name: String,
    status: String,
    pac_type: String,
    policies: Vec<String>,
    reason: String,
}

fn rows() -> Vec<Row> {
    let reference = tsv(&root().join("docs/pacbot/pacbot-aws-rules.tsv"));
    let coverage = tsv(&root().join("docs/pacbot/coverage.tsv"));
    assert_eq!(
        reference.len(),
        coverage.len(),
        "docs/pacbot/coverage.tsv must have one line per rule of pacbot-aws-rules.tsv, in its order"
    );
    reference
        .iter()
        .zip(&coverage)
        .enumerate()
        .map(|(i, (r, c))| {
            assert_eq!(
                r[..3],
                c[..3],
                "coverage.tsv line {} is not the reference's rule {}",
                i + 2,
                i + 2
            );
            assert_eq!(c.len(), 6, "coverage.tsv line {}: six columns", i + 2);
            let (policies, reason) = match c[3].as_str() {
                "pac" => (
                    c[5].split(',').map(|s| s.trim().to_string()).collect(),
                    String::new(),
                ),
                "partial" => {
                    let (p, why) = c[5].split_once(';').unwrap_or_else(|| {
                        panic!("coverage.tsv line {}: `policies; what is missing`", i + 2)
                    });
                    (
                        p.split(',').map(|s| s.trim().to_string()).collect(),
                        why.trim().to_string(),
                    )
                }
                _ => (Vec::new(), c[5].clone()),
            };
            Row {
                key: c[0].clone(),
                target: c[1].clone(),
                name: c[2].clone(),
                status: c[3].clone(),
                pac_type: c[4].clone(),
                policies,
                reason,
            }
        })
        .collect()
}

fn library() -> std::sync::Arc<pac_compiler::Program> {
    let files = pac_bundle::policy_sources(&[root().join("policies")]).unwrap();
    let c = pac_compiler::compile_sources(files);
    assert!(
        !c.diagnostics.iter().any(|d| d.is_error()),
        "the bundled library compiles"
    );
    c.program
}

#[test]
fn every_pacbot_rule_is_expressed_or_explained_and_the_claims_hold() {
    let rows = rows();
    let p = library();
    let by_name: BTreeMap<&str, &pac_compiler::ir::Policy> =
        p.policies.iter().map(|x| (x.name.as_str(), x)).collect();
    let mut claimed: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        assert!(
            STATUSES.iter().any(|(s, _)| *s == r.status),
            "coverage.tsv line {line}: status `{}` is not one of pac, partial, later, declined, never",
            r.status
        );
        if matches!(r.status.as_str(), "pac" | "partial") {
            assert!(!r.policies.is_empty(), "line {line}: no policy named");
            for name in &r.policies {
                let policy = by_name
                    .get(name.as_str())
                    .unwrap_or_else(|| panic!("line {line}: no policy `{name}` in policies/"));
                if !r.key.is_empty() {
                    let tag = format!("pacbot:{}", r.key);
                    assert!(
                        policy.tags.contains(&tag),
                        "line {line}: `{name}` lacks the tag {tag:?}"
                    );
                    claimed.insert((name.clone(), tag));
                }
                let types: Vec<&str> = r.pac_type.split(',').map(str::trim).collect();
                assert!(
                    policy
                        .rules
                        .iter()
                        .any(|&k| types.contains(&p.rules[k].resource_type.as_str())),
                    "line {line}: `{name}` has no rule on `{}`",
                    r.pac_type
                );
            }
        }
        if r.status != "pac" {
            assert!(
                r.reason.len() >= 20,
                "line {line}: say why `{}` ({}) is {}",
                r.name,
                r.target,
                r.status
            );
        }
    }
    // No tag claims parity that the table does not list.
    for policy in &p.policies {
        for tag in policy.tags.iter().filter(|t| t.starts_with("pacbot:")) {
            assert!(
                claimed.contains(&(policy.name.clone(), tag.clone())),
                "`{}` is tagged {tag:?} but docs/pacbot/coverage.tsv does not list it for that rule",
                policy.name
            );
        }
    }
}

/// The generated table.
fn table(rows: &[Row]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.status.as_str()).or_default() += 1;
    }
    let mut out = String::from(
        "# PacBot parity\n\n\
         <!-- Generated by tests/pacbot_coverage.rs from docs/pacbot/coverage.tsv\n\
         and docs/pacbot/pacbot-aws-rules.tsv (PacBot's AWS rule instances,\n\
         Apache-2.0); `PAC_BLESS=1 cargo test --test pacbot_coverage` rewrites it. -->\n\n\
         Each of the AWS rule instances PacBot ships, and what Pac has for it.\n\
         The claims are checked by the test against the bundled library (the\n\
         policy exists, carries the `pacbot:` tag and has a rule on the type).\n\n\
         | status | meaning | rules |\n| --- | --- | ---: |\n",
    );
    for (s, meaning) in STATUSES {
        out.push_str(&format!(
            "| {s} | {meaning} | {} |\n",
            counts.get(s).copied().unwrap_or(0)
        ));
    }
    out.push_str(&format!("| | all | {} |\n\n", rows.len()));
    out.push_str(
        "| PacBot rule | on | what it checks | status | Pac |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let pac = match r.status.as_str() {
            "pac" => format!(
                "{} on `{}`",
                r.policies
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.pac_type
            ),
            "partial" => format!(
                "{} on `{}`: {}",
                r.policies
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.pac_type,
                r.reason
            ),
            _ => r.reason.clone(),
        };
        let key = if r.key.is_empty() {
            "(no key)".to_string()
        } else {
            format!("`{}`", r.key)
        };
        out.push_str(&format!(
            "| {key} | {} | {} | {} | {} |\n",
            r.target,
            r.name.trim().replace("  ", " "),
            r.status,
            pac.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn the_generated_table_is_up_to_date() {
    let want = table(&rows());
    let path = root().join("docs/pacbot-coverage.md");
    if std::env::var_os("PAC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/pacbot-coverage.md is out of date: run `PAC_BLESS=1 cargo test --test pacbot_coverage`"
    );
}
