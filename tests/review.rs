//! `pacc review` end to end on a real git repository made by the test:
//! two commits that change a policy's condition and severity, bind an
//! auto-fix, move an exception and remove a test; the review's diff, its
//! impact on the demo inventory and every output format, with SARIF
//! validated against the official SARIF 2.1.0 schema. Also `pacc check
//! --format sarif|github` and `pacc test --format junit` (validated against
//! the JUnit XSD with Python's `xmlschema`, which ./scripts/test installs).

mod server_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pacc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pacc runs")
}

/// Runs git in `dir` with a fixed identity and clock, so commit ids are
/// the same on every run.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Pac Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Pac Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-01T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-01T10:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

const NOW: &str = "2026-11-01";

const BASE: &str = r#"package demo.storage

/// gp3 is cheaper and faster than gp2.
policy volume_gp2 {
  title "EBS volumes use gp3"
  severity low
  category cost
  rule on aws.ec2.volume {
    let volume_type = self.volume_type ?? "not reported"
    violation when volume_type == "gp2"
    message "{volume_id} is {volume_type}"
  }
}
policy volume_unencrypted {
  title "EBS volumes are encrypted"
  severity critical
  category security
  rule on aws.ec2.volume {
    violation when not (encrypted ?? false)
    message "{volume_id} is not encrypted"
  }
}

exception "CHG-7" for volume_unencrypted {
  resources ["vol-0b44233b68f4a9043"]
  expires 2027-03-31
  reason "legacy volume, migration planned"
}

test "gp2 fails" {
  given aws.ec2.volume v {
    volume_id: "vol-1", volume_type: "gp2", size: 8, state: "in-use",
    availability_zone: "us-east-1a", create_time: 2026-01-01, encrypted: true,
  }
  expect volume_gp2 fails v
}

test "an unencrypted volume fails" {
  given aws.ec2.volume v {
    volume_id: "vol-2", volume_type: "gp3", size: 8, state: "in-use",
    availability_zone: "us-east-1a", create_time: 2026-01-01, encrypted: false,
  }
  expect volume_unencrypted fails v
}
"#;

/// The head: gp2's condition widened to magnetic volumes and its severity
/// raised; an auto-fix bound to the encryption rule; the exception moved
/// to another volume and extended to 2030; a test removed.
fn head() -> String {
    let head = BASE
        .replace(
            "violation when volume_type == \"gp2\"",
            "violation when volume_type in [\"gp2\", \"standard\"]",
        )
        .replace("severity low", "severity medium")
        .replace(
            "    message \"{volume_id} is not encrypted\"\n  }\n",
            "    message \"{volume_id} is not encrypted\"\n  }\n\n  autofix notify_only() after 1d notify \"secops@example.com\"\n",
        )
        .replace("vol-0b44233b68f4a9043", "vol-0ada7ff537600ecc2")
        .replace("expires 2027-03-31", "expires 2030-01-01");
    let cut = head.find("test \"an unencrypted volume fails\"").unwrap();
    head[..cut].trim_end().to_string() + "\n"
}

