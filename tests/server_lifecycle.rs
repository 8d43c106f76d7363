//! The server end to end, in process, with a test clock: scans over an
//! inventory that changes between them; issues open, close, reopen and
//! become exempt (from files, from the API, sticky, expiring); asset groups
//! through the API; auto-fix jobs notified, run once after their grace
//! period, cancelled when the issue closes, suspended past the blast
//! radius; compliance and daily history; API errors.

mod server_support;

use std::sync::Arc;

use pac_server::clock::{Clock, ManualClock};
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

const SSH_OPEN: &str = "sg-0fbfecffc4a989050"; // launch-wizard-1, account 444455556666
const BASTION: &str = "sg-09f7240c71198b7f4"; // prod-eu-bastion

struct Env {
    _dir: tempfile::TempDir,
    inventory: std::path::PathBuf,
    docs: Vec<Value>,
    server: Arc<Server>,
    clock: Arc<ManualClock>,
    action: Arc<Recorder>,
    sink: Arc<Sink>,
    addr: String,
}

async fn setup(autofix: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    let docs = demo_docs();
    write_ndjson(&inventory, &docs);
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n{autofix}\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    ))
    .unwrap();
    let clock = ManualClock::new(DEMO_NOW);
    let action = Recorder::new(&[
        "revoke_world_ingress",
        "block_s3_public_access",
        "stop_instance",
    ]);
    let sink = Arc::new(Sink::default());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            notifier: Some(sink.clone()),
            actions: vec![action.clone()],
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;
    Env {
        _dir: dir,
        inventory,
        docs,
        server,
        clock,
        action,
        sink,
        addr,
    }
}

