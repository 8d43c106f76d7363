//! The CIS AWS Foundations Benchmark v1.5.0 mapping (issue 18, part 2):
//! every control of the benchmark is listed in `docs/cis/cis-aws-1.5.tsv`
//! with the policies of the bundled library that check it, or why none does
//! (`later`: a collector or a policy not written yet; `never`: a manual
//! control). The claims are checked against the compiled library: a listed
//! policy exists and carries the tag `cis-aws-1.5:<control>`, and every such
//! tag of the library is listed. `docs/cis-aws.md` is generated from it
//! (`PAC_BLESS=1` rewrites it). `pacc eval --framework cis-aws` reports by
//! these tags.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
}

const TAG: &str = "cis-aws-1.5";
const STATUSES: &[(&str, &str)] = &[
    ("pac", "checked by the library"),
    ("partial", "partly checked (what is missing is said)"),
    ("later", "needs a collector or a policy not written yet"),
    ("never", "a manual control: no API answers it"),
];

struct Control {
    id: String,
    title: String,
    assessment: String,
    status: String,
    policies: Vec<String>,
    reason: String,
}

fn controls() -> Vec<Control> {
    let path = root().join("docs/cis/cis-aws-1.5.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 5, "cis-aws-1.5.tsv line {}: five columns", i + 2);
            let (policies, reason) = match c[3] {
                "pac" => (
                    c[4].split(',').map(|s| s.trim().to_owned()).collect(),
                    String::new(),
                ),
                "partial" => {
                    let (p, why) = c[4].split_once(';').unwrap_or_else(|| {
                        panic!(
                            "cis-aws-1.5.tsv line {}: `policies; what is missing`",
                            i + 2
                        )
                    });
                    (
                        p.split(',').map(|s| s.trim().to_owned()).collect(),
                        why.trim().to_owned(),
                    )
                }
                _ => (Vec::new(), c[4].to_owned()),
            };
            Control {
                id: c[0].to_owned(),
                title: c[1].to_owned(),
                assessment: c[2].to_owned(),
                status: c[3].to_owned(),
                policies,
                reason,
            }
        })
        .collect()
}

#[test]
fn every_cis_control_is_mapped_or_explained_and_the_tags_agree() {
    let files = pac_bundle::policy_sources(&[root().join("policies")]).unwrap();
    let c = pac_compiler::compile_sources(files);
    assert!(
        !c.diagnostics.iter().any(|d| d.is_error()),
        "the library compiles"
    );
    let p = c.program;
    let by_name: BTreeMap<&str, &pac_compiler::ir::Policy> =
        p.policies.iter().map(|x| (x.name.as_str(), x)).collect();
    let rows = controls();
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for r in &rows {
        assert!(ids.insert(r.id.clone()), "control {} is listed twice", r.id);
        assert!(
            STATUSES.iter().any(|(s, _)| *s == r.status),
            "control {}: status `{}`",
            r.id,
            r.status
        );
        assert!(
            matches!(r.assessment.as_str(), "automated" | "manual"),
            "control {}: assessment `{}`",
            r.id,
            r.assessment
        );
        if r.status == "never" {
            assert_eq!(
                r.assessment, "manual",
                "control {}: only manual controls are `never`",
                r.id
            );
        }
        if r.status != "pac" {
            assert!(
                r.reason.len() >= 20,
                "control {}: say why it is {}",
                r.id,
                r.status
            );
        }
        for name in &r.policies {
            let policy = by_name
                .get(name.as_str())
                .unwrap_or_else(|| panic!("control {}: no policy `{name}` in policies/", r.id));
            let tag = format!("{TAG}:{}", r.id);
            assert!(policy.tags.contains(&tag), "`{name}` lacks the tag {tag:?}");
            listed.insert((name.clone(), tag));
        }
    }
    for policy in &p.policies {
        for tag in policy
            .tags
            .iter()
            .filter(|t| t.starts_with(&format!("{TAG}:")))
        {
            if tag.ends_with(":*") {
                continue;
            }
            assert!(
                listed.contains(&(policy.name.clone(), tag.clone())),
                "`{}` is tagged {tag:?} but docs/cis/cis-aws-1.5.tsv does not list it for that control",
                policy.name
            );
        }
    }
}

fn table(rows: &[Control]) -> String {
    let mut out = String::from(
        "# CIS AWS Foundations Benchmark v1.5.0\n\n\
         <!-- Generated by tests/cis_coverage.rs from docs/cis/cis-aws-1.5.tsv;\n\
         `PAC_BLESS=1 cargo test --test cis_coverage` rewrites it. -->\n\n\
         Each control of the benchmark and the policies of the bundled library\n\
         that check it (tag `cis-aws-1.5:<control>`). `pacc eval --framework\n\
         cis-aws` reports an inventory's compliance by these controls.\n\n\
         | status | meaning | automated | manual |\n| --- | --- | ---: | ---: |\n",
    );
    for (s, meaning) in STATUSES {
        let n = |a: &str| {
            rows.iter()
                .filter(|r| r.status == *s && r.assessment == a)
                .count()
        };
        out.push_str(&format!(
            "| {s} | {meaning} | {} | {} |\n",
            n("automated"),
            n("manual")
        ));
    }
    let n = |a: &str| rows.iter().filter(|r| r.assessment == a).count();
    out.push_str(&format!(
        "| | all | {} | {} |\n\n",
        n("automated"),
        n("manual")
    ));
    out.push_str(
        "| control | title | assessment | status | Pac |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let names = r
            .policies
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let pac = match r.status.as_str() {
            "pac" => names,
            "partial" => format!("{names}: {}", r.reason),
            _ => r.reason.clone(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id,
            r.title.replace('|', "\\|"),
            r.assessment,
            r.status,
            pac.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn the_generated_cis_table_is_up_to_date() {
    let want = table(&controls());
    let path = root().join("docs/cis-aws.md");
    if std::env::var_os("PAC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/cis-aws.md is out of date: run `PAC_BLESS=1 cargo test --test cis_coverage`"
    );
}
