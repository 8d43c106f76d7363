//! API-defined asset groups and exceptions are syntax, never text: the
//! injection attempts that used to add a policy through a `}` in a field,
//! comments, escapes, unicode and huge inputs, through the real HTTP API of
//! an in-process server over the demo estate. After every attempt the
//! policies, groups and exceptions are exactly what they were (plus the one
//! item a valid request adds), and after a rescan the compliance figures are
//! the same and nobody was notified.

mod server_support;

use std::sync::Arc;

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

/// What an attacker appends: a policy with an auto-fix that notifies them.
const EVIL: &str = "} policy evil { title \"e\" severity critical category security rule on aws.ec2.security_group { violation when true } autofix revoke_world_ingress notify \"attacker@evil.example\" } exception \"z\" for sg_ssh_open_to_world {";

struct Env {
    _dir: tempfile::TempDir,
    server: Arc<Server>,
    sink: Arc<Sink>,
    addr: String,
}

async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    ))
    .unwrap();
    let sink = Arc::new(Sink::default());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(ManualClock::new(DEMO_NOW)),
            notifier: Some(sink.clone()),
            actions: vec![Recorder::new(&["revoke_world_ingress"])],
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;
    Env {
        _dir: dir,
        server,
        sink,
        addr,
    }
}

/// Policies, groups and exceptions as the API lists them.
async fn items(addr: &str) -> Value {
    let mut out = json!({});
    for (k, path) in [
        ("policies", "/api/v1/policies"),
        ("groups", "/api/v1/asset-groups"),
        ("exceptions", "/api/v1/exceptions"),
    ] {
        let (st, v) = get(addr, path).await;
        assert_eq!(st, 200, "{path}: {v}");
        out[k] = v["items"].clone();
    }
    out
}

/// The compliance body without the scan's id and time.
async fn figures(addr: &str) -> Value {
    let (st, mut v) = get(addr, "/api/v1/compliance").await;
    assert_eq!(st, 200, "{v}");
    v["scan"] = Value::Null;
    v["at"] = Value::Null;
    v
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().or(x["id"].as_str()).unwrap().to_string())
        .collect()
}

fn exception(name: &str, cond: Option<&str>) -> Value {
    let mut v = json!({"name": name, "targets": ["sg_ssh_open_to_world"],
        "expires": "2030-01-01", "reason": "review", "created_by": "mallory"});
    match cond {
        Some(c) => v["where"] = json!(c),
        None => v["resources"] = json!(["sg-does-not-exist"]),
    }
    v
}

