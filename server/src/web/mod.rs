//! The web portal (docs/portal.md): server-rendered pages on the same port
//! as the API. Templates are askama's (`server/templates/`, compiled into
//! the binary and checked at build time, every value HTML-escaped); the
//! stylesheet and the one small script are embedded; charts are SVG drawn
//! by plotters.
//!
//! Invariant: a page reads what the API answers, through the same helpers
//! (`api::read_scope`, `figures_group`, `list_groups`, `asset_360`,
//! `exception_items`, …) and the same store functions, and passes the same
//! authentication and authorization layers ([`PAGE_RULES`] beside the
//! API's `auth::rules::RULES`). What lies outside the caller's asset groups
//! is answered as what does not exist.

pub(crate) mod assets;
mod chart;
mod csrf;
pub(crate) mod dashboard;
pub(crate) mod dashboards;
mod digests;
pub(crate) mod domains;
mod forms;
mod issues;
pub(crate) mod lists;
mod live;
pub(crate) mod mail;
mod policies;
mod search;
mod topics;

pub use issues::{CSV_COLUMNS, csv_cell};

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::Server;
use crate::api::error::ApiError;
use crate::api::params::{Check, parse_query};
use crate::auth::rules::Rule;
use crate::auth::scope::Scope;
use crate::auth::{ALL_GROUPS, Principal};

/// The state every page handler shares.
type St = State<Arc<Server>>;

/// (method, path template, rule) of every page, checked by the same
/// authorization layer as the API's routes.
pub const PAGE_RULES: &[(&str, &str, Rule)] = &[
    ("GET", "/", Rule::Read),
    ("GET", "/policies", Rule::Read),
    ("GET", "/policies/{id}", Rule::Read),
    ("GET", "/issues", Rule::Read),
    ("GET", "/issues.csv", Rule::Read),
    ("GET", "/search", Rule::Read),
    ("GET", "/assets", Rule::Read),
    ("GET", "/assets/{id}", Rule::Read),
    ("GET", "/exceptions", Rule::Read),
    ("GET", "/fixes", Rule::Read),
    ("GET", "/fixes/{id}", Rule::Read),
    ("POST", "/fixes/{id}/run", Rule::Approve),
    ("GET", "/events", Rule::Read),
    ("GET", "/digests", Rule::Read),
    ("POST", "/digests", Rule::Read),
    ("POST", "/digests/{id}/remove", Rule::Read),
    ("GET", "/digests/unsubscribe", Rule::Public),
    ("POST", "/digests/unsubscribe", Rule::Public),
    ("POST", "/exception-requests", Rule::Request),
    ("POST", "/exception-requests/{id}/approve", Rule::Approve),
    ("POST", "/exception-requests/{id}/reject", Rule::Approve),
    ("GET", "/scans", Rule::Read),
    ("GET", "/domains", Rule::Read),
    ("GET", "/domains/{name}", Rule::Read),
    ("GET", "/dashboards", Rule::Read),
    ("POST", "/dashboards", Rule::Read),
    ("GET", "/dashboards/{id}", Rule::Read),
    ("POST", "/dashboards/{id}", Rule::Read),
    ("GET", "/tagging", Rule::Read),
    ("GET", "/vulnerabilities", Rule::Read),
    ("GET", "/static/portal.css", Rule::Public),
    ("GET", "/static/portal.js", Rule::Public),
];

/// Paths anyone may fetch (the `Public` rules): the stylesheet and script
/// hold no data, and the sign-in page of a signed-out visitor needs them;
/// an unsubscribe link is opened from a mail, without the session cookie,
/// and carries its own signed token.
pub fn is_public(path: &str) -> bool {
    PAGE_RULES
        .iter()
        .any(|(_, p, r)| *r == Rule::Public && *p == path)
}

/// Whether a path is a portal page (a signed-out visitor is sent to the
/// sign-in, not given the API's JSON 401).
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/auth/")
        || path == "/healthz"
        || path.starts_with("/static/"))
}

/// The portal's pages must load only their own stylesheet and script.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The cookie that remembers the asset group a browser chose.
const GROUP_COOKIE: &str = "pac_group";

const CSS: &str = include_str!("../../static/portal.css");
const JS: &str = include_str!("../../static/portal.js");

