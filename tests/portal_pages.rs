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

/// The value of the first `name="NAME" … value="…"` input in a page.
fn input_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in the page"));
    let rest = &html[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

/// The page's CSRF token (`<meta name="csrf-token">`, the value every
/// form of the page carries).
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf-token\" content=\"")
        .expect("a csrf-token meta");
    let v = &html[at + 27..];
    v[..v.find('"').unwrap()].to_string()
}

impl Env {
    /// POSTs a form as the holder of `token`, with `origin` as `Origin`
    /// when given.
    async fn post_form(
        &mut self,
        path: &str,
        token: &str,
        origin: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Hop {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        let body = form_body(fields);
        self.b
            .request(
                reqwest::Method::POST,
                &format!("{}{path}", self.pac),
                &headers,
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await
    }
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_origin_and_the_sessions_token_and_decisions_follow_the_apis_rules() {
    let mut env = setup().await;
    let admin = env.token("admin", Role::Admin, &["*"]).await;
    let viewer = env.token("viewer", Role::Viewer, &[PROD]).await;
    let requester = env.token("rita", Role::Requester, &[PROD]).await;
    // Made by someone else than the other tokens' maker: nobody decides
    // a request that someone behind them both made.
    let (approver, approver_id) =
        mint_token(&env.server, "andy", Role::Approver, &[PROD], "andy").await;
    let origin = env.pac.clone();
    let own = Some(origin.as_str());

    // An open production issue (not the XSS instance's).
    let open = env
        .api(
            &format!("/api/v1/issues?group={PROD}&status=open&per_page=500"),
            &admin,
        )
        .await;
    let issue = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resource_id"] != XSS_ID)
        .unwrap()
        .clone();
    let policy = issue["policy"].as_str().unwrap().to_string();
    let rid = issue["resource_id"].as_str().unwrap().to_string();
    let asset = format!("/assets/{}?group={PROD}", enc(&rid));

    // The asset page offers the form to a requester, not to a viewer.
    let page = env.get(&asset, &requester).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("action=\"/exception-requests\""));
    assert!(page.body.contains(&format!("value=\"{policy}\"")));
    let referrer = page.headers["referrer-policy"].to_str().unwrap();
    assert_eq!(referrer, "same-origin");
    let token = input_value(&page.body, "csrf");
    assert_eq!(token, csrf_of(&page.body));
    let expires = input_value(&page.body, "expires");
    let viewed = env.get(&asset, &viewer).await;
    assert!(!viewed.body.contains("action=\"/exception-requests\""));
    let viewer_token = csrf_of(
        &env.get(&format!("/exceptions?group={PROD}"), &viewer)
            .await
            .body,
    );
    assert_ne!(token, viewer_token, "the token is the credential's");

    let ask = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("group", PROD.to_string()),
            ("policy", policy.clone()),
            ("resource", rid.clone()),
            (
                "reason",
                "decommissioned next week <b>OPS-9</b>".to_string(),
            ),
            ("expires", expires.clone()),
        ]
    };
    async fn send(
        env: &mut Env,
        path: &str,
        token: &str,
        origin: Option<&str>,
        f: &[(&str, String)],
    ) -> Hop {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.post_form(path, token, origin, &f).await
    }

