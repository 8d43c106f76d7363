//! Group scope (docs/auth.md, "Group scope"): a principal sees and acts on
//! the resources, issues, figures, jobs and exceptions of the asset groups
//! where it holds a role, and what lies outside is answered exactly as
//! what does not exist (no 403-vs-404 oracle). Exceptions granted by an
//! approver of some groups are confined to one of them and exempt its
//! members only, at the next scan.
//!
//! The estate is the demo inventory with the shipped policies, whose
//! groups `production` and `sandbox_resources` are disjoint.

mod oidc_provider;
mod server_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use oidc_provider::{Browser, Hop};
use pac_server::Server;
use pac_server::auth::Role;
use serde_json::{Value, json};
use server_support::*;

const PROD: &str = "production";
const SANDBOX: &str = "sandbox_resources";

struct Env {
    _dir: tempfile::TempDir,
    server: Arc<Server>,
    pac: String,
    b: Browser,
}

impl Env {
    async fn new() -> Env {
        let (dir, server, pac) = tokens_server("", true).await;
        Env {
            _dir: dir,
            server,
            pac,
            b: Browser::new(),
        }
    }

    /// A token holding `role` on the groups of `grants` (one role each).
    async fn token(&self, name: &str, grants: &[(Role, &str)]) -> String {
        let role = grants[0].0;
        assert!(grants.iter().all(|(r, _)| *r == role));
        let groups: Vec<&str> = grants.iter().map(|(_, g)| *g).collect();
        mint_token(&self.server, name, role, &groups, "test")
            .await
            .0
    }

    async fn call(&mut self, method: &str, path: &str, token: &str, body: Option<Value>) -> Hop {
        let auth = format!("Bearer {token}");
        self.b
            .request(
                method.parse().unwrap(),
                &format!("{}{path}", self.pac),
                &[("authorization", auth.as_str())],
                body.map(|v| ("application/json", v.to_string())),
            )
            .await
    }

    async fn get(&mut self, path: &str, token: &str) -> (u16, Value) {
        let r = self.call("GET", path, token, None).await;
        let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        (r.status, v)
    }

    /// Every item of a paged list.
    async fn all(&mut self, path: &str, token: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1.. {
            let (st, v) = self
                .get(&format!("{path}{sep}per_page=500&page={page}"), token)
                .await;
            assert_eq!(st, 200, "{path}: {v}");
            let items = v["items"].as_array().unwrap().clone();
            let done = items.len() < 500;
            out.extend(items);
            if done {
                break;
            }
        }
        out
    }
}

