//! The REST API (JSON) and its OpenAPI document. Every error is a JSON
//! body `{"error": {"status", "message", "details"?}}` ([`error`]); query
//! strings and bodies are typed structs that reject unknown names
//! ([`params`]); the document is derived from the handlers' attributes and
//! those types as the routes are registered ([`openapi`]); Host, Origin,
//! content types, limits and deadlines are checked in front of every
//! route ([`http`]).

mod boards;
pub(crate) mod digests;
pub mod error;
mod export;
pub mod http;
pub mod openapi;
pub mod params;
pub(crate) mod requests;
pub(crate) mod search;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi as _, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::Server;
use crate::auth::audit::{AuditFilter, Change};
use crate::auth::scope::Scope;
use crate::auth::{Principal, Role};
use crate::store::{
    ExceptionRow, GroupRow, IssueFilter, IssueStatus, JobStatus, ResourceFilter, ScanStatus,
};
use axum::Extension;
pub use error::{ApiError, ErrorBody};
use http::HttpOptions;
use params::{Check, Params, filled, in_range, max_len, typed_body};

/// What the handlers share: the server, and the API's own state.
pub struct Api {
    server: Arc<Server>,
    /// The answer of `healthz?check=store` and when it was taken: the
    /// check reads the whole store, so it runs once at a time and its
    /// answer is reused for [`STORE_CHECK_TTL`].
    store_check: tokio::sync::Mutex<Option<(tokio::time::Instant, Vec<String>)>>,
    /// Sources with an API-requested scan waiting to start.
    queued: std::sync::Mutex<BTreeSet<String>>,
    /// Set once a scan has committed results (never unset).
    results_ready: AtomicBool,
    /// The serialized OpenAPI document.
    openapi: std::sync::OnceLock<Bytes>,
}

impl std::ops::Deref for Api {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

/// How long the store check's answer is reused.
const STORE_CHECK_TTL: std::time::Duration = std::time::Duration::from_secs(5);

type S = State<Arc<Api>>;

type Res = Result<Response, ApiError>;

fn ok(v: Value) -> Res {
    Ok(axum::Json(v).into_response())
}

// ---------------------------------------------------------------------------
// Parameters and bodies (each is the documented schema of its endpoint)
// ---------------------------------------------------------------------------

/// The longest name (exception, group, policy, source) accepted.
pub const NAME_MAX: usize = crate::program::MAX_NAME_CHARS;
/// The longest free text (reason, title) accepted.
pub const TEXT_MAX: usize = 2000;
/// The longest resource id or search text accepted.
pub const ID_MAX: usize = 512;
/// The most entries in a list (targets, resources, members).
pub const LIST_MAX: usize = 1000;

fn max_items(name: &str, n: usize) -> Result<(), ApiError> {
    if n > LIST_MAX {
        return Err(ApiError::bad(format!(
            "`{name}` has {n} entries; at most {LIST_MAX} are accepted"
        )));
    }
    Ok(())
}

fn opt_len(name: &str, v: &Option<String>, max: usize) -> Result<(), ApiError> {
    v.as_deref().map_or(Ok(()), |v| max_len(name, v, max))
}

/// No query parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}
impl Check for NoQuery {}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HealthQuery {
    /// `store`: also check the store's integrity and cross-table references
    /// (the answer is reused for a few seconds).
    #[param(inline)]
    check: Option<HealthCheck>,
}
impl Check for HealthQuery {}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheck {
    Store,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GroupQuery {
    /// Answer for this asset group alone.
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
}
impl Check for GroupQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("group", &self.group, NAME_MAX)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Answer for this asset group alone.
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
    /// A policy id; overall when absent.
    #[param(min_length = 1, max_length = 128)]
    policy: Option<String>,
}
impl Check for HistoryQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("group", &self.group, NAME_MAX)?;
        opt_len("policy", &self.policy, NAME_MAX)
    }
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}
impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PoliciesQuery {
    /// Answer for this asset group alone.
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
    /// security, governance, cost, tagging, operations
    #[param(min_length = 1, max_length = 128)]
    category: Option<String>,
    #[param(inline)]
    severity: Option<Severity>,
}
impl Check for PoliciesQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("group", &self.group, NAME_MAX)?;
        opt_len("category", &self.category, NAME_MAX)
    }
}

const PAGE_MAX: i64 = 1_000_000;
const PER_PAGE_MAX: i64 = 500;

/// (page, per_page, offset), checked.
pub(crate) fn paging(page: Option<i64>, per_page: Option<i64>) -> (i64, i64, i64) {
    let page = page.unwrap_or(1);
    let per = per_page.unwrap_or(50);
    (page, per, (page - 1) * per)
}

fn check_paging(page: Option<i64>, per_page: Option<i64>) -> Result<(), ApiError> {
    in_range("page", page, 1, PAGE_MAX)?;
    in_range("per_page", per_page, 1, PER_PAGE_MAX)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssuesQuery {
    /// A policy name.
    #[param(min_length = 1, max_length = 128)]
    policy: Option<String>,
    #[param(inline)]
    status: Option<IssueStatus>,
    /// Answer for this asset group alone.
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
    #[param(inline)]
    severity: Option<Severity>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Items per page, 1 to 500 (50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
    /// Keyset paging: the `next_after` of the previous answer (reads the
    /// next ids from an index however deep the page).
    #[param(minimum = 0)]
    after: Option<i64>,
}
impl Check for IssuesQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("policy", &self.policy, NAME_MAX)?;
        opt_len("group", &self.group, NAME_MAX)?;
        check_paging(self.page, self.per_page)?;
        in_range("after", self.after, 0, i64::MAX)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResourcesQuery {
    /// A resource type, e.g. aws.ec2.instance.
    #[serde(rename = "type")]
    #[param(min_length = 1, max_length = 128)]
    rtype: Option<String>,
    /// Answer for this asset group alone.
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
    /// Text in the id, account or region (`%` and `_` are plain characters).
    #[param(min_length = 1, max_length = 512)]
    q: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Items per page, 1 to 500 (50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
}
impl Check for ResourcesQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("type", &self.rtype, NAME_MAX)?;
        opt_len("group", &self.group, NAME_MAX)?;
        opt_len("q", &self.q, ID_MAX)?;
        check_paging(self.page, self.per_page)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Items per page, 1 to 500 (50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
}
impl Check for PageQuery {
    fn check(&self) -> Result<(), ApiError> {
        check_paging(self.page, self.per_page)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    #[param(inline)]
    status: Option<JobStatus>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Items per page, 1 to 500 (50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
}
impl Check for JobsQuery {
    fn check(&self) -> Result<(), ApiError> {
        check_paging(self.page, self.per_page)
    }
}

/// `POST /api/v1/asset-groups`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// An identifier (letters, digits, `_`; not a keyword).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"
    )]
    name: String,
    #[schema(max_length = 2000)]
    title: Option<String>,
    #[schema(min_items = 1, max_items = 1000)]
    members: Vec<NewMember>,
    /// Recorded only while auth is off; with auth on, the caller is.
    #[schema(min_length = 1, max_length = 128)]
    created_by: Option<String>,
}

/// One resource type of a group, optionally narrowed by a condition.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// A declared resource type, e.g. `aws.ec2.instance`.
    #[serde(rename = "type")]
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
    )]
    rtype: String,
    /// A Pac condition on that type, e.g. `tags["tier"] == "web"`.
    #[serde(rename = "where")]
    #[schema(max_length = 16384)]
    condition: Option<String>,
}

impl Check for NewGroup {
    fn check(&self) -> Result<(), ApiError> {
        // `name`, `members[].type` and `members[].where` have a grammar;
        // their lengths are checked with it (`program::build_group`), so a
        // long injection attempt is answered with what is wrong with it.
        filled("name", &self.name)?;
        opt_len("title", &self.title, TEXT_MAX)?;
        if let Some(t) = &self.title {
            filled("title", t)?;
        }
        check_created_by(&self.created_by)?;
        max_items("members", self.members.len())?;
        if self.members.is_empty() {
            return Err(ApiError::bad(
                "`members` must list at least one resource type",
            ));
        }
        for (k, m) in self.members.iter().enumerate() {
            filled(&format!("members[{k}].type"), &m.rtype)?;
            if let Some(c) = &m.condition {
                filled(&format!("members[{k}].where"), c)?;
            }
        }
        Ok(())
    }
}

