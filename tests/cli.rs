//! The real `pacc` binary, end to end: exit codes, output formats, error
//! reports with file and line, the demo inventory, explanations, tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

fn pacc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("pacc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

const NOW: &str = "2026-11-01";

#[test]
fn the_policy_library_checks_cleanly() {
    let out = pacc(&["check", "--deny-warnings", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("0 error(s), 0 warning(s)"), "{err}");
}

#[test]
fn check_reports_errors_with_file_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.pac",
        "policy p {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.ec2.volume {\n    violation when not encripted\n  }\n}\n",
    );
    let out = pacc(&["check", &f]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("E0101"), "{err}");
    assert!(err.contains("bad.pac:6:24"), "file:line:col: {err}");
    assert!(err.contains("did you mean `encrypted`?"), "{err}");

    let out = pacc(&["check", "--format", "json", &f]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON diagnostics");
    let d = &v[0];
    assert_eq!(d["code"], "E0101");
    assert_eq!(d["line"], 6);
    assert_eq!(d["column"], 24);
    assert_eq!(d["suggestion"]["replacement"], "encrypted");
}

#[test]
fn check_warns_about_expired_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "x.pac",
        "policy p {\n  title \"t\"\n  severity low\n  category cost\n  rule on aws.ec2.volume { violation when not (encrypted ?? false) }\n}\n\
         exception \"OLD-1\" for p {\n  resources [\"vol-1\"]\n  expires 2020-01-01\n  reason \"long gone\"\n}\n",
    );
    let out = pacc(&["check", &f]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("W0503"), "{}", text(&out.stderr));
    let out = pacc(&["check", "--deny-warnings", &f]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_on_the_demo_inventory_summarises_compliance() {
    let out = pacc(&["eval", "--now", NOW]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "violations found: {}",
        text(&out.stderr)
    );
    let s = text(&out.stdout);
    assert!(s.contains("sg_ssh_open_to_world"), "{s}");
    assert!(s.contains("overall compliance"), "{s}");
    // The JSON form carries the same facts.
    let out = pacc(&["eval", "--now", NOW, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let violations = v["violations"].as_array().expect("violations");
    assert!(violations.len() > 50);
    assert!(
        violations
            .iter()
            .any(|x| x["rule"] == "sg_ssh_open_to_world"
                && x["resource"]["type"] == "aws.ec2.security_group")
    );
}

#[test]
fn eval_reports_by_the_controls_of_a_framework() {
    let json = pacc(&[
        "eval",
        "--now",
        NOW,
        "--framework",
        "cis-aws",
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(1), "{}", text(&json.stderr));
    let r: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(r["framework"], "cis-aws");
    let controls = r["controls"].as_array().unwrap();
    let control = |id: &str| -> &serde_json::Value {
        controls
            .iter()
            .find(|c| c["version"] == "1.5" && c["control"] == id)
            .unwrap_or_else(|| panic!("no control {id}: {r:#}"))
    };
    // 5.2 is the sum of its three policies; the demo has world-open groups.
    let c52 = control("5.2");
    assert_eq!(c52["status"], "fail");
    assert_eq!(c52["policies"].as_array().unwrap().len(), 3);
    assert!(c52["counts"]["failed"].as_u64().unwrap() > 0);
    // No RDS instance in the demo: mapped, but without resources.
    assert_eq!(control("2.3.3")["status"], "no_data");
    // Numeric order: 1.4 before 1.10 before 2.1.1.
    let order: Vec<&str> = controls
        .iter()
        .filter(|c| c["version"] == "1.5")
        .map(|c| c["control"].as_str().unwrap())
        .collect();
    let pos = |id: &str| order.iter().position(|c| *c == id).unwrap();
    assert!(
        pos("1.4") < pos("1.10") && pos("1.10") < pos("2.1.1"),
        "{order:?}"
    );
    let failing = controls.iter().filter(|c| c["status"] == "fail").count() as u64;
    assert_eq!(r["failing"].as_u64(), Some(failing));

    let table = pacc(&["eval", "--now", NOW, "--framework", "cis-aws"]);
    let out = text(&table.stdout);
    assert!(out.starts_with("cis-aws: "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("1.5      5.2") && l.contains("fail")),
        "{out}"
    );

    let unknown = pacc(&["eval", "--now", NOW, "--framework", "nist-800-53"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = text(&unknown.stderr);
    assert!(
        err.contains("no policy is tagged") && err.contains("cis-aws"),
        "{err}"
    );
}

#[test]
fn eval_is_deterministic() {
    let a = pacc(&["eval", "--now", NOW, "--format", "json"]);
    let b = pacc(&["eval", "--now", NOW, "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn bad_documents_are_reported_and_skipped_unless_strict() {
    let out = pacc(&[
        "eval",
        "--now",
        NOW,
        "--inventory",
        "examples/demo/bad-inventory.ndjson",
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "bad-inventory.ndjson:2: aws.iam.user erin.temp: missing required field `create_date`"
        ),
        "{err}"
    );
    assert!(
        err.contains("bad-inventory.ndjson:3:") && err.contains("ip_permissions[0].from_port"),
        "{err}"
    );
    assert!(
        err.contains("bad-inventory.ndjson:5: not a JSON document"),
        "{err}"
    );
    assert!(
        err.contains("2 resource(s) read"),
        "the good documents are kept: {err}"
    );
    assert_ne!(out.status.code(), Some(2));

    let out = pacc(&[
        "eval",
        "--now",
        NOW,
        "--strict",
        "--inventory",
        "examples/demo/bad-inventory.ndjson",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn skipped_documents_are_unknown_results_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let policies = write(
        dir.path(),
        "p.pac",
        "package t\n\npolicy big_volume {\n  title \"Big volume\"\n  severity low\n  category cost\n  rule on aws.ec2.volume {\n    violation when (size ?? 0) > 1000\n  }\n}\n",
    );
    let vol = |id: &str, size: &str| {
        format!(
            r#"{{"type":"aws.ec2.volume","id":"{id}","account":"1","region":"r","attributes":{{"volume_id":"{id}","size":{size},"volume_type":"gp3","state":"in-use","availability_zone":"a","create_time":"2026-01-01T00:00:00Z","encrypted":true}}}}"#
        )
    };
    // 8.0 is read as the integer 8; "big" does not match the schema. The
    // third volume's `volume_type` does not either, but no loaded policy
    // reads it: it loads.
    let odd = vol("vol-3", "9").replace(r#""volume_type":"gp3""#, r#""volume_type":5"#);
    let inv = write(
        dir.path(),
        "inv.ndjson",
        &format!(
            "{}\n{}\n{odd}\n",
            vol("vol-1", "8.0"),
            vol("vol-2", "\"big\"")
        ),
    );
    let run = |format: &str| {
        pacc(&[
            "eval",
            "--now",
            NOW,
            "--policies",
            &policies,
            "--inventory",
            &inv,
            "--format",
            format,
        ])
    };
    let out = run("table");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Total: 2 evaluated, 0 failing, 0 exempt, 0 errors, 1 unknown"),
        "{stdout}"
    );
    assert!(stdout.contains("UNKNOWN"), "{stdout}");
    let out = run("json");
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["skipped"], 1);
    assert_eq!(v["summary"]["policies"][0]["skipped"], 1);
    assert_eq!(v["summary"]["evaluated"], 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("inv.ndjson:2:") && err.contains("size"),
        "{err}"
    );
    assert!(!err.contains("inv.ndjson:3:"), "{err}");
}

#[test]
fn a_missing_inventory_is_a_usage_error() {
    let out = pacc(&["eval", "--inventory", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.json"));
}

#[test]
fn explain_shows_the_values_that_decided() {
    let out = pacc(&["eval", "--now", NOW, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "ebs_volume_unencrypted")
        .map(|x| x["resource"]["id"].as_str().unwrap().to_string())
        .expect("an unencrypted volume in the demo");
    let out = pacc(&["explain", "ebs_volume_unencrypted", &id, "--now", NOW]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("FAIL"), "{s}");
    assert!(
        s.contains("false"),
        "the value of `encrypted` is shown: {s}"
    );
}

#[test]
fn the_policy_tests_pass_and_a_failing_expectation_shows_values() {
    let out = pacc(&["test", "policies"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let s = text(&out.stdout);
    let line = s
        .lines()
        .find(|l| l.starts_with("test result:"))
        .expect("summary line");
    let passed: usize = line
        .split("ok. ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(passed >= 60, "{line}");

    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.pac",
        "policy big {\n  title \"t\"\n  severity low\n  category cost\n  rule on aws.ec2.volume { violation when has(size) and size > 100 }\n}\n\
         test \"a small volume fails (wrongly)\" {\n  given aws.ec2.volume v { volume_id: \"vol-1\", size: 8, volume_type: \"gp3\", state: \"in-use\",\n    availability_zone: \"us-east-1a\", create_time: 2026-01-01, encrypted: true }\n  expect big fails v\n}\n",
    );
    let out = pacc(&["test", &f]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("✗ a small volume fails (wrongly)"), "{s}");
    assert!(
        s.contains("size > 100") && s.contains("8 > 100"),
        "the sub-expression and its values: {s}"
    );
    assert!(s.contains("0 passed; 1 failed"), "{s}");
}

#[test]
fn test_coverage_reports_rules_and_branches() {
    let out = pacc(&["test", "policies", "--coverage"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("sg_ssh_open_to_world"), "{s}");
    assert!(s.to_lowercase().contains("branch"), "{s}");
    let out = pacc(&["test", "policies", "--coverage", "--min", "101"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--min above what is reached fails"
    );
}

#[test]
fn test_filter_selects_by_name() {
    let out = pacc(&["test", "policies", "--filter", "SSH"]);
    let s = text(&out.stdout);
    let line = s.lines().find(|l| l.starts_with("test result:")).unwrap();
    assert!(line.contains("filtered out"), "{line}");
}

#[test]
fn fmt_check_flags_unformatted_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "u.pac",
        "policy   p {title \"t\" severity low category cost\nrule on aws.ec2.volume {violation when not (encrypted ?? false)}}\n",
    );
    let out = pacc(&["fmt", "--check", &f]);
    assert_eq!(out.status.code(), Some(1));
    let out = pacc(&["fmt", &f]);
    assert_eq!(out.status.code(), Some(0));
    let out = pacc(&["fmt", "--check", &f]);
    assert_eq!(out.status.code(), Some(0), "formatted now");
    let out = pacc(&["check", &f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_2() {
    let out = pacc(&["eval", "--now", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pacc(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The bundled library and demo inventory are embedded: from a directory
/// with neither, `pacc eval`, `check` and `test` use the embedded copies and
/// give the same answers as in the checkout.
#[test]
fn eval_check_and_test_work_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("pacc runs")
    };
    let here = run(&root(), &["eval", "--format", "json", "--now", NOW]);
    let away = run(dir.path(), &["eval", "--format", "json", "--now", NOW]);
    assert_eq!(away.status.code(), Some(1), "{}", text(&away.stderr));
    let a: serde_json::Value = serde_json::from_slice(&here.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&away.stdout).unwrap();
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(
        a["violations"].as_array().map(Vec::len),
        b["violations"].as_array().map(Vec::len)
    );
    assert!(a["violations"].as_array().is_some_and(|v| !v.is_empty()));

    let check = run(dir.path(), &["check", "--deny-warnings"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let test = run(dir.path(), &["test"]);
    assert_eq!(test.status.code(), Some(0), "{}", text(&test.stderr));

    // A path the user names is never replaced by the embedded copy.
    let named = run(dir.path(), &["eval", "--inventory", "nope.json"]);
    assert_eq!(named.status.code(), Some(2));
    assert!(text(&named.stderr).contains("nope.json"));
    let named = run(dir.path(), &["check", "elsewhere"]);
    assert_eq!(named.status.code(), Some(2));
}

/// Amazon Inspector's findings load without a rewrite script: `pacc
/// import-findings` writes `vuln.finding` documents that the inventory
/// reader accepts and the vulnerability policies judge.
#[test]
fn inspector_findings_are_imported_and_judged() {
    let dir = tempfile::tempdir().unwrap();
    // A demo instance that has no findings in the demo inventory.
    let instance = "i-01cb595eccfa9f0ef";
    let finding = |arn: &str, status: &str| {
        serde_json::json!({
            "awsAccountId": "111122223333",
            "findingArn": format!("arn:aws:inspector2:us-east-1:111122223333:finding/{arn}"),
            "type": "PACKAGE_VULNERABILITY",
            "title": "CVE-2024-6387 - openssh-server",
            "severity": "CRITICAL",
            "status": status,
            "inspectorScore": 9.8,
            "firstObservedAt": "2026-10-20T08:00:00.000000+00:00",
            "lastObservedAt": "2026-10-31T08:00:00.000000+00:00",
            "packageVulnerabilityDetails": {
                "vulnerabilityId": "CVE-2024-6387",
                "cvss": [{"baseScore": 9.8, "source": "NVD", "version": "3.1"}],
                "vulnerablePackages": [{"name": "openssh-server", "version": "8.9p1", "fixedInVersion": "1:8.9p1-3ubuntu0.10"}]
            },
            "resources": [{"id": instance, "type": "AWS_EC2_INSTANCE", "region": "us-east-1"}]
        })
    };
    let listing = serde_json::json!({
        "findings": [finding("0123456789abcdef0123456789abcdef", "ACTIVE"),
                     finding("fedcba9876543210fedcba9876543210", "CLOSED")]
    });
    let input = write(dir.path(), "findings.json", &listing.to_string());
    let converted = dir.path().join("findings.ndjson");
    let out = pacc(&[
        "import-findings",
        &input,
        "--out",
        converted.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("1 vuln.finding document(s)"), "{err}");
    assert!(err.contains("left out: status CLOSED"), "{err}");

    // The demo inventory plus the converted findings.
    let demo: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap(),
    )
    .unwrap();
    let mut inv: String = demo.iter().map(|d| format!("{d}\n")).collect();
    inv.push_str(&std::fs::read_to_string(&converted).unwrap());
    let inv = write(dir.path(), "inventory.ndjson", &inv);
    let failing = |inventory: &str| -> (serde_json::Value, bool) {
        let out = pacc(&[
            "eval",
            "--inventory",
            inventory,
            "--now",
            NOW,
            "--format",
            "json",
        ]);
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let hit = r["violations"].as_array().unwrap().iter().any(|v| {
            v["policy"] == "instance_critical_vulnerabilities" && v["resource"]["id"] == instance
        });
        (r, hit)
    };
    let (before, hit) = failing("examples/demo/inventory.json");
    assert!(!hit, "the demo has no critical finding on {instance}");
    let (after, hit) = failing(&inv);
    assert!(
        hit,
        "the imported finding fails the instance: {}",
        after["violations"]
    );
    assert!(
        after["summary"].get("skipped").is_none() || after["summary"]["skipped"] == 0,
        "every document read: {}",
        after["summary"]
    );
    assert!(
        before["summary"]["evaluated"].as_i64() < after["summary"]["evaluated"].as_i64(),
        "the finding is evaluated too"
    );
}

/// `pacc bench --inventory` measures every phase on the user's own file
/// (here the demo), and the two engines agree on it.
#[test]
fn bench_measures_a_given_inventory() {
    let out = pacc(&[
        "bench",
        "--inventory",
        "examples/demo/inventory.json",
        "--runs",
        "1",
        "--now",
        NOW,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.lines().next().unwrap_or("").contains("policies"),
        "{stdout}"
    );
    for row in [
        "read NDJSON -> inventory",
        "inventory -> layout",
        "jit: evaluation time",
        "jit: evaluation time by row range",
        "jit speed-up by row range",
        "full report, jit",
        "peak RSS",
    ] {
        assert!(stdout.contains(row), "{row} in {stdout}");
    }
    let agree = stdout
        .lines()
        .find(|l| l.starts_with("jit disagreements with the interpreter"))
        .unwrap();
    assert!(agree.trim_end().ends_with(" 0"), "{agree}");
    assert!(stdout.contains("at 359 resources"), "{stdout}");
    let missing = pacc(&["bench", "--inventory", "no/such.ndjson", "--runs", "1"]);
    assert_eq!(missing.status.code(), Some(2));
}