fn ids(items: &[Value], field: &str) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| match &i[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The error message with `what` replaced, to compare two 404s.
fn message(v: &Value, what: &str) -> String {
    v["error"]["message"]
        .as_str()
        .or(v["message"].as_str())
        .unwrap_or_else(|| panic!("no message in {v}"))
        .replace(what, "X")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_its_groups_only_and_cannot_tell_that_the_rest_exists() {
    let mut env = Env::new().await;
    let admin = env.token("admin", &[(Role::Admin, "*")]).await;
    let viewer = env.token("viewer", &[(Role::Viewer, PROD)]).await;
    let both = env
        .token("both", &[(Role::Viewer, PROD), (Role::Viewer, SANDBOX)])
        .await;

    // What the admin sees of each group.
    let prod = env
        .all(&format!("/api/v1/resources?group={PROD}"), &admin)
        .await;
    let sandbox = env
        .all(&format!("/api/v1/resources?group={SANDBOX}"), &admin)
        .await;
    let prod_keys = ids(&prod, "key");
    let outside: Vec<&Value> = sandbox
        .iter()
        .filter(|r| !prod_keys.contains(r["key"].as_str().unwrap()))
        .collect();
    assert!(
        prod.len() > 10 && !outside.is_empty(),
        "{} {}",
        prod.len(),
        outside.len()
    );
    let prod_issues = env
        .all(&format!("/api/v1/issues?group={PROD}"), &admin)
        .await;
    let outside_keys = ids(&sandbox, "key");
    let outside_issue = env
        .all(&format!("/api/v1/issues?group={SANDBOX}"), &admin)
        .await
        .into_iter()
        .find(|i| !prod_keys.contains(i["resource_key"].as_str().unwrap()))
        .expect("an issue of a sandbox resource");
    assert!(outside_keys.contains(outside_issue["resource_key"].as_str().unwrap()));

    // Lists are confined to the viewer's group.
    let seen = env.all("/api/v1/resources", &viewer).await;
    assert_eq!(ids(&seen, "key"), prod_keys);
    let seen_issues = env.all("/api/v1/issues", &viewer).await;
    assert_eq!(ids(&seen_issues, "id"), ids(&prod_issues, "id"));
    let (st, groups) = env.get("/api/v1/asset-groups", &viewer).await;
    assert_eq!(st, 200);
    assert_eq!(
        ids(groups["items"].as_array().unwrap(), "name"),
        BTreeSet::from([PROD.to_string()])
    );

    // Figures are the group's.
    let (st, mine) = env.get("/api/v1/compliance", &viewer).await;
    assert_eq!(st, 200, "{mine}");
    let (_, theirs) = env
        .get(&format!("/api/v1/compliance?group={PROD}"), &admin)
        .await;
    assert_eq!(mine["group"], PROD);
    assert_eq!(mine["overall"], theirs["overall"]);
    assert_eq!(mine["coverage"], theirs["coverage"]);
    let (st, pols) = env.get("/api/v1/policies", &viewer).await;
    assert_eq!(st, 200);
    assert_eq!(pols["group"], PROD);

    // Outside: answered as what does not exist, word for word.
    let key = outside[0]["key"].as_str().unwrap();
    let (st, hidden) = env
        .get(&format!("/api/v1/resources/{}", enc(key)), &viewer)
        .await;
    let (st2, missing) = env.get("/api/v1/resources/no-such-resource", &viewer).await;
    assert_eq!((st, st2), (404, 404), "{hidden} {missing}");
    assert_eq!(message(&hidden, key), message(&missing, "no-such-resource"));
    let id = outside_issue["id"].as_i64().unwrap().to_string();
    let (st, hidden) = env.get(&format!("/api/v1/issues/{id}"), &viewer).await;
    let (st2, missing) = env.get("/api/v1/issues/987654", &viewer).await;
    assert_eq!((st, st2), (404, 404), "{hidden} {missing}");
    assert_eq!(message(&hidden, &id), message(&missing, "987654"));
    for path in [
        "/api/v1/compliance",
        "/api/v1/issues",
        "/api/v1/resources",
        "/api/v1/policies",
        "/api/v1/compliance/history",
    ] {
        let (st, hidden) = env.get(&format!("{path}?group={SANDBOX}"), &viewer).await;
        let (st2, missing) = env
            .get(&format!("{path}?group=no_such_group"), &viewer)
            .await;
        assert_eq!((st, st2), (404, 404), "{path}: {hidden} {missing}");
        assert_eq!(
            message(&hidden, SANDBOX),
            message(&missing, "no_such_group"),
            "{path}"
        );
        assert!(
            !hidden
                .to_string()
                .contains(SANDBOX.replace('_', "").as_str())
        );
    }
    // The admin sees the resource, and it is in sandbox only.
    let (st, r) = env
        .get(&format!("/api/v1/resources/{}", enc(key)), &admin)
        .await;
    assert_eq!(st, 200);
    assert!(r["groups"].as_array().unwrap().contains(&json!(SANDBOX)));

    // Scans: when and how, not the estate's figures.
    let (st, scans) = env.get("/api/v1/scans", &viewer).await;
    assert_eq!(st, 200);
    let first = &scans["items"][0];
    assert_eq!(first["status"], "completed", "{first}");
    assert!(
        first.get("resources").is_none() && first.get("source_errors").is_none(),
        "{first}"
    );
    let (_, full) = env.get("/api/v1/scans", &admin).await;
    assert!(full["items"][0]["resources"].as_i64().unwrap() > 0);

    // A caller with two groups chooses one for figures; lists cover both.
    let (st, v) = env.get("/api/v1/compliance", &both).await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v.to_string().contains(PROD) && v.to_string().contains(SANDBOX),
        "{v}"
    );
    let (st, _) = env
        .get(&format!("/api/v1/compliance?group={SANDBOX}"), &both)
        .await;
    assert_eq!(st, 200);
    let both_seen = env.all("/api/v1/resources", &both).await;
    assert_eq!(both_seen.len(), prod.len() + outside.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_grants_exceptions_in_its_groups_only_and_they_exempt_only_there() {
    let mut env = Env::new().await;
    let admin = env.token("admin", &[(Role::Admin, "*")]).await;
    let approver = env.token("approver", &[(Role::Approver, PROD)]).await;
    let other = env.token("other", &[(Role::Approver, SANDBOX)]).await;
    // An approver of production who only views sandbox: a second token of
    // the same person would do; here one token per role.
    let viewer_of_sandbox = env
        .token("sandbox-viewer", &[(Role::Viewer, SANDBOX)])
        .await;

    // A policy failing on a production resource and on a sandbox one.
    let prod_keys = ids(
        &env.all(&format!("/api/v1/resources?group={PROD}"), &admin)
            .await,
        "key",
    );
    let sandbox_keys = ids(
        &env.all(&format!("/api/v1/resources?group={SANDBOX}"), &admin)
            .await,
        "key",
    );
    let open = env.all("/api/v1/issues?status=open", &admin).await;
    let policy = open
        .iter()
        .map(|i| i["policy"].as_str().unwrap())
        .find(|p| {
            let on = |keys: &BTreeSet<String>| {
                open.iter().any(|i| {
                    i["policy"] == *p && keys.contains(i["resource_key"].as_str().unwrap())
                })
            };
            on(&prod_keys) && on(&sandbox_keys)
        })
        .expect("a policy failing in both groups")
        .to_string();
    let sandbox_id = open
        .iter()
        .find(|i| {
            i["policy"] == policy && sandbox_keys.contains(i["resource_key"].as_str().unwrap())
        })
        .unwrap()["resource_id"]
        .as_str()
        .unwrap()
        .to_string();

    let exception = |group: Option<&str>, resources: Option<Vec<&str>>| {
        let mut v = json!({
            "name": "prod-waiver",
            "targets": [policy],
            "expires": "2099-01-01",
            "reason": "accepted risk, ticket SEC-1",
        });
        match resources {
            Some(r) => v["resources"] = json!(r),
            None => v["where"] = json!("true"),
        }
        if let Some(g) = group {
            v["group"] = json!(g);
        }
        v
    };
    // No group: an approver of some groups must name one.
    let r = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &approver,
            Some(exception(None, None)),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(PROD), "{}", r.body);
    // A group it cannot see: as an unknown group.
    let r = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &approver,
            Some(exception(Some(SANDBOX), None)),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // A group it sees but does not approve on: 403.
    let r = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &viewer_of_sandbox,
            Some(exception(Some(SANDBOX), None)),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A resource outside the group, whether it exists or not: the same 400.
    let r = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &approver,
            Some(exception(Some(PROD), Some(vec![sandbox_id.as_str()]))),
        )
        .await;
    let r2 = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &approver,
            Some(exception(Some(PROD), Some(vec!["no-such-id"]))),
        )
        .await;
    assert_eq!((r.status, r2.status), (400, 400), "{} {}", r.body, r2.body);
    assert_eq!(
        r.body.replace(&sandbox_id, "X"),
        r2.body.replace("no-such-id", "X")
    );

    // A sticky exception confined to production, recorded as the caller.
    let r = env
        .call(
            "POST",
            "/api/v1/exceptions",
            &approver,
            Some(exception(Some(PROD), None)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(made["group"], PROD);
    assert!(
        made["created_by"].as_str().unwrap().starts_with("token:"),
        "{made}"
    );
    // Seen by production, not by sandbox.
    let (_, mine) = env.get("/api/v1/exceptions", &approver).await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "prod-waiver")
    );
    let (_, theirs) = env.get("/api/v1/exceptions", &other).await;
    assert!(
        !theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "prod-waiver")
    );

    // At the next scan it exempts production's failures only.
    for r in env.server.scan_all("test").await {
        r.unwrap();
    }
    let after = env
        .all(&format!("/api/v1/issues?policy={policy}"), &admin)
        .await;
    let status_of = |keys: &BTreeSet<String>| -> BTreeSet<String> {
        after
            .iter()
            .filter(|i| keys.contains(i["resource_key"].as_str().unwrap()))
            .filter(|i| i["status"] != "closed")
            .map(|i| i["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        status_of(&prod_keys),
        BTreeSet::from(["exempted".to_string()])
    );
    assert_eq!(
        status_of(&sandbox_keys),
        BTreeSet::from(["open".to_string()])
    );

    // Removing it: not by an approver of another group (as if missing).
    let r = env
        .call("DELETE", "/api/v1/exceptions/prod-waiver", &other, None)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = env
        .call("DELETE", "/api/v1/exceptions/prod-waiver", &approver, None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

/// A path segment with `|` (resource keys) percent-encoded.
fn enc(s: &str) -> String {
    s.replace('|', "%7C")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_of_a_group_manages_the_tokens_of_that_group_only() {
    let mut env = Env::new().await;
    let admin = env.token("admin", &[(Role::Admin, "*")]).await;
    let prod_admin = env.token("prod-admin", &[(Role::Admin, PROD)]).await;
    let new = |groups: &[&str]| json!({"name": "ci", "role": "viewer", "groups": groups, "expires_days": 7});
    // For its group: made. For another, or for `*`: 403.
    let r = env
        .call("POST", "/api/v1/tokens", &prod_admin, Some(new(&[PROD])))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mine: Value = serde_json::from_str(&r.body).unwrap();
    for groups in [&[SANDBOX][..], &["*"], &[PROD, SANDBOX]] {
        let r = env
            .call("POST", "/api/v1/tokens", &prod_admin, Some(new(groups)))
            .await;
        assert_eq!(r.status, 403, "{groups:?}: {}", r.body);
    }
    // The global admin makes one for sandbox.
    let r = env
        .call("POST", "/api/v1/tokens", &admin, Some(new(&[SANDBOX])))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let theirs: Value = serde_json::from_str(&r.body).unwrap();
    // Listed: production's tokens only (its own included).
    let (st, list) = env.get("/api/v1/tokens", &prod_admin).await;
    assert_eq!(st, 200);
    let ids: BTreeSet<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&mine["id"].as_i64().unwrap()), "{list}");
    assert!(!ids.contains(&theirs["id"].as_i64().unwrap()), "{list}");
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["groups"] == json!([PROD])),
        "{list}"
    );
    // Revoking sandbox's token: as if it did not exist; its own: done.
    let r = env
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{}", theirs["id"]),
            &prod_admin,
            None,
        )
        .await;
    let missing = env
        .call("DELETE", "/api/v1/tokens/987654", &prod_admin, None)
        .await;
    assert_eq!((r.status, missing.status), (404, 404), "{}", r.body);
    let msg = |h: &Hop| -> Value {
        serde_json::from_str::<Value>(&h.body).unwrap()["error"]["message"].clone()
    };
    assert_eq!(
        msg(&r)
            .as_str()
            .unwrap()
            .replace(&format!("token {}", theirs["id"]), "token N"),
        msg(&missing)
            .as_str()
            .unwrap()
            .replace("token 987654", "token N")
    );
    let r = env
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{}", mine["id"]),
            &prod_admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The audit log stays with admins on `*`.
    let (st, _) = env.get("/api/v1/audit", &prod_admin).await;
    assert_eq!(st, 403);
}
