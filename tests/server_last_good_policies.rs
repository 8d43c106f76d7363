//! The last good policy set keeps serving: a real `pacc serve` process is
//! stopped, a policy file is broken, and the server is started again over
//! the same store. Every endpoint answers from the set that last compiled
//! (kept in the store), `/healthz` says `degraded` with the file and line,
//! scans use the last good set and record the problem, and nothing answers
//! 500. A store that never saw a good set answers too, with nothing.

mod server_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pac_server::client::Client;
use serde_json::{Value, json};
use server_support::*;

const SSH_OPEN: &str = "sg-0fbfecffc4a989050";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct Setup {
    dir: tempfile::TempDir,
    policies: PathBuf,
    config: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&root().join("policies"), &policies);
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let config = dir.path().join("pac.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\npolicies = [{:?}]\nschedule = \"every 24h\"\nscan_at_start = true\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
            dir.path().join("data"),
            policies,
            inventory
        ),
    )
    .unwrap();
    Setup {
        dir,
        policies,
        config,
    }
}

struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(s: &Setup) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(s.dir.path().join(format!("serve-{port}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(["serve", "--listen", &addr, "--config"])
        .arg(&s.config)
        .current_dir(s.dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Running { child, addr }
}

/// Polls `path` until `done` holds for its answer (3 minutes at most).
async fn wait_for(addr: &str, path: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Ok(r) = Client::new(addr).get(path).await {
            let v = r.json();
            if done(r.status, &v) {
                return v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "{path}: not there after 3 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The latest scan, once finished.
async fn finished_scan(addr: &str, after: i64) -> Value {
    let v = wait_for(addr, "/api/v1/scans", |st, v| {
        st == 200
            && v["items"][0]["id"].as_i64().unwrap_or(0) > after
            && v["items"][0]["status"] != "running"
    })
    .await;
    v["items"][0].clone()
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().or(x["id"].as_str()).unwrap().to_string())
        .collect();
    n.sort();
    n
}

const READS: &[&str] = &[
    "/api/v1/policies",
    "/api/v1/policies?group=dev_account",
    "/api/v1/policies/sg_ssh_open_to_world",
    "/api/v1/exceptions",
    "/api/v1/asset-groups",
    "/api/v1/resources/sg-0fbfecffc4a989050",
    "/api/v1/compliance",
    "/api/v1/compliance?group=dev_account",
    "/api/v1/issues?group=dev_account",
    "/api/v1/resources?group=dev_account",
    "/healthz",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_file_after_a_restart_serves_the_last_good_set() {
    let s = setup();
    let (policies, exceptions, groups, overall);
    {
        let srv = start(&s);
        let addr = srv.addr.clone();
        finished_scan(&addr, 0).await;
        let (st, h) = get(&addr, "/healthz").await;
        assert_eq!((st, h["status"].as_str()), (200, Some("ok")), "{h}");
        let (st, v) = send(
            &addr,
            "POST",
            "/api/v1/asset-groups",
            &json!({"name": "dev_account", "members": [{"type": "aws.ec2.security_group",
                    "where": "account == \"444455556666\""}], "created_by": "carol"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        let (st, _) = send(&addr, "POST", "/api/v1/scans", &json!({})).await;
        assert_eq!(st, 202);
        let scan = finished_scan(&addr, 1).await;
        assert_eq!(scan["status"], "completed", "{scan}");
        policies = names(&get(&addr, "/api/v1/policies").await.1);
        exceptions = names(&get(&addr, "/api/v1/exceptions").await.1);
        groups = names(&get(&addr, "/api/v1/asset-groups").await.1);
        overall = get(&addr, "/api/v1/compliance").await.1["overall"].clone();
        assert!(policies.len() > 10 && groups.contains(&"dev_account".to_string()));
    }

    // Broken between two runs: a file that does not parse, and one of the
    // library's policies edited into a type error.
    std::fs::write(
        s.policies.join("zz_broken.pac"),
        "// edited by hand\n\npolicy half_written {\n  severity\n",
    )
    .unwrap();
    let srv = start(&s);
    let addr = srv.addr.clone();
    let h = wait_for(&addr, "/healthz", |st, v| {
        st == 200 && v["status"] == "degraded"
    })
    .await;
    let error = h["policies"]["error"].as_str().unwrap().to_string();
    assert!(error.contains("zz_broken.pac:"), "{h}");
    assert_eq!(h["policies"]["serving"], "last_good", "{h}");
    // The scan at start used the last good set and says why.
    let scan = finished_scan(&addr, 2).await;
    assert_eq!(scan["status"], "completed", "{scan}");
    let message = scan["message"].as_str().unwrap_or("");
    assert!(
        message.contains("do not compile") && message.contains("zz_broken.pac:"),
        "{scan}"
    );
    for path in READS {
        let (st, v) = get(&addr, path).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    assert_eq!(names(&get(&addr, "/api/v1/policies").await.1), policies);
    assert_eq!(names(&get(&addr, "/api/v1/exceptions").await.1), exceptions);
    assert_eq!(names(&get(&addr, "/api/v1/asset-groups").await.1), groups);
    assert_eq!(get(&addr, "/api/v1/compliance").await.1["overall"], overall);
    // New items are checked against the set served.
    let (st, v) = send(
        &addr,
        "POST",
        "/api/v1/exceptions",
        &json!({"name": "CHG-9", "targets": ["sg_ssh_open_to_world"], "resources": [SSH_OPEN],
                "expires": "2030-01-01", "reason": "while the policies are fixed", "created_by": "dan"}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = send(
        &addr,
        "POST",
        "/api/v1/exceptions",
        &json!({"name": "CHG-10", "targets": ["half_written"], "resources": [SSH_OPEN],
                "expires": "2030-01-01", "reason": "r", "created_by": "dan"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    let (st, _) = send(&addr, "POST", "/api/v1/scans", &json!({})).await;
    assert_eq!(st, 202);
    let scan = finished_scan(&addr, 3).await;
    assert_eq!(scan["status"], "completed", "{scan}");
    assert_eq!(scan["exempted"], 1, "{scan}");

    // Fixed: healthy again, on the files as they are.
    std::fs::remove_file(s.policies.join("zz_broken.pac")).unwrap();
    let h = wait_for(&addr, "/healthz", |st, v| st == 200 && v["status"] == "ok").await;
    assert_eq!(h["policies"]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_never_saw_good_policies_answers_with_none() {
    let s = setup();
    std::fs::write(
        s.policies.join("zz_broken.pac"),
        "policy half_written {\n  severity\n",
    )
    .unwrap();
    let srv = start(&s);
    let addr = srv.addr.clone();
    let h = wait_for(&addr, "/healthz", |st, v| {
        st == 200 && v["status"] == "degraded"
    })
    .await;
    assert_eq!(h["policies"]["serving"], "none", "{h}");
    assert!(
        h["policies"]["error"]
            .as_str()
            .unwrap()
            .contains("zz_broken.pac:"),
        "{h}"
    );
    let scan = finished_scan(&addr, 0).await;
    assert_eq!(scan["status"], "failed", "{scan}");
    assert!(
        scan["message"].as_str().unwrap().contains("zz_broken.pac:"),
        "{scan}"
    );
    for path in [
        "/api/v1/policies",
        "/api/v1/exceptions",
        "/api/v1/asset-groups",
        "/healthz",
    ] {
        let (st, v) = get(&addr, path).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    assert!(names(&get(&addr, "/api/v1/policies").await.1).is_empty());
    let (st, v) = send(
        &addr,
        "POST",
        "/api/v1/exceptions",
        &json!({"name": "CHG-9", "targets": ["sg_ssh_open_to_world"], "resources": [SSH_OPEN],
                "expires": "2030-01-01", "reason": "r", "created_by": "dan"}),
    )
    .await;
    assert_eq!(st, 503, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("zz_broken.pac:"),
        "{v}"
    );
}