fn group(name: &str, rtype: &str, cond: &str) -> Value {
    json!({"name": name, "members": [{"type": rtype, "where": cond}], "created_by": "mallory"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_items_cannot_inject_or_hide_anything() {
    let e = setup().await;
    e.server.scan("demo", "test").await.unwrap();
    let before = items(&e.addr).await;
    let figures_before = figures(&e.addr).await;
    assert!(names(&before["policies"]).contains(&"sg_ssh_open_to_world".to_string()));

    let injected_where = format!("group_name == \"x\" {EVIL}");
    let brace = injected_where.find('}').unwrap();
    let deep = format!(
        "{}group_name == \"x\"{}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let huge = format!("group_name == \"{}\"", "a".repeat(100_000));
    // (path, body, field, start of the problem in the field or -1, text)
    let refused: Vec<(&str, Value, &str, i64, &str)> = vec![
        (
            "/api/v1/exceptions",
            exception("X1", Some(&injected_where)),
            "where",
            brace as i64,
            "unexpected `}`",
        ),
        (
            "/api/v1/asset-groups",
            group("g1", "aws.ec2.security_group", &injected_where),
            "members[0].where",
            brace as i64,
            "unexpected `}`",
        ),
        (
            "/api/v1/asset-groups",
            group("g2", &format!("aws.ec2.security_group {EVIL}"), "true"),
            "members[0].type",
            0,
            "must be a resource type",
        ),
        (
            "/api/v1/asset-groups",
            group(&format!("g3 {EVIL}"), "aws.ec2.security_group", "true"),
            "name",
            0,
            "must be an identifier",
        ),
        (
            "/api/v1/exceptions",
            {
                let mut v = exception("X2", None);
                v["targets"] = json!([format!("sg_ssh_open_to_world {EVIL}")]);
                v
            },
            "targets[0]",
            0,
            "policy or policy.rule name",
        ),
        (
            "/api/v1/exceptions",
            {
                let mut v = exception("X3", None);
                v["expires"] = json!(format!("2030-01-01T00:00:00Z{EVIL}"));
                v
            },
            "expires",
            0,
            "must be a date",
        ),
        (
            "/api/v1/exceptions",
            exception(
                "X4",
                Some(&format!("group_name == \"x\"\n// a comment\n{EVIL}")),
            ),
            "where",
            "group_name == \"x\"\n// a comment\n".len() as i64,
            "unexpected `}`",
        ),
        (
            "/api/v1/exceptions",
            exception("X5", Some(&format!("group_name == \"x\" /* {EVIL}"))),
            "where",
            -1,
            "",
        ),
        (
            "/api/v1/exceptions",
            exception("X6", Some(&format!("group_name == \"x\\\" {EVIL}"))),
            "where",
            -1,
            "",
        ),
        (
            "/api/v1/exceptions",
            exception("X7", Some(&deep)),
            "where",
            -1,
            "nested too deeply",
        ),
        (
            "/api/v1/exceptions",
            exception("X8", Some(&huge)),
            "where",
            0,
            "at most 16384",
        ),
        (
            "/api/v1/exceptions",
            exception("X9", Some("group_nam == \"x\"")),
            "where",
            0,
            "group_nam",
        ),
        (
            "/api/v1/asset-groups",
            group("g4", "aws.ec2.instance", "group_name == \"x\""),
            "members[0].where",
            0,
            "group_name",
        ),
    ];
    for (path, body, field, start, text) in refused {
        let (st, v) = send(&e.addr, "POST", path, &body).await;
        let shown: String = v.to_string().chars().take(400).collect();
        assert_eq!(st, 400, "{field}: {shown}");
        let d = &v["error"]["details"][0];
        assert_eq!(d["field"], field, "{shown}");
        if start >= 0 {
            assert_eq!(d["start"], start, "{field}: {shown}");
        }
        let all = v["error"].to_string();
        assert!(all.contains(text), "{field}: wanted `{text}` in {shown}");
        assert_eq!(items(&e.addr).await, before, "after the attempt on {field}");
    }
    // An unknown field inside a member.
    let (st, v) = send(
        &e.addr,
        "POST",
        "/api/v1/asset-groups",
        &json!({"name": "g5", "members": [{"type": "aws.ec2.instance", "where": "true", "x": 1}], "created_by": "m"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(items(&e.addr).await, before);

    // Valid requests whose strings hold the attack: each adds itself, as
    // written, and nothing else.
    let accepted = [
        // (Names have at most 128 characters: the attack's first 100.)
        exception(&format!("name \" {}", &EVIL[..100]), None),
        exception(
            "X10",
            Some(&format!("id == \"{}\"", EVIL.replace('"', "\\\""))),
        ),
        exception("X11", Some(&format!("id == \"x\" // {EVIL}"))),
        exception("例外-🚀", Some("id == \"ünï {cödé} 🚀\"")),
    ];
    let mut expected = names(&before["exceptions"]);
    for body in accepted {
        let (st, v) = send(&e.addr, "POST", "/api/v1/exceptions", &body).await;
        assert_eq!(st, 201, "{v}");
        expected.push(body["name"].as_str().unwrap().to_string());
        let now = items(&e.addr).await;
        assert_eq!(now["policies"], before["policies"]);
        assert_eq!(now["groups"], before["groups"]);
        let mut got = names(&now["exceptions"]);
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want);
    }
    // The comment is not kept: the stored condition is printed from its tree.
    let (_, list) = get(&e.addr, "/api/v1/exceptions").await;
    let x11 = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "X11")
        .unwrap()
        .clone();
    assert_eq!(x11["condition"], "id == \"x\"");

    // A rescan with them: the same figures, the same policies, and no
    // notification to the attacker (nor any exemption: they match nothing).
    e.server.scan("demo", "test").await.unwrap();
    assert_eq!(figures(&e.addr).await, figures_before);
    let after = items(&e.addr).await;
    assert_eq!(names(&after["policies"]), names(&before["policies"]));
    assert!(
        !e.sink
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.to.iter().any(|t| t.contains("evil"))),
        "the attacker was notified"
    );
    let (_, scans) = get(&e.addr, "/api/v1/scans").await;
    let last = &scans["items"][0];
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["exempted"], 0, "{last}");
    assert!(last["message"].is_null(), "{last}");
}