/// `POST /api/v1/exceptions`: per resource id (`resources`), or sticky
/// with a condition (`where`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewException {
    #[schema(min_length = 1, max_length = 128)]
    pub(crate) name: String,
    /// Policies, or `policy.rule`.
    #[schema(min_items = 1, max_items = 1000)]
    pub(crate) targets: Vec<String>,
    /// Resource ids (or give `where`).
    #[schema(max_items = 1000)]
    pub(crate) resources: Option<Vec<String>>,
    /// A condition, for a sticky exception (or give `resources`).
    #[serde(rename = "where")]
    #[schema(max_length = 16384)]
    pub(crate) condition: Option<String>,
    /// A date (2027-03-31) or a time (2027-03-31T12:00:00Z), as the
    /// language writes it after `expires`.
    #[schema(
        min_length = 10,
        max_length = 40,
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
    )]
    pub(crate) expires: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub(crate) reason: String,
    /// Confines the exception to this asset group (`exception … in
    /// GROUP`): it exempts that group's members only. Required when the
    /// caller approves on some groups only (not on `*`).
    #[schema(min_length = 1, max_length = 128)]
    pub(crate) group: Option<String>,
    /// Recorded only while auth is off; with auth on, the caller is.
    #[schema(min_length = 1, max_length = 128)]
    pub(crate) created_by: Option<String>,
}

impl Check for NewException {
    fn check(&self) -> Result<(), ApiError> {
        // `targets`, `where` and `expires` have a grammar and are checked
        // with it (`program::build_exception`).
        let resources = self.resources.as_deref().unwrap_or_default();
        filled("name", &self.name)?;
        max_len("name", &self.name, NAME_MAX)?;
        max_items("targets", self.targets.len())?;
        if self.targets.is_empty() {
            return Err(ApiError::bad(
                "`targets` must list the policies (or policy.rule) the exception is for",
            ));
        }
        if let Some(c) = &self.condition {
            filled("where", c)?;
        }
        if resources.is_empty() == self.condition.is_none() {
            return Err(ApiError::bad(
                "give either `resources` (ids) or `where` (a condition, for a sticky exception), not both or neither",
            ));
        }
        filled("expires", &self.expires)?;
        filled("reason", &self.reason)?;
        if let Some(g) = &self.group {
            filled("group", g)?;
        }
        max_items("resources", resources.len())?;
        for r in resources {
            max_len("resources[]", r, ID_MAX)?;
        }
        max_len("reason", &self.reason, TEXT_MAX)?;
        check_created_by(&self.created_by)
    }
}

fn check_created_by(v: &Option<String>) -> Result<(), ApiError> {
    if let Some(c) = v {
        filled("created_by", c)?;
        max_len("created_by", c, NAME_MAX)?;
    }
    Ok(())
}

/// Who made an item: the caller's id (`token:3`, `oidc:…#sub`, as tokens
/// record it); while auth is off (everyone is `local`), the name the
/// request gives, if any.
fn author(caller: &Principal, given: Option<String>) -> String {
    match caller.kind {
        crate::auth::PrincipalKind::Local => given.unwrap_or_else(|| caller.id.clone()),
        _ => caller.id.clone(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExceptionsQuery {
    /// Only the caller's own: made or requested by it.
    mine: Option<bool>,
    /// Only those expiring within this many days (expired ones left out).
    #[param(minimum = 0, maximum = 3650)]
    expiring_within_days: Option<i64>,
}
impl Check for ExceptionsQuery {
    fn check(&self) -> Result<(), ApiError> {
        in_range("expiring_within_days", self.expiring_within_days, 0, 3650)
    }
}

/// `POST /api/v1/scans/{id}/confirm`: no fields.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmScan {}
impl Check for ConfirmScan {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// `POST /api/v1/scans`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScan {
    /// One source; every source when absent.
    #[schema(min_length = 1, max_length = 128)]
    source: Option<String>,
}
impl Check for NewScan {
    fn check(&self) -> Result<(), ApiError> {
        if let Some(n) = &self.source {
            filled("source", n)?;
        }
        opt_len("source", &self.source, NAME_MAX)
    }
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    items: Value,
    page: i64,
    per_page: i64,
    total: i64,
    pages: i64,
    /// Issue lists: the `after` of the next page (null on the last).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    next_after: Option<Option<i64>>,
}

fn page_body(items: Value, page: i64, per: i64, total: i64) -> Page {
    Page {
        items,
        page,
        per_page: per,
        total,
        pages: (total + per - 1) / per,
        next_after: None,
    }
}

fn ok_page(p: Page) -> Res {
    Ok(axum::Json(p).into_response())
}

/// A whole list.
#[derive(Serialize, ToSchema)]
pub struct List {
    #[schema(value_type = Vec<Object>)]
    items: Vec<Value>,
    total: usize,
    /// The asset group asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    group: Option<Option<String>>,
}

/// The answer of `POST /api/v1/scans`.
#[derive(Serialize, ToSchema)]
pub struct ScansQueued {
    /// `queued`: a scan of each named source waits to start (it may be
    /// one queued by an earlier request: a source is never queued twice).
    status: &'static str,
    /// The sources whose scan was queued by this request.
    queued: Vec<String>,
    /// The sources that had a scan queued already (that scan serves this
    /// request too).
    already_queued: Vec<String>,
    see: &'static str,
}

/// What the caller may read: the asset groups where it holds a role.
pub(crate) fn read_scope(p: &Principal) -> Scope {
    Scope::of(p, Role::Viewer)
}

/// Checks that a group exists (a file or API group with a roll-up) and is
/// inside `scope`. A group outside is answered as an unknown one, with
/// only the caller's groups listed: no oracle for names it may not see.
pub(crate) async fn check_group(
    s: &Server,
    scope: &Scope,
    group: &Option<String>,
) -> Result<(), ApiError> {
    let Some(g) = group else { return Ok(()) };
    let p = s.current_program().await.map_err(ApiError::internal)?;
    let groups = &p.program().groups;
    if scope.covers(g) && groups.iter().any(|x| &x.name == g) {
        return Ok(());
    }
    let names: Vec<&str> = groups
        .iter()
        .map(|x| x.name.as_str())
        .filter(|n| scope.covers(n))
        .collect();
    Err(ApiError::not_found(format!(
        "no asset group `{g}` (known: {})",
        names.join(", ")
    )))
}

/// The group figures are answered for (`None`: everything). Roll-ups are
/// computed per group at each scan, so a caller confined to several
/// groups names one; a caller confined to one gets that one.
pub(crate) async fn figures_group(
    s: &Server,
    scope: &Scope,
    group: Option<String>,
) -> Result<Option<String>, ApiError> {
    check_group(s, scope, &group).await?;
    match (group, scope) {
        (Some(g), _) => Ok(Some(g)),
        (None, Scope::All) => Ok(None),
        (None, Scope::Groups(gs)) if gs.len() == 1 => {
            let g = Some(gs[0].clone());
            check_group(s, scope, &g).await?;
            Ok(g)
        }
        (None, Scope::Groups(gs)) => Err(ApiError::bad(format!(
            "figures are computed per asset group, and you hold roles on several ({}): choose one with ?group=NAME",
            gs.join(", ")
        ))),
    }
}

/// The groups a list is confined to (`None`: everything): the one asked
/// for, else all of the caller's.
pub(crate) async fn list_groups(
    s: &Server,
    scope: &Scope,
    group: Option<String>,
) -> Result<Option<Vec<String>>, ApiError> {
    check_group(s, scope, &group).await?;
    Ok(match group {
        Some(g) => Some(vec![g]),
        None => scope.groups().map(<[String]>::to_vec),
    })
}

/// Whether the resource under `rkey` is inside `scope` (a member of one of
/// its groups).
pub(crate) async fn resource_in_scope(
    s: &Server,
    scope: &Scope,
    rkey: &str,
) -> Result<bool, ApiError> {
    if scope.is_all() {
        return Ok(true);
    }
    Ok(scope.covers_any(&s.store.resource_groups(rkey).await?))
}

// ---------------------------------------------------------------------------
// The router
// ---------------------------------------------------------------------------

/// The API's router, ready to serve.
pub type App = Router;

/// Serves `app` on `listener` (default HTTP options) until the task is
/// dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: App) {
    if let Err(e) = http::serve(
        listener,
        app,
        HttpOptions::default(),
        std::future::pending(),
    )
    .await
    {
        tracing::error!("API server: {e}");
    }
}

/// The router with the default HTTP options.
pub fn router(server: Arc<Server>) -> Router {
    router_with(server, &HttpOptions::default())
}

/// The routes, their OpenAPI document, and the checks every routed
/// request passes (JSON bodies within the limit and the deadline). The
/// Host check and the response headers are added by [`http::serve`], which
/// knows the address.
pub fn router_with(server: Arc<Server>, options: &HttpOptions) -> Router {
    let api = Arc::new(Api {
        server,
        store_check: Default::default(),
        queued: Default::default(),
        results_ready: AtomicBool::new(false),
        openapi: Default::default(),
    });
    // The body checks (JSON only, read whole within the limit and the
    // deadline) run once a method matched: a method a path does not answer
    // is a 405 before anything about its body is a 415.
    let timeout = options.body_timeout;
    let r = move |(schemas, paths, method): UtoipaMethodRouter<Arc<Api>>| {
        let checked = method.route_layer(axum::middleware::from_fn_with_state(
            timeout,
            http::check_body,
        ));
        (schemas, paths, checked)
    };
    // Endpoints that answer from scan results: 503 while the first scan runs.
    let from_results = OpenApiRouter::new()
        .routes(r(routes!(compliance)))
        .routes(r(routes!(history)))
        .routes(r(routes!(policies)))
        .routes(r(routes!(policy)))
        .routes(r(routes!(issues)))
        .routes(r(routes!(issue)))
        .routes(r(routes!(resources)))
        .routes(r(routes!(resource)))
        .routes(r(routes!(export::inventory)))
        .routes(r(routes!(boards::domains)))
        .routes(r(routes!(boards::domain)))
        .routes(r(routes!(boards::domain_history)))
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            first_scan_gate,
        ));
    let (router, doc) = OpenApiRouter::with_openapi(openapi::Doc::openapi())
        .routes(r(routes!(healthz)))
        .routes(r(routes!(openapi_json)))
        .routes(r(routes!(groups, post_group)))
        .routes(r(routes!(exceptions, post_exception)))
        .routes(r(routes!(delete_exception)))
        .routes(r(routes!(requests::requests, requests::post_request)))
        .routes(r(routes!(requests::request)))
        .routes(r(routes!(requests::approve)))
        .routes(r(routes!(requests::reject)))
        .routes(r(routes!(scans, post_scan)))
        .routes(r(routes!(scan)))
        .routes(r(routes!(confirm_scan)))
        .routes(r(routes!(jobs)))
        .routes(r(routes!(job)))
        .routes(r(routes!(me)))
        .routes(r(routes!(tokens, post_token)))
        .routes(r(routes!(revoke_token)))
        .routes(r(routes!(audit_log)))
        .routes(r(routes!(boards::dashboards, boards::post_dashboard)))
        .routes(r(routes!(
            boards::dashboard,
            boards::put_dashboard,
            boards::delete_dashboard
        )))
        .routes(r(routes!(digests::digests, digests::post_digest)))
        .routes(r(routes!(digests::delete_digest)))
        .routes(r(routes!(search::search)))
        .merge(from_results)
        // Every route's rule (auth::rules), once a route matched: before
        // the body checks, so a caller without the role learns nothing
        // about what the body should be.
        .route_layer(axum::middleware::from_fn_with_state(
            api.server.auth.clone(),
            crate::auth::rules::authorize,
        ))
        .fallback(|| async {
            ApiError::not_found("no such endpoint; GET /api/openapi.json lists them")
        })
        .split_for_parts();
    let doc = openapi::finish(doc);
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    let _ = api.openapi.set(Bytes::from(bytes));
    let auth = api.server.auth.clone();
    // Every route, the sign-in ones and the fallback included, behind the
    // one authentication layer.
    let portal = crate::web::routes(api.server.clone(), options.body_timeout);
    router
        .with_state(api)
        .merge(portal)
        .merge(crate::auth::oidc::routes(auth.clone()))
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            crate::auth::authenticate,
        ))
        // Outside authentication, so refused credentials are logged too.
        .layer(axum::middleware::from_fn_with_state(
            auth,
            crate::auth::audit::record,
        ))
}