    // No token, another session's token, a foreign origin, no origin at
    // all, JSON instead of a form: refused, and nothing is stored.
    let r = send(&mut env, "/exception-requests", &requester, own, &ask("")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("CSRF"), "{}", r.body);
    let r = send(
        &mut env,
        "/exception-requests",
        &requester,
        own,
        &ask(&viewer_token),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &mut env,
        "/exception-requests",
        &requester,
        Some("http://evil.example"),
        &ask(&token),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &mut env,
        "/exception-requests",
        &requester,
        None,
        &ask(&token),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Origin"), "{}", r.body);
    let auth = format!("Bearer {requester}");
    let r = env
        .b
        .request(
            reqwest::Method::POST,
            &format!("{}/exception-requests", env.pac),
            &[
                ("authorization", auth.as_str()),
                ("origin", origin.as_str()),
            ],
            Some(("application/json", "{}".into())),
        )
        .await;
    assert_eq!(r.status, 415, "{}", r.body);
    // A viewer may not ask, even with its own token.
    let r = send(
        &mut env,
        "/exception-requests",
        &viewer,
        own,
        &ask(&viewer_token),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let none = env.api("/api/v1/exception-requests", &admin).await;
    assert_eq!(none["total"], 0, "{none}");

    // The token's key is the one kept in the store: a page rendered before
    // a restart still submits after it.
    let kept = env
        .server
        .auth
        .store
        .server_key("csrf", [0; 32], 0)
        .await
        .unwrap();
    assert_eq!(kept, env.server.auth.csrf_key);

    // A bad expiry is the API's 400, shown in the form it came from (asset
    // 360) with what was typed, escaped.
    let mut late = ask(&token);
    late[5].1 = "2099-01-01".into();
    let r = send(&mut env, "/exception-requests", &requester, own, &late).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("<html") && r.body.contains("at most"),
        "{}",
        r.body
    );
    let alert = &r.body[r
        .body
        .find("id=\"request-error\"")
        .expect("the error by the form")..];
    assert!(
        alert[..alert.find("</p>").unwrap()].contains("at most"),
        "{alert}"
    );
    assert!(r.body.contains("aria-describedby=\"request-error\""));
    assert!(
        r.body.contains("value=\"2099-01-01\""),
        "the expiry typed is kept"
    );
    assert!(
        r.body.contains("decommissioned next week &#60;b&#62;OPS-9")
            || r.body.contains("decommissioned next week &lt;b&gt;OPS-9"),
        "the reason typed is kept, escaped"
    );
    assert!(!r.body.contains("<b>OPS-9"));
    assert!(
        r.body.contains(&format!("value=\"{policy}\" selected")),
        "its policy chosen"
    );

    // The issue tracker links each open issue to that form, its policy
    // chosen (a requester's; a viewer gets no link).
    let tracker = env
        .get(
            &format!("/issues?group={PROD}&status=open&policy={}", enc(&policy)),
            &requester,
        )
        .await;
    assert_eq!(tracker.status, 200, "{}", tracker.body);
    let link = format!("?group={PROD}&amp;policy={}#request", enc(&policy));
    assert!(tracker.body.contains(&link), "{}", tracker.body);
    let viewed = env
        .get(&format!("/issues?group={PROD}&status=open"), &viewer)
        .await;
    assert!(!viewed.body.contains("Request an exception"));
    let linked = env
        .get(&format!("{asset}&policy={}", enc(&policy)), &requester)
        .await;
    assert!(
        linked
            .body
            .contains(&format!("value=\"{policy}\" selected"))
    );

    // The request: 303 to the exceptions page (a Referer of this server
    // does for a missing Origin).
    let referer = format!("{}{asset}", env.pac);
    let asked = ask(&token);
    let f: Vec<(&str, &str)> = asked.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = env
        .b
        .request(
            reqwest::Method::POST,
            &format!("{}/exception-requests", env.pac),
            &[
                ("authorization", auth.as_str()),
                ("referer", referer.as_str()),
            ],
            Some(("application/x-www-form-urlencoded", form_body(&f))),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.headers["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!("/exceptions?group={PROD}&done=requested")),
        "{to}"
    );
    let listed = env
        .api("/api/v1/exception-requests?status=pending", &admin)
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    let id = listed["items"][0]["id"].as_i64().unwrap();
    assert_eq!(listed["items"][0]["resources"][0], rid.as_str());

    // The exceptions page lists it, escaped; the approver gets the
    // buttons, the requester (its own) does not.
    let mine = env
        .get(
            &format!("/exceptions?group={PROD}&done=requested"),
            &requester,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(
        mine.body.contains("OPS-9") && !mine.body.contains("<b>OPS-9"),
        "{}",
        mine.body
    );
    assert!(mine.body.contains("pending"));
    let approve = format!("/exception-requests/{id}/approve");
    assert!(!mine.body.contains(&approve));
    let theirs = env
        .get(&format!("/exceptions?group={PROD}"), &approver)
        .await;
    assert!(theirs.body.contains(&approve), "{}", theirs.body);
    let approver_token = input_value(&theirs.body, "csrf");

    // Neither the requester nor a viewer may approve, whatever they send.
    let decide = |csrf: &str| vec![("csrf", csrf.to_string()), ("group", PROD.to_string())];
    let r = send(&mut env, &approve, &requester, own, &decide(&token)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&mut env, &approve, &viewer, own, &decide(&viewer_token)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Rejecting needs a reason (the API's 400).
    let r = send(
        &mut env,
        &format!("/exception-requests/{id}/reject"),
        &approver,
        own,
        &decide(&approver_token),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The approver approves: the API's exception, then exempt at the next
    // scan.
    let r = send(&mut env, &approve, &approver, own, &decide(&approver_token)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let again = send(&mut env, &approve, &approver, own, &decide(&approver_token)).await;
    assert_eq!(again.status, 409, "{}", again.body);
    let req = env
        .api(&format!("/api/v1/exception-requests/{id}"), &admin)
        .await;
    assert_eq!(req["status"], "approved");
    assert_eq!(req["decided_by"], approver_id.as_str());
    for r in env.server.scan_all("test").await {
        r.unwrap();
    }
    let after = env
        .api(&format!("/api/v1/issues/{}", issue["id"]), &admin)
        .await;
    assert_eq!(after["status"], "exempted", "{after}");
    // The audit log has the portal's changes.
    let log = env.api("/api/v1/audit", &admin).await;
    let text = log.to_string();
    assert!(text.contains(&format!("exception request {id}")), "{text}");

    // A sticky exception requested from the policy page: a condition on
    // the policy's resources, checked by the API like its own body.
    let issue2 = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["policy"] != policy.as_str()
                && i["resource_type"] == "aws.ec2.instance"
                && i["resource_id"] != XSS_ID
        })
        .expect("another open issue of an instance")
        .clone();
    let policy2 = issue2["policy"].as_str().unwrap().to_string();
    let rid2 = issue2["resource_id"].as_str().unwrap().to_string();
    let ppage = format!("/policies/{}?group={PROD}", enc(&policy2));
    let page = env.get(&ppage, &requester).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"condition\""), "{}", page.body);
    let viewed = env.get(&ppage, &viewer).await;
    assert!(!viewed.body.contains("name=\"condition\""));
    let sticky = |condition: &str| {
        vec![
            ("csrf", token.clone()),
            ("group", PROD.to_string()),
            ("policy", policy2.clone()),
            ("condition", condition.to_string()),
            ("reason", "a known build host".to_string()),
            ("expires", expires.clone()),
        ]
    };
    let mut both = sticky(&format!("id == \"{rid2}\""));
    both.push(("resource", rid2.clone()));
    for (f, says) in [
        (both, "not both"),
        (
            sticky("true }\npolicy evil { title \"x\" }"),
            "not one Pac expression",
        ),
        (sticky("no_such_field == 1"), "no_such_field"),
    ] {
        let r = send(&mut env, "/exception-requests", &requester, own, &f).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
        // Shown in the form it came from, what was typed kept.
        assert!(r.body.contains("id=\"request-error\""), "{}", r.body);
        assert!(
            r.body.contains(">a known build host</textarea>"),
            "{}",
            r.body
        );
    }
    let none = env
        .api("/api/v1/exception-requests?status=pending", &admin)
        .await;
    assert_eq!(none["total"], 0, "nothing stored: {none}");
    let r = send(
        &mut env,
        "/exception-requests",
        &requester,
        own,
        &sticky(&format!("id == \"{rid2}\"")),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let listed = env
        .api("/api/v1/exception-requests?status=pending", &admin)
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    let sid = listed["items"][0]["id"].as_i64().unwrap();
    assert!(
        listed["items"][0]["condition"]
            .as_str()
            .unwrap()
            .contains(&rid2),
        "{listed}"
    );
    let r = send(
        &mut env,
        &format!("/exception-requests/{sid}/approve"),
        &approver,
        own,
        &decide(&approver_token),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    for r in env.server.scan_all("test").await {
        r.unwrap();
    }
    let after = env
        .api(&format!("/api/v1/issues/{}", issue2["id"]), &admin)
        .await;
    assert_eq!(after["status"], "exempted", "{after}");
    let shown = env.get(&ppage, &requester).await;
    assert!(
        shown.body.contains(">sticky<"),
        "listed as sticky on the policy page"
    );

    // Auto-fix: a waiting job of production; its page previews the fix
    // (a dry run) for everyone, "fix now" only for approvers.
    let jobs = env
        .api(
            "/api/v1/autofix/jobs?status=waiting&per_page=500",
            &approver,
        )
        .await;
    let items = jobs["items"].as_array().unwrap();
    let job = items
        .iter()
        .find(|j| j["action"] == "notify_only")
        .or_else(|| items.first())
        .expect("a waiting auto-fix job in production")
        .clone();
    let jid = job["id"].as_i64().unwrap();
    let fix = format!("/fixes/{jid}?group={PROD}");
    let seen = env.get(&fix, &viewer).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(seen.body.contains("Dry-run preview"), "{}", seen.body);
    assert!(!seen.body.contains(&format!("/fixes/{jid}/run")));
    let run = format!("/fixes/{jid}/run");
    let r = send(&mut env, &run, &viewer, own, &decide(&viewer_token)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&mut env, &run, &requester, own, &decide(&token)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let still = env
        .api(&format!("/api/v1/autofix/jobs/{jid}"), &admin)
        .await;
    assert_eq!(still["status"], "waiting");
    let page = env.get(&fix, &approver).await;
    assert!(page.body.contains(&run), "{}", page.body);
    let r = send(&mut env, &run, &approver, own, &decide(&approver_token)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let done = env
        .api(&format!("/api/v1/autofix/jobs/{jid}"), &admin)
        .await;
    assert_ne!(done["status"], "waiting", "{done}");
    let trail = done["audit"].to_string();
    assert!(trail.contains(&approver_id), "{trail}");
    let r = send(&mut env, &run, &approver, own, &decide(&approver_token)).await;
    assert_eq!(r.status, 409, "ran already: {}", r.body);
}

/// Where a 303 sends the browser.
fn location(h: &Hop) -> String {
    h.headers["location"].to_str().unwrap().to_string()
}

/// The widget kinds of a dashboard page, in order.
fn widget_kinds(html: &str) -> Vec<String> {
    html.match_indices("data-widget=\"")
        .map(|(i, _)| {
            let rest = &html[i + 13..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_have_their_own_figures_and_dashboards_are_arranged_and_shared() {
    let mut env = setup().await;
    let admin = env.token("admin", Role::Admin, &["*"]).await;
    let (viewer, _) = mint_token(&env.server, "vera", Role::Viewer, &[PROD], "vera").await;
    let (other, _) = mint_token(&env.server, "otto", Role::Viewer, &[PROD], "otto").await;
    let origin = env.pac.clone();
    let own = Some(origin.as_str());

    // The shipped library's domains, each with its policies and figures.
    let all = env.api("/api/v1/domains", &admin).await;
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for n in [
        "cloud_security",
        "tagging_and_cost",
        "operations",
        "cis_aws",
        "aws_fsbp",
        "pacbot_rules",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    // A domain of one category: its overall figure is that category's.
    let sec = env.api("/api/v1/domains/cloud_security", &admin).await;
    let whole = env.api("/api/v1/compliance", &admin).await;
    let cat = whole["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "security")
        .unwrap();
    assert_eq!(sec["overall"], cat["compliance"], "{sec}");
    assert!(sec["policies"].as_array().unwrap().len() > 10);
    // Only the domain's policies are in its roll-up.
    let tagging = env.api("/api/v1/domains/tagging_and_cost", &admin).await;
    let cats: Vec<&str> = tagging["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        cats.iter().all(|c| ["tagging", "cost"].contains(c)),
        "{cats:?}"
    );
    // A framework is a domain over its tags: only policies tagged for it.
    for (domain, prefix) in [
        ("cis_aws", "cis-aws-1.5:"),
        ("aws_fsbp", "aws-fsbp:"),
        ("pacbot_rules", "pacbot:"),
    ] {
        let d = env.api(&format!("/api/v1/domains/{domain}"), &admin).await;
        let policies = d["policies"].as_array().unwrap();
        assert!(!policies.is_empty(), "{domain}: {d}");
        let listed = env.api("/api/v1/policies", &admin).await;
        for p in policies {
            let name = p["name"].as_str().unwrap();
            let tags: Vec<String> = listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|q| q["id"] == name)
                .map(|q| serde_json::from_value(q["tags"].clone()).unwrap_or_default())
                .unwrap_or_default();
            assert!(
                tags.iter().any(|t| t.starts_with(prefix)),
                "{domain}: {name} has no {prefix} tag ({tags:?})"
            );
        }
    }
    // Within a group, the group's figures; the trend has today's row.
    let prod = env
        .api(
            &format!("/api/v1/domains/cloud_security?group={PROD}"),
            &viewer,
        )
        .await;
    assert_eq!(prod["group"], PROD);
    let hist = env
        .api(
            &format!("/api/v1/domains/cloud_security/history?group={PROD}"),
            &viewer,
        )
        .await;
    assert_eq!(
        hist["days"][0]["compliance"].as_f64().map(|c| c.floor()),
        prod["overall"].as_f64().map(|c| c.floor())
    );
    assert_eq!(
        env.get(
            &format!("/api/v1/domains/cloud_security?group={SANDBOX}"),
            &viewer
        )
        .await
        .status,
        404
    );
    assert_eq!(env.get("/api/v1/domains/nope", &admin).await.status, 404);

    // The pages show the same figures.
    let list = env.get(&format!("/domains?group={PROD}"), &viewer).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("data-domain=\"cis_aws\""));
    let page = env
        .get(&format!("/domains/cloud_security?group={PROD}"), &viewer)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let api_figure = format!("{:.1}", prod["overall"].as_f64().unwrap());
    assert_eq!(
        figure(&page.body, "overall"),
        api_figure.parse::<f64>().unwrap(),
        "the page's figure is the API's, to one decimal"
    );
    assert_eq!(env.get("/domains/nope", &admin).await.status, 404);

    // A dashboard made through the portal's forms.
    let boards = env.get(&format!("/dashboards?group={PROD}"), &viewer).await;
    assert_eq!(boards.status, 200, "{}", boards.body);
    let csrf = csrf_of(&boards.body);
    let made = env
        .post_form(
            "/dashboards",
            &viewer,
            own,
            &[("csrf", &csrf), ("group", PROD), ("name", PAYLOAD)],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let at = location(&made);
    let path = at.split('?').next().unwrap().to_string();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let edit = |op: &'static str, extra: Vec<(&'static str, String)>| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("group", PROD.to_string()),
            ("op", op.to_string()),
        ];
        f.extend(extra);
        f
    };
    async fn send(
        env: &mut Env,
        path: &str,
        token: &str,
        origin: Option<&str>,
        f: Vec<(&str, String)>,
    ) -> Hop {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.post_form(path, token, origin, &f).await
    }
    for (kind, domain) in [
        ("domains", ""),
        ("policies", "cloud_security"),
        ("trend", "cis_aws"),
    ] {
        let h = send(
            &mut env,
            &path,
            &viewer,
            own,
            edit(
                "add",
                vec![("kind", kind.into()), ("wdomain", domain.into())],
            ),
        )
        .await;
        assert_eq!(h.status, 303, "{kind}: {}", h.body);
    }
    // Move the trend (position 3) up once: headline, domains, trend, policies.
    let h = send(
        &mut env,
        &path,
        &viewer,
        own,
        edit("up", vec![("pos", "3".into())]),
    )
    .await;
    assert_eq!(h.status, 303, "{}", h.body);
    let shown = env.get(&at, &viewer).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(
        widget_kinds(&shown.body),
        vec!["headline", "domains", "trend", "policies"]
    );
    assert!(!shown.body.contains(PAYLOAD), "the name is escaped");
    assert!(shown.body.contains("&#60;script&#62;") || shown.body.contains("&lt;script&gt;"));
    assert!(
        shown.body.contains("id=\"add-widget\""),
        "the owner may edit"
    );
    // A group the owner may not see, a domain nobody declared: refused.
    let h = send(
        &mut env,
        &path,
        &viewer,
        own,
        edit(
            "add",
            vec![("kind", "headline".into()), ("wgroup", SANDBOX.into())],
        ),
    )
    .await;
    assert_eq!(h.status, 400, "{}", h.body);
    assert!(h.body.contains("no asset group"), "{}", h.body);
    let h = send(
        &mut env,
        &path,
        &viewer,
        own,
        edit(
            "add",
            vec![("kind", "headline".into()), ("wdomain", "nope".into())],
        ),
    )
    .await;
    assert_eq!(h.status, 400, "{}", h.body);
    // Without the session's token: refused, nothing changes.
    let h = send(
        &mut env,
        &path,
        &viewer,
        own,
        vec![("csrf", "forged".into()), ("op", "delete".into())],
    )
    .await;
    assert_eq!(h.status, 403, "{}", h.body);

    // Shared by its link: another viewer sees it with their own figures,
    // and may not change it.
    let seen = env.get(&path, &other).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(widget_kinds(&seen.body).len(), 4);
    assert!(
        !seen.body.contains("name=\"op\""),
        "no controls for another"
    );
    let other_csrf = csrf_of(&seen.body);
    let h = send(
        &mut env,
        &path,
        &other,
        own,
        vec![
            ("csrf", other_csrf.clone()),
            ("op", "remove".into()),
            ("pos", "0".into()),
        ],
    )
    .await;
    assert_eq!(h.status, 403, "{}", h.body);
    let api = env.api(&format!("/api/v1/dashboards/{id}"), &other).await;
    assert_eq!(api["widgets"].as_array().unwrap().len(), 4);
    assert_eq!(api["widgets"][3]["domain"], "cloud_security");
    assert_eq!(
        env.api("/api/v1/dashboards", &other).await["total"],
        0,
        "the list holds one's own"
    );
    assert_eq!(env.api("/api/v1/dashboards", &viewer).await["total"], 1);
    // The API: the same rules for a JSON body.
    let pac = env.pac.clone();
    let json_req = |token: &str, method: &str, path: &str, body: &str| {
        let auth = format!("Bearer {token}");
        let url = format!("{pac}{path}");
        let mut b = Browser::new();
        let method: reqwest::Method = method.parse().unwrap();
        let body = body.to_string();
        async move {
            b.request(
                method,
                &url,
                &[("authorization", auth.as_str())],
                Some(("application/json", body)),
            )
            .await
        }
    };
    let foreign =
        format!(r#"{{"name": "x", "widgets": [{{"kind": "trend", "group": "{SANDBOX}"}}]}}"#);
    let h = json_req(&viewer, "POST", "/api/v1/dashboards", &foreign).await;
    assert_eq!(h.status, 400, "{}", h.body);
    let h = json_req(
        &other,
        "PUT",
        &format!("/api/v1/dashboards/{id}"),
        r#"{"name": "mine now", "widgets": []}"#,
    )
    .await;
    assert_eq!(h.status, 403, "{}", h.body);
    let made = json_req(
        &other,
        "POST",
        "/api/v1/dashboards",
        r#"{"name": "  ", "widgets": [{"kind": "severity", "domain": "cis_aws"}]}"#,
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    assert_eq!(made["name"], "Untitled dashboard");
    assert_eq!(made["widgets"][0]["domain"], "cis_aws");
    // At most 24 widgets, and no widget's strings without bound.
    let many =
        |n: usize, w: &str| format!(r#"{{"name": "n", "widgets": [{}]}}"#, vec![w; n].join(","));
    let h = json_req(
        &other,
        "POST",
        "/api/v1/dashboards",
        &many(25, r#"{"kind": "headline"}"#),
    )
    .await;
    assert_eq!(h.status, 400, "{}", h.body);
    assert!(h.body.contains("at most 24 widgets"), "{}", h.body);
    let long = format!(
        r#"{{"kind": "headline", "domain": "{}"}}"#,
        "d".repeat(5_000)
    );
    let h = json_req(&other, "POST", "/api/v1/dashboards", &many(24, &long)).await;
    assert_eq!(h.status, 400, "{}", h.body);
    assert!(
        h.body.len() < 500,
        "the error does not echo the input: {}",
        h.body.len()
    );
    assert_eq!(
        env.api("/api/v1/dashboards", &other).await["total"],
        1,
        "nothing stored"
    );
    // A widget fixed on a group outside the reader's groups: the reader
    // sees neither its figures nor the group's name.
    let fixed = json_req(
        &admin,
        "POST",
        "/api/v1/dashboards",
        &format!(r#"{{"name": "ops", "widgets": [{{"kind": "headline", "group": "{SANDBOX}"}}, {{"kind": "headline", "group": "{PROD}"}}]}}"#),
    )
    .await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
    let fid = fixed.json()["id"].as_i64().unwrap();
    let seen = env.api(&format!("/api/v1/dashboards/{fid}"), &other).await;
    assert_eq!(seen["widgets"][0]["group_hidden"], true, "{seen}");
    assert_eq!(seen["widgets"][1]["group"], PROD, "{seen}");
    assert!(!seen.to_string().contains(SANDBOX), "{seen}");
    let by_admin = env.api(&format!("/api/v1/dashboards/{fid}"), &admin).await;
    assert_eq!(by_admin["widgets"][0]["group"], SANDBOX);
    let page = env.get(&format!("/dashboards/{fid}"), &other).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Not shown"), "{}", page.body);
    assert!(page.body.contains("outside yours"), "{}", page.body);
    assert!(!page.body.contains(&format!("`{SANDBOX}`")));
    assert!(!page.body.contains(&format!("group {SANDBOX}")));

    // The lists: open issues (most severe first), fixes due, exceptions
    // expiring; each total is the API's, and none takes a domain.
    for (name, days) in [("expires-soon", 5), ("expires-later", 60)] {
        // The server's clock (the demo estate's day), not the wall clock.
        let expires = chrono::DateTime::from_timestamp(env.server.clock.now() + days * 86_400, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let body = serde_json::json!({"name": name, "targets": ["sg_ssh_open_to_world"],
            "resources": ["sg-x"], "expires": expires, "reason": "r", "group": PROD});
        let h = json_req(&admin, "POST", "/api/v1/exceptions", &body.to_string()).await;
        assert_eq!(h.status, 201, "{}", h.body);
    }
    let lists = json_req(
        &other,
        "POST",
        "/api/v1/dashboards",
        r#"{"name": "lists", "widgets": [{"kind": "issues"}, {"kind": "fixes"}, {"kind": "exceptions"}]}"#,
    )
    .await;
    assert_eq!(lists.status, 201, "{}", lists.body);
    let lid = lists.json()["id"].as_i64().unwrap();
    let h = json_req(
        &other,
        "PUT",
        &format!("/api/v1/dashboards/{lid}"),
        r#"{"name": "lists", "widgets": [{"kind": "fixes", "domain": "cis_aws"}]}"#,
    )
    .await;
    assert_eq!(h.status, 400, "{}", h.body);
    assert!(h.body.contains("takes no domain"), "{}", h.body);
    let page = env
        .get(&format!("/dashboards/{lid}?group={PROD}"), &other)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        widget_kinds(&page.body),
        vec!["issues", "fixes", "exceptions"]
    );
    let totals: Vec<i64> = page
        .body
        .match_indices("data-figure=\"total\">")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        })
        .collect();
    let open = env
        .api(
            &format!("/api/v1/issues?group={PROD}&status=open&per_page=1"),
            &other,
        )
        .await;
    assert!(
        open["total"].as_i64().unwrap() > 0,
        "the demo estate has open issues"
    );
    assert_eq!(totals[0], open["total"].as_i64().unwrap(), "open issues");
    let issues_widget = &page.body[page.body.find("data-widget=\"issues\"").unwrap()
        ..page.body.find("data-widget=\"fixes\"").unwrap()];
    assert_eq!(
        issues_widget.matches("<td class=\"num\">").count() as i64,
        totals[0].min(10),
        "the first ten rows"
    );
    assert!(page.body.contains("the issue tracker</a> has them all"));
    let soon = env.server.clock.now() + 14 * 86_400;
    // (`other` reads production only, as the widget does.)
    let expiring = env
        .api("/api/v1/exceptions?expiring_within_days=14", &other)
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["expired"] == false && x["expires_at"].as_i64().is_some_and(|t| t <= soon))
        .count() as i64;
    assert!(expiring >= 1);
    assert_eq!(totals[2], expiring, "exceptions expiring within 14 days");
    assert!(page.body.contains("expires-soon") && !page.body.contains("expires-later"));
    assert_eq!(totals.len(), 3);

    // The owner deletes it; the link then answers 404.
    let h = send(&mut env, &path, &viewer, own, edit("delete", vec![])).await;
    assert_eq!(h.status, 303, "{}", h.body);
    assert_eq!(env.get(&path, &viewer).await.status, 404);
}

/// "Fix now" is held to the scheduled run's blast-radius limits, counted
/// over the last day: with `max_resources = 1`, the second fix of one
/// policy is refused and its job stays waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_now_keeps_the_blast_radius_limits() {
    let (dir, server, pac) = tokens_server_with(
        &demo_docs(),
        "[autofix]\nmax_resources = 1\nmax_percent = 100",
        true,
    )
    .await;
    let mut env = Env {
        _dir: dir,
        server,
        pac: pac.clone(),
        b: Browser::new(),
    };
    let approver = env.token("approver", Role::Approver, &["*"]).await;
    let jobs = env
        .api(
            "/api/v1/autofix/jobs?status=waiting&per_page=500",
            &approver,
        )
        .await;
    let mut by_policy: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for j in jobs["items"].as_array().unwrap() {
        if j["action"] != "notify_only" {
            by_policy
                .entry(j["policy"].as_str().unwrap().to_string())
                .or_default()
                .push(j["id"].as_i64().unwrap());
        }
    }
    let (policy, ids) = by_policy
        .into_iter()
        .find(|(_, ids)| ids.len() >= 2)
        .expect("a policy with two waiting fixes that change resources");
    let page = env.get(&format!("/fixes/{}", ids[0]), &approver).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_of(&page.body);
    let run = |id: i64| format!("/fixes/{id}/run");
    let first = env
        .post_form(&run(ids[0]), &approver, Some(&pac), &[("csrf", &csrf)])
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    let second = env
        .post_form(&run(ids[1]), &approver, Some(&pac), &[("csrf", &csrf)])
        .await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert!(
        second.body.contains("max_resources = 1") && second.body.contains(&policy),
        "{}",
        second.body
    );
    let still = env
        .api(&format!("/api/v1/autofix/jobs/{}", ids[1]), &approver)
        .await;
    assert_eq!(still["status"], "waiting", "{still}");
}

/// Live updates: `GET /events` streams an event when a scan completes (the
/// portal's script offers a reload); a client that does not ask for an
/// event stream gets a 406, not a body without end; anonymous, a 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_scan_is_announced_on_the_event_stream() {
    let mut env = setup().await;
    let viewer = env.token("viewer", Role::Viewer, &[PROD]).await;
    let plain = env.get("/events", &viewer).await;
    assert_eq!(plain.status, 406, "{}", plain.body);
    let client = reqwest::Client::new();
    let url = format!("{}/events", env.pac);
    let anon = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let mut stream = client
        .get(&url)
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {viewer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let ct = stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    // The page carries the marker the script starts the stream on.
    let page = env.get(&format!("/?group={PROD}"), &viewer).await;
    assert!(page.body.contains("<body data-live>"), "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("connect-src 'self'"), "{csp}");

    let server = env.server.clone();
    let scan = tokio::spawn(async move {
        server
            .scan_all("test")
            .await
            .into_iter()
            .next()
            .unwrap()
            .unwrap()
    });
    let mut got = String::new();
    while !got.contains("data: {\"scan\":") || !got.ends_with("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(60), stream.chunk())
            .await
            .expect("an event within a minute")
            .unwrap()
            .expect("the stream stays open");
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
    let id = scan.await.unwrap();
    assert!(
        got.contains(&format!("event: scan\ndata: {{\"scan\":{id}}}\n")),
        "{got:?}"
    );
}
