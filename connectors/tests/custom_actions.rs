//! Custom auto-fix actions against real components: programs written into
//! a temporary directory and run as child processes, and a webhook served
//! by a real HTTP server on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pac_connectors::custom::{ActionConfig, CommandAction, CustomAction, WebhookAction};
use pac_connectors::{Action, ActionError, FixOutcome, FixRequest, FixStatus, Target};
use serde_json::{Value as Json, json};

const HOSTILE: &str = "$(touch /tmp/pac-pwned-by-custom-action); rm -rf \"$HOME\" `id` | cat; *";

fn request(dry_run: bool) -> FixRequest {
    let mut args = BTreeMap::new();
    args.insert("mode".to_string(), json!("strict"));
    args.insert("note".to_string(), json!(HOSTILE));
    FixRequest {
        action: "quarantine_instance".into(),
        args,
        target: Target {
            resource_type: "aws.ec2.instance".into(),
            id: "i-0abc".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            document: json!({"type": "aws.ec2.instance", "id": "i-0abc", "attributes": {"state": "running"}}),
        },
        dry_run,
        rule: Some("big_instances".into()),
        policy: Some("cost".into()),
    }
}

/// Writes an executable script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn command(argv: Vec<String>, timeout_secs: u64) -> CustomAction {
    CustomAction::new(ActionConfig::Command(CommandAction {
        name: "quarantine_instance".into(),
        command: argv,
        env: BTreeMap::from([("PAC_TEST_ENV".to_string(), "from-config".to_string())]),
        cwd: None,
        timeout_secs,
    }))
}