/// The portal's routes, behind the authorization layer (the caller adds
/// authentication, like for the API).
pub fn routes(server: Arc<Server>, body_timeout: std::time::Duration) -> Router {
    let auth = server.auth.clone();
    // A form's POST: its body checked by the HTTP layer (a form, from this
    // server's own origin, within the limit and the deadline).
    let form = |m: axum::routing::MethodRouter<Arc<Server>>| {
        m.route_layer(axum::middleware::from_fn_with_state(
            body_timeout,
            crate::api::http::check_form,
        ))
    };
    Router::new()
        .route("/", get(dashboard::page))
        .route("/policies", get(policies::list))
        .route("/policies/{id}", get(policies::page))
        .route("/issues", get(issues::page))
        .route("/issues.csv", get(issues::csv))
        .route("/search", get(search::page))
        .route("/assets", get(assets::list))
        .route("/assets/{id}", get(assets::page))
        .route("/exceptions", get(lists::exceptions))
        .route("/fixes", get(lists::fixes))
        .route("/fixes/{id}", get(forms::fix_page))
        .route("/fixes/{id}/run", form(post(forms::fix_now)))
        .route("/events", get(live::events))
        .route(
            "/digests",
            get(digests::list).merge(form(post(digests::create))),
        )
        .route("/digests/{id}/remove", form(post(digests::remove)))
        // An unsubscribe link's POST comes from the confirmation page or,
        // in one click, from a mail reader (no Origin): its signed token
        // is the check, not the form layer.
        .route(
            "/digests/unsubscribe",
            get(digests::unsubscribe_page).post(digests::unsubscribe_now),
        )
        .route("/exception-requests", form(post(forms::request_exception)))
        .route(
            "/exception-requests/{id}/approve",
            form(post(forms::approve)),
        )
        .route("/exception-requests/{id}/reject", form(post(forms::reject)))
        .route("/scans", get(lists::scans))
        .route("/domains", get(domains::list))
        .route("/domains/{name}", get(domains::page))
        .route(
            "/dashboards",
            get(dashboards::list).merge(form(post(dashboards::create))),
        )
        .route(
            "/dashboards/{id}",
            get(dashboards::page).merge(form(post(dashboards::edit))),
        )
        .route("/tagging", get(topics::tagging))
        .route("/vulnerabilities", get(topics::vulnerabilities))
        .route(
            "/static/portal.css",
            get(|| async { asset(CSS, "text/css") }),
        )
        .route(
            "/static/portal.js",
            get(|| async { asset(JS, "text/javascript") }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            auth,
            crate::auth::rules::authorize,
        ))
        .with_state(server)
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    // The HTTP layer's `Cache-Control: no-store` applies: a few KiB.
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(kind))],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// An error shown as a page (the API's status and message).
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
}

impl WebError {
    fn bad(message: impl Into<String>) -> WebError {
        WebError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> WebError {
        WebError {
            status: e.status,
            message: e.message,
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> WebError {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: Ctx,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            ctx: Ctx::bare(reason),
            status: self.status.as_u16(),
            reason,
            message: &self.message,
        };
        let mut r = html(&page);
        *r.status_mut() = self.status;
        r
    }
}

type PageResult = Result<Response, WebError>;

/// A rendered template as an HTML answer with the portal's CSP.
fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(PAGE_CSP),
                ),
                // Forms then carry this server's `Origin` (with
                // `no-referrer`, a browser sends `Origin: null`), and no
                // address leaves for another site.
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("rendering a page: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "the page could not be rendered; the server log says why",
            )
                .into_response()
        }
    }
}

/// The page a signed-out visitor gets when the portal has no sign-in to
/// send them to (auth by API tokens only).
pub fn signed_out(oidc: bool, path_and_query: &str) -> Response {
    if oidc {
        let to = crate::auth::oidc::safe_return_to(Some(path_and_query));
        let target = format!(
            "/auth/login?return_to={}",
            form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
        );
        return match HeaderValue::from_str(&target) {
            Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
            Err(_) => StatusCode::SEE_OTHER.into_response(),
        };
    }
    WebError {
        status: StatusCode::UNAUTHORIZED,
        message: "this server accepts API tokens only (`[auth] mode = \"tokens\"`), so the portal has no sign-in: configure OpenID Connect (docs/auth.md) to use it in a browser, or read the API with a token".into(),
    }
    .into_response()
}

// ---------------------------------------------------------------------------
// Query strings, the group selection, the layout
// ---------------------------------------------------------------------------

/// A page's query string as `T`: the API's parser (unknown names and bad
/// values are 400s that say what is taken), except that empty fields are
/// dropped, since a form sends every field, filled or not.
fn query<T: DeserializeOwned + Check>(raw: Option<&str>) -> Result<T, WebError> {
    let kept: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes()).filter(|(_, v)| !v.is_empty()),
        )
        .finish();
    Ok(parse_query::<T>(Some(&kept))?)
}

