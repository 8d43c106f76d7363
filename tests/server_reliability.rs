//! Reliability of the compliance server: the real `pacc serve` killed with
//! SIGKILL in the middle of a scan and restarted (the store is consistent,
//! nothing committed is lost); a source failing for one account (that
//! account's issues stay as they were); malformed documents (reported in
//! the scan record, the scan completes).

mod server_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

fn write_config(dir: &Path, port: u16, inventory: &Path, at_start: bool) -> PathBuf {
    let p = dir.join(format!("pac-{at_start}.toml"));
    std::fs::write(
        &p,
        format!(
            // The big inventory replaces the demo estate on purpose: 100
            // never holds a read as suspect.
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\npolicies = [{:?}]\nschedule = \"every 1d\"\nscan_at_start = {at_start}\nmax_removed_percent = 100\n[autofix]\ntick = \"1h\"\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
            dir.join("data"),
            root().join("policies"),
            inventory
        ),
    )
    .unwrap();
    p
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scan_status(addr: &str, id: i64) -> Option<String> {
    let (st, v) = try_get(addr, &format!("/api/v1/scans/{id}")).await?;
    (st == 200).then(|| v["status"].as_str().unwrap_or("").to_string())
}

/// What must survive a crash: issues (id, status, exception), exceptions,
/// jobs and their audit records.
async fn committed(addr: &str) -> Value {
    let (_, issues) = try_get(addr, "/api/v1/issues?per_page=500").await.unwrap();
    let issues: Vec<Value> = issues["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            json!([
                i["id"],
                i["rule"],
                i["resource_key"],
                i["status"],
                i["exception"]
            ])
        })
        .collect();
    let (_, xs) = try_get(addr, "/api/v1/exceptions").await.unwrap();
    let (_, jobs) = try_get(addr, "/api/v1/autofix/jobs?per_page=500")
        .await
        .unwrap();
    let mut audit = Vec::new();
    for j in jobs["items"].as_array().unwrap() {
        let (_, d) = try_get(addr, &format!("/api/v1/autofix/jobs/{}", j["id"]))
            .await
            .unwrap();
        audit.push(d["audit"].clone());
    }
    json!({"issues": issues, "exceptions": xs["items"], "jobs": jobs["items"], "audit": audit})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_scan_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    // A big inventory for the scans that get killed.
    let big = dir.path().join("big.ndjson");
    let st = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(["gen-inventory", "--count", "40000", "--out"])
        .arg(&big)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let first = write_config(dir.path(), port, &inventory, true);
    let again = write_config(dir.path(), port, &inventory, false);

    let mut server = spawn(&first, &dir.path().join("log1.txt"));
    wait_for("the first scan", Duration::from_secs(300), || {
        let addr = addr.clone();
        async move { (scan_status(&addr, 1).await? == "completed").then_some(json!(1)) }
    })
    .await;
    let (st, body) = pac_server::client::Client::new(&addr)
        .request(
            "POST",
            "/api/v1/exceptions",
            Some(
                &json!({"name": "KEEP-1", "targets": ["sg_ssh_open_to_world"], "resources": ["sg-0fbfecffc4a989050"],
                        "expires": "2030-01-01", "reason": "must survive crashes", "created_by": "test"})
                .to_string(),
            ),
        )
        .await
        .map(|r| (r.status, r.body))
        .unwrap();
    assert_eq!(st, 201, "{body}");
    // The auto-fix run after the first scan may still be writing.
    let mut before = committed(&addr).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = committed(&addr).await;
        if now == before {
            break;
        }
        before = now;
    }
    assert!(!before["issues"].as_array().unwrap().is_empty());
    assert!(!before["jobs"].as_array().unwrap().is_empty());

    // Kill the server at different points of scans over the big inventory.
    std::fs::copy(&big, &inventory).unwrap();
    for (round, delay_ms) in [(2, 300u64), (3, 2500)].into_iter() {
        if round > 2 {
            server = spawn(&again, &dir.path().join(format!("log{round}.txt")));
            wait_for("the restarted server", Duration::from_secs(60), || {
                let addr = addr.clone();
                async move { try_get(&addr, "/healthz").await.map(|x| x.1) }
            })
            .await;
        }
        let r = pac_server::client::Client::new(&addr)
            .request("POST", "/api/v1/scans", Some("{}"))
            .await
            .unwrap();
        assert_eq!(r.status, 202);
        let id = round as i64;
        wait_for("the scan to start", Duration::from_secs(60), || {
            let addr = addr.clone();
            async move { (scan_status(&addr, id).await? == "running").then_some(json!(1)) }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        assert_eq!(
            scan_status(&addr, id).await.as_deref(),
            Some("running"),
            "the scan ended before the kill: make the inventory bigger"
        );
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
    }

    // Restart: the interrupted scans are marked, everything committed is there.
    let _server = spawn(&again, &dir.path().join("log-final.txt"));
    let (_, health) = wait_for("the restarted server", Duration::from_secs(60), || {
        let addr = addr.clone();
        async move {
            try_get(&addr, "/healthz?check=store")
                .await
                .map(|x| json!([x.0, x.1]))
        }
    })
    .await
    .as_array()
    .map(|a| (a[0].clone(), a[1].clone()))
    .unwrap();
    assert_eq!(health["store"]["ok"], true, "{health}");
    for id in [2, 3] {
        assert_eq!(scan_status(&addr, id).await.as_deref(), Some("interrupted"));
    }
    let after = committed(&addr).await;
    for key in ["issues", "exceptions", "jobs", "audit"] {
        let (b, a) = (
            before[key].as_array().unwrap(),
            after[key].as_array().unwrap(),
        );
        for (x, y) in b.iter().zip(a) {
            assert_eq!(x, y, "{key} differ after the crash");
        }
        assert_eq!(b.len(), a.len(), "{key}: not as many after the crash");
    }

    // And the next scan completes over the big inventory.
    let r = pac_server::client::Client::new(&addr)
        .request("POST", "/api/v1/scans", Some("{\"source\": \"demo\"}"))
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    let done = wait_for(
        "the scan after the restarts",
        Duration::from_secs(600),
        || {
            let addr = addr.clone();
            async move {
                let s = scan_status(&addr, 4).await?;
                (s != "running").then(|| json!(s))
            }
        },
    )
    .await;
    assert_eq!(done, "completed");
    let (_, s4) = try_get(&addr, "/api/v1/scans/4").await.unwrap();
    assert_eq!(s4["resources"], 40000);
    let (_, health) = try_get(&addr, "/healthz?check=store").await.unwrap();
    assert_eq!(health["store"]["ok"], true, "{health}");
}

async fn in_process(dir: &Path, sources: &str) -> (Arc<Server>, String) {
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n{sources}",
        dir.join("data"),
        root().join("policies"),
    ))
    .unwrap();
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(ManualClock::new(DEMO_NOW)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;
    (server, addr)
}

