//! `pacc fix` with a custom action: a policy file declares the action and
//! binds it, the `--config` file runs it as a real program (no shell). A dry
//! run reports what it would do without changing anything, `--apply` runs
//! the change once per resource, and a second `--apply` finds it done.

use std::path::Path;
use std::process::Command;

use serde_json::{Value as Json, json};

const HOSTILE: &str = "$(touch /tmp/pac-pwned-by-fix); rm -rf";

/// The user's own policy file: it declares the action it binds.
const POLICIES: &str = r#"
package site.quarantine

/// Moves an instance into the quarantine network (the site's own script).
action quarantine_instance(mode: string, reason: string) on aws.ec2.instance

policy no_big_memory_instances {
  title "Memory-optimised instances need an approval"
  severity low
  category cost
  rule on aws.ec2.instance {
    violation when (instance_type ?? "") == "r5.2xlarge"
    message "{instance_id} is {instance_type}"
  }
  autofix quarantine_instance(mode: "strict", reason: "{REASON}")
}
"#;

/// Records every call; honours dry_run; changes a marker file once.
const SCRIPT: &str = r#"#!/usr/bin/env python3
import json, os, sys
state = sys.argv[1]
req = json.load(sys.stdin)
with open(os.path.join(state, "calls.ndjson"), "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "request": req}) + "\n")
marker = os.path.join(state, "quarantined-" + req["resource"]["id"])
before = {"quarantined": os.path.exists(marker)}
if before["quarantined"]:
    answer = {"status": "already_fixed", "summary": "already quarantined", "before": before, "after": before}
elif req["dry_run"]:
    answer = {"status": "would_change", "summary": "would move %s to quarantine (%s)" % (req["resource"]["id"], req["args"]["mode"]), "before": before, "after": {"quarantined": True}}
else:
    open(marker, "w").close()
    answer = {"status": "changed", "summary": "moved %s to quarantine" % req["resource"]["id"], "before": before, "after": {"quarantined": True}}
print(json.dumps(answer))
"#;

fn fix(dir: &Path, mode: &str) -> (i32, Json, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .arg("fix")
        .arg("--config")
        .arg(dir.join("pac.toml"))
        .arg("--policies")
        .arg(dir.join("policies.pac"))
        .arg("--inventory")
        .arg(demo_inventory())
        .arg(mode)
        .args(["--format", "json", "--now", "2026-12-01"])
        .output()
        .expect("run pacc");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn calls(dir: &Path) -> Vec<Json> {
    std::fs::read_to_string(dir.join("calls.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn statuses(report: &Json) -> Vec<(String, String)> {
    report["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["target"]["id"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_custom_command_action_runs_dry_then_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prog = d.join("quarantine");
    std::fs::write(&prog, SCRIPT).unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        d.join("policies.pac"),
        POLICIES.replace("{REASON}", HOSTILE),
    )
    .unwrap();
    // A configuration with no source at all: `pacc fix` needs only actions.
    std::fs::write(
        d.join("pac.toml"),
        format!(
            "[[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = [{:?}, {:?}]\ntimeout_secs = 30\n",
            prog.to_str().unwrap(),
            d.to_str().unwrap()
        ),
    )
    .unwrap();

    // Dry run: both r5.2xlarge instances would change; nothing did.
    let (code, dry, err) = fix(d, "--dry-run");
    assert_eq!(code, 0, "{dry:#}\n{err}");
    assert_eq!(dry["mode"], "dry-run");
    let s = statuses(&dry);
    assert_eq!(s.len(), 2, "{dry:#}");
    assert!(s.iter().all(|(_, st)| st == "would_change"), "{dry:#}");
    let first = &dry["fixes"][0];
    assert_eq!(first["rule"], "no_big_memory_instances");
    assert_eq!(first["action"], "quarantine_instance");
    assert!(
        first["summary"]
            .as_str()
            .unwrap()
            .starts_with("would move i-"),
        "{first:#}"
    );
    assert_eq!(first["before"], json!({"quarantined": false}));
    assert_eq!(first["after"], json!({"quarantined": true}));
    let c = calls(d);
    assert_eq!(c.len(), 2);
    for call in &c {
        let r = &call["request"];
        assert_eq!(r["dry_run"], true);
        assert_eq!(r["action"], "quarantine_instance");
        assert_eq!(r["args"], json!({"mode": "strict", "reason": HOSTILE}));
        assert_eq!(r["resource"]["type"], "aws.ec2.instance");
        assert_eq!(r["rule"], "no_big_memory_instances");
        assert_eq!(r["policy"], "no_big_memory_instances");
        // The last collected document is handed over.
        assert_eq!(
            r["resource"]["state"]["attributes"]["instance_type"],
            "r5.2xlarge"
        );
        assert_eq!(r["resource"]["state"]["id"], r["resource"]["id"]);
    }
    let markers = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("quarantined-")
            })
            .count()
    };
    assert_eq!(markers(d), 0, "a dry run changed something");

    // Applied: each instance changed once.
    let (code, applied, err) = fix(d, "--apply");
    assert_eq!(code, 0, "{applied:#}\n{err}");
    let s = statuses(&applied);
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|(_, st)| st == "changed"), "{applied:#}");
    assert_eq!(markers(d), 2);
    let c = calls(d);
    assert_eq!(c.len(), 4);
    assert!(c[2..].iter().all(|x| x["request"]["dry_run"] == false));

    // Again: nothing more to do.
    let (code, again, err) = fix(d, "--apply");
    assert_eq!(code, 0, "{again:#}\n{err}");
    assert!(
        statuses(&again).iter().all(|(_, st)| st == "already_fixed"),
        "{again:#}"
    );
    assert_eq!(again["counts"], json!({"already_fixed": 2}));
    assert!(!Path::new("/tmp/pac-pwned-by-fix").exists());
}

#[test]
fn a_custom_action_that_does_not_honour_dry_run_is_a_failed_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prog = d.join("reckless");
    std::fs::write(
        &prog,
        "#!/bin/sh\ncat >/dev/null\necho '{\"status\": \"changed\", \"summary\": \"done it anyway\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("policies.pac"), POLICIES.replace("{REASON}", "x")).unwrap();
    std::fs::write(
        d.join("pac.toml"),
        format!(
            "[[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = [{:?}]\n",
            prog.to_str().unwrap()
        ),
    )
    .unwrap();
    let (code, dry, _) = fix(d, "--dry-run");
    assert_eq!(code, 1, "{dry:#}");
    assert_eq!(dry["counts"], json!({"failed": 2}));
    let e = dry["fixes"][0]["error"].as_str().unwrap();
    assert!(
        e.contains("answered `changed` to a dry run") && e.contains("done it anyway"),
        "{e}"
    );

    // A bad [[action]] is bad input (exit 2), named with its line.
    std::fs::write(
        d.join("pac.toml"),
        "[[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = []\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .arg("fix")
        .arg("--config")
        .arg(d.join("pac.toml"))
        .arg("--policies")
        .arg(d.join("policies.pac"))
        .arg("--inventory")
        .arg(demo_inventory())
        .arg("--dry-run")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`command` is empty"), "{err}");
}

/// The demo inventory, found at run time (a target directory shared
/// between checkouts keeps test binaries built in another).
fn demo_inventory() -> std::path::PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    std::path::PathBuf::from(dir).join("examples/demo/inventory.json")
}