/// While no scan has committed results and one is running, the endpoints
/// that answer from results say so (503, `Retry-After`, the scan's
/// progress) instead of answering empty.
async fn first_scan_gate(State(s): S, req: Request, next: Next) -> Response {
    if s.results_ready.load(Ordering::Relaxed) {
        return next.run(req).await;
    }
    match first_scan_progress(&s).await {
        Ok(None) => next.run(req).await,
        Ok(Some(progress)) => {
            let mut r = ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!(
                    "the first scan is running (scan {} of source `{}`, for {} s); its results are not ready yet: retry in {} s",
                    progress["scan"]["id"],
                    progress["scan"]["source"].as_str().unwrap_or(""),
                    progress["running_seconds"],
                    RETRY_AFTER
                ),
                details: Some(progress),
            }
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER));
            r
        }
        Err(e) => e.into_response(),
    }
}

/// Seconds a client is asked to wait while the first scan runs.
const RETRY_AFTER: u64 = 5;

/// `None` once results exist (remembered) or when no scan runs; else the
/// running scan's record and what is queued behind it.
async fn first_scan_progress(s: &Api) -> Result<Option<Value>, ApiError> {
    if s.store.compliance("").await?.is_some() {
        s.results_ready.store(true, Ordering::Relaxed);
        return Ok(None);
    }
    let (last, _) = s.store.scans(1, 0).await?;
    let Some(running) = last.into_iter().find(|r| r.status == ScanStatus::Running) else {
        return Ok(None);
    };
    let queued: Vec<String> = s
        .queued
        .lock()
        .map(|q| q.iter().cloned().collect())
        .unwrap_or_default();
    let seconds = (s.clock.now() - running.started_at).max(0);
    Ok(Some(json!({
        "scan": {"id": running.id, "source": running.source, "trigger": running.trigger,
                 "status": running.status, "started_at": running.started_at},
        "running_seconds": seconds,
        "queued": queued,
    })))
}

/// Liveness, with the last scan.
#[utoipa::path(get, path = "/healthz", tag = "server", params(HealthQuery),
    responses((status = 200, description = "the server answers", body = Object)))]
async fn healthz(State(s): S, Params(q): Params<HealthQuery>) -> Res {
    let (last, _) = s.store.scans(1, 0).await?;
    // The policy files as they are now (compiled only when they changed).
    let policies = match s.load_or_placeholder().await {
        Ok(l) => match &l.policy_problem {
            None => json!({"status": "ok"}),
            Some(p) => json!({"status": "degraded", "error": p.first_error,
                "errors": p.errors.len(), "serving": if p.last_good { "last_good" } else { "none" },
                "saved_at": p.saved_at.map(crate::clock::rfc3339), "message": p.note()}),
        },
        Err(e) => json!({"status": "degraded", "error": e}),
    };
    let status = if policies["status"] == "ok" {
        "ok"
    } else {
        "degraded"
    };
    let mut v = json!({"status": status, "policies": policies, "last_scan": last.first()});
    // `?check=store`: the database's integrity and cross-table references.
    if matches!(q.check, Some(HealthCheck::Store)) {
        let problems = store_check(&s).await?;
        v["store"] = json!({"ok": problems.is_empty(), "problems": problems});
    }
    ok(v)
}

