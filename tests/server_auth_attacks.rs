//! ID tokens that must be refused, fed to the one check every sign-in goes
//! through (`auth::oidc::Oidc::verify_id_token`). The tokens are real: the
//! test acts as a relying party of the real provider (tests/oidc_provider)
//! and then alters them; nothing here signs a token. Expected answers are
//! in docs/auth.md.

mod oidc_provider;
mod server_support;

use oidc_provider::{Browser, OidcProvider};
use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

const SECRET: &str = "a-client-secret-of-the-test-provider-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unb64url(s: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c).unwrap() as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n & 0xff) as u8);
        }
    }
    out
}

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&unb64url(token.split('.').nth(i).unwrap())).unwrap()
}

fn client(id: &str) -> Value {
    json!({"client_id": id, "client_secret": SECRET, "redirect_uris": [REDIRECT],
           "response_types": ["code"], "grant_types": ["authorization_code"],
           "token_endpoint_auth_method": "client_secret_post"})
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Pac (not serving) with `[auth] mode = "oidc"`, the `[auth.oidc]` lines
/// `oidc` plus the client secret, and `pac-admins` granted admin; its
/// clock at `now`.
async fn pac_with(oidc: &str, now: i64) -> (tempfile::TempDir, std::sync::Arc<Server>) {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let cfg = format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[auth]\nmode = \"oidc\"\n[auth.oidc]\n{oidc}\nclient_id = \"pac\"\nclient_secret_file = {:?}\n[[auth.grant]]\nclaim = \"groups\"\nvalue = \"pac-admins\"\nrole = \"admin\"\ngroups = [\"*\"]\n",
        dir.path().join("data"),
        root().join("policies"),
        secret
    );
    let server = Server::build(
        &Config::parse(&cfg).unwrap(),
        Parts {
            clock: Some(ManualClock::new(now)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_altered_foreign_and_stale_id_tokens_are_refused() {
    let accounts = json!({"alice": {"email": "alice@example.com", "groups": ["pac-admins"]}});
    let spec = |clients: Value| json!({"clients": clients, "accounts": accounts, "pkceOptional": ["pac", "other"]});
    let a = OidcProvider::start_with(spec(json!([client("pac"), client("other")])));
    // Another provider (another issuer, other keys) with a client of the
    // same id.
    let b = OidcProvider::start_with(spec(json!([client("pac")])));

    let now = wall_clock();
    let (_dir, server) = pac_with(&format!("issuer = \"{}\"", a.issuer), now).await;
    let oidc = server.auth.oidc.as_ref().unwrap();
    let verify = |raw: String, nonce: &'static str, at: i64| async move {
        oidc.verify_id_token(&raw, nonce, at).await
    };

    let mut ua = Browser::new();
    let good = ua
        .raw_id_token(
            &a.issuer,
            "pac",
            SECRET,
            REDIRECT,
            "alice",
            "nonce-one-0123456789",
        )
        .await;
    assert_eq!(part(&good, 0)["alg"], "RS256");

    // The control: the real token, as issued, is accepted.
    let id = verify(good.clone(), "nonce-one-0123456789", now)
        .await
        .unwrap();
    assert_eq!(id.principal, format!("oidc:{}#alice", a.issuer));
    assert_eq!(id.claims.groups, ["pac-admins"]);

    let mut refused: Vec<(&str, String)> = Vec::new();
    let mut expect = |case: &'static str, r: Result<_, String>, says: &str| {
        let e = r.err().unwrap_or_else(|| panic!("{case}: accepted"));
        assert!(e.contains(says), "{case}: {e}");
        refused.push((case, e));
    };

    // Another sign-in's nonce (a replayed token).
    expect(
        "nonce of another sign-in",
        verify(good.clone(), "nonce-two-0123456789", now).await,
        "nonce",
    );
    // Expired: two hours on (the provider's ID tokens live one hour).
    expect(
        "expired",
        verify(good.clone(), "nonce-one-0123456789", now + 7200).await,
        "Expired",
    );
    // Issued far in the future of the verifier's clock.
    expect(
        "issued in the future",
        verify(good.clone(), "nonce-one-0123456789", now - 7200).await,
        "future",
    );
    // Issued to another client of the same provider.
    let other = ua
        .raw_id_token(
            &a.issuer,
            "other",
            SECRET,
            REDIRECT,
            "alice",
            "nonce-one-0123456789",
        )
        .await;
    expect(
        "wrong audience",
        verify(other, "nonce-one-0123456789", now).await,
        "audience",
    );
    // Issued by another provider to a client with our id.
    let foreign = ua
        .raw_id_token(
            &b.issuer,
            "pac",
            SECRET,
            REDIRECT,
            "alice",
            "nonce-one-0123456789",
        )
        .await;
    expect(
        "foreign issuer",
        verify(foreign, "nonce-one-0123456789", now).await,
        "issuer",
    );
    // The payload altered (more groups), the signature kept.
    let pieces: Vec<&str> = good.split('.').collect();
    let mut claims = part(&good, 1);
    claims["groups"] = json!(["pac-admins", "everyone"]);
    let tampered = format!(
        "{}.{}.{}",
        pieces[0],
        b64url(claims.to_string().as_bytes()),
        pieces[2]
    );
    expect(
        "tampered payload",
        verify(tampered, "nonce-one-0123456789", now).await,
        "Crypto error",
    );
    // `alg: none`, no signature.
    let none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        pieces[1]
    );
    expect(
        "alg none",
        verify(none, "nonce-one-0123456789", now).await,
        "No signature found",
    );
    // HS256 (algorithm confusion): never on the allow-list, whatever the
    // signature.
    let mut header = part(&good, 0);
    header["alg"] = json!("HS256");
    let hs = format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        pieces[1],
        pieces[2]
    );
    expect(
        "HS256 header",
        verify(hs, "nonce-one-0123456789", now).await,
        "Disallowed signature algorithm",
    );
    // Not a JWT at all.
    expect(
        "garbage",
        verify("garbage".into(), "nonce-one-0123456789", now).await,
        "not a JWT",
    );
    for (case, e) in &refused {
        println!("{case}: {e}");
    }
    assert_eq!(refused.len(), 9);
}

