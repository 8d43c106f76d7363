//! Self-service exceptions and the audit log (docs/auth.md): a requester
//! asks for an exception in its group, an approver of that group who is
//! not the requester decides, the approved exception exempts at the next
//! scan and is listed for its owner before it expires; every change,
//! refusal and sign-in lands in an append-only audit log that admins read.

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
    dir: tempfile::TempDir,
    server: Arc<Server>,
    pac: String,
    b: Browser,
}

impl Env {
    async fn new() -> Env {
        let (dir, server, pac) = tokens_server("exception_max_days = 30", true).await;
        Env {
            dir,
            server,
            pac,
            b: Browser::new(),
        }
    }

    /// A token with `role` on `groups`, made by `maker`; (secret, principal id).
    async fn token(&self, maker: &str, role: Role, groups: &[&str]) -> (String, String) {
        mint_token(&self.server, maker, role, groups, maker).await
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
}

fn json_of(h: &Hop) -> Value {
    serde_json::from_str(&h.body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_decided_by_another_approver_of_its_group_and_then_exempts() {
    let mut env = Env::new().await;
    let (admin, _) = env.token("alice", Role::Admin, &["*"]).await;
    let (requester, requester_id) = env.token("rita", Role::Requester, &[PROD]).await;
    let (approver, approver_id) = env.token("andy", Role::Approver, &[PROD]).await;
    // A second token of andy's: deciding his own request with it is refused.
    let (andy_again, _) = env.token(&approver_id, Role::Approver, &[PROD]).await;
    let (sandbox_approver, _) = env.token("sam", Role::Approver, &[SANDBOX]).await;
    let (viewer, _) = env.token("vic", Role::Viewer, &[PROD]).await;

    // A policy with open issues in production.
    let open = json_of(
        &env.call(
            "GET",
            &format!("/api/v1/issues?group={PROD}&status=open&per_page=500"),
            &admin,
            None,
        )
        .await,
    );
    let issue = open["items"][0].clone();
    let policy = issue["policy"].as_str().unwrap().to_string();
    let rid = issue["resource_id"].as_str().unwrap().to_string();
    let ask = |name: &str, expires: &str| {
        json!({"name": name, "targets": [policy], "resources": [rid], "group": PROD,
               "expires": expires, "reason": "migration in progress, ticket OPS-7"})
    };

    // Who may ask, and for how long.
    let r = env
        .call(
            "POST",
            "/api/v1/exception-requests",
            &viewer,
            Some(ask("a", "2026-11-20")),
        )
        .await;
    assert_eq!(r.status, 403, "a viewer may not ask: {}", r.body);
    let r = env
        .call(
            "POST",
            "/api/v1/exception-requests",
            &requester,
            Some(ask("a", "2027-06-01")),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("at most 30 days"), "{}", r.body);
    let r = env
        .call(
            "POST",
            "/api/v1/exception-requests",
            &requester,
            Some(ask("a", "2026-10-01")),
        )
        .await;
    assert_eq!(r.status, 400, "in the past: {}", r.body);

    // A good request: pending, owned by the requester.
    let r = env
        .call(
            "POST",
            "/api/v1/exception-requests",
            &requester,
            Some(ask("ops-7", "2026-11-20")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let req = json_of(&r);
    assert_eq!(req["status"], "pending");
    assert_eq!(req["requested_by"], requester_id.as_str());
    let id = req["id"].as_i64().unwrap();
    let approve = format!("/api/v1/exception-requests/{id}/approve");
    let reject = format!("/api/v1/exception-requests/{id}/reject");

    // Seen in production, not by sandbox's approver (as if missing).
    let listed = json_of(
        &env.call(
            "GET",
            "/api/v1/exception-requests?status=pending",
            &approver,
            None,
        )
        .await,
    );
    assert_eq!(listed["total"], 1, "{listed}");
    let r = env
        .call(
            "GET",
            &format!("/api/v1/exception-requests/{id}"),
            &sandbox_approver,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = env
        .call("POST", &approve, &sandbox_approver, Some(json!({})))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let none = env
        .call(
            "POST",
            "/api/v1/exception-requests/987654/approve",
            &sandbox_approver,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        json_of(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&id.to_string(), "N"),
        json_of(&none)["error"]["message"]
            .as_str()
            .unwrap()
            .replace("987654", "N")
    );
    // The requester (or its rule) cannot approve.
    let r = env
        .call("POST", &approve, &requester, Some(json!({})))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Rejecting needs a reason.
    let r = env.call("POST", &reject, &approver, Some(json!({}))).await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Approved by another approver of the group.
    let r = env
        .call(
            "POST",
            &approve,
            &approver,
            Some(json!({"comment": "ok until the migration ends"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let done = json_of(&r);
    assert_eq!(done["request"]["status"], "approved");
    assert_eq!(done["request"]["decided_by"], approver_id.as_str());
    assert_eq!(done["exception"]["created_by"], requester_id.as_str());
    assert_eq!(done["exception"]["approved_by"], approver_id.as_str());
    assert_eq!(done["exception"]["group"], PROD);
    let r = env.call("POST", &approve, &approver, Some(json!({}))).await;
    assert_eq!(r.status, 409, "decided already: {}", r.body);

    // Nobody decides their own request, with any of their tokens.
    let r = env
        .call(
            "POST",
            "/api/v1/exception-requests",
            &approver,
            Some(ask("own", "2026-11-20")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let own = json_of(&r)["id"].as_i64().unwrap();
    for t in [&approver, &andy_again] {
        let r = env
            .call(
                "POST",
                &format!("/api/v1/exception-requests/{own}/approve"),
                t,
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("their own"), "{}", r.body);
    }
    let r = env
        .call(
            "POST",
            &format!("/api/v1/exception-requests/{own}/reject"),
            &admin,
            Some(json!({"comment": "use the approved one"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "rejected");

    // At the next scan the resource's issue is exempted by it.
    for r in env.server.scan_all("test").await {
        r.unwrap();
    }
    let after = json_of(
        &env.call(
            "GET",
            &format!("/api/v1/issues/{}", issue["id"]),
            &admin,
            None,
        )
        .await,
    );
    assert_eq!(after["status"], "exempted", "{after}");
    assert_eq!(after["exception"], "ops-7");

    // The owner sees it among its exceptions expiring within 30 days.
    let mine = json_of(
        &env.call(
            "GET",
            "/api/v1/exceptions?mine=true&expiring_within_days=30",
            &requester,
            None,
        )
        .await,
    );
    let names: BTreeSet<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["ops-7"]), "{mine}");
    let soon = json_of(
        &env.call(
            "GET",
            "/api/v1/exceptions?mine=true&expiring_within_days=1",
            &requester,
            None,
        )
        .await,
    );
    assert_eq!(soon["total"], 0, "{soon}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_and_refusal_is_in_the_append_only_audit_log() {
    let mut env = Env::new().await;
    let (admin, admin_id) = env.token("alice", Role::Admin, &["*"]).await;
    let (viewer, viewer_id) = env.token("vic", Role::Viewer, &[PROD]).await;

    // A change, a refusal by role, a dead token, and a read (not logged).
    let r = env
        .call(
            "POST",
            "/api/v1/asset-groups",
            &admin,
            Some(json!({"name": "web", "members": [{"type": "aws.ec2.instance"}]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = env
        .call(
            "POST",
            "/api/v1/asset-groups",
            &viewer,
            Some(json!({"name": "mine", "members": [{"type": "aws.ec2.instance"}]})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = env
        .call(
            "GET",
            "/api/v1/issues",
            "pac_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = env.call("GET", "/api/v1/issues", &viewer, None).await;
    assert_eq!(r.status, 200);

    // Only admins on `*` read it.
    let r = env.call("GET", "/api/v1/audit", &viewer, None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let log = json_of(&env.call("GET", "/api/v1/audit", &admin, None).await);
    let items = log["items"].as_array().unwrap();
    let find = |actor: &str, path: &str, status: i64| {
        items
            .iter()
            .find(|e| e["actor"] == actor && e["path"] == path && e["status"] == status)
            .cloned()
    };
    let made = find(&admin_id, "/api/v1/asset-groups", 201).expect("the group's creation");
    assert_eq!(made["method"], "POST");
    assert_eq!(made["target"], "asset group web");
    assert_eq!(made["after"]["name"], "web");
    assert_eq!(made["after"]["created_by"], admin_id.as_str());
    assert_eq!(made["ip"], "127.0.0.1");
    assert!(
        find(&viewer_id, "/api/v1/asset-groups", 403).is_some(),
        "{log}"
    );
    assert!(find("anonymous", "/api/v1/issues", 401).is_some(), "{log}");
    assert!(
        !items
            .iter()
            .any(|e| e["path"] == "/api/v1/issues" && e["status"] == 200),
        "reads are not logged: {log}"
    );
    // Filters.
    let failed = json_of(
        &env.call("GET", "/api/v1/audit?failed=true", &admin, None)
            .await,
    );
    assert!(
        failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"].as_i64().unwrap() >= 400)
    );
    // The viewer's POST and its read of the log (403), the dead token (401).
    assert_eq!(failed["items"].as_array().unwrap().len(), 3, "{failed}");
    let by = json_of(
        &env.call(
            "GET",
            &format!("/api/v1/audit?actor={viewer_id}"),
            &admin,
            None,
        )
        .await,
    );
    assert!(
        by["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == viewer_id.as_str())
    );
    let r = env
        .call("GET", "/api/v1/audit?per_page=0", &admin, None)
        .await;
    assert_eq!(r.status, 400);

    // Append-only, whoever asks: the store refuses to change or remove a row.
    let url = format!(
        "sqlite://{}",
        env.dir.path().join("data").join("pac.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "UPDATE audit_events SET actor = 'someone-else'",
        "DELETE FROM audit_events",
    ] {
        let e = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // Kept on disk: another connection reads the same rows.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Nothing was logged after the first read: the later reads were allowed.
    assert_eq!(n as usize, items.len());
}