/// The store check, run once at a time and reused for a few seconds: it
/// reads the whole store, so unbounded it would starve every other read.
async fn store_check(s: &Api) -> Result<Vec<String>, ApiError> {
    let mut last = s.store_check.lock().await;
    if let Some((at, problems)) = &*last
        && at.elapsed() < STORE_CHECK_TTL
    {
        return Ok(problems.clone());
    }
    let problems = s.store.check().await?;
    *last = Some((tokio::time::Instant::now(), problems.clone()));
    Ok(problems)
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "server",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
async fn openapi_json(State(s): S, Params(_): Params<NoQuery>) -> Res {
    Ok(json_bytes(s.openapi.get().cloned().unwrap_or_default()))
}

/// Serialized answers of the read endpoints whose data only a scan
/// changes (compliance, issue lists), keyed by endpoint and parameters:
/// (store generation, body). An entry of an older generation is stale.
pub(crate) type ResponseCache = std::sync::Mutex<HashMap<String, (u64, Bytes)>>;

/// Entries kept before the cache is emptied (a bound on memory; most reads
/// are of a few first pages).
const CACHE_ENTRIES: usize = 2048;

fn cache_get(s: &Server, key: &str, generation: u64) -> Option<Response> {
    let c = s.response_cache.lock().ok()?;
    let (g, body) = c.get(key)?;
    (*g == generation).then(|| json_bytes(body.clone()))
}

fn cache_put(s: &Server, key: String, generation: u64, v: &Value) -> Res {
    let bytes = Bytes::from(
        serde_json::to_vec(v)
            .map_err(|e| ApiError::internal(format!("serializing the answer: {e}")))?,
    );
    if let Ok(mut c) = s.response_cache.lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, (generation, bytes.clone()));
    }
    Ok(json_bytes(bytes))
}

/// Compliance roll-up: overall, per category, severity, policy and rule,
/// tagging, coverage.
#[utoipa::path(get, path = "/api/v1/compliance", tag = "compliance", params(GroupQuery),
    responses((status = 200, description = "the figures of the last scan", body = Object),
        (status = 404, description = "an unknown asset group", body = ErrorBody),
        (status = 503, description = "no scan has completed yet, or the first is running", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds, while the first scan runs")))))]
async fn compliance(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<GroupQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    // The generation is read before the store: a scan committing meanwhile
    // bumps it, so what is cached under this value is not served after it.
    let generation = s.store.generation();
    let key = format!("compliance|{}", group.as_deref().unwrap_or(""));
    if let Some(r) = cache_get(&s, &key, generation) {
        return Ok(r);
    }
    match s.store.compliance(group.as_deref().unwrap_or("")).await? {
        Some((scan, at, body)) => {
            let mut v = json!({"group": group, "scan": scan, "at": crate::clock::rfc3339(at)});
            if let (Some(o), Some(b)) = (v.as_object_mut(), body.as_object()) {
                o.extend(b.clone());
            }
            cache_put(&s, key, generation, &v)
        }
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no scan has completed yet; POST /api/v1/scans starts one",
        )),
    }
}

