//! E-mail digests and grouped auto-fix notifications (docs/portal.md, "E-mail
//! digests"), sent through lettre to a real SMTP server on loopback:
//! aiosmtpd (`tests/smtp_server/capture.py`, installed into `.venv` by
//! scripts/test), which hands every message to Python's standard MIME
//! parser. The test reads what the server received: envelope, headers, the
//! plain-text and HTML parts, and checks them against the API.

mod server_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::{Value, json};
use server_support::*;

const PROD: &str = "production";
const SANDBOX: &str = "sandbox_resources";
const PAYLOAD: &str = "<script>alert(1)</script>";
/// A resource id with markup and a line break that tries to add a header.
const EVIL_ID: &str = "i-0evil\"><script>alert(1)</script>\r\nBcc: victim@example.com";
const SANDBOX_NEW: &str = "i-0sandbox0new0marker";
const DAY: i64 = 86_400;

/// aiosmtpd in a child process; killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("PAC_SMTP_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with aiosmtpd: run ./scripts/test once (it installs aiosmtpd into .venv), or set PAC_SMTP_PYTHON to a python that has it"
    );
    venv
}

fn start_smtp(dir: &Path) -> Smtp {
    let mut child = Command::new(python())
        .arg(root().join("tests/smtp_server/capture.py"))
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting aiosmtpd (tests/smtp_server/capture.py)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("aiosmtpd did not start: {line:?} (is aiosmtpd installed?)"))
        .parse()
        .unwrap();
    Smtp {
        child,
        port,
        dir: dir.to_path_buf(),
    }
}

impl Smtp {
    /// Every message received so far, in order.
    fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
    /// Waits until at least `n` messages arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let m = self.mails();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} mails, got {:#?}", self.mails());
    }
}

fn header<'a>(mail: &'a Value, name: &str) -> Vec<&'a str> {
    mail["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

/// The text of `data-figure="NAME"` in an HTML part.
fn figure<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!("data-figure=\"{name}\">"))
        .unwrap_or_else(|| panic!("no figure {name} in {html}"));
    let rest = &html[at..];
    &rest[rest.find('>').unwrap() + 1..rest.find("</").unwrap()]
}