/// What every page knows about the caller and the asset group in view.
pub struct Ctx {
    /// What links start with: empty on pages (links are relative to the
    /// portal), the portal's address in mail.
    pub base: String,
    pub title: String,
    /// The navigation entry to highlight.
    pub nav: &'static str,
    pub user: String,
    /// The groups the caller may choose from.
    pub groups: Vec<GroupOpt>,
    /// The group every figure is confined to (`None`: the whole estate).
    pub group: Option<String>,
    /// Whether "all resources" is a choice (a role on `*`).
    pub all_allowed: bool,
    /// Where the selector's form goes.
    pub here: String,
    /// The cookie to set (the group chosen), or to clear.
    set_cookie: Option<String>,
    /// The CSRF token every form of the page carries (web::csrf).
    pub csrf: String,
    /// What the header's search box shows (the search page's query).
    pub query: String,
}

pub struct GroupOpt {
    pub name: String,
    pub label: String,
}

impl Ctx {
    fn bare(title: &str) -> Ctx {
        Ctx {
            base: String::new(),
            title: title.to_string(),
            nav: "",
            user: String::new(),
            groups: Vec::new(),
            group: None,
            all_allowed: false,
            here: "/".into(),
            set_cookie: None,
            csrf: String::new(),
            query: String::new(),
        }
    }

    /// `group=…` for links, so a copied link shows the same group.
    pub fn gq(&self) -> String {
        let g = self.group.as_deref().unwrap_or(ALL_GROUPS);
        format!(
            "group={}",
            form_urlencoded::byte_serialize(g.as_bytes()).collect::<String>()
        )
    }

    pub fn is_selected(&self, name: &str) -> bool {
        self.group.as_deref() == Some(name)
    }

    /// The answer, with the group cookie when the choice changed.
    fn respond<T: Template>(&self, t: &T) -> Response {
        let mut r = html(t);
        if let Some(c) = &self.set_cookie
            && let Ok(v) = HeaderValue::from_str(c)
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    }
}

/// Works out the asset group in view and the layout: `?group=NAME` (kept
/// in a cookie for the next visit), `?group=*` for the whole estate (only
/// with a role on `*`), else the remembered group, else the whole estate
/// or the caller's first group. A group the caller may not see is the
/// API's 404 of an unknown group.
async fn context(
    s: &Server,
    caller: &Principal,
    headers: &HeaderMap,
    asked: Option<&str>,
    title: impl Into<String>,
    nav: &'static str,
    here: &str,
) -> Result<Ctx, WebError> {
    let scope = crate::api::read_scope(caller);
    let items = crate::api::group_items(s, &scope).await?;
    let groups: Vec<GroupOpt> = items
        .iter()
        .filter_map(|g| {
            let name = g["name"].as_str()?.to_string();
            let title = g["title"].as_str().unwrap_or(&name).to_string();
            let members = g["members"].as_i64().unwrap_or(0);
            Some(GroupOpt {
                label: format!("{title} ({members})"),
                name,
            })
        })
        .collect();
    let all_allowed = scope.is_all();
    let secure = if s.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let remember = |g: &str| {
        format!(
            "{GROUP_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}",
            form_urlencoded::byte_serialize(g.as_bytes()).collect::<String>()
        )
    };
    let remembered = crate::auth::cookie(headers, GROUP_COOKIE).and_then(|v| {
        form_urlencoded::parse(format!("g={v}").as_bytes())
            .next()
            .map(|(_, g)| g.into_owned())
    });
    let (group, set_cookie) = match asked {
        Some(ALL_GROUPS) if all_allowed => (None, Some(remember(ALL_GROUPS))),
        Some(ALL_GROUPS) => (default_group(&scope, &groups), None),
        Some(g) => {
            let g = g.to_string();
            crate::api::figures_group(s, &scope, Some(g.clone())).await?;
            let cookie = (remembered.as_deref() != Some(g.as_str())).then(|| remember(&g));
            (Some(g), cookie)
        }
        None => match remembered {
            Some(r) if r == ALL_GROUPS && all_allowed => (None, None),
            Some(r) if groups.iter().any(|x| x.name == r) => (Some(r), None),
            _ => (default_group(&scope, &groups), None),
        },
    };
    // A role on a group that does not exist (any more): the API's 404 of
    // an unknown group, as `GET /api/v1/compliance` answers it.
    if let Some(g) = &group
        && !groups.iter().any(|x| &x.name == g)
    {
        crate::api::figures_group(s, &scope, Some(g.clone())).await?;
    }
    if group.is_none() && !all_allowed {
        return Err(WebError {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "{} holds roles on no asset group that exists now: ask an admin for a role on one",
                caller.name
            ),
        });
    }
    Ok(Ctx {
        base: String::new(),
        title: title.into(),
        nav,
        user: caller.name.clone(),
        groups,
        group,
        all_allowed,
        here: here.to_string(),
        set_cookie,
        csrf: csrf::token(&s.auth, headers)?,
        query: String::new(),
    })
}