fn json_bytes(body: Bytes) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Daily compliance history (overall, or one policy).
#[utoipa::path(get, path = "/api/v1/compliance/history", tag = "compliance", params(HistoryQuery),
    responses((status = 200, description = "one row per day", body = Object), (status = 404, description = "an unknown asset group", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn history(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<HistoryQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    let rows = s
        .store
        .history(
            group.as_deref().unwrap_or(""),
            q.policy.as_deref().unwrap_or(""),
        )
        .await?;
    ok(json!({"group": group, "policy": q.policy, "days": rows}))
}

pub(crate) fn policy_json(
    p: &pac_compiler::Program,
    pi: usize,
    figures: &HashMap<String, Value>,
) -> Value {
    let pol = &p.policies[pi];
    let rules: Vec<Value> = pol
        .rules
        .iter()
        .map(|&ri| {
            let r = &p.rules[ri];
            json!({
                "id": r.id,
                "resource_type": r.resource_type,
                "group": r.scope.map(|g| p.groups[g].name.clone()),
                "autofix": r.autofix.as_ref().map(|a| json!({"action": a.action, "grace_seconds": a.after})),
                "compliance": figures.get(&r.id),
            })
        })
        .collect();
    json!({
        "id": pol.name,
        "title": pol.title,
        "description": pol.description,
        "severity": pol.severity.name(),
        "category": pol.category,
        "remediation": pol.remediation,
        "tags": pol.tags,
        "doc": pol.doc,
        "file": p.files.get(pol.file as usize).map(|f| f.path.clone()),
        "rules": rules,
        "compliance": figures.get(&format!("policy:{}", pol.name)),
    })
}

pub(crate) async fn figures(s: &Server, group: &str) -> Result<HashMap<String, Value>, ApiError> {
    let mut out = HashMap::new();
    if let Some((_, _, body)) = s.store.compliance(group).await? {
        for f in body["rules"].as_array().into_iter().flatten() {
            if let Some(n) = f["name"].as_str() {
                out.insert(n.to_string(), f.clone());
            }
        }
        for f in body["policies"].as_array().into_iter().flatten() {
            if let Some(n) = f["name"].as_str() {
                out.insert(format!("policy:{n}"), f.clone());
            }
        }
    }
    Ok(out)
}

/// Policies with their rules and compliance.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", params(PoliciesQuery),
    responses((status = 200, description = "every policy", body = List), (status = 404, description = "an unknown asset group", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn policies(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<PoliciesQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group.clone()).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let figs = figures(&s, group.as_deref().unwrap_or("")).await?;
    let items: Vec<Value> = (0..p.policies.len())
        .filter(|&i| {
            q.category
                .as_ref()
                .is_none_or(|c| &p.policies[i].category == c)
        })
        .filter(|&i| {
            q.severity
                .is_none_or(|c| p.policies[i].severity.name() == c.name())
        })
        .map(|i| policy_json(p, i, &figs))
        .collect();
    Ok(axum::Json(List {
        total: items.len(),
        items,
        group: Some(group),
    })
    .into_response())
}

/// One policy, with its open-issue count.
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies",
    params(("id" = String, Path, description = "policy name"), GroupQuery),
    responses((status = 200, description = "the policy", body = Object),
        (status = 404, description = "no such policy or asset group", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn policy(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(q): Params<GroupQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let Some(pi) = p.policies.iter().position(|x| x.name == id) else {
        let names: Vec<&str> = p.policies.iter().map(|x| x.name.as_str()).collect();
        let hint = pac_compiler::suggest::did_you_mean(&id, names)
            .map(|x| format!(" (did you mean `{x}`?)"))
            .unwrap_or_default();
        return Err(ApiError::not_found(format!("no policy `{id}`{hint}")));
    };
    let figs = figures(&s, group.as_deref().unwrap_or("")).await?;
    let mut v = policy_json(p, pi, &figs);
    let f = IssueFilter {
        policy: Some(id.clone()),
        status: Some(IssueStatus::Open),
        groups: group.clone().map(|g| vec![g]),
        ..Default::default()
    };
    let (_, open) = s.store.issues(&f, 1, 0).await?;
    v["open_issues"] = json!(open);
    ok(v)
}

/// Issues (violations), paginated.
#[utoipa::path(get, path = "/api/v1/issues", tag = "issues", params(IssuesQuery),
    responses((status = 200, description = "a page of issues", body = Page), (status = 404, description = "an unknown asset group", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn issues(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<IssuesQuery>,
) -> Res {
    let (page, per, offset) = paging(q.page, q.per_page);
    // Keyset paging: `after` (the `next_after` of the previous answer) reads
    // the next ids from the index instead of skipping `offset` rows.
    let after = q.after;
    let f = IssueFilter {
        policy: q.policy,
        status: q.status,
        severity: q.severity.map(|x| x.name().to_string()),
        groups: list_groups(&s, &read_scope(&caller), q.group).await?,
        resource_key: None,
        after,
    };
    let generation = s.store.generation();
    let key = format!(
        "issues|{:?}|{:?}|{:?}|{:?}|{page}|{per}|{after:?}",
        f.policy, f.status, f.severity, f.groups
    );
    if let Some(r) = cache_get(&s, &key, generation) {
        return Ok(r);
    }
    let offset = if after.is_some() { 0 } else { offset };
    let (rows, total) = s.store.issues(&f, per, offset).await?;
    let next = if rows.len() as i64 == per {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let mut body = page_body(json!(rows), page, per, total);
    body.next_after = Some(next);
    cache_put(&s, key, generation, &json!(body))
}

pub(crate) fn parse_id(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad(format!("{what} ids are whole numbers, not `{id}`")))
}

/// One issue with its events and auto-fix jobs.
#[utoipa::path(get, path = "/api/v1/issues/{id}", tag = "issues",
    params(("id" = i64, Path, description = "issue id")),
    responses((status = 200, description = "the issue", body = Object),
        (status = 404, description = "no such issue", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn issue(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let id = parse_id(&id, "issue")?;
    let i = match s.store.issue(id).await? {
        Some(i) if resource_in_scope(&s, &read_scope(&caller), &i.resource_key).await? => i,
        _ => return Err(ApiError::not_found(format!("no issue {id}"))),
    };
    let events = s.store.issue_events(id).await?;
    let jobs = s.store.jobs_of_issue(id).await?;
    let mut v = json!(i);
    v["events"] = json!(events);
    v["autofix_jobs"] = json!(jobs);
    ok(v)
}

/// Current resources, paginated.
#[utoipa::path(get, path = "/api/v1/resources", tag = "resources", params(ResourcesQuery),
    responses((status = 200, description = "a page of resources", body = Page), (status = 404, description = "an unknown asset group", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn resources(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<ResourcesQuery>,
) -> Res {
    let (page, per, offset) = paging(q.page, q.per_page);
    let f = ResourceFilter {
        rtype: q.rtype,
        groups: list_groups(&s, &read_scope(&caller), q.group).await?,
        q: q.q,
    };
    let (rows, total) = s.store.resources(&f, per, offset).await?;
    ok_page(page_body(json!(rows), page, per, total))
}

/// Asset 360: the resource, its groups, issues (with their history) and
/// the exceptions that name or cover it.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "resource id, or key type|account|region|id")),
    responses((status = 200, description = "the resource with its groups, issues, exceptions and history", body = Object),
        (status = 404, description = "no such resource", body = ErrorBody), (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
async fn resource(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    ok(asset_360(&s, &read_scope(&caller), &id).await?)
}

/// The asset 360 answer of `GET /api/v1/resources/{id}` (also the portal's
/// asset page): a resource outside `scope` is answered as one that does
/// not exist.
pub(crate) async fn asset_360(s: &Server, scope: &Scope, id: &str) -> Result<Value, ApiError> {
    let found = s.store.resource(id).await?;
    let groups = match &found {
        Some(r) => s.store.resource_groups(&r.key).await?,
        None => Vec::new(),
    };
    let r = match found {
        Some(r) if scope.covers_any(&groups) => r,
        _ => {
            return Err(ApiError::not_found(format!(
                "no resource `{id}` (give its id or its key type|account|region|id)"
            )));
        }
    };
    // The names of groups the caller cannot see are not shown.
    let groups: Vec<String> = groups.into_iter().filter(|g| scope.covers(g)).collect();
    let f = IssueFilter {
        resource_key: Some(r.key.clone()),
        ..Default::default()
    };
    let (issues, _) = s.store.issues(&f, 1000, 0).await?;
    let mut history = Vec::new();
    let mut covering: Vec<String> = Vec::new();
    for i in &issues {
        for e in s.store.issue_events(i.id).await? {
            history.push(json!({"issue": i.id, "rule": i.rule, "at": e.at, "kind": e.kind, "detail": e.detail}));
        }
        if let Some(x) = &i.exception
            && !covering.contains(x)
        {
            covering.push(x.clone());
        }
    }
    history.sort_by_key(|h| h["at"].as_i64().unwrap_or(0));
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let exceptions: Vec<Value> = p
        .exceptions
        .iter()
        .filter(|x| x.resources.contains(&r.id) || covering.contains(&x.name))
        .map(|x| exception_json(p, x))
        .collect();
    let exceptions = visible_exceptions(s, scope, exceptions).await?;
    let mut v = json!(r);
    v["groups"] = json!(groups);
    v["issues"] = json!(issues);
    v["exceptions"] = json!(exceptions);
    v["history"] = json!(history);
    Ok(v)
}

pub(crate) fn exception_json(p: &pac_compiler::Program, x: &pac_compiler::ir::Exception) -> Value {
    let file = p
        .files
        .get(x.file as usize)
        .map(|f| f.path.clone())
        .unwrap_or_default();
    let api = file == crate::program::API_FILE;
    json!({
        "name": x.name,
        "sticky": x.sticky,
        "rules": x.rules.iter().map(|&r| p.rules[r].id.clone()).collect::<Vec<_>>(),
        "resources": x.resources,
        "group": x.scope.and_then(|g| p.groups.get(g)).map(|g| g.name.clone()),
        "condition": x.sticky.then(|| x.conds.first().map(|(_, e)| p.snippet(x.file, e.span).to_string())).flatten(),
        "expires": pac_stdlib::Value::Time(x.expires).to_string(),
        "reason": x.reason,
        "origin": if api { "api".to_string() } else { file },
    })
}

/// Asset groups (from policy files and the API) with member counts.
#[utoipa::path(get, path = "/api/v1/asset-groups", tag = "asset groups",
    responses((status = 200, description = "every asset group", body = List)))]
async fn groups(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
) -> Res {
    let items = group_items(&s, &read_scope(&caller)).await?;
    Ok(axum::Json(List {
        total: items.len(),
        items,
        group: None,
    })
    .into_response())
}

/// The asset groups `scope` covers, as `GET /api/v1/asset-groups` lists
/// them (also the portal's group selector).
pub(crate) async fn group_items(s: &Server, scope: &Scope) -> Result<Vec<Value>, ApiError> {
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let counts: HashMap<String, i64> = s
        .store
        .group_names_with_members()
        .await?
        .into_iter()
        .collect();
    let api: HashMap<String, GroupRow> = s
        .store
        .api_groups()
        .await?
        .into_iter()
        .map(|g| (g.name.clone(), g))
        .collect();
    let mut items: Vec<Value> = p
        .groups
        .iter()
        .filter(|g| scope.covers(&g.name))
        .map(|g| {
            let file = p
                .files
                .get(g.file as usize)
                .map(|f| f.path.clone())
                .unwrap_or_default();
            let from_api = api.get(&g.name);
            json!({
                "name": g.name,
                "title": g.title,
                "doc": g.doc,
                "types": g.members.iter().map(|m| p.schemas.records.get(m.resource.0 as usize).and_then(|r| r.resource_type.clone())).collect::<Vec<_>>(),
                "members": counts.get(&g.name).copied().unwrap_or(0),
                "origin": if from_api.is_some() { "api".to_string() } else { file },
                "created_by": from_api.map(|x| x.created_by.clone()),
            })
        })
        .collect();
    // API groups the current policies could not compile are shown too.
    for (name, g) in &api {
        if scope.covers(name) && !p.groups.iter().any(|x| &x.name == name) {
            items.push(
                json!({"name": name, "title": g.title, "members": 0, "origin": "api",
                "created_by": g.created_by, "problem": loaded.api_problem}),
            );
        }
    }
    Ok(items)
}

/// A 400 for fields that do not parse, do not name what they must, or do
/// not type-check; each problem positioned inside its field.
fn field_errors(e: Vec<crate::program::FieldError>) -> ApiError {
    let message = match e.first() {
        None => "the item is not valid".to_string(),
        Some(f) if f.code.as_deref() == Some(crate::program::SYNTAX_CODE) => format!(
            "`{}` is not one Pac expression: {}:{}: {}",
            f.field, f.line, f.column, f.message
        ),
        Some(f) if f.code.is_some() => format!(
            "it does not compile with the current policies: {}",
            f.summary()
        ),
        Some(f) => f.message.clone(),
    };
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message,
        details: Some(json!(e)),
    }
}

/// The policy set new API items are checked against: the one served (the
/// last good one while the files do not compile).
async fn program_for_items(s: &Server) -> Result<Arc<crate::program::Loaded>, ApiError> {
    let loaded = s
        .current_program()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    if let Some(p) = loaded
        .policy_problem
        .as_ref()
        .filter(|_| loaded.is_placeholder())
    {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, p.note()));
    }
    Ok(loaded)
}

/// Define an asset group (compiled like a policy group; it applies from
/// the next scan).
#[utoipa::path(post, path = "/api/v1/asset-groups", tag = "asset groups", request_body = NewGroup,
    responses((status = 201, description = "the group, as stored", body = Object),
        (status = 409, description = "a group of that name exists", body = ErrorBody)))]
async fn post_group(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewGroup>(&body)?;
    let name = v.name;
    let g = GroupRow {
        name: name.clone(),
        title: v.title,
        members: v
            .members
            .into_iter()
            .map(|m| crate::store::GroupMemberSpec {
                rtype: m.rtype,
                condition: m.condition,
            })
            .collect(),
        created_by: author(&caller, v.created_by),
        created_at: s.clock.now(),
    };
    let loaded = program_for_items(&s.server).await?;
    let gs = s.store.api_groups().await?;
    if gs.iter().any(|x| x.name == name) || loaded.program().groups.iter().any(|x| x.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an asset group `{name}` exists already"),
        ));
    }
    let g = tokio::task::spawn_blocking(move || crate::program::check_group(&loaded, &g))
        .await
        .map_err(ApiError::internal)?
        .map_err(field_errors)?;
    if !s.store.put_group(&g).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an asset group `{name}` exists already"),
        ));
    }
    Ok(Change::new(format!("asset group {name}")).after(&g).on((
        StatusCode::CREATED,
        axum::Json(json!(g)),
    )
        .into_response()))
}

/// Exceptions (from policy files and the API).
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "exceptions", params(ExceptionsQuery),
    responses((status = 200, description = "every exception", body = List)))]