impl Env {
    async fn scan(&self) -> Value {
        let id = self.server.scan("demo", "test").await.unwrap();
        let (st, v) = get(&self.addr, &format!("/api/v1/scans/{id}")).await;
        assert_eq!(st, 200);
        v
    }
    fn write(&self) {
        write_ndjson(&self.inventory, &self.docs);
    }
    fn doc_mut(&mut self, id: &str) -> &mut Value {
        self.docs.iter_mut().find(|d| d["id"] == id).unwrap()
    }
    async fn issues(&self, query: &str) -> Vec<Value> {
        let (st, v) = get(&self.addr, &format!("/api/v1/issues?per_page=500&{query}")).await;
        assert_eq!(st, 200, "{v}");
        v["items"].as_array().unwrap().clone()
    }
    async fn ssh_issue(&self, resource: &str) -> Value {
        let all = self.issues("policy=sg_ssh_open_to_world").await;
        all.into_iter()
            .find(|i| i["resource_id"] == resource)
            .unwrap_or_else(|| panic!("no SSH issue for {resource}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_open_close_reopen_and_become_exempt() {
    let mut e = setup("[autofix]\nmax_resources = 1000\nmax_percent = 100").await;

    // Scan 1: the demo estate.
    let s1 = e.scan().await;
    assert_eq!(s1["status"], "completed", "{s1}");
    assert_eq!(s1["resources"], 359);
    assert!(s1["opened"].as_i64().unwrap() > 20, "{s1}");
    let (st, c) = get(&e.addr, "/api/v1/compliance").await;
    assert_eq!(st, 200);
    let overall = c["overall"].as_f64().unwrap();
    assert!(overall > 0.0 && overall < 100.0, "{c}");
    assert!(c["categories"].as_array().unwrap().len() >= 4);
    assert_eq!(c["coverage"]["unknown"], 0);

    let open = e.ssh_issue(SSH_OPEN).await;
    assert_eq!(open["status"], "open");
    assert!(open["message"].as_str().unwrap().contains(SSH_OPEN));
    let (_, full) = get(&e.addr, &format!("/api/v1/issues/{}", open["id"])).await;
    assert!(full["explanation"].is_object(), "{full}");
    // Untagged sandbox storage is exempted by the sticky exception of
    // policies/aws/tagging.pac.
    let sandbox = e
        .issues("status=exempted&policy=storage_mandatory_tags")
        .await;
    assert!(!sandbox.is_empty());
    assert!(sandbox.iter().all(|i| i["exception"] == "sandbox"));
    assert_eq!(e.ssh_issue(BASTION).await["status"], "open");

    // The failing group is fixed at the source: the issue closes.
    let saved = e.doc_mut(SSH_OPEN)["attributes"]["ip_permissions"].take();
    e.doc_mut(SSH_OPEN)["attributes"]["ip_permissions"] = json!([]);
    e.write();
    e.clock.advance(3600);
    let s2 = e.scan().await;
    assert!(s2["closed"].as_i64().unwrap() >= 1, "{s2}");
    let closed = e.ssh_issue(SSH_OPEN).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "passed");
    assert_eq!(closed["id"], open["id"]);

    // It comes back: the same issue reopens and keeps its history.
    e.doc_mut(SSH_OPEN)["attributes"]["ip_permissions"] = saved;
    e.write();
    e.clock.advance(3600);
    let s3 = e.scan().await;
    // Every issue the fix closed reopens (the group fails more than SSH).
    assert_eq!(s3["reopened"], s2["closed"], "{s3}");
    assert_eq!(s3["opened"], 0);
    let (_, again) = get(&e.addr, &format!("/api/v1/issues/{}", open["id"])).await;
    assert_eq!(again["status"], "open");
    assert_eq!(again["times_opened"], 2);
    let kinds: Vec<&str> = again["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ev| ev["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "closed", "reopened"]);

    // An exception through the API, expiring in two days.
    let expires = pac_server::clock::day(e.clock.now() + 2 * 86_400);
    let (st, body) = send(
        &e.addr,
        "POST",
        "/api/v1/exceptions",
        &json!({"name": "CHG-7", "targets": ["sg_ssh_open_to_world"], "resources": [SSH_OPEN],
                "expires": expires, "reason": "wizard group, replaced next sprint", "created_by": "alice"}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    e.clock.advance(3600);
    let s4 = e.scan().await;
    assert_eq!(s4["exempted"], 1, "{s4}");
    let ex = e.ssh_issue(SSH_OPEN).await;
    assert_eq!(ex["status"], "exempted");
    assert_eq!(ex["exception"], "CHG-7");
    // The asset view shows the exception that covers it.
    let (_, r360) = get(&e.addr, &format!("/api/v1/resources/{SSH_OPEN}")).await;
    assert_eq!(r360["exceptions"][0]["name"], "CHG-7", "{r360}");
    assert!(!r360["issues"].as_array().unwrap().is_empty());
    assert!(!r360["history"].as_array().unwrap().is_empty());

    // Expiry turns it back into an open issue at the next scan.
    e.clock.advance(3 * 86_400);
    let s5 = e.scan().await;
    assert!(
        s5["message"].as_str().unwrap_or("").contains("CHG-7"),
        "{s5}"
    );
    let back = e.ssh_issue(SSH_OPEN).await;
    assert_eq!(back["status"], "open");
    assert_eq!(back["exception"], Value::Null);
    let (_, detail) = get(&e.addr, &format!("/api/v1/issues/{}", open["id"])).await;
    let last = detail["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "unexempted");

    // A sticky exception covers resources by a condition.
    let (st, body) = send(
        &e.addr,
        "POST",
        "/api/v1/exceptions",
        &json!({"name": "wizards", "targets": ["sg_ssh_open_to_world"],
                "where": "(group_name ?? \"\") == \"launch-wizard-1\"",
                "expires": "2030-01-01", "reason": "all wizard groups are reviewed monthly", "created_by": "bob"}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    e.clock.advance(3600);
    e.scan().await;
    assert_eq!(e.ssh_issue(SSH_OPEN).await["exception"], "wizards");
    // Deleting it: open again at the next scan.
    let (st, _) = send(&e.addr, "DELETE", "/api/v1/exceptions/wizards", &json!({})).await;
    assert_eq!(st, 204);
    e.clock.advance(3600);
    e.scan().await;
    assert_eq!(e.ssh_issue(SSH_OPEN).await["status"], "open");

    // A resource that disappears closes its issues.
    e.docs.retain(|d| d["id"] != SSH_OPEN);
    e.write();
    e.clock.advance(3600);
    let s = e.scan().await;
    assert_eq!(s["removed"], 1);
    let gone = e.ssh_issue(SSH_OPEN).await;
    assert_eq!(gone["status"], "closed");
    assert_eq!(gone["close_reason"], "resource_removed");
    let (st, _) = get(&e.addr, &format!("/api/v1/resources?q={SSH_OPEN}")).await;
    assert_eq!(st, 200);

    // History: one row per day.
    let (_, h) = get(&e.addr, "/api/v1/compliance/history").await;
    assert!(h["days"].as_array().unwrap().len() >= 2, "{h}");
    let (_, h) = get(
        &e.addr,
        "/api/v1/compliance/history?policy=sg_ssh_open_to_world",
    )
    .await;
    assert!(!h["days"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autofix_notifies_waits_for_the_grace_period_and_runs_once() {
    let mut e = setup("[autofix]\nmax_resources = 1000\nmax_percent = 100").await;
    e.scan().await;
    // The SSH policy binds revoke_world_ingress(ports: [22]) after 1d.
    let (_, jobs) = get(&e.addr, "/api/v1/autofix/jobs?status=waiting&per_page=500").await;
    let ssh_jobs: Vec<&Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["rule"] == "sg_ssh_open_to_world")
        .collect();
    assert_eq!(ssh_jobs.len(), 4, "{jobs}");
    assert!(
        ssh_jobs
            .iter()
            .all(|j| j["action"] == "revoke_world_ingress")
    );
    assert_eq!(ssh_jobs[0]["args"], json!({"ports": [22]}));
    // Owners were notified when the jobs were created.
    let sent = e.sink.0.lock().unwrap().clone();
    assert!(
        sent.iter()
            .any(|n| n.body.contains("sg_ssh_open_to_world") && n.body.contains(SSH_OPEN)),
        "{sent:?}"
    );
    let action = e.action.clone();
    let ssh_calls = || -> Vec<pac_connectors::FixRequest> {
        action
            .calls()
            .into_iter()
            .filter(|c| c.action == "revoke_world_ingress" && c.args["ports"] == json!([22]))
            .collect()
    };
    assert!(ssh_calls().is_empty());

    // One group is fixed before the grace period ends.
    e.doc_mut("sg-0c48d954da138790f")["attributes"]["ip_permissions"] = json!([]);
    e.write();
    e.clock.advance(12 * 3600);
    e.scan().await;
    assert!(ssh_calls().is_empty());

    // After the grace period the still-open ones are fixed, once each.
    e.clock.advance(13 * 3600);
    pac_server::autofix::run_due(&e.server).await.unwrap();
    pac_server::autofix::run_due(&e.server).await.unwrap();
    let calls = ssh_calls();
    let mut targets: Vec<&str> = calls.iter().map(|c| c.target.id.as_str()).collect();
    targets.sort();
    assert_eq!(
        targets,
        [BASTION, "sg-0e0554c263351ec0a", SSH_OPEN],
        "{calls:?}"
    );
    assert!(calls.iter().all(|c| !c.dry_run));
    assert!(
        calls
            .iter()
            .all(|c| c.target.document["id"] == c.target.id.as_str())
    );

    let (_, jobs) = get(&e.addr, "/api/v1/autofix/jobs?per_page=500").await;
    let by_res = |id: &str| {
        jobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| {
                j["rule"] == "sg_ssh_open_to_world"
                    && j["resource_key"].as_str().unwrap().ends_with(id)
            })
            .cloned()
            .unwrap()
    };
    assert_eq!(by_res(SSH_OPEN)["status"], "done");
    assert_eq!(by_res("sg-0c48d954da138790f")["status"], "cancelled");
    let (_, job) = get(
        &e.addr,
        &format!("/api/v1/autofix/jobs/{}", by_res(SSH_OPEN)["id"]),
    )
    .await;
    let kinds: Vec<&str> = job["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["job_created", "notified", "action_ran"], "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blast_radius_suspends_a_policys_fixes() {
    let e = setup("[autofix]\nmax_resources = 1\nmax_percent = 100").await;
    e.scan().await;
    e.clock.advance(2 * 86_400);
    pac_server::autofix::run_due(&e.server).await.unwrap();
    let (_, jobs) = get(&e.addr, "/api/v1/autofix/jobs?per_page=500").await;
    let ssh: Vec<&Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["rule"] == "sg_ssh_open_to_world")
        .collect();
    // Two fixes due, limit 1: both suspended, with the reason.
    assert!(ssh.iter().all(|j| j["status"] == "suspended"), "{ssh:?}");
    assert!(
        ssh[0]["reason"]
            .as_str()
            .unwrap()
            .contains("max_resources = 1")
    );
    assert!(
        e.action
            .calls()
            .iter()
            .all(|c| c.args.get("ports") != Some(&json!([22])))
    );
    // A policy with a single due fix (sg_admin_ports_open_to_world) runs.
    let (_, done) = get(&e.addr, "/api/v1/autofix/jobs?status=done&per_page=500").await;
    let done = done["items"].as_array().unwrap().clone();
    assert!(
        done.iter()
            .any(|j| j["policy"] == "sg_admin_ports_open_to_world"),
        "{done:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_policies_only_say_what_they_would_do() {
    let e = setup(
        "[autofix]\nmax_resources = 100\nmax_percent = 100\ndry_run_policies = [\"sg_ssh_open_to_world\"]",
    )
    .await;
    e.scan().await;
    e.clock.advance(2 * 86_400);
    pac_server::autofix::run_due(&e.server).await.unwrap();
    let calls = e.action.calls();
    let ssh: Vec<_> = calls
        .iter()
        .filter(|c| c.args.get("ports") == Some(&json!([22])))
        .collect();
    assert_eq!(ssh.len(), 4);
    assert!(ssh.iter().all(|c| c.dry_run));
    let rdp: Vec<_> = calls
        .iter()
        .filter(|c| c.args.get("ports") == Some(&json!([3389])))
        .collect();
    assert!(!rdp.is_empty() && rdp.iter().all(|c| !c.dry_run));
    let (_, dry) = get(&e.addr, "/api/v1/autofix/jobs?status=dry_run&per_page=500").await;
    assert_eq!(dry["total"], 4);
    assert_eq!(dry["items"][0]["result"]["status"], "would_change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_groups_from_the_api_scope_every_read() {
    let e = setup("").await;
    let (st, body) = send(
        &e.addr,
        "POST",
        "/api/v1/asset-groups",
        &json!({"name": "dev_account", "title": "Development account",
                "members": [{"type": "aws.ec2.security_group", "where": "account == \"444455556666\""},
                            {"type": "aws.ec2.instance", "where": "account == \"444455556666\""}],
                "created_by": "carol"}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    e.scan().await;
    let (st, g) = get(&e.addr, "/api/v1/compliance?group=dev_account").await;
    assert_eq!(st, 200, "{g}");
    let (_, all) = get(&e.addr, "/api/v1/compliance").await;
    assert_ne!(g["coverage"]["known"], all["coverage"]["known"]);
    let issues = e.issues("group=dev_account").await;
    assert!(!issues.is_empty());
    assert!(issues.iter().all(|i| i["account"] == "444455556666"));
    let (_, res) = get(&e.addr, "/api/v1/resources?group=dev_account&per_page=500").await;
    assert!(
        res["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["account"] == "444455556666")
    );
    let (_, groups) = get(&e.addr, "/api/v1/asset-groups").await;
    let dev = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "dev_account")
        .cloned()
        .unwrap();
    assert_eq!(dev["origin"], "api");
    assert!(dev["members"].as_i64().unwrap() > 0);
    // File groups answer too.
    let (st, _) = get(&e.addr, "/api/v1/compliance?group=production").await;
    assert_eq!(st, 200);
    let (_, pol) = get(
        &e.addr,
        "/api/v1/policies/sg_ssh_open_to_world?group=dev_account",
    )
    .await;
    assert_eq!(pol["severity"], "critical");
    assert!(pol["open_issues"].as_i64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_that_say_what_to_do() {
    let e = setup("").await;
    let (st, v) = get(&e.addr, "/api/v1/compliance").await;
    assert_eq!(st, 503, "no scan yet: {v}");
    e.scan().await;
    let cases = [
        (
            "/api/v1/issues?colour=red",
            400,
            "unknown query parameter `colour`",
        ),
        (
            "/api/v1/issues?page=0",
            400,
            "`page` must be a whole number",
        ),
        (
            "/api/v1/issues?status=fixed",
            400,
            "`status` must be one of",
        ),
        ("/api/v1/issues/abc", 400, "whole numbers"),
        ("/api/v1/issues/999999", 404, "no issue 999999"),
        (
            "/api/v1/compliance?group=nope",
            404,
            "no asset group `nope`",
        ),
        (
            "/api/v1/policies/sg_ssh_open_to_wrld",
            404,
            "did you mean `sg_ssh_open_to_world`",
        ),
        ("/api/v1/scans/77", 404, "no scan 77"),
        ("/api/v1/nothing", 404, "no such endpoint"),
    ];
    for (path, status, text) in cases {
        let (st, v) = get(&e.addr, path).await;
        assert_eq!(st, status, "{path}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(text), "{path}: {msg}");
        assert_eq!(v["error"]["status"], status);
    }
    let post = |body: Value| {
        let addr = e.addr.clone();
        async move { send(&addr, "POST", "/api/v1/exceptions", &body).await }
    };
    let (st, v) = post(
        json!({"name": "X", "targets": ["sg_ssh_open_to_world"], "where": "group_nam == \"x\"",
        "expires": "2030-01-01", "reason": "r", "created_by": "a"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not compile")
    );
    assert!(
        v["error"]["details"][0].to_string().contains("group_nam"),
        "{v}"
    );
    let (st, v) = post(
        json!({"name": "X", "targets": ["sg_ssh_open_to_world"], "resources": ["a"],
        "expires": "soon", "reason": "r", "created_by": "a"}),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`expires`")
    );
    let (st, _) = post(
        json!({"name": "CHG-2041", "targets": ["sg_ssh_open_to_world"], "resources": ["a"],
        "expires": "2030-01-01", "reason": "r", "created_by": "a"}),
    )
    .await;
    assert_eq!(st, 409);
    let r = pac_server::client::Client::new(&e.addr)
        .request("POST", "/api/v1/exceptions", Some("{not json"))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    let (st, v) = send(&e.addr, "DELETE", "/api/v1/exceptions/CHG-2041", &json!({})).await;
    assert_eq!(st, 409);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reviewed as code")
    );
    let (st, _) = send(
        &e.addr,
        "POST",
        "/api/v1/scans",
        &json!({"source": "elsewhere"}),
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_every_route_answers() {
    let e = setup("").await;
    e.scan().await;
    let (st, doc) = get(&e.addr, "/api/openapi.json").await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/api/v1/compliance",
        "/api/v1/compliance/history",
        "/api/v1/policies",
        "/api/v1/policies/{id}",
        "/api/v1/issues",
        "/api/v1/issues/{id}",
        "/api/v1/resources",
        "/api/v1/resources/{id}",
        "/api/v1/asset-groups",
        "/api/v1/exceptions",
        "/api/v1/scans",
        "/api/v1/scans/{id}",
        "/api/v1/autofix/jobs",
        "/healthz",
    ] {
        assert!(paths.contains_key(required), "{required} is not documented");
    }
    // Every documented GET is routed (an unrouted path gets the fallback).
    for (path, ops) in paths {
        if ops.get("get").is_none() {
            continue;
        }
        let concrete = path.replace("{id}", "1").replace("{name}", "x");
        let (_, v) = get(&e.addr, &concrete).await;
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert!(
            !msg.contains("no such endpoint"),
            "{path} is documented but not routed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescan_of_an_unchanged_estate_leaves_every_issue_as_it_was() {
    let e = setup("").await;
    let s1 = e.scan().await;
    assert!(s1["opened"].as_i64().unwrap() > 20, "{s1}");
    let before = e.issues("").await;
    let (_, r1) = get(&e.addr, &format!("/api/v1/resources/{SSH_OPEN}")).await;
    let t1 = r1["last_seen"].clone();

    e.clock.advance(3600);
    let s2 = e.scan().await;
    assert_eq!(s2["status"], "completed", "{s2}");
    for k in [
        "changed", "removed", "opened", "closed", "reopened", "exempted",
    ] {
        assert_eq!(s2[k], 0, "{k}: {s2}");
    }
    // Same issues, same states, same messages (and the answer is not a
    // stale cache: the scan record above is newer than the first list).
    assert_eq!(e.issues("").await, before);
    let (_, r2) = get(&e.addr, &format!("/api/v1/resources/{SSH_OPEN}")).await;
    assert_eq!(r2["first_seen"], r1["first_seen"]);
    assert_eq!(r2["changed_at"], r1["changed_at"]);
    assert_ne!(r2["last_seen"], t1, "seen again by the second scan: {r2}");
    let (_, issue) = get(&e.addr, &format!("/api/v1/issues/{}", before[0]["id"])).await;
    assert_eq!(
        issue["events"].as_array().unwrap().len(),
        1,
        "only `opened`: {issue}"
    );

    // Pages split the same list: disjoint, in order, totals agree.
    let (_, p1) = get(&e.addr, "/api/v1/issues?status=open&per_page=7&page=1").await;
    let (_, p2) = get(&e.addr, "/api/v1/issues?status=open&per_page=7&page=2").await;
    let open: Vec<Value> = before
        .iter()
        .filter(|i| i["status"] == "open")
        .cloned()
        .collect();
    assert_eq!(p1["total"], open.len());
    assert_eq!(p2["total"], open.len());
    let ids = |p: &Value| -> Vec<Value> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect()
    };
    let want: Vec<Value> = open.iter().map(|i| i["id"].clone()).collect();
    assert_eq!([ids(&p1), ids(&p2)].concat(), want[..14]);
}
