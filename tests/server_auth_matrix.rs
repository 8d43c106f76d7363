//! The authorization matrix: every operation of the server's own OpenAPI
//! document (and the sign-in routes) × every kind of caller, against
//! `auth::rules::RULES`, and every portal page against `web::PAGE_RULES`.
//! An operation without a rule fails here, and a rule
//! whose route is gone too. For each caller the answer must be what the
//! rule says: 401 without credentials, 403 for a role too low, and neither
//! for a caller the rule admits (what the handler then answers — 200, 400
//! for the placeholder body, 404 for the placeholder id — is its business).
//!
//! Inside and outside the caller's groups (answers within its groups, 404
//! for what it cannot see) is asserted per operation in
//! tests/server_auth_scope.rs.

mod oidc_provider;
mod server_support;

use oidc_provider::Browser;
use pac_server::auth::rules::{Rule, allows, rule};
use pac_server::auth::{ALL_GROUPS, Principal, PrincipalKind, Role, token};
use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use server_support::*;

/// Placeholder path parameters: ids and names that do not exist.
fn fill(path: &str) -> String {
    path.replace("{id}", "987654")
        .replace("{name}", "no-such-name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_times_every_role_gets_what_its_rule_says() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n[auth]\nmode = \"tokens\"\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    );
    let server = Server::build(
        &Config::parse(&cfg).unwrap(),
        Parts {
            clock: Some(ManualClock::new(DEMO_NOW)),
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

    // The callers: a token per (role, groups).
    let callers: Vec<(&str, Role, Vec<&str>)> = vec![
        ("viewer@*", Role::Viewer, vec![ALL_GROUPS]),
        ("requester@prod", Role::Requester, vec!["prod"]),
        ("approver@prod", Role::Approver, vec!["prod"]),
        ("admin@prod", Role::Admin, vec!["prod"]),
        ("admin@*", Role::Admin, vec![ALL_GROUPS]),
    ];
    let store = &server.auth.store;
    let mut tokens = Vec::new();
    for (name, role, groups) in &callers {
        let (secret, hash, prefix) = token::mint().unwrap();
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let id = store
            .put_token(
                name,
                &hash,
                &prefix,
                role.as_str(),
                &groups,
                "test",
                DEMO_NOW,
                DEMO_NOW + 86_400,
                false,
            )
            .await
            .unwrap();
        let principal = Principal {
            kind: PrincipalKind::Token,
            id: format!("token:{id}"),
            name: name.to_string(),
            grants: groups.iter().map(|g| (*role, g.clone())).collect(),
            session: None,
            claims: None,
        };
        tokens.push((name.to_string(), secret, principal));
    }

    let mut b = Browser::new();
    let doc = b.get(&format!("{pac}/api/openapi.json")).await.json();
    let mut ops: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                ops.push((m.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(ops.len() >= 25, "{ops:?}");
    // The sign-in routes are not API operations, but pass the same layer.
    for (m, p) in [
        ("GET", "/auth/login"),
        ("GET", "/auth/callback"),
        ("POST", "/auth/logout"),
    ] {
        ops.push((m.into(), p.into()));
    }
    // The portal's pages pass the same two layers (web::PAGE_RULES).
    for (m, p, _) in pac_server::web::PAGE_RULES {
        ops.push((m.to_string(), p.to_string()));
    }
    // Every operation has a rule; every rule names an operation.
    let missing: Vec<_> = ops
        .iter()
        .filter(|(m, p)| rule(&m.parse().unwrap(), p).is_none())
        .collect();
    assert!(missing.is_empty(), "operations without a rule: {missing:?}");
    for (m, p, _) in pac_server::auth::rules::RULES {
        assert!(
            ops.iter().any(|(om, op)| om == m && op == p),
            "rule for {m} {p}, which is no route"
        );
    }

    // The portal's forms also need this server's Origin and the caller's
    // CSRF token (docs/portal.md, "Forms"); with both, only the role
    // decides, as for the API. A caller's token is in every page it gets.
    let mut csrf = std::collections::HashMap::new();
    for (name, secret, _) in &tokens {
        let auth = format!("Bearer {secret}");
        let page = b
            .request(
                reqwest::Method::GET,
                &format!("{pac}/scans"),
                &[("authorization", auth.as_str())],
                None,
            )
            .await;
        if let Some(at) = page.body.find("name=\"csrf-token\" content=\"") {
            let v = &page.body[at + 27..];
            csrf.insert(name.clone(), v[..v.find('"').unwrap()].to_string());
        }
    }
    // (An unsubscribe link's POST is public: its signed token is the
    // check, not a session's form token.)
    let is_form = |m: &str, p: &str| {
        m == "POST"
            && pac_server::web::PAGE_RULES
                .iter()
                .any(|(pm, pp, r)| *pm == "POST" && *pp == p && *r != Rule::Public)
    };

    let mut failures = Vec::new();
    let mut checked = 0;
    // Revoking runs last: a DELETE of a token would otherwise end callers.
    ops.sort_by_key(|(m, p)| (p.starts_with("/api/v1/tokens") && m == "DELETE", p.clone()));
    for (m, p) in &ops {
        let r = rule(&m.parse().unwrap(), p).unwrap();
        let url = format!("{pac}{}", fill(p));
        let body = (m == "POST").then(|| ("application/json", "{}".to_string()));
        // Anonymous.
        let anon = b.request(m.parse().unwrap(), &url, &[], body.clone()).await;
        let want_401 = r != Rule::Public;
        if want_401 != (anon.status == 401) {
            failures.push(format!("anonymous {m} {p}: {} {}", anon.status, anon.body));
        }
        for (name, secret, principal) in &tokens {
            let auth = format!("Bearer {secret}");
            let got = if is_form(m, p) {
                let token = csrf.get(name).cloned().unwrap_or_default();
                b.request(
                    m.parse().unwrap(),
                    &url,
                    &[("authorization", auth.as_str()), ("origin", pac.as_str())],
                    Some(("application/x-www-form-urlencoded", format!("csrf={token}"))),
                )
                .await
            } else {
                b.request(
                    m.parse().unwrap(),
                    &url,
                    &[("authorization", auth.as_str())],
                    body.clone(),
                )
                .await
            };
            checked += 1;
            let allowed = allows(r, principal).is_ok();
            // A caller whose groups do not exist gets no page, so no CSRF
            // token: its form passes the role check and is refused by the
            // handler's token check, which says so.
            let no_token = is_form(m, p) && !csrf.contains_key(name);
            let ok = if allowed && no_token {
                got.status == 403 && got.body.contains("no CSRF token")
            } else if allowed {
                got.status != 401 && got.status != 403 && got.status != 500
            } else {
                got.status == 403
            };
            if !ok {
                failures.push(format!(
                    "{name} {m} {p} (rule {r:?}, allowed {allowed}): {} {}",
                    got.status, got.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 140, "{checked}");

    // Inside and outside the caller's groups, for every operation that
    // takes `?group=`: a viewer of `production` asking for
    // `sandbox_resources` gets the 404 of an unknown group; a viewer of `*`
    // does not. (Objects by id: tests/server_auth_scope.rs.)
    let mut scoped = Vec::new();
    for (name, grants) in [
        ("viewer@production", vec!["production"]),
        ("viewer@*", vec![ALL_GROUPS]),
    ] {
        let (secret, _) = mint_token(&server, name, Role::Viewer, &grants, "test").await;
        scoped.push((name, secret));
    }
    // The matrix queued a scan (POST /api/v1/scans): until its results
    // are in, the figures routes answer 503 to everyone. Wait for them.
    let everyone = format!("Bearer {}", scoped[1].1);
    for _ in 0..300 {
        let r = b
            .request(
                "GET".parse().unwrap(),
                &format!("{pac}/api/v1/compliance"),
                &[("authorization", everyone.as_str())],
                None,
            )
            .await;
        if r.status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut with_group = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let takes_group = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "group" && p["in"] == "query");
        if !takes_group {
            continue;
        }
        with_group += 1;
        // A policy and a compliance domain that exist, so that only the
        // group can make a 404.
        let path_filled = path
            .replace("{id}", "instance_imdsv1_allowed")
            .replace("{name}", "cloud_security");
        let url = format!("{pac}{path_filled}?group=sandbox_resources");
        for (name, secret) in &scoped {
            let auth = format!("Bearer {secret}");
            let got = b
                .request(
                    "GET".parse().unwrap(),
                    &url,
                    &[("authorization", auth.as_str())],
                    None,
                )
                .await;
            let outside = *name == "viewer@production";
            let ok = if outside {
                got.status == 404
                    && got.body.contains("no asset group `sandbox_resources`")
                    && !got.body.contains("critical_data_buckets")
            } else {
                got.status != 404 && got.status != 403
            };
            if !ok {
                failures.push(format!(
                    "{name} GET {path}?group=sandbox_resources: {} {}",
                    got.status, got.body
                ));
            }
        }
    }
    assert!(with_group >= 5, "{with_group}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