/// Entra-style multi-tenant issuer: a real token of tenant `tenant-a`
/// (its issuer `…/tenant-a/v2.0`) is accepted only where `tenant-a` is
/// listed, and a token whose `tid` names another tenant than its issuer's
/// is refused even when that tenant is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_tenant_tokens_must_come_from_a_listed_tenant_under_its_own_issuer() {
    let now = wall_clock();
    let mut outcomes = Vec::new();
    for (tid_claim, listed) in [
        ("tenant-a", "tenant-a"),
        ("tenant-a", "tenant-b"),
        ("tenant-x", "tenant-x"),
    ] {
        let p = OidcProvider::start_with(json!({
            "clients": [client("pac")],
            "accounts": {"alice": {"groups": ["pac-admins"], "tid": tid_claim}},
            "pkceOptional": ["pac"],
            "tenant": "tenant-a",
        }));
        let base = p.issuer.strip_suffix("/tenant-a/v2.0").unwrap();
        let (_dir, server) = pac_with(
            &format!("issuer = \"{base}/organizations/v2.0\"\ntenants = [\"{listed}\"]"),
            now,
        )
        .await;
        let raw = Browser::new()
            .raw_id_token(
                &p.issuer,
                "pac",
                SECRET,
                REDIRECT,
                "alice",
                "nonce-mt-0123456789",
            )
            .await;
        assert_eq!(part(&raw, 1)["tid"], tid_claim);
        let r = server
            .auth
            .oidc
            .as_ref()
            .unwrap()
            .verify_id_token(&raw, "nonce-mt-0123456789", now)
            .await;
        outcomes.push((
            tid_claim,
            listed,
            r.map(|id| id.principal),
            p.issuer.clone(),
        ));
    }
    let (_, _, ok, issuer) = &outcomes[0];
    assert_eq!(ok.as_ref().unwrap(), &format!("oidc:{issuer}#alice"));
    let e = outcomes[1].2.as_ref().unwrap_err();
    assert!(
        e.contains("its tenant `tenant-a` is not one of `auth.oidc.tenants`"),
        "{e}"
    );
    let e = outcomes[2].2.as_ref().unwrap_err();
    assert!(e.contains("is not tenant `tenant-x`'s"), "{e}");
}

/// A key the provider withdrew stops being accepted once the keys Pac
/// holds are older than `jwks_max_age`, although its key id is cached (a
/// token signed with it names a key Pac knows, so no unknown-key refetch
/// would happen).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_key_is_refused_once_the_keys_are_older_than_their_max_age() {
    let p = OidcProvider::start_with(json!({
        "clients": [client("pac")],
        "accounts": {"alice": {"groups": ["pac-admins"]}},
        "pkceOptional": ["pac"],
    }));
    let now = wall_clock();
    let (_dir, server) = pac_with(
        &format!(
            "issuer = \"{}\"\njwks_max_age = \"1s\"\njwks_min_refresh = \"1h\"",
            p.issuer
        ),
        now,
    )
    .await;
    let oidc = server.auth.oidc.as_ref().unwrap();
    let nonce = "nonce-age-0123456789";
    let old = Browser::new()
        .raw_id_token(&p.issuer, "pac", SECRET, REDIRECT, "alice", nonce)
        .await;
    // Accepted while the key is published (and now cached).
    oidc.verify_id_token(&old, nonce, now).await.unwrap();
    p.rotate().await;
    // Within the max age the cached key still verifies it.
    oidc.verify_id_token(&old, nonce, now).await.unwrap();
    let hits = p.jwks_hits().await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // Past it: the keys are fetched again, and the withdrawn one is gone.
    let e = oidc.verify_id_token(&old, nonce, now).await.unwrap_err();
    assert!(e.contains("no key of the provider matches"), "{e}");
    assert_eq!(p.jwks_hits().await, hits + 1, "fetched once");
}
