//! The portal in a real browser (docs/portal.md, "Browser tests"): the real
//! `pacc serve` binary on the demo estate (the README's run command, on a
//! free port), and tests/portal_browser/journeys.mjs driving Debian's
//! Chromium with playwright-core through the journeys: dashboard → another
//! asset group (figures compared with the API's), policy → failing
//! resource → asset 360, issues → CSV export compared with the API, every
//! other page, a phone and the dark theme; axe-core on each page.
//!
//! Needs `/usr/bin/chromium` and `npm ci` in tests/portal_browser (both done
//! by `./scripts/test`); `PAC_PORTAL_BROWSER_DIR` may name another directory
//! holding journeys.mjs and its node_modules. Screenshots go to
//! `PAC_SCREENSHOTS` (default: a temporary directory); `docs/screenshots/`
//! holds the committed ones.

mod server_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use server_support::*;

fn journeys_dir() -> PathBuf {
    std::env::var("PAC_PORTAL_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("tests/portal_browser"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_journeys_pass_in_chromium_with_no_serious_accessibility_violation() {
    let dir = journeys_dir();
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "{} has no node_modules: run `npm ci` there (./scripts/test does)",
        dir.display()
    );
    let chromium = std::env::var("PAC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: `apt-get install -y chromium chromium-driver` (./scripts/test does)"
    );
    let data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = data.path().join("serve.log");
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(["serve", "--listen", &addr, "--data-dir"])
            .arg(data.path().join("data"))
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !matches!(try_get(&addr, "/api/v1/compliance").await, Some((200, _))) {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no figures after 3 minutes; the server said:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shots = std::env::var("PAC_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| data.path().join("screenshots"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("journeys.mjs"))
            .arg(format!("http://{addr}"))
            .arg(&shots)
            .env("PAC_CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser journeys failed:\n{stdout}\n{stderr}"
    );
}
