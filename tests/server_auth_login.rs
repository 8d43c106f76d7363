//! Sign-in through a real OpenID provider (npm `oidc-provider` on
//! 127.0.0.1, see tests/oidc_provider): the test's user agent follows every
//! redirect of the authorization code flow, fills the provider's forms,
//! and then uses the session cookie Pac set on API routes. Also: cookie
//! attributes, replayed and foreign callbacks, no open redirect, a user
//! without a grant, idle and absolute expiry, sign-out, planted cookies,
//! and the Origin rule for cookie-authenticated changes.

mod oidc_provider;
mod server_support;

use std::sync::Arc;

use oidc_provider::{Browser, OidcProvider};
use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::json;
use server_support::*;

const SECRET: &str = "a-client-secret-of-the-test-provider-0123456789";

struct Env {
    _dir: tempfile::TempDir,
    _provider: OidcProvider,
    server: Arc<Server>,
    clock: Arc<ManualClock>,
    /// `http://127.0.0.1:PORT`
    pac: String,
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Pac (in-process, on a real socket) with `[auth] mode = "oidc"` against a
/// fresh provider whose accounts are `alice` (in IdP group `pac-admins`),
/// `vera` (in `pac-viewers`) and `bob` (in no group Pac maps).
async fn setup() -> Env {
    setup_with("0s").await
}

/// [`setup`] with `jwks_min_refresh` set.
async fn setup_with(jwks_min_refresh: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pac = format!("http://{}", l.local_addr().unwrap());
    let redirect = format!("{pac}/auth/callback");
    let provider = OidcProvider::start(
        json!([OidcProvider::client("pac", SECRET, &redirect)]),
        json!({
            "alice": {"email": "alice@example.com", "preferred_username": "alice", "groups": ["pac-admins"]},
            "vera": {"email": "vera@example.com", "groups": ["pac-viewers"]},
            "bob": {"email": "bob@example.com", "groups": ["other"]},
        }),
    );
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = format!(
        r#"data_dir = {data:?}
policies = [{policies:?}]
[[source]]
name = "demo"
kind = "inventory"
paths = [{inventory:?}]
[auth]
mode = "oidc"
session_idle = "30m"
session_max = "2h"
[auth.oidc]
issuer = "{issuer}"
client_id = "pac"
client_secret_file = {secret:?}
redirect_url = "{redirect}"
jwks_min_refresh = "{jwks_min_refresh}"
[[auth.grant]]
claim = "groups"
value = "pac-admins"
role = "admin"
groups = ["*"]
[[auth.grant]]
claim = "groups"
value = "pac-viewers"
role = "viewer"
groups = ["*"]
"#,
        data = dir.path().join("data"),
        policies = root().join("policies"),
        issuer = provider.issuer,
    );
    let cfg = Config::parse(&cfg).unwrap();
    // The provider signs with the wall clock: Pac's starts there too.
    let clock = ManualClock::new(wall_clock());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let options = pac_server::api::http::HttpOptions::default();
    let app = pac_server::api::router_with(server.clone(), &options);
    tokio::spawn(async move {
        pac_server::api::http::serve(l, app, options, std::future::pending())
            .await
            .unwrap();
    });
    Env {
        _dir: dir,
        _provider: provider,
        server,
        clock,
        pac,
    }
}

fn session_of(b: &Browser, pac: &str) -> Option<String> {
    b.cookie(pac, "pac_session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_through_the_real_provider_then_use_the_session() {
    let env = setup().await;
    let pac = env.pac.as_str();
    let mut b = Browser::new();

    // Anonymous: 401, saying how to sign in.
    let anon = b.get(&format!("{pac}/api/v1/me")).await;
    assert_eq!(anon.status, 401, "{}", anon.body);
    assert_eq!(anon.headers["www-authenticate"], "Bearer");
    assert!(anon.body.contains("/auth/login"), "{}", anon.body);

    let hops = b.login(pac, "alice", "/api/v1/me").await;
    // The flow really went through the provider: its authorization
    // endpoint with PKCE (S256), state and nonce, and its forms.
    let authorize = hops
        .iter()
        .find(|h| h.url.path() == "/auth" && h.url.as_str().starts_with(&env._provider.issuer))
        .expect("the provider's authorization endpoint was visited");
    let q: std::collections::HashMap<_, _> = authorize.url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], "pac");
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16, "{q:?}");
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{q:?}");

    let callback = hops.last().unwrap();
    assert_eq!(callback.url.path(), "/auth/callback", "{:?}", b.visited);
    assert_eq!(callback.status, 200, "{}", callback.body);
    assert!(
        callback.body.contains("url=/api/v1/me"),
        "{}",
        callback.body
    );
    let cookies = callback.set_cookies();
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("pac_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=7200"] {
        assert!(session_cookie.contains(attr), "{session_cookie}");
    }
    // Plain http on loopback: not Secure (https gets `__Host-` and Secure,
    // see auth::session's unit test).
    assert!(!session_cookie.contains("Secure"), "{session_cookie}");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("pac_login=;") && c.contains("Max-Age=0")),
        "the sign-in binding is cleared: {cookies:?}"
    );

    // The session works on API routes.
    let me = b.get(&format!("{pac}/api/v1/me")).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["kind"], "user");
    assert_eq!(me["name"], "alice");
    assert_eq!(
        me["id"],
        format!("oidc:{}#alice", env._provider.issuer).as_str()
    );
    assert_eq!(me["grants"], json!([{"role": "admin", "group": "*"}]));
    let tokens = b.get(&format!("{pac}/api/v1/tokens")).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let groups = b.get(&format!("{pac}/api/v1/asset-groups")).await;
    assert_eq!(groups.status, 200, "{}", groups.body);

    // A change with the cookie needs this server's Origin.
    let body = Some(("application/json", "{}".to_string()));
    let no_origin = b
        .request(
            reqwest::Method::POST,
            &format!("{pac}/api/v1/scans"),
            &[],
            body.clone(),
        )
        .await;
    assert_eq!(no_origin.status, 403, "{}", no_origin.body);
    assert!(no_origin.body.contains("Origin"), "{}", no_origin.body);
    let with_origin = b
        .request(
            reqwest::Method::POST,
            &format!("{pac}/api/v1/scans"),
            &[("origin", pac)],
            body,
        )
        .await;
    assert_eq!(with_origin.status, 202, "{}", with_origin.body);

    // A browser marks the provider's redirect back as a cross-site
    // navigation: the callback must still be reached (and then refuse the
    // replay below on its own terms), while other cross-site requests stay
    // refused.
    let nav = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "navigate"),
    ];
    let cross = b
        .request(reqwest::Method::GET, callback.url.as_str(), &nav, None)
        .await;
    assert_eq!(cross.status, 400, "{}", cross.body);
    assert!(cross.body.contains("start again"), "{}", cross.body);
    let elsewhere = b
        .request(
            reqwest::Method::GET,
            &format!("{pac}/api/v1/me"),
            &nav,
            None,
        )
        .await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);

    // Replaying the callback (same code and state): refused, the sign-in
    // was consumed.
    let replay = b.get(callback.url.as_str()).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains("start again"), "{}", replay.body);

    // Sign-out ends the session on the server.
    let stolen = session_of(&b, pac).unwrap();
    let out = b
        .request(
            reqwest::Method::POST,
            &format!("{pac}/auth/logout"),
            &[("origin", pac)],
            None,
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(session_of(&b, pac).is_none(), "the cookie is cleared");
    let mut thief = Browser::new();
    thief.set_cookie(pac, "pac_session", &stolen);
    let after = thief.get(&format!("{pac}/api/v1/me")).await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert!(after.body.contains("session has ended"), "{}", after.body);
    assert!(
        after
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("pac_session=;")),
        "a dead cookie is cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let env = setup().await;
    let pac = env.pac.as_str();
    let me = format!("{pac}/api/v1/me");

    // Idle: 30 minutes without a request.
    let mut b = Browser::new();
    assert_eq!(b.login(pac, "vera", "/").await.last().unwrap().status, 200);
    assert_eq!(b.get(&me).await.status, 200);
    env.clock.advance(29 * 60);
    assert_eq!(b.get(&me).await.status, 200, "used within the idle time");
    env.clock.advance(29 * 60);
    assert_eq!(b.get(&me).await.status, 200, "use moved the idle limit");
    env.clock.advance(31 * 60);
    assert_eq!(b.get(&me).await.status, 401, "idle for 31 minutes");

    // Absolute: 2 hours after sign-in, however busy.
    env.clock.set(wall_clock());
    let mut b = Browser::new();
    assert_eq!(b.login(pac, "vera", "/").await.last().unwrap().status, 200);
    for _ in 0..5 {
        env.clock.advance(20 * 60);
        assert_eq!(b.get(&me).await.status, 200);
    }
    env.clock.advance(20 * 60 + 1);
    let r = b.get(&me).await;
    assert_eq!(r.status, 401, "two hours after sign-in: {}", r.body);

    // A viewer holds what its grant says.
    env.clock.set(wall_clock());
    let mut b = Browser::new();
    b.login(pac, "vera", "/").await;
    let v = b.get(&me).await.json();
    assert_eq!(v["grants"], json!([{"role": "viewer", "group": "*"}]));
    assert_eq!(v["name"], "vera@example.com");
    let t = b.get(&format!("{pac}/api/v1/tokens")).await;
    assert_eq!(t.status, 403, "{}", t.body);
    let _ = &env.server;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sign_ins() {
    let env = setup().await;
    let pac = env.pac.as_str();

    // A user the grants do not cover: no session.
    let mut b = Browser::new();
    let hops = b.login(pac, "bob", "/").await;
    let last = hops.last().unwrap();
    assert_eq!(last.url.path(), "/auth/callback");
    assert_eq!(last.status, 403, "{}", last.body);
    assert!(last.body.contains("no Pac role"), "{}", last.body);
    assert!(session_of(&b, pac).is_none());

    // No open redirect: a foreign return_to becomes `/`.
    let mut b = Browser::new();
    let last = b
        .login(pac, "alice", "//evil.example/x")
        .await
        .pop()
        .unwrap();
    assert_eq!(last.status, 200, "{}", last.body);
    assert!(last.body.contains("url=/\""), "{}", last.body);
    assert!(!last.body.contains("evil"), "{}", last.body);

    // Login CSRF: the redirect to Pac's callback (code and state of the
    // victim's sign-in) replayed by another browser, which lacks the
    // victim's binding cookie, is refused, and consumes nothing: the victim
    // can still finish.
    let mut victim = Browser::new();
    victim.stop_at = Some(format!("{pac}/auth/callback"));
    victim.login(pac, "alice", "/").await;
    let cb = victim
        .stopped
        .clone()
        .expect("the provider redirected to the callback");
    assert!(cb.query_pairs().any(|(k, _)| k == "code"), "{cb}");
    let mut attacker = Browser::new();
    let r = attacker.get(cb.as_str()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(session_of(&attacker, pac).is_none());
    let ok = victim.get(cb.as_str()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(session_of(&victim, pac).is_some());

    // A planted session cookie is not a session (fixation).
    let mut p = Browser::new();
    p.set_cookie(
        pac,
        "pac_session",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(p.get(&format!("{pac}/api/v1/me")).await.status, 401);
    p.login(pac, "alice", "/").await;
    let fresh = session_of(&p, pac).unwrap();
    assert_ne!(fresh, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(p.get(&format!("{pac}/api/v1/me")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_at_the_provider_is_followed_once() {
    let env = setup().await;
    let pac = env.pac.as_str();
    let provider = &env._provider;
    let mut b = Browser::new();
    assert_eq!(b.login(pac, "alice", "/").await.last().unwrap().status, 200);
    let before = provider.jwks_hits().await;
    // The provider now signs with a new key and withdraws the old one: the
    // next ID token names a key id Pac has not seen, so Pac fetches the
    // keys again, once, and the sign-in works.
    provider.rotate().await;
    let mut b = Browser::new();
    let last = b.login(pac, "alice", "/").await.pop().unwrap();
    assert_eq!(last.status, 200, "{}", last.body);
    assert_eq!(provider.jwks_hits().await, before + 1);
    // Known again: the next sign-in fetches nothing.
    let mut b = Browser::new();
    assert_eq!(b.login(pac, "alice", "/").await.last().unwrap().status, 200);
    assert_eq!(provider.jwks_hits().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_do_not_make_pac_fetch_more_often_than_configured() {
    let env = setup_with("5m").await;
    let pac = env.pac.as_str();
    let provider = &env._provider;
    let mut b = Browser::new();
    assert_eq!(b.login(pac, "alice", "/").await.last().unwrap().status, 200);
    let before = provider.jwks_hits().await;
    provider.rotate().await;
    // Within five minutes of the last fetch: refused, and not fetched.
    let mut b = Browser::new();
    let last = b.login(pac, "alice", "/").await.pop().unwrap();
    assert_eq!(last.status, 403, "{}", last.body);
    assert!(last.body.contains("could not be verified"), "{}", last.body);
    assert_eq!(provider.jwks_hits().await, before);
    assert!(session_of(&b, pac).is_none());
}

/// Pac with `[auth.oidc]` pointed at a provider that looks like Entra ID's
/// multi-tenant endpoint: `issuer` is `…/organizations/v2.0`, whose
/// metadata names the template `…/{tenantid}/v2.0`; the provider's real
/// issuer is tenant `tenant-a`'s, and its tokens carry `tid`.
async fn setup_entra(tenants: &[&str]) -> (tempfile::TempDir, OidcProvider, String) {
    let dir = tempfile::tempdir().unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pac = format!("http://{}", l.local_addr().unwrap());
    let redirect = format!("{pac}/auth/callback");
    let provider = OidcProvider::start_with(json!({
        "clients": [OidcProvider::client("pac", SECRET, &redirect)],
        "accounts": {"alice": {"preferred_username": "alice", "roles": ["Pac.Admin"], "tid": "tenant-a"}},
        "tenant": "tenant-a",
    }));
    let base = provider
        .issuer
        .strip_suffix("/tenant-a/v2.0")
        .unwrap()
        .to_string();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = format!(
        r#"data_dir = {data:?}
policies = [{policies:?}]
[[source]]
name = "demo"
kind = "inventory"
paths = [{inventory:?}]
[auth]
mode = "oidc"
[auth.oidc]
issuer = "{base}/organizations/v2.0"
tenants = {tenants:?}
client_id = "pac"
client_secret_file = {secret:?}
redirect_url = "{redirect}"
[[auth.grant]]
claim = "roles"
value = "Pac.Admin"
role = "admin"
groups = ["*"]
"#,
        data = dir.path().join("data"),
        policies = root().join("policies"),
    );
    let server = Server::build(
        &Config::parse(&cfg).unwrap(),
        Parts {
            clock: Some(ManualClock::new(wall_clock())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let options = pac_server::api::http::HttpOptions::default();
    let app = pac_server::api::router_with(server, &options);
    tokio::spawn(async move {
        pac_server::api::http::serve(l, app, options, std::future::pending())
            .await
            .unwrap();
    });
    (dir, provider, pac)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_style_multi_tenant_issuer_admits_the_listed_tenants_only() {
    // tenant-a is allowed: signed in, as that tenant's principal.
    let (_dir, provider, pac) = setup_entra(&["tenant-a", "tenant-c"]).await;
    let mut b = Browser::new();
    let hops = b.login(&pac, "alice", "/api/v1/me").await;
    let last = hops.last().unwrap();
    assert_eq!(last.status, 200, "{}", last.body);
    let me = b.get(&format!("{pac}/api/v1/me")).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json()["id"],
        format!("oidc:{}#alice", provider.issuer),
        "the tenant's issuer, not the template"
    );

    // Only tenant-b is allowed: the same provider's token is refused.
    let (_dir, _provider, pac) = setup_entra(&["tenant-b"]).await;
    let mut b = Browser::new();
    let hops = b.login(&pac, "alice", "/").await;
    let last = hops.last().unwrap();
    assert_eq!(last.url.path(), "/auth/callback");
    assert_eq!(last.status, 400, "{}", last.body);
    assert!(
        last.body.contains("not from the configured provider"),
        "{}",
        last.body
    );
    assert!(b.get(&format!("{pac}/api/v1/me")).await.status == 401);
}
