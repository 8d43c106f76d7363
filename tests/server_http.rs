//! The hardened HTTP layer, over real sockets: Host and Origin checks
//! (DNS rebinding and CSRF), JSON-only state changes, security headers, one
//! JSON error format for every status, limits, half-sent requests closed,
//! unknown parameters and fields refused, DELETE of nothing is 404, scans
//! never queued twice, LIKE wildcards taken literally, 503 while the first
//! scan runs, and `pacc serve` refusing a non-loopback address without
//! `--insecure-no-auth`.

mod server_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use pac_server::api::http::HttpOptions;
use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The answer is the API's JSON error with this status.
    fn assert_json_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{self:?}"
        );
        let v = self.json();
        assert_eq!(v["error"]["status"], status, "{self:?}");
        assert!(
            !v["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{self:?}"
        );
    }
}

/// Sends `head` (request line and headers, without the blank line) and
/// `body`, on a fresh connection that the server is asked to close.
async fn raw(addr: &str, head: &str, body: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{head}\r\nConnection: close\r\n");
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).await.unwrap();
    let mut out = Vec::new();
    // A reset after the answer (the server closing with unread bytes)
    // still leaves the answer read.
    let _ = s.read_to_end(&mut out).await;
    parse(&out)
}

fn parse(out: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Raw {
        status,
        headers,
        body: body.to_string(),
    }
}

struct Env {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    server: Arc<Server>,
    addr: String,
}

/// A server over the demo estate (source `demo`) and, when `slow` is set,
/// a second source `slow` whose command waits for the file `GO` in the
/// test's directory: its scan stays running until the test says.
async fn setup(slow: bool, options: HttpOptions) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let mut cfg = format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    );
    if slow {
        let script = format!(
            "while [ ! -f {go:?} ]; do sleep 0.05; done; cat {inv:?}",
            go = dir.path().join("GO"),
            inv = inventory
        );
        cfg.push_str(&format!(
            "[[source]]\nname = \"slow\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", {script:?}]\n"
        ));
    }
    let cfg = Config::parse(&cfg).unwrap();
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(ManualClock::new(DEMO_NOW)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let app = pac_server::api::router_with(server.clone(), &options);
    tokio::spawn(async move {
        pac_server::api::http::serve(l, app, options, std::future::pending())
            .await
            .unwrap();
    });
    Env {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        server,
        addr,
    }
}

fn get_head(addr: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}")
}

fn json_head(method: &str, addr: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json")
}

fn exception(name: &str) -> Value {
    json!({"name": name, "targets": ["sg_ssh_open_to_world"], "resources": ["sg-1"],
           "expires": "2030-01-01", "reason": "r", "created_by": "a"})
}