async fn exceptions(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<ExceptionsQuery>,
) -> Res {
    let now = s.clock.now();
    let mut items = exception_items(&s, &read_scope(&caller)).await?;
    if q.mine == Some(true) {
        items.retain(|v| v["created_by"] == caller.id.as_str());
    }
    if let Some(days) = q.expiring_within_days {
        // For the owners: what stops exempting soon, soonest first.
        let until = now + days * 86_400;
        items.retain(|v| {
            v["expires_at"]
                .as_i64()
                .is_some_and(|t| t > now && t <= until)
        });
        items.sort_by_key(|v| v["expires_at"].as_i64());
    }
    Ok(axum::Json(List {
        total: items.len(),
        items,
        group: None,
    })
    .into_response())
}

/// Every exception `scope` may see, as `GET /api/v1/exceptions` lists
/// them (also the portal's exceptions page).
pub(crate) async fn exception_items(s: &Server, scope: &Scope) -> Result<Vec<Value>, ApiError> {
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let api: HashMap<String, ExceptionRow> = s
        .store
        .api_exceptions()
        .await?
        .into_iter()
        .map(|x| (x.name.clone(), x))
        .collect();
    let now = s.clock.now();
    // Policy-file exceptions as compiled; API ones as stored (they apply
    // from the next scan, so the stored row is the truth).
    let mut items: Vec<Value> = p
        .exceptions
        .iter()
        .filter(|x| !api.contains_key(&x.name))
        .map(|x| {
            let mut v = exception_json(p, x);
            v["expired"] = json!(x.expires <= now);
            v["expires_at"] = json!(x.expires);
            v
        })
        .collect();
    let mut names: Vec<&String> = api.keys().collect();
    names.sort();
    for name in names {
        let x = &api[name];
        let expires = pac_lang::lexer::parse_timestamp(&x.expires).unwrap_or(i64::MIN);
        let mut v = json!({
            "name": x.name,
            "sticky": x.condition.is_some(),
            "rules": x.targets,
            "resources": x.resources,
            "condition": x.condition,
            "group": x.group,
            "expires": pac_stdlib::Value::Time(expires).to_string(),
            "expired": expires <= now,
            "reason": x.reason,
            "origin": "api",
            "created_by": x.created_by,
            "created_at": x.created_at,
            "approved_by": x.approved_by,
            "expires_at": expires,
        });
        if !p.exceptions.iter().any(|e| &e.name == name)
            && let Some(pb) = &loaded.api_problem
        {
            v["problem"] = json!(pb);
        }
        items.push(v);
    }
    visible_exceptions(s, scope, items).await
}

/// Of exceptions (as [`exception_json`] shows them), what a caller with
/// `scope` may see: one confined to a group when it covers the group; an
/// unconfined one when it is sticky (its condition names no resource) or
/// lists a resource the caller sees. Listed ids the caller cannot see are
/// left out.
pub(crate) async fn visible_exceptions(
    s: &Server,
    scope: &Scope,
    mut items: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let Some(groups) = scope.groups() else {
        return Ok(items);
    };
    let ids: Vec<String> = items
        .iter()
        .flat_map(|v| v["resources"].as_array().into_iter().flatten())
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let seen: BTreeSet<String> = s
        .store
        .ids_in_groups(&ids, groups)
        .await?
        .into_iter()
        .collect();
    items.retain_mut(|v| {
        let listed: Vec<Value> = v["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r.as_str().is_some_and(|r| seen.contains(r)))
            .cloned()
            .collect();
        let keep = match v["group"].as_str() {
            Some(g) => scope.covers(g),
            None => v["sticky"].as_bool() == Some(true) || !listed.is_empty(),
        };
        v["resources"] = json!(listed);
        keep
    });
    Ok(items)
}

/// Add an exception: per resource id, or sticky with a condition (it
/// applies from the next scan).
#[utoipa::path(post, path = "/api/v1/exceptions", tag = "exceptions", request_body = NewException,
    responses((status = 201, description = "the exception, as stored", body = Object),
        (status = 409, description = "an exception of that name exists", body = ErrorBody)))]
async fn post_exception(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewException>(&body)?;
    let name = v.name;
    let resources = v.resources.unwrap_or_default();
    confine_exception(&s, &caller, Role::Approver, &v.group, &resources).await?;
    let x = ExceptionRow {
        name: name.clone(),
        targets: v.targets,
        resources,
        condition: v.condition,
        group: v.group,
        expires: v.expires,
        reason: v.reason,
        created_by: author(&caller, v.created_by),
        created_at: s.clock.now(),
        approved_by: None,
    };
    let x = check_new_exception(&s, x).await?;
    let put = s.store.put_exception(&x).await?;
    s.search.others_changed();
    if !put {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an exception `{name}` exists already"),
        ));
    }
    let change = Change::new(format!("exception {name}")).after(&x);
    let mut out = json!(x);
    out["note"] = json!("it applies from the next scan");
    Ok(change.on((StatusCode::CREATED, axum::Json(out)).into_response()))
}

/// The exception `x` checked against the current policies and the stored
/// exceptions: 409 for a taken name, 400 with the compiler's words.
async fn check_new_exception(s: &Server, x: ExceptionRow) -> Result<ExceptionRow, ApiError> {
    let loaded = program_for_items(s).await?;
    let xs = s.store.api_exceptions().await?;
    if xs.iter().any(|e| e.name == x.name)
        || loaded.program().exceptions.iter().any(|e| e.name == x.name)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "an exception `{}` exists already: choose another name",
                x.name
            ),
        ));
    }
    tokio::task::spawn_blocking(move || crate::program::check_exception(&loaded, &x))
        .await
        .map_err(ApiError::internal)?
        .map_err(field_errors)
}

/// Checks that `caller` may grant an exception confined to `group` (none:
/// every group) listing `resources`: it approves on that group (or on
/// `*`), and every listed id is a current member of the group. A group the
/// caller cannot see is answered as an unknown one, and an id outside the
/// group the same whether it exists elsewhere or not.
async fn confine_exception(
    s: &Server,
    caller: &Principal,
    role: Role,
    group: &Option<String>,
    resources: &[String],
) -> Result<(), ApiError> {
    let may = Scope::of(caller, role);
    let verb = if role == Role::Requester {
        "request"
    } else {
        "grant"
    };
    let Some(mine) = may.groups() else {
        return Ok(());
    };
    let Some(g) = group else {
        return Err(ApiError::bad(format!(
            "name the asset group the exception is for in `group`: you {verb} exceptions on {} only",
            mine.join(", ")
        )));
    };
    check_group(s, &read_scope(caller), group).await?;
    if !may.covers(g) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not {verb} exceptions on asset group `{g}`: that needs the {} role on it; ask an admin",
                caller.name,
                role.as_str()
            ),
        ));
    }
    let members: BTreeSet<String> = s
        .store
        .ids_in_groups(resources, std::slice::from_ref(g))
        .await?
        .into_iter()
        .collect();
    let outside: Vec<&str> = resources
        .iter()
        .filter(|r| !members.contains(*r))
        .map(String::as_str)
        .take(10)
        .collect();
    if !outside.is_empty() {
        return Err(ApiError::bad(format!(
            "not a current member of asset group `{g}`: {}; an exception confined to a group lists its members only",
            outside.join(", ")
        )));
    }
    Ok(())
}

/// Remove an API-defined exception (its issues reopen at the next scan).
#[utoipa::path(delete, path = "/api/v1/exceptions/{name}", tag = "exceptions",
    params(("name" = String, Path, description = "exception name")),
    responses((status = 204, description = "removed"),
        (status = 404, description = "no such exception (or removed already)", body = ErrorBody),
        (status = 409, description = "the exception is defined in a policy file", body = ErrorBody)))]
