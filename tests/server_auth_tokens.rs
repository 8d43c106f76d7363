//! API tokens: created by an admin, shown once, stored hashed, expiring,
//! revocable, listed with their last use; the bootstrap admin token from
//! the environment or printed once by the real `pacc serve`; and `pacc
//! serve` without `[auth]` still serving anonymously on loopback.

mod oidc_provider;
mod server_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use oidc_provider::{Browser, Hop};
use pac_server::auth::token;
use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

const BOOT: &str = "pac_bootstrapbootstrapbootstrapbootstrapbootstr";

struct Env {
    _dir: tempfile::TempDir,
    server: Arc<Server>,
    clock: Arc<ManualClock>,
    pac: String,
}

async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n[auth]\nmode = \"tokens\"\ntoken_max_days = 30\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    );
    let cfg = Config::parse(&cfg).unwrap();
    let clock = ManualClock::new(DEMO_NOW);
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pac = format!("http://{}", l.local_addr().unwrap());
    let options = pac_server::api::http::HttpOptions::default();
    let app = pac_server::api::router_with(server.clone(), &options);
    tokio::spawn(async move {
        pac_server::api::http::serve(l, app, options, std::future::pending())
            .await
            .unwrap();
    });
    Env {
        _dir: dir,
        server,
        clock,
        pac,
    }
}

