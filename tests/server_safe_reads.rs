//! No data lost to a bad source: a read that failed (an empty, garbage or
//! unreadable file, a command exiting non-zero, every document rejected)
//! or that would remove too much (held as `suspect` until confirmed)
//! changes nothing of its source — no resource removed, no issue closed or
//! reopened, no notification sent again, no grace period restarted — and
//! its results count as unknown. In process, over the demo estate, with a
//! real SQLite file and the real scan pipeline.

mod server_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pac_server::clock::{Clock, ManualClock};
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

const SSH_OPEN: &str = "sg-0fbfecffc4a989050";

struct Env {
    dir: tempfile::TempDir,
    server: Arc<Server>,
    clock: Arc<ManualClock>,
    sink: Arc<Sink>,
    addr: String,
}

/// A server over `sources` (TOML `[[source]]` tables; `{dir}` is replaced
/// by the test's directory) with auto-fix jobs allowed.
async fn env_with(sources: &str, write: impl FnOnce(&Path)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[autofix]\nmax_resources = 1000\nmax_percent = 100\n{}",
        dir.path().join("data"),
        root().join("policies"),
        sources.replace("{dir}", &dir.path().display().to_string())
    ))
    .unwrap();
    let clock = ManualClock::new(DEMO_NOW);
    let sink = Arc::new(Sink::default());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            notifier: Some(sink.clone()),
            actions: vec![Recorder::new(&[
                "revoke_world_ingress",
                "block_s3_public_access",
                "stop_instance",
            ])],
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;
    Env {
        dir,
        server,
        clock,
        sink,
        addr,
    }
}

/// The demo estate as one NDJSON inventory file, `demo` source.
async fn env() -> Env {
    env_with(
        "[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [\"{dir}/inventory.ndjson\"]\n",
        |d| write_ndjson(&d.join("inventory.ndjson"), &demo_docs()),
    )
    .await
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn inventory(&self) -> PathBuf {
        self.path("inventory.ndjson")
    }
    async fn scan_of(&self, source: &str) -> Value {
        self.clock.advance(3600);
        let id = self.server.scan(source, "test").await.unwrap();
        let (st, v) = get(&self.addr, &format!("/api/v1/scans/{id}")).await;
        assert_eq!(st, 200);
        v
    }
    async fn scan(&self) -> Value {
        self.scan_of("demo").await
    }
    /// Everything a bad read must leave as it was: every issue with its
    /// dates and counters, every current resource with its document,
    /// every job with its due date and notification, and what was sent.
    async fn state(&self) -> Value {
        let (_, issues) = get(&self.addr, "/api/v1/issues?per_page=500").await;
        let issues: Vec<Value> = issues["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                json!([
                    i["id"],
                    i["rule"],
                    i["resource_key"],
                    i["status"],
                    i["message"],
                    i["last_opened"],
                    i["times_opened"],
                    i["closed_at"]
                ])
            })
            .collect();
        let mut resources = Vec::new();
        for page in 1.. {
            let (_, r) = get(
                &self.addr,
                &format!("/api/v1/resources?per_page=500&page={page}"),
            )
            .await;
            let items = r["items"].as_array().unwrap().clone();
            if items.is_empty() {
                break;
            }
            resources.extend(
                items
                    .into_iter()
                    .map(|x| json!([x["key"], x["document"], x["changed_at"]])),
            );
        }
        let (_, jobs) = get(&self.addr, "/api/v1/autofix/jobs?per_page=500").await;
        let jobs: Vec<Value> = jobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                json!([
                    j["id"],
                    j["issue_id"],
                    j["status"],
                    j["due_at"],
                    j["notified_at"]
                ])
            })
            .collect();
        let sent: Vec<String> = self
            .sink
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.subject.clone())
            .collect();
        json!({"issues": issues, "resources": resources, "jobs": jobs, "sent": sent})
    }
    async fn compliance(&self) -> Value {
        let (st, c) = get(&self.addr, "/api/v1/compliance").await;
        assert_eq!(st, 200, "{c}");
        c
    }
}