async fn delete_exception(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(name): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    // The stored row: the scope check below, and the audit log's `before`.
    let before = s
        .store
        .api_exceptions()
        .await?
        .into_iter()
        .find(|x| x.name == name);
    let approve = Scope::of(&caller, Role::Approver);
    if !approve.is_all() {
        // Only an exception confined to a group the caller approves on;
        // one it cannot see is answered as missing.
        match before.as_ref().and_then(|x| x.group.as_deref()) {
            Some(g) if approve.covers(g) => {}
            Some(g) if read_scope(&caller).covers(g) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{} may not remove exceptions of asset group `{g}`: that needs the approver role on it",
                        caller.name
                    ),
                ));
            }
            _ => {
                return Err(ApiError::not_found(format!(
                    "no exception `{name}` made through the API in your asset groups"
                )));
            }
        }
    }
    let deleted = s.store.delete_exception(&name, s.clock.now()).await?;
    s.search.others_changed();
    if deleted {
        return Ok(Change::new(format!("exception {name}"))
            .before(before)
            .on(StatusCode::NO_CONTENT.into_response()));
    }
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    // An API exception removed already may still be in the compiled set
    // until the next load: only a file's own exception is a conflict.
    let file_of = |x: &pac_compiler::ir::Exception| {
        p.files
            .get(x.file as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default()
    };
    if let Some(x) = p
        .exceptions
        .iter()
        .find(|x| x.name == name && file_of(x) != crate::program::API_FILE)
    {
        let file = file_of(x);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "exception `{name}` is defined in {file}: remove it there (exceptions in policy files are reviewed as code)"
            ),
        ));
    }
    Err(ApiError::not_found(format!("no exception `{name}`")))
}

/// Scans, newest first.
#[utoipa::path(get, path = "/api/v1/scans", tag = "scans", params(PageQuery),
    responses((status = 200, description = "a page of scans", body = Page)))]
async fn scans(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<PageQuery>,
) -> Res {
    let (page, per, offset) = paging(q.page, q.per_page);
    let (rows, total) = s.store.scans(per, offset).await?;
    let full = read_scope(&caller).is_all();
    let rows: Vec<Value> = rows.iter().map(|r| scan_json(r, full)).collect();
    ok_page(page_body(json!(rows), page, per, total))
}

/// A scan as `GET /api/v1/scans` shows it. Its figures and read errors are
/// about the whole estate, so a caller confined to some groups sees when
/// and how it ran, not what it found.
pub(crate) fn scan_json(r: &crate::store::ScanRow, full: bool) -> Value {
    if full {
        return json!(r);
    }
    json!({
        "id": r.id,
        "source": r.source,
        "trigger": r.trigger,
        "status": r.status,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "duration_ms": r.duration_ms,
        "figures": "the figures and read errors of a scan cover every group: they are shown to roles on `*`",
    })
}

/// Start a scan now (of one source, or all). A source with a scan
/// already waiting is not queued again: that scan serves this request.
#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", request_body(content = NewScan, description = "optional: an empty body scans every source"),
    responses((status = 202, description = "queued; the scans' records say how they went", body = ScansQueued),
        (status = 404, description = "no such source", body = ErrorBody)))]
async fn post_scan(State(s): S, Params(_): Params<NoQuery>, body: Bytes) -> Res {
    let v = typed_body::<NewScan>(&body)?;
    let names: Vec<String> = match v.source {
        Some(n) => {
            if s.source(&n).is_none() {
                let known: Vec<&str> = s.sources.iter().map(|x| x.name.as_str()).collect();
                return Err(ApiError::not_found(format!(
                    "no source `{n}` (configured: {})",
                    known.join(", ")
                )));
            }
            vec![n]
        }
        None => s.sources.iter().map(|x| x.name.clone()).collect(),
    };
    let (fresh, already): (Vec<String>, Vec<String>) = {
        let mut q = s
            .queued
            .lock()
            .map_err(|_| ApiError::internal("the scan queue is poisoned"))?;
        let (fresh, already): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| !q.contains(n));
        q.extend(fresh.iter().cloned());
        (fresh, already)
    };
    // The scans run in the background, one at a time; their records say
    // how they went. A source leaves the queue when its scan may start.
    if !fresh.is_empty() {
        let api = s.clone();
        let names = fresh.clone();
        tokio::spawn(async move {
            for n in names {
                {
                    let _turn = api.server.scan_lock.lock().await;
                    if let Ok(mut q) = api.queued.lock() {
                        q.remove(&n);
                    }
                }
                if let Err(e) = api.server.scan(&n, "api").await {
                    tracing::error!(source = %n, "scan failed: {e}");
                }
            }
        });
    }
    let change = Change::new("scans").after(json!({"queued": fresh, "already_queued": already}));
    Ok(change.on((
        StatusCode::ACCEPTED,
        axum::Json(ScansQueued {
            status: "queued",
            queued: fresh,
            already_queued: already,
            see: "/api/v1/scans",
        }),
    )
        .into_response()))
}

/// One scan: counts, failed scopes, malformed documents.
#[utoipa::path(get, path = "/api/v1/scans/{id}", tag = "scans",
    params(("id" = i64, Path, description = "scan id")),
    responses((status = 200, description = "the scan", body = Object),
        (status = 404, description = "no such scan", body = ErrorBody)))]
async fn scan(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let id = parse_id(&id, "scan")?;
    match s.store.scan(id).await? {
        Some(r) => ok(scan_json(&r, read_scope(&caller).is_all())),
        None => Err(ApiError::not_found(format!("no scan {id}"))),
    }
}

/// Accept a `suspect` scan's removals: its source is read again at once,
/// and that read may remove what this one held back.
#[utoipa::path(post, path = "/api/v1/scans/{id}/confirm", tag = "scans",
    params(("id" = i64, Path, description = "scan id")),
    request_body(content = ConfirmScan, description = "an empty object"),
    responses((status = 202, description = "confirmed; the source is being read again", body = Object),
        (status = 404, description = "no such scan", body = ErrorBody),
        (status = 409, description = "not suspect, already confirmed, or superseded by a later scan of its source", body = ErrorBody)))]
async fn confirm_scan(
    State(s): S,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let id = parse_id(&id, "scan")?;
    let _ = typed_body::<ConfirmScan>(&body)?;
    match s.server.confirm_scan(id).await {
        Ok(row) => Ok(Change::new(format!("scan {id}"))
            .after(json!({"confirmed": true}))
            .on((
                StatusCode::ACCEPTED,
                axum::Json(json!({"status": "confirmed", "scan": row, "see": "/api/v1/scans"})),
            )
                .into_response())),
        Err(crate::ConfirmError::NotFound(m)) => Err(ApiError::not_found(m)),
        Err(crate::ConfirmError::Conflict(m)) => Err(ApiError::new(StatusCode::CONFLICT, m)),
        Err(crate::ConfirmError::Store(m)) => Err(ApiError::internal(m)),
    }
}

/// Auto-fix jobs.
#[utoipa::path(get, path = "/api/v1/autofix/jobs", tag = "auto-fix", params(JobsQuery),
    responses((status = 200, description = "a page of jobs", body = Page)))]
async fn jobs(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<JobsQuery>,
) -> Res {
    let (page, per, offset) = paging(q.page, q.per_page);
    let scope = read_scope(&caller);
    let (rows, total) = s.store.jobs(q.status, scope.groups(), per, offset).await?;
    ok_page(page_body(json!(rows), page, per, total))
}

/// One auto-fix job with its audit log.
#[utoipa::path(get, path = "/api/v1/autofix/jobs/{id}", tag = "auto-fix",
    params(("id" = i64, Path, description = "job id")),
    responses((status = 200, description = "the job", body = Object),
        (status = 404, description = "no such job", body = ErrorBody)))]
async fn job(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let id = parse_id(&id, "job")?;
    let j = match s.store.job(id).await? {
        Some(j) if resource_in_scope(&s, &read_scope(&caller), &j.resource_key).await? => j,
        _ => return Err(ApiError::not_found(format!("no auto-fix job {id}"))),
    };
    let mut v = json!(j);
    v["audit"] = json!(s.store.audit(Some(id)).await?);
    ok(v)
}

