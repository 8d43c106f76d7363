//! `pacc serve` with no configuration — the README's run command — answers
//! `GET /api/v1/compliance` with real figures for the demo inventory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pac_server::client::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_serves_the_demo_estate() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path())
        .current_dir(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let body = loop {
        if let Ok(r) = Client::new(&addr).get("/api/v1/compliance").await
            && r.status == 200
        {
            break r.json();
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no compliance figures after 3 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let overall = body["overall"].as_f64().unwrap();
    assert!(overall > 0.0 && overall < 100.0, "{body}");
    assert!(body["coverage"]["known"].as_u64().unwrap() > 1000, "{body}");
    let names: Vec<&str> = body["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in ["security", "governance", "cost", "tagging"] {
        assert!(names.contains(&c), "{names:?}");
    }
    assert!(dir.path().join("pac.db").exists());
}
