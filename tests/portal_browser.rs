//! The portal in a real browser (docs/portal.md, "Browser tests"): the real
//! `pacc serve` binary on the demo estate (the README's run command, on a
//! free port), and tests/portal_browser/journeys.mjs driving Debian's
//! Chromium with playwright-core through the journeys: dashboard → another
//! asset group (figures compared with the API's), policy → failing
//! resource → asset 360, search → a facet → asset 360, issues → CSV
//! export compared with the API, every
//! other page, a phone and the dark theme; axe-core on each page.
//!
//! Needs `/usr/bin/chromium` and `npm ci` in tests/portal_browser (both done
//! by `./scripts/test`); `PAC_PORTAL_BROWSER_DIR` may name another directory
//! holding journeys.mjs and its node_modules. Screenshots go to
//! `PAC_SCREENSHOTS` (default: a temporary directory); `docs/screenshots/`
//! holds the committed ones.

mod oidc_provider;
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

const CLIENT_SECRET: &str = "a-client-secret-of-the-test-provider-0123456789";

/// Exceptions and auto-fix through the portal's forms, as two users of a
/// `pacc serve` with `[auth] mode = "oidc"` against the real OpenID
/// provider of tests/oidc_provider: Rita (requester on production) and
/// Andy (approver on production), each signing in through the provider's
/// pages in a browser context of their own (session cookie, CSRF token,
/// the browser's Origin). The journey reads the API with the bootstrap
/// admin token (`PAC_BOOTSTRAP_TOKEN`): tests/portal_browser/exceptions.mjs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_requested_and_approved_in_the_portal_exempts_at_the_next_scan() {
    let dir = journeys_dir();
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "{} has no node_modules: run `npm ci` there (./scripts/test does)",
        dir.display()
    );
    let chromium = std::env::var("PAC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing"
    );
    let data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let redirect = format!("http://{addr}/auth/callback");
    let provider = oidc_provider::OidcProvider::start(
        serde_json::json!([oidc_provider::OidcProvider::client(
            "pac",
            CLIENT_SECRET,
            &redirect
        )]),
        serde_json::json!({
            "rita": {"email": "rita@example.com", "preferred_username": "rita", "groups": ["prod-requesters"]},
            "andy": {"email": "andy@example.com", "preferred_username": "andy", "groups": ["prod-approvers"]},
        }),
    );
    let secret = data.path().join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let cfg = data.path().join("pac.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"data_dir = {data:?}
listen = {addr:?}
policies = [{policies:?}]
[[source]]
name = "demo"
kind = "inventory"
paths = [{inventory:?}]
[auth]
mode = "oidc"
[auth.oidc]
issuer = "{issuer}"
client_id = "pac"
client_secret_file = {secret:?}
redirect_url = "{redirect}"
[[auth.grant]]
claim = "groups"
value = "prod-requesters"
role = "requester"
groups = ["production"]
[[auth.grant]]
claim = "groups"
value = "prod-approvers"
role = "approver"
groups = ["production"]
"#,
            data = data.path().join("data"),
            policies = root().join("policies"),
            inventory = root().join("examples/demo/inventory.json"),
            issuer = provider.issuer,
        ),
    )
    .unwrap();
    // A fixed bootstrap token: `pac_` and 43 characters of base64url.
    let admin = format!("pac_{}", "b".repeat(43));
    let log = data.path().join("serve.log");
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .env("PAC_BOOTSTRAP_TOKEN", &admin)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // Signed out, the API answers 401 once the server is up; figures
    // come with the token once the first scan is done.
    let start = Instant::now();
    let mut b = reqwest::Client::new();
    loop {
        let r = b
            .get(format!("http://{addr}/api/v1/compliance"))
            .bearer_auth(&admin)
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status() == 200) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no figures after 3 minutes; the server said:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        b = reqwest::Client::new();
    }
    let shots = std::env::var("PAC_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| data.path().join("screenshots"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("exceptions.mjs"))
            .arg(format!("http://{addr}"))
            .arg(&shots)
            .env("PAC_CHROMIUM", chromium)
            .env("PAC_ADMIN_TOKEN", admin)
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
        "the exception journeys failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