/// A repository with the base and the head commit; returns (dir, base id, head id).
fn repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    std::fs::create_dir_all(d.join("policies")).unwrap();
    std::fs::write(d.join("policies/storage.pac"), BASE).unwrap();
    std::fs::write(d.join("README.md"), "policies\n").unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    std::fs::write(d.join("policies/storage.pac"), head()).unwrap();
    git(d, &["commit", "-q", "-a", "-m", "head"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    (dir, base, head)
}

fn review(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["review", "--base", "main~1", "--now", NOW];
    args.extend_from_slice(extra);
    pacc_in(dir, &args)
}

/// Commit ids vary with git's object format; snapshots show placeholders.
fn redact(s: &str, base: &str, head: &str) -> String {
    s.replace(base, "<base>")
        .replace(&base[..12], "<base>")
        .replace(head, "<head>")
        .replace(&head[..12], "<head>")
}

fn review_json(dir: &Path) -> serde_json::Value {
    let out = review(dir, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON review")
}

#[test]
fn the_diff_names_every_change() {
    let (dir, base, head) = repo();
    let v = review_json(dir.path());
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["base"]["ref"], "main~1");
    assert_eq!(v["base"]["commit"], base.as_str());
    assert_eq!(v["head"]["commit"], head.as_str());
    let policies = v["diff"]["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2, "{policies:#?}");

    let gp2 = &policies[0];
    assert_eq!(gp2["name"], "volume_gp2");
    assert_eq!(gp2["status"], "changed");
    assert_eq!(gp2["at"]["file"], "policies/storage.pac");
    assert_eq!(
        gp2["changes"],
        serde_json::json!([{"field": "severity", "before": "low", "after": "medium"}])
    );
    let rule = &gp2["rules"][0];
    assert_eq!(rule["id"], "volume_gp2");
    assert_eq!(rule["changes"][0]["field"], "condition");
    assert_eq!(rule["changes"][0]["before"], "volume_type == \"gp2\"");
    assert_eq!(
        rule["changes"][0]["after"],
        "volume_type in [\"gp2\", \"standard\"]"
    );

    let enc = &policies[1];
    assert_eq!(enc["name"], "volume_unencrypted");
    assert!(enc["status"].is_null(), "the policy itself is unchanged");
    let rule = &enc["rules"][0];
    assert_eq!(rule["changes"][0]["field"], "autofix");
    assert!(rule["changes"][0]["before"].is_null());
    assert_eq!(
        rule["new_autofix"],
        "autofix notify_only() after 1d notify \"secops@example.com\""
    );

    let x = &v["diff"]["exceptions"][0];
    assert_eq!(x["name"], "CHG-7");
    assert_eq!(x["status"], "changed");
    let fields: Vec<&str> = x["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["resources", "expires"]);
    assert_eq!(x["changes"][1]["after"], "2030-01-01");
    assert_eq!(
        v["diff"]["tests"],
        serde_json::json!([{"status": "removed", "name": "an unencrypted volume fails",
            "at": {"file": "policies/storage.pac", "line": 38}, "changes": []}])
    );
}

#[test]
fn the_impact_on_the_demo_inventory_is_counted_per_rule() {
    let (dir, _, _) = repo();
    let v = review_json(dir.path());
    let i = &v["impact"];
    assert_eq!(i["inventory"], "<bundled>/examples/demo/inventory.json");
    assert_eq!(i["resources"], 359);
    let rules = i["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{rules:#?}");

    // gp2 now also catches the two magnetic (`standard`) volumes.
    let gp2 = &rules[0];
    assert_eq!(gp2["rule"], "volume_gp2");
    assert_eq!(gp2["severity"], "medium");
    assert_eq!(gp2["newly_failing"]["count"], 2);
    let ids: Vec<&str> = gp2["newly_failing"]["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["vol-0b44233b68f4a9043", "vol-02d61b3f1043091b6"]);
    assert_eq!(
        gp2["newly_failing"]["first"][0]["message"],
        "vol-0b44233b68f4a9043 is standard"
    );
    assert_eq!(gp2["before"]["failing"], 12);
    assert_eq!(gp2["after"]["failing"], 14);
    assert_eq!(gp2["no_longer_failing"]["count"], 0);

    // The exception moved: one volume lost it, another gained it.
    let enc = &rules[1];
    assert_eq!(enc["rule"], "volume_unencrypted");
    assert_eq!(enc["un_exempted"]["count"], 1);
    assert_eq!(
        enc["un_exempted"]["first"][0]["id"],
        "vol-0b44233b68f4a9043"
    );
    assert_eq!(enc["newly_exempted"]["count"], 1);
    assert_eq!(
        enc["newly_exempted"]["first"][0]["id"],
        "vol-0ada7ff537600ecc2"
    );
    assert_eq!(enc["newly_exempted"]["first"][0]["exception"], "CHG-7");
    assert_eq!(enc["after"]["failing"], 12);
    assert_eq!(enc["after"]["exempt"], 1);

    let (b, a) = (&i["before"], &i["after"]);
    assert_eq!(b["failing"], 24);
    assert_eq!(a["failing"], 26);
    assert_eq!(b["evaluated"], 108);
    assert!(a["overall"].as_f64().unwrap() < b["overall"].as_f64().unwrap());

    let kinds: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "autofix_blast_radius",
            "exception_far_expiry",
            "test_removed"
        ]
    );
    assert!(v["gate"]["passed"].as_bool().unwrap());
}

#[test]
fn gates_set_the_exit_code() {
    let (dir, _, _) = repo();
    let out = review(
        dir.path(),
        &["--fail-on", "new-critical", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("--fail-on new-critical: 1 resource(s)"),
        "{err}"
    );
    assert!(err.contains("volume_unencrypted"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["gate"]["passed"], false);

    let out = review(dir.path(), &["--max-new-failures", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = review(dir.path(), &["--max-new-failures", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--max-new-failures 2: 3 resource(s)"));
    let out = review(dir.path(), &["--fail-on", "warnings"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn markdown_fits_a_comment_and_is_stable() {
    let (dir, base, head) = repo();
    let out = review(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.len() < pac_review::markdown::LIMIT);
    assert!(md.starts_with(pac_review::markdown::MARKER));
    insta::assert_snapshot!("review_markdown", redact(&md, &base, &head));
}

#[test]
fn github_annotations_are_stable() {
    let (dir, base, head) = repo();
    let out = review(dir.path(), &["--format", "github"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("review_github", redact(&text(&out.stdout), &base, &head));
}

fn sarif_validator() -> jsonschema::Validator {
    // The official OASIS SARIF 2.1.0 schema; see tests/schemas/README.md
    // for where the copy comes from.
    let mut schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    // Its `language` patterns (run, toolComponent) have a stray `]` that a regex check of the
    // schema itself rejects (a known erratum, oasis-tcs/sarif-spec PR 490):
    // apply the erratum's pattern before compiling. pacc never writes
    // `language`, so this changes nothing about what is validated.
    for def in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::draft7::new(&schema).expect("the SARIF schema compiles")
}

fn assert_valid_sarif(v: &serde_json::Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn review_sarif_is_valid_and_its_fingerprints_survive_a_push() {
    let (dir, _, _) = repo();
    let out = review(
        dir.path(),
        &["--format", "sarif", "--output", "json=review.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&v);
    assert!(
        dir.path().join("review.json").exists(),
        "--output wrote the JSON too"
    );
    let results = v["runs"][0]["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for id in [
        "pac-review/policy-change",
        "pac-review/rule-change",
        "pac-review/autofix-bound",
        "pac-review/new-failures",
        "pac-review/item-change",
        "pac-review/autofix-blast-radius",
        "pac-review/exception-far-expiry",
        "pac-review/test-removed",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let fingerprints = |v: &serde_json::Value| -> Vec<(String, String)> {
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["partialFingerprints"]["pacFindingHash/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    let before = fingerprints(&v);

    // Another push: lines move (a comment on top), nothing else changes.
    let d = dir.path();
    let moved = format!("// Storage policies.\n// Reviewed quarterly.\n\n{}", head());
    std::fs::write(d.join("policies/storage.pac"), moved).unwrap();
    git(d, &["commit", "-q", "-a", "-m", "comment"]);
    let out = pacc_in(
        d,
        &[
            "review", "--base", "main~2", "--now", NOW, "--format", "sarif",
        ],
    );
    let v2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = |v: &serde_json::Value| {
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(line(&v2), line(&v) + 3, "the finding moved down");
    assert_eq!(fingerprints(&v2), before, "but kept its fingerprints");
}

#[test]
fn check_sarif_and_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pac");
    std::fs::write(
        &bad,
        "policy p {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.ec2.volume {\n    violation when not encripted\n  }\n}\n",
    )
    .unwrap();
    let out = pacc_in(dir.path(), &["check", "--format", "sarif", "bad.pac"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    assert_valid_sarif(&v);
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "E0101");
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "bad.pac"
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        6
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        24
    );
    assert_eq!(v["runs"][0]["tool"]["driver"]["rules"][0]["id"], "E0101");

    let out = pacc_in(dir.path(), &["check", "--format", "github", "bad.pac"]);
    assert_eq!(out.status.code(), Some(2));
    let gh = text(&out.stdout);
    assert!(
        gh.starts_with("::error file=bad.pac,line=6,col=24,title=E0101 "),
        "{gh}"
    );

    // The shipped library: valid SARIF without results.
    let out = pacc_in(&root(), &["check", "--format", "sarif", "policies"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&v);
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
}

/// The Python that has `xmlschema` (./scripts/test puts it in `.venv`).
fn xmlschema_python() -> PathBuf {
    if let Ok(p) = std::env::var("PAC_XMLSCHEMA_PYTHON") {
        return PathBuf::from(p);
    }
    root().join(".venv/bin/python")
}

fn assert_valid_junit(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("report.xml");
    std::fs::write(&f, xml).unwrap();
    let python = xmlschema_python();
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(root().join("tests/schemas/junit-10.xsd"))
        .arg(&f)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run ./scripts/test (it installs xmlschema into .venv) or set PAC_XMLSCHEMA_PYTHON",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "JUnit XML does not validate: {}\n{xml}",
        text(&out.stderr)
    );
}

#[test]
fn test_junit_is_valid_for_passing_and_failing_tests() {
    let out = pacc_in(&root(), &["test", "--format", "junit", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let xml = text(&out.stdout);
    assert!(xml.contains("<testsuite name=\"policies.aws.s3\""), "{xml}");
    assert_valid_junit(&xml);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.pac"),
        BASE.replace("expect volume_gp2 fails v", "expect volume_gp2 passes v"),
    )
    .unwrap();
    let out = pacc_in(dir.path(), &["test", "--format", "junit", "t.pac"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("<failure type=\"expectation\""), "{xml}");
    assert_valid_junit(&xml);
}

#[test]
fn hostile_refs_and_paths_are_refused_and_missing_refs_say_what_to_do() {
    let (dir, _, _) = repo();
    let out = review(dir.path(), &["--head=--output=/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("starts with `-`"),
        "{}",
        text(&out.stderr)
    );
    let out = pacc_in(dir.path(), &["review", "--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("git fetch"),
        "{}",
        text(&out.stderr)
    );
    let out = review(dir.path(), &["--policies", "../etc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("leaves the repository"));
    let out = review(dir.path(), &["--policies", "nothing-here"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no .pac files under `nothing-here`"));

    let outside = tempfile::tempdir().unwrap();
    let out = pacc_in(outside.path(), &["review", "--base", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn a_head_that_does_not_compile_is_reported_with_file_and_line() {
    let (dir, _, _) = repo();
    let d = dir.path();
    std::fs::write(
        d.join("policies/storage.pac"),
        head().replace("not (encrypted ?? false)\n", "not (encryptd ?? false)\n"),
    )
    .unwrap();
    git(d, &["commit", "-q", "-a", "-m", "typo"]);
    let out = pacc_in(
        d,
        &[
            "review",
            "--base",
            "main~2",
            "--now",
            NOW,
            "--output",
            "sarif=broken.sarif",
            "--output",
            "github=broken.txt",
            "--output",
            "json=broken.json",
        ],
    );
    // A broken head fails the gate, and the comment says what to fix.
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("policies/storage.pac:19"), "{err}");
    assert!(err.contains("the head (`HEAD`) does not compile"), "{err}");
    let md = text(&out.stdout);
    assert!(md.starts_with("<!-- pacc-review -->"), "{md}");
    assert!(md.contains("**The head (`HEAD`"), "{md}");
    assert!(md.contains("| `policies/storage.pac:19:"), "{md}");
    assert!(md.contains("`E0"), "{md}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("broken.sarif")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        19
    );
    let gh = std::fs::read_to_string(d.join("broken.txt")).unwrap();
    assert!(
        gh.starts_with("::error file=policies/storage.pac,line=19,"),
        "{gh}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("broken.json")).unwrap()).unwrap();
    assert_eq!(json["compile_errors"]["side"], "head");
    assert_eq!(json["compile_errors"]["errors"][0]["line"], 19);

    // A broken base: no review can be made at all (exit 2), and it says so.
    git(d, &["checkout", "-q", "-b", "fix"]);
    std::fs::write(d.join("policies/storage.pac"), head()).unwrap();
    git(d, &["commit", "-q", "-a", "-m", "fix"]);
    let out = pacc_in(d, &["review", "--base", "main", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the base branch itself is broken"),
        "{}",
        text(&out.stdout)
    );
}

/// `pacc review --server URL`: the inventory is the one a running server
/// last collected, exported within the token's asset groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_over_a_servers_inventory_sees_the_tokens_groups_only() {
    use pac_server::auth::Role;
    let (_sdir, server, pac) = server_support::tokens_server("", true).await;
    let (admin, _) = server_support::mint_token(&server, "ci", Role::Viewer, &["*"], "t").await;
    let (prod, _) =
        server_support::mint_token(&server, "prod-ci", Role::Viewer, &["production"], "t").await;
    let (dir, _, _) = repo();
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<String>, token: Option<String>| {
        let d = d.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = Command::new(env!("CARGO_BIN_EXE_pacc"));
                c.args([
                    "review", "--base", "main~1", "--now", NOW, "--format", "json",
                ])
                .args(&args)
                .current_dir(&d)
                .env_remove("PAC_TOKEN");
                if let Some(t) = token {
                    c.env("PAC_TOKEN", t);
                }
                c.output().expect("pacc runs")
            })
            .await
            .unwrap()
        }
    };
    let json = |out: &Output| -> serde_json::Value {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON review")
    };

    // A global token: the whole estate, so the same review as the file's.
    let from_file = json(&run(vec![], None).await);
    let whole = json(&run(vec!["--server".into(), pac.clone()], Some(admin.clone())).await);
    assert_eq!(whole["impact"]["inventory"], pac.as_str());
    assert_eq!(
        whole["impact"]["resources"],
        from_file["impact"]["resources"]
    );
    assert_eq!(whole["impact"]["rules"], from_file["impact"]["rules"]);
    assert_eq!(whole["impact"]["after"], from_file["impact"]["after"]);

    // A token of `production`: its members alone, as the API counts them.
    let (status, page) = server_support::get(
        &pac.replace("http://", ""),
        "/api/v1/resources?group=production",
    )
    .await;
    assert_eq!(status, 401, "the API wants a token: {page}");
    let members = {
        let http = reqwest::Client::new();
        let v: serde_json::Value = http
            .get(format!(
                "{pac}/api/v1/resources?group=production&per_page=1"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["total"].as_u64().unwrap()
    };
    let scoped = json(
        &run(
            vec![
                "--server".into(),
                pac.clone(),
                "--token".into(),
                prod.clone(),
            ],
            None,
        )
        .await,
    );
    assert_eq!(scoped["impact"]["resources"].as_u64(), Some(members));
    assert!(members > 0 && members < whole["impact"]["resources"].as_u64().unwrap());

    // Another group's members are not the token's to read: the group is
    // answered as unknown, and nothing is evaluated.
    let out = run(
        vec![
            "--server".into(),
            pac.clone(),
            "--group".into(),
            "sandbox_resources".into(),
        ],
        Some(prod.clone()),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));

    // No token, or a wrong one: exit 2 with what to do.
    let out = run(vec!["--server".into(), pac.clone()], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PAC_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        vec!["--server".into(), pac.clone()],
        Some("pac_wrong".into()),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
}