/// The server of `cfg` on a manual clock at `DEMO_NOW`.
async fn build_at_demo_now(cfg: &Config) -> (std::sync::Arc<Server>, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::new(DEMO_NOW);
    let server = Server::build(
        cfg,
        Parts {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (server, clock)
}

fn pct(v: &Value) -> String {
    format!("{:.1} %", v.as_f64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_reach_a_real_smtp_server_confined_to_their_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    std::fs::create_dir(&maildir).unwrap();
    let smtp = start_smtp(&maildir);

    let inventory = dir.path().join("inventory.ndjson");
    let mut docs = demo_docs();
    write_ndjson(&inventory, &docs);
    let cfg = Config::parse(&format!(
        r#"data_dir = {data:?}
policies = [{policies:?}]
public_url = "https://pac.example.com"
[notify]
kind = "smtp"
host = "127.0.0.1"
port = {port}
from = "Pac <pac@example.com>"
insecure = true
[[source]]
name = "demo"
kind = "inventory"
paths = [{inventory:?}]
[[auth.grant]]
claim = "email"
value = "viewer@example.com"
role = "viewer"
groups = ["{PROD}"]
[[digest]]
name = "production-weekly"
every = "weekly"
group = "{PROD}"
to = ["prod-ops@example.com"]
[[digest]]
name = "viewer-daily"
every = "daily"
user = "viewer@example.com"
[[digest]]
name = "platform-owner"
every = "weekly"
owner = "platform-team@example.com"
to = ["platform-lead@example.com"]
"#,
        data = dir.path().join("data"),
        policies = root().join("policies"),
        port = smtp.port,
    ))
    .unwrap();
    let (server, clock) = build_at_demo_now(&cfg).await;
    let addr = start_api(server.clone()).await;

    // Scan 1 (Sunday 2026-11-01): the owners of the auto-fix jobs it
    // schedules get one mail each, not one per issue.
    server.scan("demo", "test").await.unwrap();
    let (_, jobs) = get(&addr, "/api/v1/autofix/jobs?per_page=500").await;
    let jobs = jobs["items"].as_array().unwrap().clone();
    let owners: BTreeSet<String> = jobs
        .iter()
        .flat_map(|j| j["notify"].as_array().unwrap().iter())
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    assert!(!owners.is_empty());
    assert!(
        jobs.len() > owners.len(),
        "the demo schedules several fixes per owner"
    );
    smtp.wait_for(owners.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fix_mails: Vec<Value> = smtp.mails();
    assert_eq!(fix_mails.len(), owners.len(), "one mail per owner");
    let mut seen = BTreeSet::new();
    for m in &fix_mails {
        let to = m["rcpt_tos"].as_array().unwrap();
        assert_eq!(to.len(), 1, "{m}");
        let owner = to[0].as_str().unwrap().to_string();
        assert!(seen.insert(owner.clone()), "{owner} got two mails");
        // Every job of that owner is in it, as text and as HTML.
        for j in jobs
            .iter()
            .filter(|j| j["notify"].as_array().unwrap().iter().any(|o| o == &owner))
        {
            let line = format!(
                "Policy rule `{}` fails on {}",
                j["rule"].as_str().unwrap(),
                j["resource_key"].as_str().unwrap()
            );
            assert!(m["text"].as_str().unwrap().contains(&line), "{line}: {m}");
            let html = m["html"].as_str().unwrap();
            assert!(html.contains(&format!("<td class=\"num\"><a href=\"https://pac.example.com/fixes?group=*\">{}</a></td>", j["id"])), "{html}");
        }
        assert_eq!(m["content_type"], "multipart/alternative");
    }
    assert_eq!(seen, owners);
    let (_, c1) = get(&addr, &format!("/api/v1/compliance?group={PROD}")).await;

    // Scan 2 (Sunday 2026-11-08, noon): a production instance is replaced
    // by one whose id is hostile (a new issue; the old one closes), and a
    // sandbox instance by another (a new issue outside production).
    let (_, sandbox) = get(
        &addr,
        &format!("/api/v1/issues?group={SANDBOX}&status=open&per_page=500"),
    )
    .await;
    let (_, prod_open) = get(
        &addr,
        &format!("/api/v1/issues?group={PROD}&status=open&per_page=500"),
    )
    .await;
    let prod_keys: BTreeSet<&str> = prod_open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["resource_key"].as_str().unwrap())
        .collect();
    let sandbox_instance = sandbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["resource_type"] == "aws.ec2.instance"
                && !prod_keys.contains(i["resource_key"].as_str().unwrap())
        })
        .expect("an open issue of a sandbox-only instance")["resource_id"]
        .as_str()
        .unwrap()
        .to_string();
    // And a production instance is fixed (its IMDSv1 issue closes).
    let fixed = prod_open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["rule"] == "instance_imdsv1_allowed" && i["resource_id"] != "i-011b124d5f6410889"
        })
        .expect("a second production instance that accepts IMDSv1")["resource_id"]
        .as_str()
        .unwrap()
        .to_string();
    // And a copy of a production security group open to SSH appears (its
    // fix, after a day's grace, falls due within the digest's next 24 h).
    let ssh = prod_open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "sg_ssh_open_to_world")
        .expect("a production security group open to SSH")["resource_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut copy = docs
        .iter()
        .find(|d| d["id"] == ssh.as_str())
        .unwrap()
        .clone();
    copy["id"] = "sg-0new0ssh0copy".into();
    copy["attributes"]["group_id"] = "sg-0new0ssh0copy".into();
    docs.push(copy);
    for d in docs.iter_mut() {
        if d["id"] == fixed.as_str() {
            d["attributes"]["metadata_options"]["http_tokens"] = "required".into();
        }
        if d["id"] == "i-011b124d5f6410889" {
            d["id"] = EVIL_ID.into();
            d["attributes"]["instance_id"] = EVIL_ID.into();
            d["attributes"]["tags"]
                .as_array_mut()
                .unwrap()
                .push(json!({"key": "note", "value": PAYLOAD}));
        } else if d["id"] == sandbox_instance.as_str() {
            d["id"] = SANDBOX_NEW.into();
            d["attributes"]["instance_id"] = SANDBOX_NEW.into();
        }
    }
    write_ndjson(&inventory, &docs);
    clock.set(DEMO_NOW + 7 * DAY + 12 * 3600);
    server.scan("demo", "test").await.unwrap();
    // Exceptions expiring on 2026-11-20: one confined to production, one
    // to the sandbox (which no production digest may list).
    for (name, group) in [("prod-expiring", PROD), ("sandbox-expiring", SANDBOX)] {
        let (st, body) = send(
            &addr,
            "POST",
            "/api/v1/exceptions",
            &json!({"name": name, "targets": ["instance_imdsv1_allowed"], "resources": ["i-0c0ffee"],
                "expires": "2026-11-20", "reason": format!("reason of {name} {PAYLOAD}"), "group": group}),
        )
        .await;
        assert_eq!(st, 201, "{body}");
    }
    let (_, c2) = get(&addr, &format!("/api/v1/compliance?group={PROD}")).await;

    // Monday 2026-11-09 07:00: the weekly digests' period ends, and the
    // daily one's.
    let before_digests = smtp.mails().len();
    let monday = DEMO_NOW + 8 * DAY + 7 * 3600;
    clock.set(monday);
    let sent = pac_server::digest::send_due(&server).await.unwrap();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|s| s.result == "sent"), "{sent:?}");
    let mails = smtp.wait_for(before_digests + 3).await;
    let digests: Vec<&Value> = mails[before_digests..].iter().collect();
    let by_rcpt = |r: &str| {
        *digests
            .iter()
            .find(|m| m["rcpt_tos"] == json!([r]))
            .unwrap_or_else(|| panic!("no digest to {r}: {digests:#?}"))
    };

    // --- The production digest, against the API ---------------------------
    let m = by_rcpt("prod-ops@example.com");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(header(m, "To"), ["prod-ops@example.com"]);
    for m in &digests {
        // The CR/LF in the id stays inside the body (a line of text there);
        // the headers are the digest's own.
        assert!(header(m, "Bcc").is_empty(), "{m}");
        let raw = m["raw"].as_str().unwrap();
        let head = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(!head.contains("victim@"), "{head}");
        assert_eq!(m["rcpt_tos"].as_array().unwrap().len(), 1, "{m}");
    }
    let subject = header(m, "Subject")[0];
    assert!(
        subject.contains("weekly digest for asset group production"),
        "{subject}"
    );
    let html = m["html"].as_str().unwrap();
    let text = m["text"].as_str().unwrap();
    assert_eq!(figure(html, "now"), pct(&c2["overall"]));
    // Each compliance domain's figure is the API's, in both parts.
    let (_, domains) = get(&addr, &format!("/api/v1/domains?group={PROD}")).await;
    let items = domains["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{domains}");
    for d in items {
        let name = d["name"].as_str().unwrap();
        let want = d["compliance"]["overall"]
            .as_f64()
            .map_or("n/a".to_string(), |v| format!("{v:.1} %"));
        let row = &html[html
            .find(&format!("data-domain=\"{name}\""))
            .unwrap_or_else(|| panic!("no row of {name} in {html}"))..];
        assert_eq!(figure(row, "domain_now"), want, "{name}");
        let title = d["title"].as_str().unwrap_or(name);
        assert!(
            text.contains(&format!("  {title}: {want} (")),
            "{title}: {text}"
        );
    }
    // The history keeps whole percentage points per day.
    let before = c1["overall"].as_f64().unwrap().floor();
    assert_eq!(figure(html, "before"), format!("{before:.1} %"));
    assert!(
        text.contains(&format!(
            "Compliance now: {} (previous period: {before:.1} %",
            pct(&c2["overall"])
        )),
        "{text}"
    );
    // New issues: those of production opened since Monday 2026-11-02 07:00.
    let start = monday - 7 * DAY;
    let (_, open) = get(
        &addr,
        &format!("/api/v1/issues?group={PROD}&status=open&per_page=500"),
    )
    .await;
    let new: Vec<&Value> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["last_opened"].as_i64().unwrap() >= start)
        .collect();
    assert!(!new.is_empty());
    assert_eq!(figure(html, "opened"), new.len().to_string());
    for i in &new {
        assert!(text.contains(&format!("#{} ", i["id"])), "{text}");
    }
    let (_, closed) = get(
        &addr,
        &format!("/api/v1/issues?group={PROD}&status=closed&per_page=500"),
    )
    .await;
    let closed_n = closed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["closed_at"].as_i64().unwrap_or(0) >= start)
        .count();
    assert!(closed_n > 0);
    assert_eq!(figure(html, "closed"), closed_n.to_string());
    // The hostile id is escaped in HTML; never markup.
    assert!(
        html.contains("i-0evil&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    // Confined: nothing of the sandbox.
    assert!(!html.contains(SANDBOX_NEW) && !text.contains(SANDBOX_NEW));
    assert!(html.contains("prod-expiring") && !html.contains("sandbox-expiring"));
    assert_eq!(figure(html, "expiring"), "1");
    // Fixes due in the next 24 hours: the API's waiting jobs of
    // production's resources due then.
    let (_, members) = get(
        &addr,
        &format!("/api/v1/resources?group={PROD}&per_page=500"),
    )
    .await;
    let members: BTreeSet<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    let (_, waiting) = get(&addr, "/api/v1/autofix/jobs?status=waiting&per_page=500").await;
    let due = waiting["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{waiting}"))
        .iter()
        .filter(|j| (monday..monday + DAY).contains(&j["due_at"].as_i64().unwrap()))
        .filter(|j| members.contains(j["resource_key"].as_str().unwrap()))
        .count();
    assert!(due > 0, "{waiting}");
    assert_eq!(figure(html, "fixes"), due.to_string());
    assert!(html.contains("sg-0new0ssh0copy"), "{html}");
    // The top failing policy is production's with the most open issues.
    let top = c2["policies"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|p| {
            (
                p["open"].as_i64().unwrap(),
                std::cmp::Reverse(p["name"].as_str().unwrap().to_string()),
            )
        })
        .unwrap();
    assert!(
        html.contains(&format!(
            "https://pac.example.com/policies/{}?group=production",
            top["name"].as_str().unwrap()
        )),
        "{html}"
    );

    // --- The user's digest: what the user's grants show (production) ------
    let m = by_rcpt("viewer@example.com");
    let subject = header(m, "Subject")[0];
    assert!(
        subject.contains("daily digest for viewer@example.com (asset group production)"),
        "{subject}"
    );
    let html = m["html"].as_str().unwrap();
    assert_eq!(figure(html, "now"), pct(&c2["overall"]));
    assert!(!html.contains(SANDBOX_NEW) && !html.contains("sandbox-expiring"));

    // --- The owner's digest: only the owner's resources -------------------
    let m = by_rcpt("platform-lead@example.com");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("rolled up per asset group"), "{text}");
    assert!(
        !text.contains("i-0evil"),
        "the hostile instance is not the platform team's: {text}"
    );

    // A period goes out once.
    assert!(
        pac_server::digest::send_due(&server)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A page's CSRF token (the `csrf-token` meta element).
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf-token\" content=\"")
        .unwrap_or_else(|| panic!("no CSRF token in {page}"));
    let v = &page[at + 27..];
    v[..v.find('"').unwrap()].to_string()
}