fn default_group(scope: &Scope, groups: &[GroupOpt]) -> Option<String> {
    if scope.is_all() {
        return None;
    }
    groups
        .first()
        .map(|g| g.name.clone())
        .or_else(|| scope.groups().and_then(|g| g.first().cloned()))
}

// ---------------------------------------------------------------------------
// Formatting helpers the templates call
// ---------------------------------------------------------------------------

/// A percentage, or "n/a" when nothing was measured.
pub fn pct(v: &Option<f64>) -> String {
    match v {
        Some(x) => format!("{x:.1} %"),
        None => "n/a".into(),
    }
}

/// A CSS class for a compliance figure.
pub fn band(v: &Option<f64>) -> &'static str {
    match v {
        None => "none",
        Some(x) if *x >= 90.0 => "good",
        Some(x) if *x >= 70.0 => "warn",
        _ => "bad",
    }
}

/// Seconds since the epoch as UTC date and time.
pub fn when(t: &i64) -> String {
    chrono::DateTime::from_timestamp(*t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}

pub fn when_opt(t: &Option<i64>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".into())
}

/// The policy of a rule id (`policy` or `policy.rule`).
pub fn policy_of(rule: &str) -> &str {
    rule.split('.').next().unwrap_or(rule)
}

/// What an auto-fix job's result says, in one line.
pub fn summary(result: &Option<serde_json::Value>) -> String {
    match result {
        None => String::new(),
        Some(r) => match r["summary"].as_str() {
            Some(s) => s.to_string(),
            None => r.to_string(),
        },
    }
}

/// A percent-encoded path segment or query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Paging links: (first item, last item, total, previous page, next page).
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub first: i64,
    pub last: i64,
    /// The query string without `page=`, for the links.
    pub base: String,
}

impl Pager {
    fn new(page: i64, per: i64, total: i64, shown: usize, base: String) -> Pager {
        let first = if shown == 0 { 0 } else { (page - 1) * per + 1 };
        Pager {
            page,
            pages: (total + per - 1) / per.max(1),
            total,
            first,
            last: first + shown as i64 - if shown == 0 { 0 } else { 1 },
            base,
        }
    }
    pub fn prev(&self) -> Option<i64> {
        (self.page > 1).then(|| self.page - 1)
    }
    pub fn next(&self) -> Option<i64> {
        (self.page < self.pages).then(|| self.page + 1)
    }
}

/// The results of no scan yet: the page says so instead of showing zeros.
async fn results_ready(s: &Server) -> Result<(), WebError> {
    if s.store.compliance("").await?.is_some() {
        return Ok(());
    }
    Err(WebError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "no scan has completed yet: the first scan is running or has failed (see Scans); reload this page in a few seconds".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn pages_are_told_apart_from_the_api() {
        assert!(is_page("/"));
        assert!(is_page("/assets/x"));
        assert!(!is_page("/api/v1/issues"));
        assert!(!is_page("/auth/login"));
        assert!(!is_page("/static/portal.css"));
    }

    #[test]
    fn every_page_rule_is_listed_once_and_not_in_the_api_rules() {
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in PAGE_RULES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
            assert!(
                !crate::auth::rules::RULES
                    .iter()
                    .any(|(rm, rp, _)| rm == m && rp == p)
            );
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct GroupOnly {
        group: Option<String>,
    }
    impl Check for GroupOnly {}

    #[test]
    fn empty_form_fields_are_dropped_and_unknown_ones_refused() {
        let q: GroupOnly = query(Some("group=")).unwrap();
        assert!(q.group.is_none());
        let e = query::<GroupOnly>(Some("grup=x")).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("grup"), "{}", e.message);
    }

    #[test]
    fn a_signed_out_page_request_goes_to_the_sign_in_and_back() {
        let r = signed_out(true, "/issues?status=open&group=production");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "/auth/login?return_to=%2Fissues%3Fstatus%3Dopen%26group%3Dproduction"
        );
        let r = signed_out(false, "/");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn pager_counts_the_rows_shown() {
        let p = Pager::new(2, 50, 120, 50, String::new());
        assert_eq!((p.first, p.last, p.pages), (51, 100, 3));
        assert_eq!((p.prev(), p.next()), (Some(1), Some(3)));
        let p = Pager::new(1, 50, 0, 0, String::new());
        assert_eq!((p.first, p.last, p.next()), (0, 0, None));
    }
}
