//! Omni search through the API (docs/search.md): what a principal's asset
//! groups cover and nothing else, facets counted within that scope, the
//! index following each scan (changed and removed resources), the portal's
//! page, and an index brought up to date at restart after the process was
//! killed.

mod server_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pac_server::auth::Role;
use serde_json::{Value, json};
use server_support::*;

const PROD: &str = "production";

async fn call(pac: &str, path: &str, token: &str) -> (u16, Value, String) {
    let r = reqwest::Client::new()
        .get(format!("{pac}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search(pac: &str, q: &str, token: &str) -> Value {
    let (st, v, text) = call(
        pac,
        &format!("/api/v1/search?q={}&per_page=100", enc(q)),
        token,
    )
    .await;
    assert_eq!(st, 200, "{q}: {text}");
    v
}

fn ids(v: &Value) -> BTreeSet<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until the index reflects scan `scan`.
async fn indexed(pac: &str, token: &str, scan: i64) {
    let start = Instant::now();
    loop {
        let (st, v, _) = call(pac, "/api/v1/search?per_page=1", token).await;
        if st == 200 && v["as_of_scan"].as_i64() >= Some(scan) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "index never reached scan {scan}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn group_ids(pac: &str, group: &str, token: &str) -> BTreeSet<String> {
    let (st, v, text) = call(
        pac,
        &format!("/api/v1/resources?group={group}&per_page=500"),
        token,
    )
    .await;
    assert_eq!(st, 200, "{text}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_within_scope_and_follows_each_scan() {
    let mut docs = demo_docs();
    let (dir, server, pac) = tokens_server_with(&docs, "", false).await;
    pac_server::search::start(server.clone(), &dir.path().join("data/search")).await;
    for r in server.scan_all("test").await {
        r.unwrap();
    }
    let (admin, _) = mint_token(&server, "admin", Role::Admin, &["*"], "test").await;
    let (prod, _) = mint_token(&server, "prod", Role::Viewer, &[PROD], "test").await;
    let (nobody, _) = mint_token(&server, "nobody", Role::Viewer, &["no_such_group"], "test").await;
    indexed(&pac, &admin, 1).await;

    // Everything for a role on `*`; a production viewer finds exactly the
    // production resources, and policies (visible to all).
    let everything = search(&pac, "kind:resource", &admin).await;
    assert_eq!(everything["total"].as_u64(), Some(docs.len() as u64));
    let in_prod = group_ids(&pac, PROD, &admin).await;
    assert!(!in_prod.is_empty() && in_prod.len() < docs.len());
    let seen = search(&pac, "kind:resource", &prod).await;
    assert_eq!(
        ids(&seen),
        in_prod,
        "a scoped search returns the scope's resources"
    );
    let outside: String = docs
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .find(|id| !in_prod.contains(id))
        .unwrap();
    assert_eq!(
        search(&pac, &format!("id:{outside}"), &prod).await["total"],
        0,
        "{outside} is outside"
    );
    assert_eq!(
        search(&pac, &format!("id:{outside}"), &admin).await["total"],
        1
    );
    // Free text finds what mentions it too (a VPC's id in its subnets); the
    // resource itself ranks first.
    let by_text = search(&pac, &outside, &admin).await;
    assert_eq!(by_text["hits"][0]["id"], outside.as_str(), "{by_text}");
    for h in search(&pac, &outside, &prod).await["hits"]
        .as_array()
        .unwrap()
    {
        assert!(in_prod.contains(h["id"].as_str().unwrap()) || h["kind"] != "resource");
    }
    assert!(search(&pac, "kind:policy", &nobody).await["total"].as_u64() > Some(0));
    assert_eq!(search(&pac, "kind:resource", &nobody).await["total"], 0);
    assert_eq!(search(&pac, "kind:issue", &nobody).await["total"], 0);

    // Facets are counted within the scope, over every result.
    let issues = search(&pac, "kind:issue status:open", &prod).await;
    let total = issues["total"].as_u64().unwrap();
    assert!(total > 0);
    let by_severity: u64 = issues["facets"]["severity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_severity, total);
    let prod_failing = search(&pac, "status:failing", &prod).await;
    let all_failing = search(&pac, "status:failing", &admin).await;
    assert!(prod_failing["total"].as_u64() < all_failing["total"].as_u64());
    for h in prod_failing["hits"].as_array().unwrap() {
        assert!(in_prod.contains(h["id"].as_str().unwrap()));
    }

    // Compliance filters, attribute paths and the API's filter parameters.
    let ssh = search(&pac, "policy:sg_ssh_open_to_world kind:resource", &admin).await;
    assert!(ssh["total"].as_u64() > Some(0), "{ssh}");
    for h in ssh["hits"].as_array().unwrap() {
        assert_eq!(h["type"], "aws.ec2.security_group");
        assert_eq!(h["status"], "failing");
    }
    let (st, typed, _) = call(
        &pac,
        "/api/v1/search?type=aws.ec2.instance&status=failing",
        &admin,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        typed["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["type"] == "aws.ec2.instance")
    );
    let (st, bad, _) = call(
        &pac,
        &format!("/api/v1/search?q={}", enc("size:>big")),
        &admin,
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("neither a number nor a date")
    );

    // A changed resource is found by its new value after the next scan; a
    // removed one is no longer found.
    let marked = in_prod.iter().next().unwrap().clone();
    let removed = outside.clone();
    for d in docs.iter_mut() {
        if d["id"] == marked.as_str() {
            let attrs = d["attributes"].as_object_mut().unwrap();
            let tags = attrs.entry("tags").or_insert(json!([]));
            tags.as_array_mut()
                .unwrap()
                .push(json!({"key": "Owner", "value": "searchtest-marker"}));
        }
    }
    docs.retain(|d| d["id"] != removed.as_str());
    write_ndjson(&dir.path().join("inventory.ndjson"), &docs);
    for r in server.scan_all("test").await {
        r.unwrap();
    }
    indexed(&pac, &admin, 2).await;
    assert_eq!(
        ids(&search(&pac, "tag:Owner=searchtest-marker", &prod).await),
        BTreeSet::from([marked.clone()])
    );
    assert_eq!(
        ids(&search(&pac, "searchtest-markr", &admin).await),
        BTreeSet::from([marked]),
        "typo"
    );
    assert!(!ids(&search(&pac, "kind:resource", &admin).await).contains(&removed));

    // The portal's page: the same answer, escaped, linking to asset 360.
    let (st, _, html) = call(
        &pac,
        &format!("/search?group=*&q={}", enc("searchtest-marker <b>x</b>")),
        &admin,
    )
    .await;
    assert_eq!(st, 200, "{html}");
    assert!(!html.contains("<b>x</b>"), "the query is escaped");
    let (st, _, html) = call(&pac, "/search?group=*&q=searchtest-marker", &admin).await;
    assert_eq!(st, 200);
    assert!(html.contains("href=\"/assets/"), "{html}");
    assert!(
        html.contains("<mark>searchtest</mark>"),
        "highlighted: {html}"
    );
}

fn write_config(dir: &Path, port: u16, inventory: &Path) -> PathBuf {
    let p = dir.join("pac.toml");
    std::fs::write(
        &p,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\npolicies = [{:?}]\nschedule = \"every 1d\"\nscan_at_start = true\nmax_removed_percent = 100\n[autofix]\ntick = \"1h\"\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
            dir.join("data"),
            root().join("policies"),
            inventory
        ),
    )
    .unwrap();
    p
}

async fn wait_search(addr: &str, q: &str, until: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let path = if q.is_empty() {
            "/api/v1/search?per_page=100".to_string()
        } else {
            format!("/api/v1/search?q={}&per_page=100", enc(q))
        };
        if let Some((200, v)) = try_get(addr, &path).await
            && until(&v)
        {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no answer to `{q}` as expected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The index's commit says which scan it reflects; one that says less than
/// the store (the process died between the store's commit and the
/// index's) is rebuilt at start, and a process killed mid-scan comes back
/// with a searchable index that reaches the last scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_a_searchable_index_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    let mut docs = demo_docs();
    write_ndjson(&inventory, &docs);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = write_config(dir.path(), port, &inventory);
    let log = dir.path().join("serve.log");

    let p = spawn(&config, &log);
    let first = wait_search(&addr, "kind:resource", |v| {
        v["total"].as_u64() == Some(docs.len() as u64)
    })
    .await;
    assert!(first["as_of_scan"].as_i64() >= Some(1));
    // Killed while a second scan may be committing or indexing.
    docs[0]["attributes"]["tags"] = json!([{"key": "Owner", "value": "after-the-kill"}]);
    write_ndjson(&inventory, &docs);
    let _ = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/scans"))
        .json(&json!({}))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(p); // SIGKILL

    // The same crash, for certain: the index says it reflects no scan.
    let meta = dir.path().join("data/search/meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    let mut m: Value = serde_json::from_str(&text).unwrap();
    let state: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
    assert!(state["scan"].as_i64() >= Some(1), "{state}");
    let mut behind = state.clone();
    behind["scan"] = json!(0);
    m["payload"] = json!(behind.to_string());
    std::fs::write(&meta, m.to_string()).unwrap();

    let _p = spawn(&config, &log);
    // Searchable at once (from the last commit), then up to date.
    let v = wait_search(&addr, "tag:Owner=after-the-kill", |v| v["total"] == 1).await;
    assert_eq!(v["hits"][0]["id"], docs[0]["id"]);
    let (_, scans) = get(&addr, "/api/v1/scans").await;
    let last = scans["items"][0]["id"].as_i64().unwrap();
    wait_search(&addr, "", |v| v["as_of_scan"].as_i64() >= Some(last)).await;
    let all = wait_search(&addr, "kind:resource", |_| true).await;
    assert_eq!(
        all["total"].as_u64(),
        Some(docs.len() as u64),
        "no resource indexed twice"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("search index: rebuilding from the store (it reflects scan 0, the store scan"),
        "{log}"
    );
}