/// A first good scan; its state.
async fn baseline(e: &Env) -> Value {
    let s = e.scan().await;
    assert_eq!(s["status"], "completed", "{s}");
    assert!(s["opened"].as_i64().unwrap() > 20, "{s}");
    let state = e.state().await;
    assert!(!state["jobs"].as_array().unwrap().is_empty());
    assert!(!state["sent"].as_array().unwrap().is_empty());
    state
}

/// Compares two `Env::state` values and names the first difference
/// (the whole state is thousands of lines).
fn assert_same_state(before: &Value, after: &Value, what: &str) {
    for key in ["issues", "resources", "jobs", "sent"] {
        let (b, a) = (
            before[key].as_array().unwrap(),
            after[key].as_array().unwrap(),
        );
        for (i, (x, y)) in b.iter().zip(a).enumerate() {
            assert_eq!(x, y, "{what}: {key}[{i}] changed");
        }
        assert_eq!(
            b.len(),
            a.len(),
            "{what}: {key}: {} before, {} after",
            b.len(),
            a.len()
        );
    }
}

/// The scan after a bad read: `failed`, nothing changed, all unknown.
async fn assert_failed_read(e: &Env, before: &Value, what: &str) -> Value {
    let s = e.scan().await;
    assert_eq!(s["status"], "failed", "{what}: {s}");
    for k in ["removed", "closed", "opened", "reopened", "changed"] {
        assert_eq!(s[k], 0, "{what}: {k}: {s}");
    }
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("nothing of it was removed"),
        "{what}: {s}"
    );
    assert_same_state(
        before,
        &e.state().await,
        &format!("{what}: the state changed"),
    );
    let c = e.compliance().await;
    assert_eq!(c["coverage"]["known"], 0, "{what}: {c}");
    assert!(
        c["coverage"]["unknown"].as_u64().unwrap() > 0,
        "{what}: {c}"
    );
    assert_eq!(c["coverage"]["percent"], 0, "{what}");
    assert!(
        c["overall"].is_null(),
        "{what}: unknown, never compliant: {c}"
    );
    let unread = &c["coverage"]["unread"];
    assert_eq!(unread[0]["source"], "demo", "{what}: {c}");
    assert_eq!(unread[0]["status"], "failed", "{what}: {c}");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_fails_the_read_and_loses_nothing() {
    let e = env().await;
    let before = baseline(&e).await;
    std::fs::write(e.inventory(), "").unwrap();
    let s = assert_failed_read(&e, &before, "0-byte file").await;
    assert!(
        s["source_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("inventory.ndjson: the inventory file is empty"),
        "{s}"
    );
    // Blank lines and a byte-order mark are still empty.
    std::fs::write(e.inventory(), "\u{feff}\n \n").unwrap();
    assert_failed_read(&e, &before, "blank file").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_file_fails_the_read() {
    let e = env().await;
    let before = baseline(&e).await;
    std::fs::write(
        e.inventory(),
        b"\x7fELF\x02\x01garbage \xff\xfe\nnot json at all\n<html>oops</html>\n",
    )
    .unwrap();
    assert_failed_read(&e, &before, "binary garbage").await;
    std::fs::write(e.inventory(), "<html>502 Bad Gateway</html>\nretry later\n").unwrap();
    let s = assert_failed_read(&e, &before, "text garbage").await;
    assert!(
        s["source_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not an inventory"),
        "{s}"
    );
    // A truncated JSON array.
    let text = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    std::fs::write(e.inventory(), &text[..text.len() / 2]).unwrap();
    assert_failed_read(&e, &before, "truncated array").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_fails_the_read() {
    let e = env().await;
    let before = baseline(&e).await;
    let inv = e.inventory();
    let saved = std::fs::read(&inv).unwrap();
    std::fs::remove_file(&inv).unwrap();
    assert_failed_read(&e, &before, "missing file").await;
    std::fs::create_dir(&inv).unwrap();
    assert_failed_read(&e, &before, "a directory in its place").await;
    std::fs::remove_dir(&inv).unwrap();
    std::fs::write(&inv, &saved).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&inv, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads it anyway: the directory case above covers the same path.
        if std::fs::read(&inv).is_err() {
            assert_failed_read(&e, &before, "no permission").await;
        }
        std::fs::set_permissions(&inv, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // Readable again: the same estate, nothing reopened.
    let s = e.scan().await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["reopened"], 0);
    assert_eq!(s["opened"], 0);
    let c = e.compliance().await;
    assert_eq!(c["coverage"]["unread"], json!([]), "{c}");
    assert_eq!(c["coverage"]["percent"], 100, "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_exiting_non_zero_fails_the_read() {
    let e = env_with(
        "[[source]]\nname = \"demo\"\nkind = \"command\"\ncommand = [\"sh\", \"{dir}/collect.sh\"]\n",
        |d| {
            write_ndjson(&d.join("inventory.ndjson"), &demo_docs());
            std::fs::write(d.join("collect.sh"), "cat \"$(dirname \"$0\")/inventory.ndjson\"\n")
                .unwrap();
        },
    )
    .await;
    let before = baseline(&e).await;
    // It prints half the estate, with the open SSH group fixed, then fails:
    // neither the fix nor the missing half may be taken from it.
    let mut docs = demo_docs();
    docs.truncate(docs.len() / 2);
    if !docs.iter().any(|d| d["id"] == SSH_OPEN) {
        docs.push(
            demo_docs()
                .into_iter()
                .find(|d| d["id"] == SSH_OPEN)
                .unwrap(),
        );
    }
    for d in docs.iter_mut().filter(|d| d["id"] == SSH_OPEN) {
        d["attributes"]["ip_permissions"] = json!([]);
    }
    write_ndjson(&e.path("half.ndjson"), &docs);
    std::fs::write(
        e.path("collect.sh"),
        "cat \"$(dirname \"$0\")/half.ndjson\"\necho 'scanner: credentials expired' >&2\nexit 3\n",
    )
    .unwrap();
    let s = assert_failed_read(&e, &before, "exit 3").await;
    let why = s["source_errors"][0]["message"].as_str().unwrap();
    assert!(why.contains("credentials expired"), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_file_sources_fail_on_an_empty_file() {
    let e = env_with(
        "[[source]]\nname = \"demo\"\nkind = \"file\"\npath = \"{dir}/inventory.ndjson\"\n",
        |d| write_ndjson(&d.join("inventory.ndjson"), &demo_docs()),
    )
    .await;
    let before = baseline(&e).await;
    std::fs::write(e.inventory(), "").unwrap();
    let s = assert_failed_read(&e, &before, "empty plugin file").await;
    assert!(
        s["source_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the file is empty"),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_whose_every_document_is_rejected_fails() {
    let e = env().await;
    let before = baseline(&e).await;
    // Valid JSON, but of a type no schema knows (an exporter gone wrong).
    let docs: Vec<Value> = demo_docs()
        .into_iter()
        .map(|mut d| {
            d["type"] = json!("aws.ec2.unknown_thing");
            d
        })
        .collect();
    write_ndjson(&e.inventory(), &docs);
    let s = assert_failed_read(&e, &before, "all rejected").await;
    assert!(
        s["message"].as_str().unwrap().contains("were rejected"),
        "{s}"
    );
    assert_eq!(s["ingest_error_count"], docs.len(), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_removing_half_the_source_is_held_until_confirmed() {
    let e = env().await;
    let before = baseline(&e).await;
    let docs = demo_docs();
    let kept: Vec<Value> = docs.iter().step_by(2).cloned().collect();
    let gone = docs.len() - kept.len();
    write_ndjson(&e.inventory(), &kept);

    let s = e.scan().await;
    assert_eq!(s["status"], "suspect", "{s}");
    assert_eq!(s["held_removals"], gone, "{s}");
    for k in ["removed", "closed", "opened", "reopened", "changed"] {
        assert_eq!(s[k], 0, "{k}: {s}");
    }
    let msg = s["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("would remove {gone} of its {}", docs.len()))
            && msg.contains(&format!("/api/v1/scans/{}/confirm", s["id"])),
        "{msg}"
    );
    assert_same_state(
        &before,
        &e.state().await,
        "a suspect read changed the state",
    );
    let c = e.compliance().await;
    assert_eq!(c["coverage"]["unread"][0]["status"], "suspect", "{c}");
    assert!(c["overall"].is_null(), "{c}");

    // Held again at the next scan: the hold is not a one-off.
    let s2 = e.scan().await;
    assert_eq!(s2["status"], "suspect", "{s2}");
    // Only the last suspect scan of the source can be confirmed.
    let (st, err) = send(
        &e.addr,
        "POST",
        &format!("/api/v1/scans/{}/confirm", s["id"]),
        &json!({}),
    )
    .await;
    assert_eq!(st, 409, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("superseded"),
        "{err}"
    );
    let (st, _) = send(&e.addr, "POST", "/api/v1/scans/999/confirm", &json!({})).await;
    assert_eq!(st, 404);
    let (st, err) = send(&e.addr, "POST", "/api/v1/scans/1/confirm", &json!({})).await;
    assert_eq!(st, 409, "a completed scan: {err}");
    let (st, err) = send(
        &e.addr,
        "POST",
        &format!("/api/v1/scans/{}/confirm", s2["id"]),
        &json!({"force": true}),
    )
    .await;
    assert_eq!(st, 400, "unknown fields: {err}");

    // Confirmed: the source is read again and the removals apply.
    let (st, ok) = send(
        &e.addr,
        "POST",
        &format!("/api/v1/scans/{}/confirm", s2["id"]),
        &json!({}),
    )
    .await;
    assert_eq!(st, 202, "{ok}");
    assert!(ok["scan"]["confirmed_at"].is_i64(), "{ok}");
    let next = s2["id"].as_i64().unwrap() + 1;
    let done = wait_for_scan(&e.addr, next).await;
    assert_eq!(done["trigger"], "confirm", "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["removed"], gone, "{done}");
    assert!(done["closed"].as_i64().unwrap() > 0, "{done}");
    let (_, closed) = get(&e.addr, "/api/v1/issues?status=closed&per_page=500").await;
    let other: Vec<&Value> = closed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["close_reason"] != "resource_removed")
        .collect();
    // What remains may now pass (an instance whose default VPC went away
    // is no longer in the default VPC); nothing else closes.
    assert!(
        other.iter().all(|i| i["close_reason"] == "passed"),
        "closed otherwise: {other:?}"
    );
    assert!(other.len() < closed["items"].as_array().unwrap().len());
    let (st, _) = send(
        &e.addr,
        "POST",
        &format!("/api/v1/scans/{}/confirm", s2["id"]),
        &json!({}),
    )
    .await;
    assert_eq!(st, 409, "confirmed once");
    assert_eq!(e.compliance().await["coverage"]["unread"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_allowed_to_shrink_by_configuration_is_not_held() {
    let e = env_with(
        "[[source]]\nname = \"demo\"\nkind = \"inventory\"\nmax_removed_percent = 60\npaths = [\"{dir}/inventory.ndjson\"]\n",
        |d| write_ndjson(&d.join("inventory.ndjson"), &demo_docs()),
    )
    .await;
    baseline(&e).await;
    let docs = demo_docs();
    let kept: Vec<Value> = docs.iter().step_by(2).cloned().collect();
    write_ndjson(&e.inventory(), &kept);
    let s = e.scan().await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["removed"], docs.len() - kept.len());
    // 100% of what is left is more than 60%: held.
    std::fs::write(e.inventory(), "[]").unwrap();
    let s = e.scan().await;
    assert_eq!(s["status"], "suspect", "{s}");
}

async fn wait_for_scan(addr: &str, id: i64) -> Value {
    let start = Instant::now();
    loop {
        let (st, v) = get(addr, &format!("/api/v1/scans/{id}")).await;
        if st == 200 && v["status"] != "running" {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "scan {id} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_a_source_after_a_failure_notifies_nobody_again_and_keeps_the_grace_period() {
    let e = env().await;
    let before = baseline(&e).await;
    let first_scan_at = DEMO_NOW + 3600;
    let sent = before["sent"].as_array().unwrap().len();
    let saved = std::fs::read(e.inventory()).unwrap();

    // Two failed reads, 10 hours apart, then the file is back.
    std::fs::write(e.inventory(), "").unwrap();
    assert_failed_read(&e, &before, "empty").await;
    e.clock.advance(10 * 3600);
    std::fs::write(e.inventory(), "garbage\n").unwrap();
    assert_failed_read(&e, &before, "garbage").await;
    std::fs::write(e.inventory(), &saved).unwrap();
    let s = e.scan().await;
    assert_eq!(s["status"], "completed", "{s}");
    for k in ["removed", "closed", "opened", "reopened", "changed"] {
        assert_eq!(s[k], 0, "{k}: {s}");
    }
    let after = e.state().await;
    // Job statuses aside (jobs that fell due while the source was unread
    // were deferred, and run now that it is read again), and issue
    // messages (those that count days moved with the clock).
    let no_job_status = |v: &Value| {
        let mut v = v.clone();
        for j in v["jobs"].as_array_mut().unwrap() {
            j[2] = Value::Null;
        }
        for i in v["issues"].as_array_mut().unwrap() {
            i[4] = Value::Null;
        }
        v
    };
    assert_same_state(
        &no_job_status(&before),
        &no_job_status(&after),
        "restoring the source changed the state",
    );
    assert_eq!(
        after["sent"].as_array().unwrap().len(),
        sent,
        "notified again"
    );
    // Every issue still has only its first event.
    let (_, issues) = get(&e.addr, "/api/v1/issues?status=open&per_page=500").await;
    let first = &issues["items"][0];
    let (_, issue) = get(&e.addr, &format!("/api/v1/issues/{}", first["id"])).await;
    assert_eq!(issue["events"].as_array().unwrap().len(), 1, "{issue}");

    // The grace periods run from the first scan: 1 day after it (not after
    // the restore, 12 hours later) the SSH fixes are due and run.
    let (_, jobs) = get(&e.addr, "/api/v1/autofix/jobs?status=waiting&per_page=500").await;
    let ssh: Vec<&Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["rule"] == "sg_ssh_open_to_world")
        .collect();
    assert!(!ssh.is_empty());
    assert!(
        ssh.iter().all(|j| j["due_at"] == first_scan_at + 86_400),
        "{jobs}"
    );
    let now = e.clock.now();
    e.clock.advance(first_scan_at + 86_400 - now);
    pac_server::autofix::run_due(&e.server).await.unwrap();
    let (_, job) = get(&e.addr, &format!("/api/v1/autofix/jobs/{}", ssh[0]["id"])).await;
    assert_eq!(job["status"], "done", "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_source_stays_unknown_while_other_sources_are_scanned() {
    let (prod, dev) = ("111122223333", "444455556666");
    let e = env_with(
        "[[source]]\nname = \"prod\"\nkind = \"inventory\"\npaths = [\"{dir}/prod.ndjson\"]\n[[source]]\nname = \"dev\"\nkind = \"inventory\"\npaths = [\"{dir}/dev.ndjson\"]\n",
        |d| {
            let of = |acct: &str| -> Vec<Value> {
                demo_docs()
                    .into_iter()
                    .filter(|x| x["account"] == acct)
                    .collect()
            };
            write_ndjson(&d.join("prod.ndjson"), &of(prod));
            write_ndjson(&d.join("dev.ndjson"), &of(dev));
        },
    )
    .await;
    assert_eq!(e.scan_of("prod").await["status"], "completed");
    assert_eq!(e.scan_of("dev").await["status"], "completed");
    let all_known = e.compliance().await;
    assert_eq!(all_known["coverage"]["percent"], 100, "{all_known}");
    let before = e.state().await;

    std::fs::write(e.path("dev.ndjson"), "").unwrap();
    assert_eq!(e.scan_of("dev").await["status"], "failed");
    // prod's scan evaluates dev's stored resources too: still unknown.
    let s = e.scan_of("prod").await;
    assert_eq!(s["status"], "completed", "{s}");
    assert!(s["unknown"].as_i64().unwrap() > 0, "{s}");
    let c = e.compliance().await;
    assert!(c["coverage"]["percent"].as_u64().unwrap() < 100, "{c}");
    assert_eq!(c["coverage"]["unread"][0]["source"], "dev", "{c}");
    assert_same_state(&before, &e.state().await, "the other source's scan");
}