async fn issues_of(addr: &str, account: &str) -> Vec<Value> {
    let (_, v) = get(addr, "/api/v1/issues?per_page=500").await;
    let mut out: Vec<Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["account"] == account)
        .map(|i| {
            json!([
                i["id"],
                i["rule"],
                i["resource_key"],
                i["status"],
                i["message"]
            ])
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_account_keeps_its_issues() {
    let dir = tempfile::tempdir().unwrap();
    let (prod, dev) = ("111122223333", "444455556666");
    let docs = demo_docs();
    let a = dir.path().join("prod.ndjson");
    let b = dir.path().join("dev.ndjson");
    let of = |acct: &str| -> Vec<Value> {
        docs.iter()
            .filter(|d| d["account"] == acct)
            .cloned()
            .collect()
    };
    write_ndjson(&a, &of(prod));
    write_ndjson(&b, &of(dev));
    let (server, addr) = in_process(
        dir.path(),
        &format!(
            "[[source]]\nname = \"aws\"\nkind = \"inventory\"\n[[source.file]]\npath = {a:?}\naccount = \"{prod}\"\n[[source.file]]\npath = {b:?}\naccount = \"{dev}\"\n"
        ),
    )
    .await;
    server.scan("aws", "test").await.unwrap();
    let dev_before = issues_of(&addr, dev).await;
    let prod_before = issues_of(&addr, prod).await;
    assert!(!dev_before.is_empty() && !prod_before.is_empty());

    // The dev account cannot be read; prod loses a failing resource.
    std::fs::remove_file(&b).unwrap();
    let open_prod = prod_before
        .iter()
        .find(|i| i[3] == "open")
        .cloned()
        .unwrap();
    let gone_id = open_prod[2]
        .as_str()
        .unwrap()
        .rsplit('|')
        .next()
        .unwrap()
        .to_string();
    let kept: Vec<Value> = of(prod)
        .into_iter()
        .filter(|d| d["id"] != gone_id.as_str())
        .collect();
    write_ndjson(&a, &kept);
    let id = server.scan("aws", "test").await.unwrap();
    let (_, scan) = get(&addr, &format!("/api/v1/scans/{id}")).await;
    assert_eq!(scan["status"], "partial", "{scan}");
    assert_eq!(scan["source_errors"][0]["scope"]["account"], dev);
    assert!(
        scan["source_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dev.ndjson")
    );
    assert_eq!(
        scan["removed"], 1,
        "only the prod resource is removed: {scan}"
    );
    // Dev's issues are exactly as they were; prod's closed.
    assert_eq!(issues_of(&addr, dev).await, dev_before);
    let prod_after = issues_of(&addr, prod).await;
    let closed = prod_after.iter().find(|i| i[0] == open_prod[0]).unwrap();
    assert_eq!(closed[3], "closed");
    // The unread account's results are unknown, never compliant.
    let (_, c) = get(&addr, "/api/v1/compliance").await;
    assert!(c["coverage"]["unknown"].as_u64().unwrap() > 0, "{c}");
    let (_, r) = get(&addr, "/api/v1/resources?q=444455556666&per_page=1").await;
    assert!(
        r["total"].as_i64().unwrap() > 0,
        "dev's resources are still current"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_documents_are_reported_and_the_scan_completes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ndjson");
    write_ndjson(&good, &demo_docs());
    let bad = root().join("examples/demo/bad-inventory.ndjson");
    let (server, addr) = in_process(
        dir.path(),
        &format!(
            "[[source]]\nname = \"mixed\"\nkind = \"inventory\"\npaths = [{good:?}, {bad:?}]\n"
        ),
    )
    .await;
    let id = server.scan("mixed", "test").await.unwrap();
    let (_, scan) = get(&addr, &format!("/api/v1/scans/{id}")).await;
    assert_eq!(scan["status"], "completed", "{scan}");
    let n = scan["ingest_error_count"].as_i64().unwrap();
    assert!(n >= 5, "{scan}");
    let errors = scan["ingest_errors"].as_array().unwrap();
    let texts: Vec<&str> = errors.iter().map(|e| e["text"].as_str().unwrap()).collect();
    // A type mismatch names the resource and the field; a truncated line is
    // a JSON error.
    assert!(
        texts
            .iter()
            .any(|t| t.contains("sg-0c1d2e3f4a5b6c7d8") && t.contains("from_port")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("JSON") || t.contains("EOF")),
        "{texts:#?}"
    );
    // The good documents are all there, with their issues.
    assert!(scan["resources"].as_i64().unwrap() >= 359);
    assert!(scan["opened"].as_i64().unwrap() > 0);
}