async fn call(
    b: &mut Browser,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Hop {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    b.request(
        method.parse().unwrap(),
        url,
        &headers,
        body.map(|v| ("application/json", v.to_string())),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_once_used_listed_revoked_and_expire() {
    let env = setup().await;
    let pac = env.pac.as_str();
    let mut b = Browser::new();

    // Bootstrap from the environment's value: stored, nothing to print.
    let minted = token::bootstrap(&env.server.auth, Some(BOOT), DEMO_NOW)
        .await
        .unwrap();
    assert_eq!(minted, None);
    // An admin exists now: a second start stores nothing.
    assert_eq!(
        token::bootstrap(&env.server.auth, None, DEMO_NOW)
            .await
            .unwrap(),
        None
    );
    assert!(
        token::bootstrap(&env.server.auth, Some("pac_short"), DEMO_NOW)
            .await
            .is_ok(),
        "not even checked while an admin exists"
    );

    let anon = call(&mut b, "GET", &format!("{pac}/api/v1/issues"), None, None).await;
    assert_eq!(anon.status, 401, "{}", anon.body);
    let me = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(BOOT), None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["kind"], "token");
    assert_eq!(me.json()["name"], "bootstrap");

    // Create a viewer token: the secret is in this answer only.
    let tokens = format!("{pac}/api/v1/tokens");
    let made = call(
        &mut b,
        "POST",
        &tokens,
        Some(BOOT),
        Some(json!({"name": "ci", "role": "viewer", "groups": ["*"], "expires_days": 7})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    let ci = made["token"].as_str().unwrap().to_string();
    assert!(token::well_formed(&ci), "{ci}");
    assert_eq!(made["status"], "live");
    assert_eq!(made["created_by"], "token:1");
    let id = made["id"].as_i64().unwrap();

    // Too long a life, unknown fields, a bad role: 400s that say why.
    let long = call(
        &mut b,
        "POST",
        &tokens,
        Some(BOOT),
        Some(json!({"name": "x", "role": "viewer", "groups": ["*"], "expires_days": 31})),
    )
    .await;
    assert_eq!(long.status, 400, "{}", long.body);
    assert!(long.body.contains("token_max_days"), "{}", long.body);
    let bad = call(
        &mut b,
        "POST",
        &tokens,
        Some(BOOT),
        Some(json!({"name": "x", "role": "root", "groups": ["*"], "expires_days": 1})),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // The viewer token reads, but may not administer tokens.
    let used = call(
        &mut b,
        "GET",
        &format!("{pac}/api/v1/asset-groups"),
        Some(&ci),
        None,
    )
    .await;
    assert_eq!(used.status, 200, "{}", used.body);
    let denied = call(&mut b, "GET", &tokens, Some(&ci), None).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("admin"), "{}", denied.body);

    // Listed without secrets, with the last use.
    let list = call(&mut b, "GET", &tokens, Some(BOOT), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(!list.body.contains(&ci), "the secret is never listed");
    assert!(!list.body.contains(BOOT));
    let items = list.json()["items"].as_array().unwrap().clone();
    let row = items.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(row["last_used_at"], DEMO_NOW);
    assert_eq!(row["prefix"].as_str().unwrap(), &ci[..12]);
    // Only the hash is stored.
    let stored = env.server.auth.store.token(id).await.unwrap().unwrap();
    assert_eq!(stored.hash, pac_server::auth::session::sha256_hex(&ci));

    // Revoked: refused at once, saying so; revoking again is 404.
    let del = format!("{tokens}/{id}");
    assert_eq!(
        call(&mut b, "DELETE", &del, Some(BOOT), None).await.status,
        204
    );
    let r = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(&ci), None).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("revoked"), "{}", r.body);
    assert_eq!(
        call(&mut b, "DELETE", &del, Some(BOOT), None).await.status,
        404
    );

    // Expired: the bootstrap token lives 24 hours.
    env.clock.advance(24 * 3600);
    let r = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(BOOT), None).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("expired"), "{}", r.body);

    // Malformed and unknown tokens, and other schemes: 401, never anonymous.
    for h in [
        "Bearer nope",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer pac_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let r = b
            .request(
                reqwest::Method::GET,
                &format!("{pac}/api/v1/me"),
                &[("authorization", h)],
                None,
            )
            .await;
        assert_eq!(r.status, 401, "{h}: {}", r.body);
    }
    // Public routes need nothing.
    assert_eq!(
        call(&mut b, "GET", &format!("{pac}/healthz"), None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        call(
            &mut b,
            "GET",
            &format!("{pac}/api/openapi.json"),
            None,
            None
        )
        .await
        .status,
        200
    );
    // No provider configured: sign-in says what to do.
    let login = call(&mut b, "GET", &format!("{pac}/auth/login"), None, None).await;
    assert_eq!(login.status, 404, "{}", login.body);
    assert!(login.body.contains("mode = \\\"oidc\\\""), "{}", login.body);
}

/// `pacc serve` with `PAC_BOOTSTRAP_TOKEN` unset prints a token once; it
/// works; a restart while it lives prints none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_prints_a_bootstrap_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pac.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\nscan_at_start = false\n[auth]\nmode = \"tokens\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let start = || {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove(token::BOOTSTRAP_ENV)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (child, port)
    };
    // Reads stderr until the server says it serves; the lines read.
    let read_until_up = |child: &mut std::process::Child| {
        let mut lines = Vec::new();
        let mut r = BufReader::new(child.stderr.take().unwrap());
        loop {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap() == 0 {
                break;
            }
            let up = l.contains("auth: on");
            lines.push(l);
            if up {
                break;
            }
        }
        (lines, r)
    };

    let (mut child, port) = start();
    let (lines, _keep) = read_until_up(&mut child);
    let printed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("bootstrap admin token"))
        .collect();
    assert_eq!(printed.len(), 1, "{lines:?}");
    let t = printed[0].trim().rsplit(' ').next().unwrap().to_string();
    assert!(token::well_formed(&t), "{t}");
    let pac = format!("http://127.0.0.1:{port}");
    let mut b = Browser::new();
    // The port is bound before the server says it is up.
    let me = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(&t), None).await;
    let anon = call(&mut b, "GET", &format!("{pac}/api/v1/me"), None, None).await;

    // `pacc token` against the running server, with the bootstrap token.
    let pacc = |args: &[&str], with: &str| {
        Command::new(env!("CARGO_BIN_EXE_pacc"))
            .arg("token")
            .args(args)
            .args(["--server", pac.as_str()])
            .env("PAC_TOKEN", with)
            .output()
            .unwrap()
    };
    let made = pacc(
        &[
            "create",
            "--role",
            "viewer",
            "--group",
            "*",
            "--expires",
            "7d",
            "--name",
            "ci",
        ],
        &t,
    );
    let ci = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let made_err = String::from_utf8_lossy(&made.stderr).to_string();
    let ci_me = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(&ci), None).await;
    let listed = pacc(&["list"], &t);
    let by_viewer = pacc(
        &[
            "create",
            "--role",
            "admin",
            "--group",
            "*",
            "--expires",
            "7d",
        ],
        &ci,
    );
    let revoked = pacc(&["revoke", "2"], &t);
    let after = call(&mut b, "GET", &format!("{pac}/api/v1/me"), Some(&ci), None).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(made.status.code(), Some(0), "{made_err}");
    assert!(token::well_formed(&ci), "stdout is the token alone: {ci:?}");
    assert!(made_err.contains("shown this once"), "{made_err}");
    assert_eq!(ci_me.status, 200, "{}", ci_me.body);
    assert_eq!(
        ci_me.json()["grants"],
        json!([{"role": "viewer", "group": "*"}])
    );
    let list = String::from_utf8_lossy(&listed.stdout);
    assert!(list.contains("ci") && list.contains("bootstrap"), "{list}");
    assert!(
        !list.contains(&ci) && !list.contains(&t),
        "no secrets listed: {list}"
    );
    assert_eq!(by_viewer.status.code(), Some(1));
    let e = String::from_utf8_lossy(&by_viewer.stderr);
    assert!(e.contains("admin role on an asset group"), "{e}");
    assert_eq!(revoked.status.code(), Some(0));
    assert_eq!(after.status, 401, "{}", after.body);

    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json()["grants"],
        json!([{"role": "admin", "group": "*"}])
    );
    assert_eq!(anon.status, 401);

    let (mut child, _) = start();
    let (lines, _keep) = read_until_up(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !lines.iter().any(|l| l.contains("bootstrap admin token")),
        "printed again: {lines:?}"
    );
}

