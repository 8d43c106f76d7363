//! The portal's pages over HTTP (docs/portal.md): the same authentication,
//! rules and group scope as the API (a viewer of one group sees its
//! figures, and another group or its resources are the API's 404), every
//! user string HTML-escaped, bad query strings answered with a 400 page,
//! the remembered group, and the CSV export equal to the API's list.
//! In-process server with `[auth] mode = "tokens"` on the demo estate, one
//! instance of which carries an XSS payload in its id and tags.

mod oidc_provider;
mod server_support;

use std::sync::Arc;

use oidc_provider::{Browser, Hop};
use pac_server::auth::Role;
use serde_json::Value;
use server_support::*;

const PROD: &str = "production";
const SANDBOX: &str = "sandbox_resources";
const PAYLOAD: &str = "<script>alert(1)</script>";
const XSS_ID: &str = "i-0xss\"><script>alert(1)</script>";

struct Env {
    _dir: tempfile::TempDir,
    server: Arc<pac_server::Server>,
    pac: String,
    b: Browser,
}

/// The demo estate, with one production instance that fails the IMDSv1
/// rule renamed to [`XSS_ID`] and tagged with [`PAYLOAD`].
async fn setup() -> Env {
    let mut docs = demo_docs();
    let x = docs
        .iter_mut()
        .find(|d| d["id"] == "i-011b124d5f6410889")
        .expect("the demo instance");
    x["id"] = XSS_ID.into();
    x["attributes"]["instance_id"] = XSS_ID.into();
    let tags = x["attributes"]["tags"].as_array_mut().expect("tags");
    tags.push(serde_json::json!({"key": "note", "value": PAYLOAD}));
    let (dir, server, pac) = tokens_server_with(&docs, "", true).await;
    Env {
        _dir: dir,
        server,
        pac,
        b: Browser::new(),
    }
}

impl Env {
    async fn token(&self, name: &str, role: Role, groups: &[&str]) -> String {
        mint_token(&self.server, name, role, groups, "test").await.0
    }
    async fn get(&mut self, path: &str, token: &str) -> Hop {
        let auth = format!("Bearer {token}");
        self.b
            .request(
                reqwest::Method::GET,
                &format!("{}{path}", self.pac),
                &[("authorization", auth.as_str())],
                None,
            )
            .await
    }
    async fn api(&mut self, path: &str, token: &str) -> Value {
        let h = self.get(path, token).await;
        assert_eq!(h.status, 200, "{path}: {}", h.body);
        h.json()
    }
}