// ---------------------------------------------------------------------------
// Identity: the caller, API tokens (docs/auth.md)
// ---------------------------------------------------------------------------

/// Who is calling: how they proved it, what they hold, when their session
/// ends.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "the caller", body = Object),
        (status = 401, description = "no session or token (auth on)", body = ErrorBody)))]
async fn me(Extension(p): Extension<Principal>, Params(_): Params<NoQuery>) -> Res {
    let grants: Vec<Value> = p
        .grants
        .iter()
        .map(|(r, g)| json!({"role": r, "group": g}))
        .collect();
    let mut v = json!({"id": p.id, "name": p.name, "kind": p.kind, "grants": grants});
    if let Some((expires_at, idle_expires_at)) = p.session {
        v["session"] = json!({"expires_at": expires_at, "idle_expires_at": idle_expires_at});
    }
    ok(v)
}

/// Tokens are an admin's business: `admin` on every group (`*`).
fn need_global_admin(p: &Principal, what: &str) -> Result<(), ApiError> {
    if p.has_global(Role::Admin) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!("{what} needs the admin role on every asset group (`*`); ask an admin"),
    ))
}

/// `POST /api/v1/tokens`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for (shown in lists).
    #[schema(min_length = 1, max_length = 128)]
    name: String,
    role: Role,
    /// Asset groups the role holds on; `["*"]` for all.
    #[schema(min_items = 1, max_items = 1000)]
    groups: Vec<String>,
    /// Days until it expires (at most `auth.token_max_days`, default 365).
    #[schema(minimum = 1, maximum = 3650)]
    expires_days: i64,
}
impl Check for NewToken {
    fn check(&self) -> Result<(), ApiError> {
        filled("name", &self.name)?;
        max_len("name", &self.name, NAME_MAX)?;
        if self.groups.is_empty() {
            return Err(ApiError::bad(
                "`groups` is empty: list asset groups, or [\"*\"] for all",
            ));
        }
        // Entries are not checked further: a name that is no asset group
        // grants nothing (and the body limit bounds their size).
        max_items("groups", self.groups.len())?;
        in_range("expires_days", Some(self.expires_days), 1, 3650)
    }
}

fn token_json(t: &crate::auth::store::TokenRow, now: i64) -> Value {
    let status = if t.revoked_at.is_some() {
        "revoked"
    } else if now >= t.expires_at {
        "expired"
    } else {
        "live"
    };
    let groups: Vec<String> = serde_json::from_str(&t.groups).unwrap_or_default();
    json!({"id": t.id, "name": t.name, "prefix": t.prefix, "role": t.role, "groups": groups,
        "created_by": t.created_by, "created_at": t.created_at, "expires_at": t.expires_at,
        "last_used_at": t.last_used_at, "revoked_at": t.revoked_at, "revoked_by": t.revoked_by,
        "bootstrap": t.bootstrap != 0, "status": status})
}

/// Whether an admin with `scope` manages token `t`: an admin on `*` every
/// token; an admin of some groups those whose groups it all administers.
fn manages(scope: &Scope, t: &crate::auth::store::TokenRow) -> bool {
    let groups: Vec<String> = serde_json::from_str(&t.groups).unwrap_or_default();
    scope.is_all() || (!groups.is_empty() && groups.iter().all(|g| scope.covers(g)))
}

/// API tokens, without their secrets, with their last use: all of them
/// for an admin on `*`, those of its groups for an admin of some groups.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, description = "every token", body = List),
        (status = 401, description = "no session or token (auth on)", body = ErrorBody)))]
async fn tokens(
    State(s): S,
    Extension(p): Extension<Principal>,
    Params(_): Params<NoQuery>,
) -> Res {
    let now = s.clock.now();
    let admin = Scope::of(&p, Role::Admin);
    let items: Vec<Value> = s
        .auth
        .store
        .tokens()
        .await?
        .iter()
        .filter(|t| manages(&admin, t))
        .map(|t| token_json(t, now))
        .collect();
    let total = items.len();
    ok(json!({"items": items, "total": total}))
}

/// Create an API token. Its secret is in this answer only: it is stored
/// as a SHA-256 hash.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, description = "the token, with its secret (shown once)", body = Object),
        (status = 401, description = "no session or token (auth on)", body = ErrorBody)))]
async fn post_token(
    State(s): S,
    Extension(p): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewToken>(&body)?;
    // An admin of some groups makes tokens for those groups only.
    let admin = Scope::of(&p, Role::Admin);
    if let Some(mine) = admin.groups()
        && let Some(g) = v.groups.iter().find(|g| !admin.covers(g))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not make tokens for `{g}`: it is admin of {} only",
                p.name,
                mine.join(", ")
            ),
        ));
    }
    let max = s.auth.token_max_days;
    if v.expires_days > max {
        return Err(ApiError::bad(format!(
            "`expires_days` is {}: tokens live at most {max} days here (`auth.token_max_days`)",
            v.expires_days
        )));
    }
    let now = s.clock.now();
    let (secret, hash, prefix) = crate::auth::token::mint()?;
    let id = s
        .auth
        .store
        .put_token(
            &v.name,
            &hash,
            &prefix,
            v.role.as_str(),
            &v.groups,
            &p.id,
            now,
            now + v.expires_days * 86_400,
            false,
        )
        .await?;
    let row = s
        .auth
        .store
        .token(id)
        .await?
        .ok_or_else(|| ApiError::internal("the new token was not stored"))?;
    let mut out = token_json(&row, now);
    let change = Change::new(format!("token {id}")).after(&out);
    out["token"] = json!(secret);
    tracing::info!(token = id, by = %p.id, role = v.role.as_str(), "API token created");
    Ok(change.on((StatusCode::CREATED, axum::Json(out)).into_response()))
}

/// Revoke an API token (at once: its next use is refused).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204, description = "revoked"),
        (status = 401, description = "no session or token (auth on)", body = ErrorBody),
        (status = 404, description = "no such live token", body = ErrorBody)))]
async fn revoke_token(
    State(s): S,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let id = parse_id(&id, "token")?;
    // A token the caller does not manage is answered as missing.
    let admin = Scope::of(&p, Role::Admin);
    let managed = s
        .auth
        .store
        .token(id)
        .await?
        .is_some_and(|t| manages(&admin, &t));
    if managed && s.auth.store.revoke_token(id, s.clock.now(), &p.id).await? {
        tracing::info!(token = id, by = %p.id, "API token revoked");
        return Ok(Change::new(format!("token {id}"))
            .after(json!({"revoked": true}))
            .on(StatusCode::NO_CONTENT.into_response()));
    }
    Err(ApiError::not_found(format!(
        "no live token {id} (GET /api/v1/tokens lists them)"
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// A principal id (`token:3`, `oidc:…#sub`, `local`, `anonymous`).
    #[param(min_length = 1, max_length = 512)]
    actor: Option<String>,
    /// Unix seconds: events at or after.
    #[param(minimum = 0)]
    since: Option<i64>,
    /// Unix seconds: events before.
    #[param(minimum = 0)]
    until: Option<i64>,
    /// Only refused or failed requests (status 400 and above).
    failed: Option<bool>,
    /// Keyset paging: the `next_before` of the previous answer.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// Events per answer, 1 to 500 (100).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
}
impl Check for AuditQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("actor", &self.actor, ID_MAX)?;
        in_range("since", self.since, 0, i64::MAX)?;
        in_range("until", self.until, 0, i64::MAX)?;
        in_range("before", self.before, 1, i64::MAX)?;
        in_range("per_page", self.per_page, 1, PER_PAGE_MAX)
    }
}

/// The audit log, newest first: every change, sign-in and refusal, with
/// who, when, from where and what changed.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery),
    responses((status = 200, description = "events, newest first, and `next_before` for the next page", body = Object)))]
async fn audit_log(
    State(s): S,
    Extension(p): Extension<Principal>,
    Params(q): Params<AuditQuery>,
) -> Res {
    need_global_admin(&p, "reading the audit log")?;
    let limit = q.per_page.unwrap_or(100);
    let events = s
        .auth
        .store
        .audit_events(&AuditFilter {
            actor: q.actor,
            since: q.since,
            until: q.until,
            failed: q.failed == Some(true),
            before_id: q.before,
            limit,
        })
        .await?;
    let next = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    ok(json!({"items": events, "next_before": next}))
}
