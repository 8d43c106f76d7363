//! Shared parts of the server tests: a recording auto-fix action, a
//! recording notifier, the demo inventory as editable documents, and the
//! API on an ephemeral port.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pac_connectors::{Action, ActionError, FixOutcome, FixRequest, FixStatus};
use pac_server::client::Client;
use pac_server::notify::{Notification, Notifier};
use serde_json::Value;

/// 2026-11-01T00:00:00Z, the demo estate's reference date.
pub const DEMO_NOW: i64 = 1_793_491_200;

/// An action that records what it was asked to do and reports a change.
pub struct Recorder {
    pub names: Vec<&'static str>,
    pub calls: Mutex<Vec<FixRequest>>,
}

impl Recorder {
    pub fn new(names: &[&'static str]) -> Arc<Recorder> {
        Arc::new(Recorder {
            names: names.to_vec(),
            calls: Mutex::new(Vec::new()),
        })
    }
    pub fn calls(&self) -> Vec<FixRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Action for Recorder {
    fn names(&self) -> &[&'static str] {
        &self.names
    }
    async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError> {
        self.calls.lock().unwrap().push(request.clone());
        Ok(FixOutcome {
            status: if request.dry_run {
                FixStatus::WouldChange
            } else {
                FixStatus::Changed
            },
            summary: format!("{} on {}", request.action, request.target.id),
            before: request.target.document.clone(),
            after: Value::Null,
        })
    }
}

/// A notifier that keeps what it was given.
#[derive(Default)]
pub struct Sink(pub Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for Sink {
    fn kind(&self) -> &'static str {
        "test-sink"
    }
    async fn send(&self, n: &Notification) -> Result<(), String> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

/// The repository root (tests run from the package root).
pub fn root() -> PathBuf {
    PathBuf::from(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// The demo inventory's documents.
pub fn demo_docs() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn write_ndjson(path: &Path, docs: &[Value]) {
    let mut s = String::new();
    for d in docs {
        s.push_str(&d.to_string());
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// Serves the API of `server` on an ephemeral port; returns the address.
pub async fn start_api(server: Arc<pac_server::Server>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let app = pac_server::api::router(server);
    tokio::spawn(async move {
        axum_serve(l, app).await;
    });
    addr
}

async fn axum_serve(l: tokio::net::TcpListener, app: pac_server::api::App) {
    pac_server::api::serve(l, app).await;
}

pub async fn get(addr: &str, path: &str) -> (u16, Value) {
    let r = Client::new(addr).get(path).await.unwrap();
    (r.status, r.json())
}

pub async fn send(addr: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = Client::new(addr)
        .request(method, path, Some(&body.to_string()))
        .await
        .unwrap();
    (r.status, r.json())
}

/// A free loopback port (bound, then released, for a server process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `pacc serve` process, killed when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pacc serve --config CONFIG` from the checkout, its standard
/// error into `log`.
pub fn spawn(config: &Path, log: &Path) -> Proc {
    let log = std::fs::File::create(log).unwrap();
    Proc(
        std::process::Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(["serve", "--config"])
            .arg(config)
            .current_dir(root())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// GET through the project's client; `None` while nothing answers.
pub async fn try_get(addr: &str, path: &str) -> Option<(u16, Value)> {
    let r = Client::new(addr).get(path).await.ok()?;
    Some((r.status, r.json()))
}

/// A server with `[auth] mode = "tokens"` (plus `auth_extra` lines of the
/// `[auth]` table) on the shipped policies and the demo inventory, its API
/// on an ephemeral port; scanned once when `scan`. (directory, server,
/// `http://127.0.0.1:PORT`).
pub async fn tokens_server(
    auth_extra: &str,
    scan: bool,
) -> (tempfile::TempDir, Arc<pac_server::Server>, String) {
    tokens_server_with(&demo_docs(), auth_extra, scan).await
}

/// [`tokens_server`] over `docs` instead of the demo inventory.
pub async fn tokens_server_with(
    docs: &[Value],
    auth_extra: &str,
    scan: bool,
) -> (tempfile::TempDir, Arc<pac_server::Server>, String) {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, docs);
    let cfg = format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n[auth]\nmode = \"tokens\"\n{auth_extra}\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    );
    let server = pac_server::Server::build(
        &pac_server::config::Config::parse(&cfg).unwrap(),
        pac_server::Parts {
            clock: Some(pac_server::clock::ManualClock::new(DEMO_NOW)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    if scan {
        for r in server.scan_all("test").await {
            r.unwrap();
        }
    }
    let pac = serve_guarded(server.clone()).await;
    (dir, server, pac)
}

/// Serves `server` as `pacc serve` does (the HTTP layer's host, origin
/// and form checks included) on a free loopback port: `http://ADDR`.
pub async fn serve_guarded(server: Arc<pac_server::Server>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pac = format!("http://{}", l.local_addr().unwrap());
    let options = pac_server::api::http::HttpOptions::default();
    let app = pac_server::api::router_with(server, &options);
    tokio::spawn(async move {
        pac_server::api::http::serve(l, app, options, std::future::pending())
            .await
            .unwrap();
    });
    pac
}

/// A live token (a day long) with `role` on `groups`, stored as made by
/// `maker`: (secret, principal id `token:N`).
pub async fn mint_token(
    server: &pac_server::Server,
    name: &str,
    role: pac_server::auth::Role,
    groups: &[&str],
    maker: &str,
) -> (String, String) {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let (secret, hash, prefix) = pac_server::auth::token::mint().unwrap();
    let id = server
        .auth
        .store
        .put_token(
            name,
            &hash,
            &prefix,
            role.as_str(),
            &groups,
            maker,
            DEMO_NOW,
            DEMO_NOW + 86_400,
            false,
        )
        .await
        .unwrap();
    (secret, format!("token:{id}"))
}
