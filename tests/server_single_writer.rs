//! One writer per store: a second real `pacc serve` on the data directory
//! of a running one refuses to start, naming the first (pid and listen
//! address), and touches nothing — the first server's running scan and
//! running auto-fix action stay `running` (a second server used to mark
//! them `interrupted` and `failed` on its way to failing to bind).

mod server_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pac_server::store::{SqlStore, Store};
use server_support::*;

fn write_config(dir: &Path, name: &str, port: u16, data: &Path, inventory: &Path) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\npolicies = [{:?}]\nschedule = \"every 1d\"\n[autofix]\ntick = \"1h\"\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{inventory:?}]\n",
            root().join("policies"),
        ),
    )
    .unwrap();
    p
}

/// Runs a second server to its end; its exit code and what it printed.
fn run_second(config: &Path, log: &Path) -> (Option<i32>, String) {
    let mut p = spawn(config, log);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = p.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the second server is still running: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), std::fs::read_to_string(log).unwrap())
}

async fn wait_for_first_scan(addr: &str) {
    let start = Instant::now();
    loop {
        if let Some((200, v)) = try_get(addr, "/api/v1/scans/1").await
            && v["status"] == "completed"
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the first server's scan did not complete"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_store_refuses_to_start_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let first_cfg = write_config(dir.path(), "first.toml", port, &data, &inventory);
    let first = spawn(&first_cfg, &dir.path().join("first.log"));
    let pid = first.0.id();
    wait_for_first_scan(&addr).await;

    // What the first server would have in flight: a scan and an action.
    // (Written through the store as the first server writes them.)
    let url = format!("sqlite://{}", data.join("pac.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    let running_scan = store.begin_scan("demo", "api", 1).await.unwrap();
    let (_, jobs) = try_get(&addr, "/api/v1/autofix/jobs?status=waiting&per_page=500")
        .await
        .unwrap();
    // One not due for a day: the live server does not run it meanwhile.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3600;
    let job = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["due_at"].as_i64().is_some_and(|d| d > later))
        .and_then(|j| j["id"].as_i64())
        .expect("a waiting job due later");
    assert!(store.claim_job(job, 1).await.unwrap());
    drop(store);
    let lock = std::fs::read_to_string(data.join("pac.db.lock")).unwrap();
    assert!(
        lock.contains(&pid.to_string()) && lock.contains(&addr),
        "{lock}"
    );

    // Same data directory, another port; then the same port.
    for (name, second_port) in [("other-port", free_port()), ("same-port", port)] {
        let cfg = write_config(
            dir.path(),
            &format!("{name}.toml"),
            second_port,
            &data,
            &inventory,
        );
        let (code, said) = run_second(&cfg, &dir.path().join(format!("{name}.log")));
        assert!(
            code.is_some_and(|c| c != 0),
            "{name}: exit {code:?}: {said}"
        );
        assert!(
            said.contains("in use by another server")
                && said.contains(&format!("pid {pid}"))
                && said.contains(&format!("listening on {addr}")),
            "{name}: {said}"
        );
        // Untouched: the first server's scan and action are still running.
        let (_, scan) = try_get(&addr, &format!("/api/v1/scans/{running_scan}"))
            .await
            .unwrap();
        assert_eq!(scan["status"], "running", "{name}: {scan}");
        let (_, j) = try_get(&addr, &format!("/api/v1/autofix/jobs/{job}"))
            .await
            .unwrap();
        assert_eq!(j["status"], "running", "{name}: {j}");
        let (_, s1) = try_get(&addr, "/api/v1/scans/1").await.unwrap();
        assert_eq!(s1["status"], "completed");
    }
    // The first server still serves, and still holds the lock.
    let (st, _) = try_get(&addr, "/healthz").await.unwrap();
    assert_eq!(st, 200);
    assert!(
        std::fs::read_to_string(data.join("pac.db.lock"))
            .unwrap()
            .contains(&pid.to_string())
    );

    // Once it is gone, the next server takes the store over and recovers
    // what was left running.
    drop(first);
    let port2 = free_port();
    let addr2 = format!("127.0.0.1:{port2}");
    let cfg = write_config(dir.path(), "next.toml", port2, &data, &inventory);
    let _next = spawn(&cfg, &dir.path().join("next.log"));
    let start = Instant::now();
    let scan = loop {
        if let Some((200, v)) = try_get(&addr2, &format!("/api/v1/scans/{running_scan}")).await {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no next server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(scan["status"], "interrupted", "{scan}");
    let (_, j) = try_get(&addr2, &format!("/api/v1/autofix/jobs/{job}"))
        .await
        .unwrap();
    assert_eq!(j["status"], "failed", "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_listen_touches_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    // The port is taken by something else.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let data = dir.path().join("data");
    let cfg = write_config(dir.path(), "c.toml", port, &data, &inventory);
    let (code, said) = run_second(&cfg, &dir.path().join("c.log"));
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {said}");
    assert!(
        said.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{said}"
    );
    assert!(!data.join("pac.db").exists(), "the store was created");
}