async fn exception_names(addr: &str) -> Vec<String> {
    let (st, v) = get(addr, "/api/v1/exceptions").await;
    assert_eq!(st, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_rebinding_and_csrf_are_refused() {
    let e = setup(false, HttpOptions::default()).await;
    let port = e.addr.rsplit(':').next().unwrap();
    // DNS rebinding: the attacker's name resolves to 127.0.0.1; the browser
    // sends the attacker's Host.
    let r = raw(
        &e.addr,
        &format!("GET /api/v1/exceptions HTTP/1.1\r\nHost: rebind.evil.example:{port}"),
        b"",
    )
    .await;
    r.assert_json_error(403);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("public_url")
    );
    // No Host at all (HTTP/1.0).
    let r = raw(&e.addr, "GET /api/v1/exceptions HTTP/1.0", b"").await;
    r.assert_json_error(400);
    // CSRF: a page of another origin posts to the loopback server.
    let body = exception("CSRF-1").to_string();
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{}", 1),
    ] {
        let r = raw(
            &e.addr,
            &format!(
                "{}\r\nOrigin: {origin}",
                json_head("POST", &e.addr, "/api/v1/exceptions")
            ),
            body.as_bytes(),
        )
        .await;
        r.assert_json_error(403);
    }
    let r = raw(
        &e.addr,
        &format!(
            "{}\r\nSec-Fetch-Site: cross-site",
            json_head("POST", &e.addr, "/api/v1/exceptions")
        ),
        body.as_bytes(),
    )
    .await;
    r.assert_json_error(403);
    assert!(
        !exception_names(&e.addr)
            .await
            .contains(&"CSRF-1".to_string())
    );
    // The server's own names and origin pass.
    for host in [e.addr.clone(), format!("localhost:{port}")] {
        let r = raw(
            &e.addr,
            &format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}"),
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_must_be_json_and_every_answer_has_security_headers() {
    let e = setup(false, HttpOptions::default()).await;
    let body = exception("PLAIN-1").to_string();
    for ct in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let head = if ct.is_empty() {
            format!("POST /api/v1/exceptions HTTP/1.1\r\nHost: {}", e.addr)
        } else {
            format!(
                "POST /api/v1/exceptions HTTP/1.1\r\nHost: {}\r\nContent-Type: {ct}",
                e.addr
            )
        };
        let r = raw(&e.addr, &head, body.as_bytes()).await;
        r.assert_json_error(415);
    }
    // POST without a body still declares JSON (a form cannot start a scan).
    let r = raw(
        &e.addr,
        &format!("POST /api/v1/scans HTTP/1.1\r\nHost: {}", e.addr),
        b"",
    )
    .await;
    r.assert_json_error(415);
    assert!(
        !exception_names(&e.addr)
            .await
            .contains(&"PLAIN-1".to_string())
    );
    let r = raw(
        &e.addr,
        &json_head("POST", &e.addr, "/api/v1/exceptions")
            .replace("application/json", "application/json; charset=utf-8"),
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    for path in ["/healthz", "/api/v1/nothing"] {
        let r = raw(&e.addr, &get_head(&e.addr, path), b"").await;
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{r:?}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert!(
            r.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_the_json_error_format() {
    let e = setup(false, HttpOptions::default()).await;
    e.server.scan("demo", "test").await.unwrap();
    // 404: an unknown route.
    raw(&e.addr, &get_head(&e.addr, "/nothing/here"), b"")
        .await
        .assert_json_error(404);
    // 405 keeps its Allow header.
    let r = raw(
        &e.addr,
        &json_head("PATCH", &e.addr, "/api/v1/scans"),
        b"{}",
    )
    .await;
    r.assert_json_error(405);
    assert!(r.header("allow").unwrap().contains("POST"), "{r:?}");
    // 413: a body declared over the limit is refused before it is read.
    raw(
        &e.addr,
        &format!(
            "{}\r\nContent-Length: {}",
            json_head("POST", &e.addr, "/api/v1/exceptions"),
            1024 * 1024 + 10
        ),
        b"",
    )
    .await
    .assert_json_error(413);
    // 414: a request target over the limit.
    let long = format!("/api/v1/resources?q={}", "a".repeat(9000));
    raw(&e.addr, &get_head(&e.addr, &long), b"")
        .await
        .assert_json_error(414);
    // Invalid UTF-8 in a path parameter (axum's own rejection).
    raw(&e.addr, &get_head(&e.addr, "/api/v1/resources/%FF%FE"), b"")
        .await
        .assert_json_error(400);
    // Invalid UTF-8 in a body.
    raw(
        &e.addr,
        &json_head("POST", &e.addr, "/api/v1/exceptions"),
        b"{\"name\": \"\xff\xfe\"}",
    )
    .await
    .assert_json_error(400);
    // 409 and 503 were JSON already; 400 of a query parameter too.
    raw(&e.addr, &get_head(&e.addr, "/api/v1/issues?page=x"), b"")
        .await
        .assert_json_error(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameters_and_fields_are_refused_everywhere() {
    let e = setup(false, HttpOptions::default()).await;
    e.server.scan("demo", "test").await.unwrap();
    for path in [
        "/api/v1/exceptions?colour=red",
        "/api/v1/asset-groups?colour=red",
        "/api/v1/issues/1?colour=red",
        "/api/v1/resources/x?colour=red",
        "/api/v1/scans/1?colour=red",
        "/api/v1/autofix/jobs/1?colour=red",
        "/api/openapi.json?colour=red",
        "/healthz?colour=red",
        "/healthz?check=everything",
    ] {
        let (st, v) = get(&e.addr, path).await;
        assert_eq!(st, 400, "{path}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("colour") || msg.contains("`check`"),
            "{path}: {msg}"
        );
    }
    let (st, v) = send(
        &e.addr,
        "POST",
        "/api/v1/asset-groups",
        &json!({"name": "web", "created_by": "a",
                "members": [{"type": "aws.ec2.instance", "colour": "red"}]}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("members[0]"),
        "{v}"
    );
    let mut x = exception("EXTRA");
    x["approved"] = json!(true);
    let (st, v) = send(&e.addr, "POST", "/api/v1/exceptions", &x).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("approved"));
    let (st, v) = send(&e.addr, "POST", "/api/v1/scans", &json!({"sauce": "demo"})).await;
    assert_eq!(st, 400, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_reasons_have_length_limits() {
    let e = setup(false, HttpOptions::default()).await;
    for (field, len) in [("name", 129), ("reason", 2001), ("created_by", 129)] {
        let mut x = exception("LONG");
        x[field] = json!("x".repeat(len));
        let (st, v) = send(&e.addr, "POST", "/api/v1/exceptions", &x).await;
        assert_eq!(st, 400, "{field}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }
    let (st, v) = send(
        &e.addr,
        "POST",
        "/api/v1/asset-groups",
        &json!({"name": "g".repeat(200), "created_by": "a",
                "members": [{"type": "aws.ec2.instance"}]}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(exception_names(&e.addr).await.iter().all(|n| n != "LONG"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_what_is_not_there_is_404() {
    let e = setup(false, HttpOptions::default()).await;
    let (st, v) = send(&e.addr, "POST", "/api/v1/exceptions", &exception("ONCE")).await;
    assert_eq!(st, 201, "{v}");
    // Compiled into the current policy set, as a scan would.
    e.server.scan("demo", "test").await.unwrap();
    let r = raw(
        &e.addr,
        &format!(
            "DELETE /api/v1/exceptions/ONCE HTTP/1.1\r\nHost: {}",
            e.addr
        ),
        b"",
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = raw(
        &e.addr,
        &format!(
            "DELETE /api/v1/exceptions/ONCE HTTP/1.1\r\nHost: {}",
            e.addr
        ),
        b"",
    )
    .await;
    r.assert_json_error(404);
    let r = raw(
        &e.addr,
        &format!(
            "DELETE /api/v1/exceptions/NEVER HTTP/1.1\r\nHost: {}",
            e.addr
        ),
        b"",
    )
    .await;
    r.assert_json_error(404);
    // A DELETE with a body must declare it JSON.
    let r = raw(
        &e.addr,
        &format!(
            "DELETE /api/v1/exceptions/ONCE HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain",
            e.addr
        ),
        b"x",
    )
    .await;
    r.assert_json_error(415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn like_wildcards_in_q_are_plain_characters() {
    let e = setup(false, HttpOptions::default()).await;
    e.server.scan("demo", "test").await.unwrap();
    let (_, all) = get(&e.addr, "/api/v1/resources?per_page=1").await;
    assert!(all["total"].as_i64().unwrap() > 100, "{all}");
    for q in ["%25", "_", "%25%25", "sg-%25"] {
        let (st, v) = get(&e.addr, &format!("/api/v1/resources?q={q}&per_page=1")).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["total"], 0, "q={q} matched as a wildcard: {v}");
    }
    let (_, sg) = get(&e.addr, "/api/v1/resources?q=sg-&per_page=1").await;
    assert!(sg["total"].as_i64().unwrap() > 0, "{sg}");
}

/// Polls `path` until `done` says so (bounded: a hang fails the test).
async fn wait_until(addr: &str, path: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    for _ in 0..6000 {
        let (st, v) = get(addr, path).await;
        if done(st, &v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never reached the expected state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_scan_answers_503_with_its_progress_and_scans_are_never_queued_twice() {
    let e = setup(true, HttpOptions::default()).await;
    let (st, v) = send(&e.addr, "POST", "/api/v1/scans", &json!({"source": "slow"})).await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["queued"], json!(["slow"]));
    // The scan runs (its command waits for GO).
    wait_until(&e.addr, "/api/v1/scans", |_, v| {
        v["items"][0]["status"] == "running"
    })
    .await;
    // Endpoints that need results say the first scan runs, and for how long.
    for path in [
        "/api/v1/compliance",
        "/api/v1/issues",
        "/api/v1/resources",
        "/api/v1/policies",
    ] {
        let r = raw(&e.addr, &get_head(&e.addr, path), b"").await;
        r.assert_json_error(503);
        assert_eq!(r.header("retry-after"), Some("5"), "{path}: {r:?}");
        let d = &r.json()["error"]["details"];
        assert_eq!(d["scan"]["source"], "slow", "{path}: {d}");
        assert_eq!(d["scan"]["status"], "running", "{d}");
    }
    // Others answer.
    let (st, _) = get(&e.addr, "/api/v1/exceptions").await;
    assert_eq!(st, 200);
    // 19 more requests while one scan runs: one more is queued, the rest
    // are answered with it.
    let mut queued = 0;
    let mut already = 0;
    for _ in 0..19 {
        let (st, v) = send(&e.addr, "POST", "/api/v1/scans", &json!({"source": "slow"})).await;
        assert_eq!(st, 202, "{v}");
        queued += v["queued"].as_array().unwrap().len();
        already += v["already_queued"].as_array().unwrap().len();
    }
    assert_eq!((queued, already), (1, 18));
    std::fs::write(e.dir.join("GO"), "").unwrap();
    let v = wait_until(&e.addr, "/api/v1/scans", |_, v| {
        v["total"] == 2
            && v["items"][0]["status"] != "running"
            && v["items"][1]["status"] != "running"
    })
    .await;
    assert_eq!(v["items"][0]["status"], "completed", "{v}");
    let (st, _) = get(&e.addr, "/api/v1/compliance").await;
    assert_eq!(st, 200);
    // Once results exist, a running scan does not hide them.
    std::fs::remove_file(e.dir.join("GO")).unwrap();
    send(&e.addr, "POST", "/api/v1/scans", &json!({"source": "slow"})).await;
    wait_until(&e.addr, "/api/v1/scans", |_, v| {
        v["items"][0]["status"] == "running"
    })
    .await;
    let (st, v) = get(&e.addr, "/api/v1/issues").await;
    assert_eq!(st, 200, "{v}");
    std::fs::write(e.dir.join("GO"), "").unwrap();
    wait_until(&e.addr, "/api/v1/scans", |_, v| {
        v["items"][0]["status"] != "running"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_check_is_shared_by_concurrent_callers() {
    let e = setup(false, HttpOptions::default()).await;
    e.server.scan("demo", "test").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let addr = e.addr.clone();
        tasks.push(tokio::spawn(async move {
            get(&addr, "/healthz?check=store").await
        }));
    }
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["store"]["ok"], true, "{v}");
    }
}

/// A request whose headers or body never finish is closed: the socket
/// reads end of file (after at most a 408) instead of staying open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed() {
    let options = HttpOptions {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let e = setup(false, options).await;
    // A bound on the test itself, far above the server's deadlines: a
    // connection the server keeps open fails the test instead of hanging.
    let bound = Duration::from_secs(60);
    // Headers never finished (slowloris).
    let mut s = TcpStream::connect(&e.addr).await.unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: 1", e.addr).as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(bound, s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "a half-sent header kept its connection open");
    // Bytes dripped one at a time do not reset the header deadline.
    let mut s = TcpStream::connect(&e.addr).await.unwrap();
    let drip = async {
        for b in b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter().cycle() {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(
        tokio::time::timeout(bound, drip).await.is_ok(),
        "a dripping header kept its connection open"
    );
    // A body never finished: 408 in the JSON format, then the connection closes.
    let mut s = TcpStream::connect(&e.addr).await.unwrap();
    s.write_all(
        format!(
            "{}\r\nContent-Length: 100\r\n\r\n{{\"name\":",
            json_head("POST", &e.addr, "/api/v1/exceptions")
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(bound, s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "a half-sent body kept its connection open");
    parse(&out).assert_json_error(408);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &Path, listen: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(["serve", "--listen", listen, "--data-dir"])
        .arg(dir)
        .args(extra)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_non_loopback_address_needs_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("0.0.0.0:{}", free_port());
    let out = serve(dir.path(), &listen, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--insecure-no-auth"), "{err}");
    // Nothing was opened or written.
    assert!(!dir.path().join("pac.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_refuses_foreign_hosts_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = serve(dir.path(), &addr, &[]);
    let mut up = false;
    for _ in 0..3000 {
        if let Ok(r) = pac_server::client::Client::new(&addr).get("/healthz").await {
            up = r.status == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let host = raw(
        &addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: attacker.example:{port}"),
        b"",
    )
    .await;
    let origin = raw(
        &addr,
        &format!(
            "{}\r\nOrigin: http://attacker.example",
            json_head("POST", &addr, "/api/v1/scans")
        ),
        b"{}",
    )
    .await;
    let own = raw(&addr, &get_head(&addr, "/healthz"), b"").await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "pacc serve did not answer");
    host.assert_json_error(403);
    origin.assert_json_error(403);
    assert_eq!(own.status, 200);
    assert_eq!(own.header("x-frame-options"), Some("DENY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_limits_and_errors_that_are_enforced() {
    use pac_server::api::{ID_MAX, LIST_MAX, NAME_MAX, TEXT_MAX};
    use pac_server::program::MAX_WHERE_CHARS;
    let e = setup(false, HttpOptions::default()).await;
    let (st, doc) = get(&e.addr, "/api/openapi.json").await;
    assert_eq!(st, 200);
    let schemas = &doc["components"]["schemas"];
    let x = &schemas["NewException"];
    assert_eq!(x["additionalProperties"], false, "{x}");
    assert_eq!(x["properties"]["name"]["maxLength"], NAME_MAX);
    assert_eq!(x["properties"]["reason"]["maxLength"], TEXT_MAX);
    assert_eq!(x["properties"]["created_by"]["maxLength"], NAME_MAX);
    assert_eq!(x["properties"]["where"]["maxLength"], MAX_WHERE_CHARS);
    let member = &schemas["NewMember"]["properties"];
    assert_eq!(member["where"]["maxLength"], MAX_WHERE_CHARS, "{member}");
    assert_eq!(x["properties"]["targets"]["maxItems"], LIST_MAX);
    let g = &schemas["NewGroup"];
    assert_eq!(g["additionalProperties"], false, "{g}");
    assert_eq!(g["properties"]["name"]["maxLength"], NAME_MAX);
    assert_eq!(schemas["NewMember"]["additionalProperties"], false);
    let params = doc["paths"]["/api/v1/resources"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let q = params.iter().find(|p| p["name"] == "q").unwrap();
    assert_eq!(q["schema"]["maxLength"], ID_MAX, "{q}");
    assert!(params.iter().any(|p| p["name"] == "type"), "{params:?}");
    // `after` is documented where it is accepted, and only there.
    let names = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(names("/api/v1/issues").contains(&"after".to_string()));
    assert!(!names("/api/v1/policies").contains(&"after".to_string()));
    // And what is documented is accepted.
    e.server.scan("demo", "test").await.unwrap();
    for path in ["/api/v1/issues", "/api/v1/policies", "/api/v1/resources"] {
        let query: Vec<String> = names(path)
            .into_iter()
            .filter(|n| ["page", "per_page", "after"].contains(&n.as_str()))
            .map(|n| format!("{n}=1"))
            .collect();
        let (st, v) = get(&e.addr, &format!("{path}?{}", query.join("&"))).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    // Every operation lists the HTTP layer's errors.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for code in ["400", "403", "414"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "{method} {path}: {code}"
                );
            }
            if method == "post" {
                for code in ["408", "413", "415"] {
                    assert!(
                        op["responses"].get(code).is_some(),
                        "{method} {path}: {code}"
                    );
                }
            }
        }
    }
}