fn enc(s: &str) -> String {
    url_escape(s)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The number the page shows in `data-figure="NAME"`.
fn figure(html: &str, name: &str) -> f64 {
    let at = html
        .find(&format!("data-figure=\"{name}\">"))
        .unwrap_or_else(|| panic!("no figure {name} in the page"));
    let rest = &html[at..];
    let text = &rest[rest.find('>').unwrap() + 1..rest.find("</").unwrap()];
    text.trim_end_matches(" %").trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_within_the_callers_groups_like_the_api() {
    let mut env = setup().await;
    let admin = env.token("admin", Role::Admin, &["*"]).await;
    let viewer = env.token("viewer", Role::Viewer, &[PROD]).await;

    // Signed out: the page says how to get in (tokens only: no sign-in),
    // as HTML; the stylesheet is public.
    let anon = env.b.get(&format!("{}/", env.pac)).await;
    assert_eq!(anon.status, 401, "{}", anon.body);
    assert!(anon.body.contains("<html"), "{}", anon.body);
    assert!(anon.body.contains("OpenID Connect"), "{}", anon.body);
    let css = env.b.get(&format!("{}/static/portal.css", env.pac)).await;
    assert_eq!(css.status, 200);

    // The viewer's dashboard is production's, figure for figure.
    let page = env.get("/", &viewer).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let api = env
        .api(&format!("/api/v1/compliance?group={PROD}"), &viewer)
        .await;
    let want = api["overall"].as_f64().unwrap();
    assert!(
        (figure(&page.body, "overall") - want).abs() <= 0.051,
        "{want}"
    );
    assert!(
        !page.body.contains("All resources"),
        "only a role on * may see everything"
    );

    // Another group, by parameter or by id, is the API's 404.
    let other = env.get(&format!("/?group={SANDBOX}"), &viewer).await;
    let api_other = env
        .get(&format!("/api/v1/compliance?group={SANDBOX}"), &viewer)
        .await;
    assert_eq!((other.status, api_other.status), (404, 404));
    let msg = api_other.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        other.body.contains(&msg.replace('`', "&#96;")) || other.body.contains(&msg),
        "{}",
        other.body
    );
    let sandbox = env
        .api(
            &format!("/api/v1/resources?group={SANDBOX}&per_page=1"),
            &admin,
        )
        .await;
    let key = sandbox["items"][0]["key"].as_str().unwrap().to_string();
    let hidden = env.get(&format!("/assets/{}", enc(&key)), &viewer).await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert_eq!(
        env.get(&format!("/assets/{}", enc(&key)), &admin)
            .await
            .status,
        200
    );
    let issues = env.get(&format!("/issues?group={SANDBOX}"), &viewer).await;
    assert_eq!(issues.status, 404);

    // The admin sees everything, and a group it picks is remembered.
    let all = env.get("/?group=*", &admin).await;
    let api_all = env.api("/api/v1/compliance", &admin).await;
    assert!((figure(&all.body, "overall") - api_all["overall"].as_f64().unwrap()).abs() <= 0.051);
    let chosen = env.get(&format!("/?group={SANDBOX}"), &admin).await;
    assert!(
        chosen
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("pac_group=sandbox_resources")
                && c.contains("SameSite=Strict")
                && c.contains("HttpOnly")),
        "{:?}",
        chosen.set_cookies()
    );
    let again = env.get("/", &admin).await;
    let api_sb = env
        .api(&format!("/api/v1/compliance?group={SANDBOX}"), &admin)
        .await;
    assert!((figure(&again.body, "overall") - api_sb["overall"].as_f64().unwrap()).abs() <= 0.051);

    // Every page answers for both.
    for p in [
        "/policies",
        "/policies/instance_imdsv1_allowed",
        "/issues",
        "/assets",
        "/exceptions",
        "/fixes",
        "/scans",
    ] {
        for t in [&admin, &viewer] {
            let h = env.get(p, t).await;
            assert_eq!(h.status, 200, "{p}: {}", h.body);
            assert!(
                h.headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_strings_are_escaped_and_bad_parameters_are_400_pages() {
    let mut env = setup().await;
    let admin = env.token("admin", Role::Admin, &["*"]).await;
    let mut seen = 0;
    for p in [
        format!("/assets/{}", enc(XSS_ID)),
        "/issues?policy=instance_imdsv1_allowed&status=open&per_page=500".to_string(),
        "/policies/instance_imdsv1_allowed".to_string(),
        format!("/assets?q={}", enc("i-0xss")),
    ] {
        let h = env.get(&p, &admin).await;
        assert_eq!(h.status, 200, "{p}: {}", h.body);
        assert!(
            !h.body.contains(PAYLOAD),
            "{p} carries the payload unescaped"
        );
        assert!(!h.body.contains("\"><script"), "{p}");
        // askama writes `<` and `>` as numeric references.
        if h.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || h.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        {
            seen += 1;
        }
    }
    assert_eq!(seen, 4, "the payload is shown, escaped, on every page");

    for (p, what) in [
        ("/issues?page=abc", "page"),
        ("/issues?page=0", "page"),
        ("/issues?bogus=1", "bogus"),
        ("/issues?status=nope", "status"),
        ("/?days=7", "days"),
        ("/assets?per_page=5", "per_page"),
        // Sort keys are a closed list: anything else (SQL above all) is a 400.
        ("/issues?sort=bogus", "sort"),
        ("/issues?sort=id%3BDROP%20TABLE%20issues", "sort"),
    ] {
        let h = env.get(p, &admin).await;
        assert_eq!(h.status, 400, "{p}: {}", h.body);
        assert!(
            h.body.contains("<html") && h.body.contains(what),
            "{p}: {}",
            h.body
        );
    }
    let h = env.get("/policies/no_such_policy", &admin).await;
    assert_eq!(h.status, 404);
    let h = env.get("/assets/no-such-resource", &admin).await;
    assert_eq!(h.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_is_the_apis_list() {
    let mut env = setup().await;
    let viewer = env.token("viewer", Role::Viewer, &[PROD]).await;
    let csv = env.get("/issues.csv?status=open", &viewer).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut items = Vec::new();
    for page in 1.. {
        let v = env
            .api(
                &format!("/api/v1/issues?group={PROD}&status=open&per_page=500&page={page}"),
                &viewer,
            )
            .await;
        let n = v["items"].as_array().unwrap().len();
        items.extend(v["items"].as_array().unwrap().clone());
        if n < 500 {
            break;
        }
    }
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], pac_server::web::CSV_COLUMNS.join(","));
    assert_eq!(lines.len() - 1, items.len());
    assert!(items.len() > 10);
    for (line, item) in lines[1..].iter().zip(&items) {
        let id = line.split(',').next().unwrap();
        assert_eq!(id, item["id"].to_string());
        // The XSS instance's message has quotes: the cell is quoted.
        let msg = item["message"].as_str().unwrap();
        assert!(line.contains(&pac_server::web::csv_cell(msg)), "{line}");
    }
}

/// The `<td>` cells of column `col` (0-based) of the issue table's rows.
fn issue_column(html: &str, col: usize) -> Vec<String> {
    let body = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let cell = row.split("<td").nth(col + 1).unwrap();
            let text = &cell[cell.find('>').unwrap() + 1..];
            let end = text.find("</td>").unwrap();
            let mut out = String::new();
            let mut tag = false;
            for c in text[..end].chars() {
                match c {
                    '<' => tag = true,
                    '>' => tag = false,
                    c if !tag => out.push(c),
                    _ => {}
                }
            }
            out.trim().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issue_tracker_sorts_by_whitelisted_keys_and_pages_keep_the_order() {
    let mut env = setup().await;
    let admin = env.token("admin", Role::Admin, &["*"]).await;
    let rank = |s: &str| match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    };
    // By severity: critical first, across two pages; the next page's link
    // keeps the order.
    let p1 = env
        .get(
            "/issues?group=*&status=open&sort=severity&per_page=100",
            &admin,
        )
        .await;
    assert_eq!(p1.status, 200, "{}", p1.body);
    assert!(
        p1.body.contains("sort=severity&amp;page=2"),
        "the pager keeps the sort"
    );
    let p2 = env
        .get(
            "/issues?group=*&status=open&sort=severity&per_page=100&page=2",
            &admin,
        )
        .await;
    let mut sev = issue_column(&p1.body, 2);
    sev.extend(issue_column(&p2.body, 2));
    assert!(sev.len() > 100, "{}", sev.len());
    let ranks: Vec<i32> = sev.iter().map(|s| rank(s)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{sev:?}");
    assert_eq!(sev[0], "critical");
    // By policy: the rule column in order; by id (the default): ascending.
    let by_policy = env
        .get(
            "/issues?group=*&status=open&sort=policy&per_page=500",
            &admin,
        )
        .await;
    let rules = issue_column(&by_policy.body, 3);
    let mut sorted = rules.clone();
    sorted.sort();
    assert_eq!(rules, sorted);
    let by_id = env
        .get("/issues?group=*&status=open&per_page=500", &admin)
        .await;
    let ids: Vec<i64> = issue_column(&by_id.body, 0)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // The same rows whatever the order.
    let mut a = issue_column(&by_policy.body, 0);
    let mut b = issue_column(&by_id.body, 0);
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_and_vulnerability_pages_show_the_groups_figures() {
    let mut env = setup().await;
    let viewer = env.token("viewer", Role::Viewer, &[PROD]).await;
    let api = env
        .api(&format!("/api/v1/compliance?group={PROD}"), &viewer)
        .await;
    let tagging = env.get("/tagging", &viewer).await;
    assert_eq!(tagging.status, 200, "{}", tagging.body);
    let want = api["tagging"]["compliance"].as_f64().unwrap();
    assert!(
        (figure(&tagging.body, "tagging") - want).abs() <= 0.051,
        "{want}"
    );
    let untagged =
        api["tagging"]["taggable"].as_i64().unwrap() - api["tagging"]["tagged"].as_i64().unwrap();
    assert_eq!(figure(&tagging.body, "untagged"), untagged as f64);
    assert!(tagging.body.contains("instance_mandatory_tags"));

    // Instances with critical findings: production's open issues of the
    // critical vulnerability policy on instances, as the API lists them.
    let vul = env.get("/vulnerabilities", &viewer).await;
    assert_eq!(vul.status, 200, "{}", vul.body);
    let open = env
        .api(
            &format!("/api/v1/issues?group={PROD}&status=open&policy=instance_critical_vulnerabilities&per_page=500"),
            &viewer,
        )
        .await;
    let n = open["items"].as_array().unwrap().len();
    assert!(n > 0);
    assert_eq!(figure(&vul.body, "critical_instances"), n as f64);
    for i in open["items"].as_array().unwrap() {
        assert!(vul.body.contains(i["resource_id"].as_str().unwrap()));
    }
    // Another group's is the API's 404, as on every page.
    let other = env
        .get(&format!("/vulnerabilities?group={SANDBOX}"), &viewer)
        .await;
    assert_eq!(other.status, 404);
}