/// Without `[auth]`: anonymous callers act as admin on loopback, as
/// before, and the server says how to turn auth on.
#[test]
fn without_auth_the_server_says_so_and_serves_anyone_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut r = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    for _ in 0..20 {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            break;
        }
        said.push_str(&l);
        if l.contains("auth: off") {
            break;
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = rt.block_on(async {
        let mut b = Browser::new();
        call(
            &mut b,
            "GET",
            &format!("http://127.0.0.1:{port}/api/v1/me"),
            None,
            None,
        )
        .await
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        said.contains("auth: off: anyone who can reach http://127.0.0.1:")
            && said.contains("add an [auth] table"),
        "{said}"
    );
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["kind"], "local");
}

/// Guessing tokens is slowed: past 20 failures in 5 minutes an address gets
/// 429 with Retry-After, even with a good token, until the window ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guessing_is_throttled_per_address() {
    let env = setup().await;
    let pac = env.pac.as_str();
    token::bootstrap(&env.server.auth, Some(BOOT), DEMO_NOW)
        .await
        .unwrap();
    let mut b = Browser::new();
    let me = format!("{pac}/api/v1/me");
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let (guess, _, _) = token::mint().unwrap();
        statuses.push(call(&mut b, "GET", &me, Some(&guess), None).await.status);
    }
    assert_eq!(&statuses[..20], &[401; 20]);
    assert_eq!(&statuses[20..], &[429; 5]);
    let r = call(&mut b, "GET", &me, Some(BOOT), None).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    assert!(r.body.contains("retry in"), "{}", r.body);
    // Callers without credentials are not held up (public routes, and the
    // 401 that tells them to sign in).
    assert_eq!(
        call(&mut b, "GET", &format!("{pac}/healthz"), None, None)
            .await
            .status,
        200
    );
    env.clock.advance(300);
    assert_eq!(call(&mut b, "GET", &me, Some(BOOT), None).await.status, 200);
}
