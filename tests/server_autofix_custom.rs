//! The server runs a custom `[[action]]` (a real program) for a due job:
//! a policy file declares and binds the action, the issue opens on a scan,
//! and after the grace period the program is called once per resource with
//! the request on its standard input.

mod server_support;

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::Value;
use server_support::*;

const POLICIES: &str = r#"
package site.quarantine

/// Moves an instance into the quarantine network (the site's own script).
action quarantine_instance(mode: string) on aws.ec2.instance

policy no_big_memory_instances {
  title "Memory-optimised instances need an approval"
  severity low
  category cost
  rule on aws.ec2.instance {
    violation when (instance_type ?? "") == "r5.2xlarge"
  }
  autofix quarantine_instance(mode: "strict") after 1h
}
"#;

const SCRIPT: &str = r#"#!/usr/bin/env python3
import json, os, sys
req = json.load(sys.stdin)
with open(os.path.join(sys.argv[1], "calls.ndjson"), "a") as f:
    f.write(json.dumps(req) + "\n")
status = "would_change" if req["dry_run"] else "changed"
print(json.dumps({"status": status, "summary": "quarantined " + req["resource"]["id"], "before": {"vlan": 10}, "after": {"vlan": 666}}))
"#;

fn calls(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("calls.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_action_runs_once_per_due_job() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prog = d.join("quarantine");
    std::fs::write(&prog, SCRIPT).unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("site.pac"), POLICIES).unwrap();
    let inventory = d.join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[autofix]\nmax_resources = 1000\nmax_percent = 100\n\
         [[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n\
         [[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = [{:?}, {:?}]\ntimeout_secs = 30\n",
        d.join("data"),
        d.join("site.pac"),
        inventory,
        prog.to_str().unwrap(),
        d.to_str().unwrap(),
    ))
    .unwrap();
    let clock = ManualClock::new(chrono::Utc::now().timestamp());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            notifier: Some(std::sync::Arc::new(Sink::default())),
            actions: vec![],
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;

    server.scan("demo", "test").await.unwrap();
    pac_server::autofix::run_due(&server).await.unwrap();
    assert!(calls(d).is_empty(), "ran before the grace period");

    clock.advance(2 * 3600);
    pac_server::autofix::run_due(&server).await.unwrap();
    pac_server::autofix::run_due(&server).await.unwrap();
    let c = calls(d);
    assert_eq!(c.len(), 2, "{c:#?}");
    for call in &c {
        assert_eq!(call["action"], "quarantine_instance");
        assert_eq!(call["dry_run"], false);
        assert_eq!(call["args"]["mode"], "strict");
        assert_eq!(call["resource"]["type"], "aws.ec2.instance");
        // The stored document of the resource is handed over.
        assert_eq!(
            call["resource"]["state"]["attributes"]["instance_type"], "r5.2xlarge",
            "{call:#}"
        );
    }

    let (_, jobs) = get(&addr, "/api/v1/autofix/jobs?per_page=500").await;
    let mine: Vec<&Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["rule"] == "no_big_memory_instances")
        .collect();
    assert_eq!(mine.len(), 2, "{jobs:#}");
    for j in mine {
        assert_ne!(j["status"], "failed", "{j:#}");
        assert_ne!(j["status"], "waiting", "{j:#}");
        let (_, job) = get(&addr, &format!("/api/v1/autofix/jobs/{}", j["id"])).await;
        assert!(job.to_string().contains("quarantined i-"), "{job:#}");
    }
}