/// Users subscribe themselves (portal form and API), within their groups
/// only; every digest mail goes to one recipient with its own unsubscribe
/// link (and RFC 8058 one-click headers); a one-click POST from no page,
/// or the confirmation page, takes that address off that digest and
/// nothing else; a changed link does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_subscribe_themselves_and_every_digest_mail_unsubscribes() {
    use pac_server::auth::{Role, UserClaims, session};
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    std::fs::create_dir(&maildir).unwrap();
    let smtp = start_smtp(&maildir);
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = Config::parse(&format!(
        r#"data_dir = {data:?}
policies = [{policies:?}]
public_url = "https://pac.example.com"
[notify]
kind = "smtp"
host = "127.0.0.1"
port = {port}
from = "Pac <pac@example.com>"
insecure = true
[[source]]
name = "demo"
kind = "inventory"
paths = [{inventory:?}]
[auth]
mode = "tokens"
[[auth.grant]]
claim = "groups"
value = "prod-team"
role = "viewer"
groups = ["{PROD}"]
[[digest]]
name = "ops-weekly"
every = "weekly"
group = "{PROD}"
to = ["a@example.com", "b@example.com"]
"#,
        data = dir.path().join("data"),
        policies = root().join("policies"),
        port = smtp.port,
    ))
    .unwrap();
    let (server, clock) = build_at_demo_now(&cfg).await;
    server.scan("demo", "test").await.unwrap();
    let pac = serve_guarded(server.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Ann signs in (a session as the sign-in callback makes it): her
    // provider says she is in `prod-team`, a viewer of production.
    let claims = UserClaims {
        sub: "ann".into(),
        email: Some("ann@example.com".into()),
        groups: vec!["prod-team".into()],
        roles: Vec::new(),
    };
    let sid = session::create(
        &server.auth,
        "oidc:test#ann",
        "ann",
        &claims,
        server.clock.now(),
    )
    .await
    .unwrap();
    let cookie = format!("{}={sid}", session::cookie_name(server.auth.secure_cookies));
    let api = |m: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = http
            .request(m, format!("{pac}{path}"))
            .header("cookie", &cookie)
            .header("origin", &pac);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    // Through the API: her group, yes; another group, no; everything, no.
    let r = api(
        reqwest::Method::POST,
        "/api/v1/digests",
        Some(json!({"every": "daily", "hour": 7, "group": PROD})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let daily: Value = r.json().await.unwrap();
    assert_eq!(daily["address"], "ann@example.com");
    assert_eq!(daily["group"], PROD);
    let r = api(
        reqwest::Method::POST,
        "/api/v1/digests",
        Some(json!({"every": "daily", "group": SANDBOX})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let r = api(
        reqwest::Method::POST,
        "/api/v1/digests",
        Some(json!({"every": "weekly", "group": "*"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = api(
        reqwest::Method::POST,
        "/api/v1/digests",
        Some(json!({"every": "daily", "hour": 24})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    // A token has no address.
    let (token, _) = mint_token(&server, "bot", Role::Viewer, &[PROD], "test").await;
    let r = http
        .post(format!("{pac}/api/v1/digests"))
        .bearer_auth(&token)
        .json(&json!({"every": "daily"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("e-mail address"));

    // Through the portal: the page lists it; its form adds a weekly one
    // and removes it again.
    let page = http
        .get(format!("{pac}/digests?group={PROD}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("data-subscription=\"{}\"", daily["id"])),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let form = |path: &str, body: String| {
        http.post(format!("{pac}{path}"))
            .header("cookie", &cookie)
            .header("origin", &pac)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = form(
        "/digests",
        format!("csrf={csrf}&group={PROD}&every=weekly&hour=9&dgroup={PROD}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let list: Value = api(reqwest::Method::GET, "/api/v1/digests", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2, "{list}");
    let weekly = list["items"][1]["id"].as_i64().unwrap();
    assert_eq!(list["items"][1]["every"], "weekly");
    // Without the page's token nothing changes.
    let r = form(
        &format!("/digests/{weekly}/remove"),
        format!("csrf=x&group={PROD}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = form(
        &format!("/digests/{weekly}/remove"),
        format!("csrf={csrf}&group={PROD}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let list: Value = api(reqwest::Method::GET, "/api/v1/digests", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "{list}");

    // Monday 2026-11-02 08:00: her daily digest and the weekly table's,
    // one mail per recipient, each with its own link.
    clock.set(DEMO_NOW + DAY + 8 * 3600);
    let sent = pac_server::digest::send_due(&server).await.unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|s| s.result == "sent"), "{sent:?}");
    let mails = smtp.wait_for(3).await;
    let digests: Vec<&Value> = mails
        .iter()
        .filter(|m| header(m, "Subject").iter().any(|s| s.contains("digest")))
        .collect();
    assert_eq!(digests.len(), 3, "{digests:#?}");
    let mut links = std::collections::BTreeMap::new();
    for m in &digests {
        let to = m["rcpt_tos"].as_array().unwrap();
        assert_eq!(to.len(), 1, "one recipient per mail: {m}");
        let to = to[0].as_str().unwrap().to_string();
        let lu = header(m, "List-Unsubscribe");
        assert_eq!(lu.len(), 1, "{m}");
        let link = lu[0]
            .trim()
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix('>'))
            .unwrap()
            .to_string();
        assert!(
            link.starts_with("https://pac.example.com/digests/unsubscribe?"),
            "{link}"
        );
        assert_eq!(
            header(m, "List-Unsubscribe-Post"),
            ["List-Unsubscribe=One-Click"]
        );
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .contains(&format!("Unsubscribe: {link}")),
            "{m}"
        );
        let html_link = link.replace('&', "&#38;");
        assert!(
            m["html"].as_str().unwrap().contains(&html_link),
            "the HTML part carries the same link {html_link}: {}",
            m["html"]
                .as_str()
                .unwrap()
                .rsplit("<footer")
                .next()
                .unwrap()
        );
        links.insert(to, link.replace("https://pac.example.com", &pac));
    }
    assert_eq!(
        links.keys().collect::<Vec<_>>(),
        ["a@example.com", "ann@example.com", "b@example.com"]
    );
    let ann = digests
        .iter()
        .find(|m| m["rcpt_tos"][0] == "ann@example.com")
        .unwrap();
    let subject = header(ann, "Subject")[0];
    assert!(
        subject.contains(&format!("ann@example.com (asset group {PROD})")),
        "{subject}"
    );
    assert!(
        ann["html"]
            .as_str()
            .unwrap()
            .contains("you subscribed to it")
    );

    // A link changed in any way does nothing.
    let b_link = links["b@example.com"].clone();
    for bad in [
        b_link.replace("b%40example.com", "a%40example.com"),
        b_link.replace("d=ops-weekly", "d=other"),
        // The token's last digit changed.
        format!(
            "{}{}",
            &b_link[..b_link.len() - 1],
            if b_link.ends_with('0') { '1' } else { '0' }
        ),
    ] {
        let r = http.post(&bad).send().await.unwrap();
        assert_eq!(r.status(), 403, "{bad}");
    }
    // Opening the link only asks (a mail scanner opens links).
    let r = http.get(&b_link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"unsubscribe\""));
    // The mail reader's one click: a POST from no page, no Origin.
    let r = http
        .post(&b_link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("no longer receives"));
    // Ann's link, from the confirmation page's form: her subscription goes.
    let r = http
        .post(&links["ann@example.com"])
        .header("origin", &pac)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // (Ann's session has idled out meanwhile: the store says it.)
    assert!(server.store.subscriptions(None).await.unwrap().is_empty());

    // A week later only a@ gets the weekly digest.
    let before = smtp.mails().len();
    clock.set(DEMO_NOW + 8 * DAY + 8 * 3600);
    let sent = pac_server::digest::send_due(&server).await.unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].result, "sent");
    smtp.wait_for(before + 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Vec<Value> = smtp.mails()[before..].to_vec();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0]["rcpt_tos"], json!(["a@example.com"]));
}