fn failure(r: Result<FixOutcome, ActionError>) -> String {
    match r {
        Err(ActionError::Failed(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A program that records its argv, environment and input, and answers as
/// a well-behaved action: a dry run says what it would do; an applied run
/// changes the state file once, then finds it already done.
const GOOD: &str = r#"#!/usr/bin/env python3
import json, os, sys
state_dir = sys.argv[1]
req = json.load(sys.stdin)
with open(os.path.join(state_dir, "calls.ndjson"), "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "env": os.environ.get("PAC_TEST_ENV"), "request": req}) + "\n")
flag = os.path.join(state_dir, "quarantined")
before = {"quarantined": os.path.exists(flag)}
if before["quarantined"]:
    print(json.dumps({"status": "already_fixed", "summary": "already quarantined", "before": before, "after": before}))
elif req["dry_run"]:
    print(json.dumps({"status": "would_change", "summary": "would quarantine " + req["resource"]["id"], "before": before, "after": {"quarantined": True}}))
else:
    open(flag, "w").close()
    print(json.dumps({"status": "changed", "summary": "quarantined " + req["resource"]["id"], "before": before, "after": {"quarantined": True}}))
"#;

fn calls(dir: &Path) -> Vec<Json> {
    std::fs::read_to_string(dir.join("calls.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_command_receives_the_request_as_data_and_honours_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let prog = script(dir.path(), "quarantine", GOOD);
    let state = dir.path().to_str().unwrap().to_string();
    let action = command(
        vec![prog.to_str().unwrap().into(), state.clone(), HOSTILE.into()],
        30,
    );
    assert_eq!(action.names(), ["quarantine_instance"]);

    // Dry run: says what it would do, changes nothing.
    let o = action.run(&request(true)).await.unwrap();
    assert_eq!(o.status, FixStatus::WouldChange);
    assert_eq!(o.summary, "would quarantine i-0abc");
    assert_eq!(o.before, json!({"quarantined": false}));
    assert_eq!(o.after, json!({"quarantined": true}));
    assert!(!dir.path().join("quarantined").exists());

    // Applied: changes once, then finds it already fixed.
    let o = action.run(&request(false)).await.unwrap();
    assert_eq!(o.status, FixStatus::Changed, "{o:?}");
    assert!(dir.path().join("quarantined").exists());
    let o = action.run(&request(false)).await.unwrap();
    assert_eq!(o.status, FixStatus::AlreadyFixed);
    assert_eq!(o.before, o.after);

    let c = calls(dir.path());
    assert_eq!(c.len(), 3);
    // The configured argv arrives as it was written: the hostile text is
    // one argument, never interpreted by a shell.
    assert_eq!(c[0]["argv"], json!([state, HOSTILE]));
    assert_eq!(c[0]["env"], "from-config");
    let req = &c[0]["request"];
    assert_eq!(
        *req,
        json!({
            "action": "quarantine_instance",
            "dry_run": true,
            "resource": {
                "type": "aws.ec2.instance",
                "id": "i-0abc",
                "account": "111122223333",
                "region": "eu-west-1",
                "state": {"type": "aws.ec2.instance", "id": "i-0abc", "attributes": {"state": "running"}},
            },
            "rule": "big_instances",
            "policy": "cost",
            "args": {"mode": "strict", "note": HOSTILE},
        })
    );
    assert_eq!(c[1]["request"]["dry_run"], false);
    assert!(
        !Path::new("/tmp/pac-pwned-by-custom-action").exists(),
        "the hostile argument was run by a shell"
    );
}

#[tokio::test]
async fn answers_that_do_not_match_the_request_fail() {
    let dir = tempfile::tempdir().unwrap();
    // Answers whatever status it is told in its argv.
    let prog = script(
        dir.path(),
        "liar",
        "#!/bin/sh\ncat >/dev/null\nprintf '{\"status\": \"%s\", \"summary\": \"%s\"}\\n' \"$1\" \"$2\"\n",
    );
    let run = |status: &str, summary: &str, dry_run: bool| {
        let a = command(
            vec![prog.to_str().unwrap().into(), status.into(), summary.into()],
            30,
        );
        async move { a.run(&request(dry_run)).await }
    };
    let e = failure(run("changed", "quarantined anyway", true).await);
    assert!(
        e.contains("answered `changed` to a dry run")
            && e.contains("did not honour `dry_run`")
            && e.contains("quarantined anyway"),
        "{e}"
    );
    let e = failure(run("would_change", "", false).await);
    assert!(
        e.contains("answered `would_change` when asked to apply"),
        "{e}"
    );
    let e = failure(run("failed", "the instance is protected", false).await);
    assert!(
        e.contains(
            "custom action `quarantine_instance`: failed on i-0abc: the instance is protected"
        ),
        "{e}"
    );
    let e = failure(run("done", "", false).await);
    assert!(
        e.contains(
            "answered status \"done\"; expected changed, would_change, already_fixed or failed"
        ),
        "{e}"
    );
    let o = run("already_fixed", "", true).await.unwrap();
    assert_eq!(o.status, FixStatus::AlreadyFixed);
    assert_eq!(o.summary, "`quarantine_instance` on i-0abc: already fixed");
}

#[tokio::test]
async fn bad_exits_and_bad_output_fail_saying_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fail = |body: &str, name: &str| {
        let prog = script(d, name, body);
        let a = command(vec![prog.to_str().unwrap().into()], 30);
        async move { failure(a.run(&request(false)).await) }
    };
    let e = fail(
        "#!/bin/sh\ncat >/dev/null\necho 'api: access denied' >&2\necho 'line 2' >&2\nexit 3\n",
        "exit3",
    )
    .await;
    assert!(
        e.contains("exited with status 3") && e.contains("api: access denied | line 2"),
        "{e}"
    );
    let e = fail("#!/bin/sh\ncat >/dev/null\necho 'hello there'\n", "chatty").await;
    assert!(
        e.contains("the answer is not JSON") && e.contains("hello there"),
        "{e}"
    );
    let e = fail("#!/bin/sh\ncat >/dev/null\n", "silent").await;
    assert!(
        e.contains("the answer is not JSON") && e.contains("it was empty"),
        "{e}"
    );
    let e = fail("#!/bin/sh\necho '[1, 2]'\n", "array").await;
    assert!(e.contains("not a JSON object"), "{e}");
    // Two MiB of output: drained, refused, bounded in the message.
    let e = fail(
        "#!/bin/sh\ncat >/dev/null\nhead -c 2097152 /dev/zero | tr '\\0' x\n",
        "flood",
    )
    .await;
    assert!(e.contains("wrote 2097152 bytes") && e.len() < 400, "{e}");
    // A long standard error is quoted in a few bounded lines.
    let e = fail(
        "#!/bin/sh\ncat >/dev/null\nfor i in $(seq 1 5000); do echo \"error line $i of many\" >&2; done\nexit 1\n",
        "noisy",
    )
    .await;
    assert!(
        e.contains("error line 1 of many") && !e.contains("error line 6 ") && e.len() < 600,
        "{e}"
    );
    // A program that does not exist.
    let a = command(vec![d.join("missing").to_str().unwrap().into()], 30);
    let e = failure(a.run(&request(false)).await);
    assert!(e.contains("cannot run") && e.contains("missing"), "{e}");
}

#[tokio::test]
async fn a_program_that_does_not_answer_in_time_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let prog = script(
        dir.path(),
        "hang",
        &format!(
            "#!/bin/sh\nsleep 60 &\necho $! > '{}'\nwait\n",
            pidfile.display()
        ),
    );
    let a = command(vec![prog.to_str().unwrap().into()], 1);
    let start = Instant::now();
    let e = failure(a.run(&request(false)).await);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        e.contains("did not answer within 1 s (timeout_secs) and was killed"),
        "{e}"
    );
    // The grandchild (same process group) is gone too.
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    let stat = format!("/proc/{pid}/stat");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z"))
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sleep {pid} survived the timeout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- the webhook -------------------------------------------------------

/// One request the webhook received: its path, headers and body.
type Received = (String, BTreeMap<String, String>, Json);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Received>>>);

/// A real HTTP server on 127.0.0.1: records what it receives; `/fix`
/// answers like a well-behaved action, the other paths misbehave.
async fn webhook_server() -> (String, Seen) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;

    async fn handle(
        State(seen): State<Seen>,
        uri: Uri,
        headers: HeaderMap,
        body: String,
    ) -> axum::response::Response {
        let req: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        let hs = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        seen.0
            .lock()
            .unwrap()
            .push((uri.path().to_string(), hs, req.clone()));
        match uri.path() {
            "/fix" => {
                let dry = req["dry_run"].as_bool().unwrap_or(true);
                axum::Json(json!({
                    "status": if dry { "would_change" } else { "changed" },
                    "summary": format!("ticket for {}", req["resource"]["id"].as_str().unwrap_or("?")),
                    "before": {"ticket": null},
                    "after": {"ticket": "OPS-1"},
                }))
                .into_response()
            }
            "/down" => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database down\n{}", "detail ".repeat(500)),
            )
                .into_response(),
            "/moved" => (
                StatusCode::FOUND,
                [("location", "http://example.com/elsewhere")],
                "",
            )
                .into_response(),
            "/garbage" => "<html>not json</html>".into_response(),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                axum::Json(json!({"status": "changed"})).into_response()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    let seen = Seen::default();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), seen)
}

fn webhook(url: String, timeout_secs: u64) -> CustomAction {
    let config = ActionConfig::Webhook(WebhookAction {
        name: "quarantine_instance".into(),
        url,
        headers: BTreeMap::from([
            (
                "Authorization".to_string(),
                "Bearer ${CARGO_PKG_NAME}".to_string(),
            ),
            ("X-Pac-Test".to_string(), "yes".to_string()),
        ]),
        timeout_secs,
    });
    config.validate().unwrap();
    CustomAction::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_receives_the_request_and_its_answer_is_the_outcome() {
    let (base, seen) = webhook_server().await;
    let a = webhook(format!("{base}/fix?token=secret"), 10);
    let o = a.run(&request(true)).await.unwrap();
    assert_eq!(o.status, FixStatus::WouldChange);
    assert_eq!(o.summary, "ticket for i-0abc");
    assert_eq!(o.after, json!({"ticket": "OPS-1"}));
    let o = a.run(&request(false)).await.unwrap();
    assert_eq!(o.status, FixStatus::Changed);

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (path, headers, body) = &seen[0];
    assert_eq!(path, "/fix");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["authorization"], "Bearer pac-connectors");
    assert_eq!(headers["x-pac-test"], "yes");
    assert_eq!(body["action"], "quarantine_instance");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["args"], json!({"mode": "strict", "note": HOSTILE}));
    assert_eq!(body["resource"]["account"], "111122223333");
    assert_eq!(body["resource"]["state"]["attributes"]["state"], "running");
    assert_eq!(seen[1].2["dry_run"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_errors_fail_with_the_status_and_a_bounded_excerpt() {
    let (base, _) = webhook_server().await;
    let e = failure(
        webhook(format!("{base}/down?token=secret"), 10)
            .run(&request(false))
            .await,
    );
    assert!(
        e.contains("answered HTTP 503 Service Unavailable: database down | detail"),
        "{e}"
    );
    assert!(e.len() < 700, "{} bytes: {e}", e.len());
    assert!(!e.contains("secret"), "the query is not shown: {e}");
    // A redirect is not followed.
    let e = failure(
        webhook(format!("{base}/moved"), 10)
            .run(&request(false))
            .await,
    );
    assert!(e.contains("answered HTTP 302 Found"), "{e}");
    let e = failure(
        webhook(format!("{base}/garbage"), 10)
            .run(&request(false))
            .await,
    );
    assert!(
        e.contains("the answer is not JSON") && e.contains("<html>not json"),
        "{e}"
    );
    let e = failure(
        webhook(format!("{base}/nowhere"), 10)
            .run(&request(false))
            .await,
    );
    assert!(e.contains("answered HTTP 404"), "{e}");
    let start = Instant::now();
    let e = failure(
        webhook(format!("{base}/slow"), 1)
            .run(&request(false))
            .await,
    );
    assert!(e.contains("no answer within 1 s"), "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // A header naming an unset variable: refused before anything is sent.
    let a = CustomAction::new(ActionConfig::Webhook(WebhookAction {
        name: "quarantine_instance".into(),
        url: format!("{base}/fix"),
        headers: BTreeMap::from([(
            "Authorization".to_string(),
            "Bearer ${PAC_TEST_SURELY_UNSET_TOKEN}".to_string(),
        )]),
        timeout_secs: 5,
    }));
    let e = failure(a.run(&request(false)).await);
    assert!(
        e.contains("`PAC_TEST_SURELY_UNSET_TOKEN`") && e.contains("is not set"),
        "{e}"
    );
    // Nothing listens: a connection error, not a hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = failure(
        webhook(format!("http://127.0.0.1:{port}/fix"), 5)
            .run(&request(false))
            .await,
    );
    assert!(
        e.contains(&format!("POST http://127.0.0.1:{port}/fix:")),
        "{e}"
    );
}
