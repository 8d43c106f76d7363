//! The REST API (JSON) and its OpenAPI document. Every error is a JSON
//! body `{"error": {"status", "message", "details"?}}`; unknown query
//! parameters and bad values are 400s that name the parameter.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::Server;
use crate::store::{ExceptionRow, GroupRow, IssueFilter, ResourceFilter};

type S = State<Arc<Server>>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: None,
        }
    }
    fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut e = json!({"status": self.status.as_u16(), "message": self.message});
        if let Some(d) = self.details {
            e["details"] = d;
        }
        (self.status, axum::Json(json!({ "error": e }))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

type Res = Result<Response, ApiError>;

fn ok(v: Value) -> Res {
    Ok(axum::Json(v).into_response())
}

/// Query parameters, checked against the names an endpoint accepts.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(raw: Option<String>, allowed: &[&str]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad(format!("the query string does not parse: {e}")))?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad(format!(
                    "unknown query parameter `{k}` (this endpoint takes: {})",
                    allowed.join(", ")
                )));
            }
            if !v.is_empty() {
                map.insert(k, v);
            }
        }
        Ok(Query(map))
    }
    fn get(&self, k: &str) -> Option<String> {
        self.0.get(k).cloned()
    }
    fn int(&self, k: &str, default: i64, min: i64, max: i64) -> Result<i64, ApiError> {
        match self.0.get(k) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad(format!(
                    "`{k}` must be a whole number from {min} to {max}, not `{v}`"
                ))),
            },
        }
    }
    /// (page, per_page, offset).
    fn page(&self) -> Result<(i64, i64, i64), ApiError> {
        let page = self.int("page", 1, 1, 1_000_000)?;
        let per = self.int("per_page", 50, 1, 500)?;
        Ok((page, per, (page - 1) * per))
    }
    fn one_of(&self, k: &str, values: &[&str]) -> Result<Option<String>, ApiError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(v) if values.contains(&v.as_str()) => Ok(Some(v.clone())),
            Some(v) => Err(ApiError::bad(format!(
                "`{k}` must be one of {}, not `{v}`",
                values.join(", ")
            ))),
        }
    }
}

fn page_body(items: Value, page: i64, per: i64, total: i64) -> Value {
    json!({"items": items, "page": page, "per_page": per, "total": total,
           "pages": (total + per - 1) / per})
}

fn body_json(b: &Bytes) -> Result<Value, ApiError> {
    if b.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(b).map_err(|e| {
        ApiError::bad(format!(
            "the request body is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Checks that a group exists (a file or API group with a roll-up).
async fn check_group(s: &Arc<Server>, group: &Option<String>) -> Result<(), ApiError> {
    let Some(g) = group else { return Ok(()) };
    let p = s.current_program().await.map_err(ApiError::internal)?;
    if p.program().groups.iter().any(|x| &x.name == g) {
        return Ok(());
    }
    let names: Vec<&str> = p.program().groups.iter().map(|x| x.name.as_str()).collect();
    Err(ApiError::not_found(format!(
        "no asset group `{g}` (known: {})",
        names.join(", ")
    )))
}

/// The API's router, ready to serve.
pub type App = Router;

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: App) {
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("API server: {e}");
    }
}

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/compliance", get(compliance))
        .route("/api/v1/compliance/history", get(history))
        .route("/api/v1/policies", get(policies))
        .route("/api/v1/policies/{id}", get(policy))
        .route("/api/v1/issues", get(issues))
        .route("/api/v1/issues/{id}", get(issue))
        .route("/api/v1/resources", get(resources))
        .route("/api/v1/resources/{id}", get(resource))
        .route("/api/v1/asset-groups", get(groups).post(post_group))
        .route("/api/v1/exceptions", get(exceptions).post(post_exception))
        .route("/api/v1/exceptions/{name}", delete(delete_exception))
        .route("/api/v1/scans", get(scans).post(post_scan))
        .route("/api/v1/scans/{id}", get(scan))
        .route(
            "/api/v1/scans/{id}/confirm",
            axum::routing::post(confirm_scan),
        )
        .route("/api/v1/autofix/jobs", get(jobs))
        .route("/api/v1/autofix/jobs/{id}", get(job))
        .fallback(|| async {
            ApiError::not_found("no such endpoint; GET /api/openapi.json lists them")
        })
        .with_state(server)
}

async fn healthz(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["check"])?;
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
    if q.get("check").as_deref() == Some("store") {
        let problems = s.store.check().await?;
        v["store"] = json!({"ok": problems.is_empty(), "problems": problems});
    }
    ok(v)
}

async fn openapi() -> Res {
    ok(openapi_document())
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

async fn compliance(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["group"])?;
    let group = q.get("group");
    check_group(&s, &group).await?;
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

async fn history(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["group", "policy"])?;
    let group = q.get("group");
    check_group(&s, &group).await?;
    let rows = s
        .store
        .history(
            group.as_deref().unwrap_or(""),
            q.get("policy").as_deref().unwrap_or(""),
        )
        .await?;
    ok(json!({"group": group, "policy": q.get("policy"), "days": rows}))
}

fn policy_json(p: &pac_compiler::Program, pi: usize, figures: &HashMap<String, Value>) -> Value {
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

async fn figures(s: &Arc<Server>, group: &str) -> Result<HashMap<String, Value>, ApiError> {
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

async fn policies(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["group", "category", "severity"])?;
    let group = q.get("group");
    check_group(&s, &group).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let figs = figures(&s, group.as_deref().unwrap_or("")).await?;
    let items: Vec<Value> = (0..p.policies.len())
        .filter(|&i| {
            q.get("category")
                .is_none_or(|c| p.policies[i].category == c)
        })
        .filter(|&i| {
            q.get("severity")
                .is_none_or(|c| p.policies[i].severity.name() == c)
        })
        .map(|i| policy_json(p, i, &figs))
        .collect();
    ok(json!({"group": group, "items": items, "total": items.len()}))
}

async fn policy(State(s): S, Path(id): Path<String>, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["group"])?;
    let group = q.get("group");
    check_group(&s, &group).await?;
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
        status: Some("open".into()),
        group: group.clone(),
        ..Default::default()
    };
    let (_, open) = s.store.issues(&f, 1, 0).await?;
    v["open_issues"] = json!(open);
    ok(v)
}

const STATUSES: &[&str] = &["open", "exempted", "closed"];
const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

async fn issues(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(
        q,
        &[
            "policy", "status", "group", "severity", "page", "per_page", "after",
        ],
    )?;
    let (page, per, offset) = q.page()?;
    // Keyset paging: `after` (the `next_after` of the previous answer) reads
    // the next ids from the index instead of skipping `offset` rows.
    let after = match q.0.get("after") {
        None => None,
        Some(_) => Some(q.int("after", 0, 0, i64::MAX)?),
    };
    let f = IssueFilter {
        policy: q.get("policy"),
        status: q.one_of("status", STATUSES)?,
        severity: q.one_of("severity", SEVERITIES)?,
        group: q.get("group"),
        resource_key: None,
        after,
    };
    check_group(&s, &f.group).await?;
    let generation = s.store.generation();
    let key = format!(
        "issues|{:?}|{:?}|{:?}|{:?}|{page}|{per}|{after:?}",
        f.policy, f.status, f.severity, f.group
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
    body["next_after"] = json!(next);
    cache_put(&s, key, generation, &body)
}

fn parse_id(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad(format!("{what} ids are whole numbers, not `{id}`")))
}

async fn issue(State(s): S, Path(id): Path<String>) -> Res {
    let id = parse_id(&id, "issue")?;
    let Some(i) = s.store.issue(id).await? else {
        return Err(ApiError::not_found(format!("no issue {id}")));
    };
    let events = s.store.issue_events(id).await?;
    let jobs = s.store.jobs_of_issue(id).await?;
    let mut v = json!(i);
    v["events"] = json!(events);
    v["autofix_jobs"] = json!(jobs);
    ok(v)
}

async fn resources(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["type", "group", "q", "page", "per_page"])?;
    let (page, per, offset) = q.page()?;
    let f = ResourceFilter {
        rtype: q.get("type"),
        group: q.get("group"),
        q: q.get("q"),
    };
    check_group(&s, &f.group).await?;
    let (rows, total) = s.store.resources(&f, per, offset).await?;
    ok(page_body(json!(rows), page, per, total))
}

/// Asset 360: the resource, its groups, issues (with their history) and
/// the exceptions that name or cover it.
async fn resource(State(s): S, Path(id): Path<String>) -> Res {
    let Some(r) = s.store.resource(&id).await? else {
        return Err(ApiError::not_found(format!(
            "no resource `{id}` (give its id or its key type|account|region|id)"
        )));
    };
    let groups = s.store.resource_groups(&r.key).await?;
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
    let mut v = json!(r);
    v["groups"] = json!(groups);
    v["issues"] = json!(issues);
    v["exceptions"] = json!(exceptions);
    v["history"] = json!(history);
    ok(v)
}

fn exception_json(p: &pac_compiler::Program, x: &pac_compiler::ir::Exception) -> Value {
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
        "condition": x.sticky.then(|| x.conds.first().map(|(_, e)| p.snippet(x.file, e.span).to_string())).flatten(),
        "expires": pac_stdlib::Value::Time(x.expires).to_string(),
        "reason": x.reason,
        "origin": if api { "api".to_string() } else { file },
    })
}

async fn groups(State(s): S) -> Res {
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
        if !p.groups.iter().any(|x| &x.name == name) {
            items.push(
                json!({"name": name, "title": g.title, "members": 0, "origin": "api",
                "created_by": g.created_by, "problem": loaded.api_problem}),
            );
        }
    }
    ok(json!({"items": items, "total": items.len()}))
}

fn str_field(v: &Value, k: &str, required: bool) -> Result<Option<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(ApiError::bad(format!("`{k}` is required"))),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad(format!("`{k}` must be a non-empty string"))),
    }
}

fn str_list(v: &Value, k: &str) -> Result<Vec<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(xs)) => xs
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad(format!("`{k}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(ApiError::bad(format!("`{k}` must be a list of strings"))),
    }
}

fn check_keys(v: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    let Some(o) = v.as_object() else {
        return Err(ApiError::bad("the request body must be a JSON object"));
    };
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad(format!(
                "unknown field `{k}` (expected: {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
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
async fn program_for_items(s: &Arc<Server>) -> Result<Arc<crate::program::Loaded>, ApiError> {
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

async fn post_group(State(s): S, body: Bytes) -> Res {
    let v = body_json(&body)?;
    check_keys(&v, &["name", "title", "members", "created_by"])?;
    let name = str_field(&v, "name", true)?.unwrap_or_default();
    let members = crate::program::member_specs(v.get("members").unwrap_or(&Value::Null))
        .map_err(ApiError::bad)?;
    if members.is_empty() {
        return Err(ApiError::bad(
            "`members` must list at least one resource type",
        ));
    }
    let g = GroupRow {
        name: name.clone(),
        title: str_field(&v, "title", false)?,
        members,
        created_by: str_field(&v, "created_by", true)?.unwrap_or_default(),
        created_at: s.clock.now(),
    };
    let loaded = program_for_items(&s).await?;
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
    Ok((StatusCode::CREATED, axum::Json(json!(g))).into_response())
}

async fn exceptions(State(s): S) -> Res {
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
            "expires": pac_stdlib::Value::Time(expires).to_string(),
            "expired": expires <= now,
            "reason": x.reason,
            "origin": "api",
            "created_by": x.created_by,
            "created_at": x.created_at,
        });
        if !p.exceptions.iter().any(|e| &e.name == name)
            && let Some(pb) = &loaded.api_problem
        {
            v["problem"] = json!(pb);
        }
        items.push(v);
    }
    ok(json!({"items": items, "total": items.len()}))
}

async fn post_exception(State(s): S, body: Bytes) -> Res {
    let v = body_json(&body)?;
    check_keys(
        &v,
        &[
            "name",
            "targets",
            "resources",
            "where",
            "expires",
            "reason",
            "created_by",
        ],
    )?;
    let name = str_field(&v, "name", true)?.unwrap_or_default();
    let targets = str_list(&v, "targets")?;
    if targets.is_empty() {
        return Err(ApiError::bad(
            "`targets` must list the policies (or policy.rule) the exception is for",
        ));
    }
    let resources = str_list(&v, "resources")?;
    let condition = str_field(&v, "where", false)?;
    if resources.is_empty() == condition.is_none() {
        return Err(ApiError::bad(
            "give either `resources` (ids) or `where` (a condition, for a sticky exception), not both or neither",
        ));
    }
    let x = ExceptionRow {
        name: name.clone(),
        targets,
        resources,
        condition,
        expires: str_field(&v, "expires", true)?.unwrap_or_default(),
        reason: str_field(&v, "reason", true)?.unwrap_or_default(),
        created_by: str_field(&v, "created_by", true)?.unwrap_or_default(),
        created_at: s.clock.now(),
    };
    let loaded = program_for_items(&s).await?;
    let xs = s.store.api_exceptions().await?;
    if xs.iter().any(|e| e.name == name)
        || loaded.program().exceptions.iter().any(|e| e.name == name)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an exception `{name}` exists already"),
        ));
    }
    let x = tokio::task::spawn_blocking(move || crate::program::check_exception(&loaded, &x))
        .await
        .map_err(ApiError::internal)?
        .map_err(field_errors)?;
    if !s.store.put_exception(&x).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("an exception `{name}` exists already"),
        ));
    }
    let mut out = json!(x);
    out["note"] = json!("it applies from the next scan");
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

async fn delete_exception(State(s): S, Path(name): Path<String>) -> Res {
    if s.store.delete_exception(&name, s.clock.now()).await? {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    if let Some(x) = p.exceptions.iter().find(|x| x.name == name) {
        let file = p
            .files
            .get(x.file as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "exception `{name}` is defined in {file}: remove it there (exceptions in policy files are reviewed as code)"
            ),
        ));
    }
    Err(ApiError::not_found(format!("no exception `{name}`")))
}

async fn scans(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["page", "per_page"])?;
    let (page, per, offset) = q.page()?;
    let (rows, total) = s.store.scans(per, offset).await?;
    ok(page_body(json!(rows), page, per, total))
}

async fn post_scan(State(s): S, body: Bytes) -> Res {
    let v = body_json(&body)?;
    check_keys(&v, &["source"])?;
    let names: Vec<String> = match str_field(&v, "source", false)? {
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
    // The scans run in the background, one at a time; their records say
    // how they went.
    let srv = s.clone();
    tokio::spawn(async move {
        for n in names {
            if let Err(e) = srv.scan(&n, "api").await {
                tracing::error!(source = %n, "scan failed: {e}");
            }
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"status": "started", "see": "/api/v1/scans"})),
    )
        .into_response())
}

async fn scan(State(s): S, Path(id): Path<String>) -> Res {
    let id = parse_id(&id, "scan")?;
    match s.store.scan(id).await? {
        Some(r) => ok(json!(r)),
        None => Err(ApiError::not_found(format!("no scan {id}"))),
    }
}

const JOB_STATUSES: &[&str] = &[
    "waiting",
    "running",
    "done",
    "dry_run",
    "failed",
    "cancelled",
    "suspended",
];

async fn jobs(State(s): S, RawQuery(q): RawQuery) -> Res {
    let q = Query::parse(q, &["status", "page", "per_page"])?;
    let (page, per, offset) = q.page()?;
    let status = q.one_of("status", JOB_STATUSES)?;
    let (rows, total) = s.store.jobs(status.as_deref(), per, offset).await?;
    ok(page_body(json!(rows), page, per, total))
}

async fn job(State(s): S, Path(id): Path<String>) -> Res {
    let id = parse_id(&id, "job")?;
    let Some(j) = s.store.job(id).await? else {
        return Err(ApiError::not_found(format!("no auto-fix job {id}")));
    };
    let mut v = json!(j);
    v["audit"] = json!(s.store.audit(Some(id)).await?);
    ok(v)
}

// ---------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------

/// One documented operation.
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// (name, in, description); path parameters are `in: path`.
    pub params: &'static [(&'static str, &'static str, &'static str)],
    pub body: Option<&'static str>,
    /// Status codes besides 200.
    pub errors: &'static [u16],
}

const PAGE: (&str, &str, &str) = ("page", "query", "page number, from 1");
const PER_PAGE: (&str, &str, &str) = ("per_page", "query", "items per page, 1 to 500 (50)");
const GROUP: (&str, &str, &str) = ("group", "query", "answer for this asset group alone");

/// Every route of [`router`], documented.
pub const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/healthz",
        summary: "Liveness, with the last scan",
        params: &[],
        body: None,
        errors: &[],
    },
    Op {
        method: "get",
        path: "/api/openapi.json",
        summary: "This document",
        params: &[],
        body: None,
        errors: &[],
    },
    Op {
        method: "get",
        path: "/api/v1/compliance",
        summary: "Compliance roll-up: overall, per category, severity, policy and rule, tagging, coverage",
        params: &[GROUP],
        body: None,
        errors: &[400, 404, 503],
    },
    Op {
        method: "get",
        path: "/api/v1/compliance/history",
        summary: "Daily compliance history (overall, or one policy)",
        params: &[
            GROUP,
            ("policy", "query", "a policy id; overall when absent"),
        ],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/policies",
        summary: "Policies with their rules and compliance",
        params: &[
            GROUP,
            (
                "category",
                "query",
                "security, governance, cost, tagging, operations",
            ),
            ("severity", "query", "critical, high, medium, low, info"),
            (
                "after",
                "query",
                "keyset paging: the `next_after` of the previous page (then `page` is ignored)",
            ),
        ],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/policies/{id}",
        summary: "One policy",
        params: &[("id", "path", "policy name"), GROUP],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/issues",
        summary: "Issues (violations), paginated",
        params: &[
            ("policy", "query", "policy name"),
            ("status", "query", "open, exempted or closed"),
            GROUP,
            ("severity", "query", "critical, high, medium, low, info"),
            PAGE,
            PER_PAGE,
        ],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/issues/{id}",
        summary: "One issue with its events and auto-fix jobs",
        params: &[("id", "path", "issue id")],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/resources",
        summary: "Current resources, paginated",
        params: &[
            ("type", "query", "resource type, e.g. aws.ec2.instance"),
            GROUP,
            ("q", "query", "text in the id, account or region"),
            PAGE,
            PER_PAGE,
        ],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/resources/{id}",
        summary: "Asset 360: a resource with its groups, issues, exceptions and history",
        params: &[("id", "path", "resource id, or key type|account|region|id")],
        body: None,
        errors: &[404],
    },
    Op {
        method: "get",
        path: "/api/v1/asset-groups",
        summary: "Asset groups (from policy files and the API) with member counts",
        params: &[],
        body: None,
        errors: &[],
    },
    Op {
        method: "post",
        path: "/api/v1/asset-groups",
        summary: "Define an asset group (compiled like a policy group)",
        params: &[],
        body: Some(
            "{\"name\": \"web_tier\", \"title\": \"…\", \"members\": [{\"type\": \"aws.ec2.instance\", \"where\": \"tags[\\\"tier\\\"] == \\\"web\\\"\"}], \"created_by\": \"alice\"}",
        ),
        errors: &[400, 409],
    },
    Op {
        method: "get",
        path: "/api/v1/exceptions",
        summary: "Exceptions (from policy files and the API)",
        params: &[],
        body: None,
        errors: &[],
    },
    Op {
        method: "post",
        path: "/api/v1/exceptions",
        summary: "Add an exception: per resource id, or sticky with a condition",
        params: &[],
        body: Some(
            "{\"name\": \"CHG-1\", \"targets\": [\"policy\"], \"resources\": [\"id\"] | \"where\": \"CONDITION\", \"expires\": \"2027-03-31\", \"reason\": \"…\", \"created_by\": \"alice\"}",
        ),
        errors: &[400, 409],
    },
    Op {
        method: "delete",
        path: "/api/v1/exceptions/{name}",
        summary: "Remove an API-defined exception (its issues reopen at the next scan)",
        params: &[("name", "path", "exception name")],
        body: None,
        errors: &[404, 409],
    },
    Op {
        method: "get",
        path: "/api/v1/scans",
        summary: "Scans, newest first",
        params: &[PAGE, PER_PAGE],
        body: None,
        errors: &[400],
    },
    Op {
        method: "post",
        path: "/api/v1/scans",
        summary: "Start a scan now (of one source, or all)",
        params: &[],
        body: Some("{\"source\": \"demo\"}"),
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/scans/{id}",
        summary: "One scan: counts, failed scopes, malformed documents",
        params: &[("id", "path", "scan id")],
        body: None,
        errors: &[400, 404],
    },
    Op {
        method: "get",
        path: "/api/v1/autofix/jobs",
        summary: "Auto-fix jobs",
        params: &[
            (
                "status",
                "query",
                "waiting, running, done, dry_run, failed, cancelled, suspended",
            ),
            PAGE,
            PER_PAGE,
        ],
        body: None,
        errors: &[400],
    },
    Op {
        method: "get",
        path: "/api/v1/autofix/jobs/{id}",
        summary: "One auto-fix job with its audit log",
        params: &[("id", "path", "job id")],
        body: None,
        errors: &[400, 404],
    },
];

/// The OpenAPI 3.1 document, written from [`OPS`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPS {
        let params: Vec<Value> = op
            .params
            .iter()
            .map(|(n, loc, d)| {
                json!({"name": n, "in": loc, "required": *loc == "path", "description": d,
                       "schema": {"type": if *n == "page" || *n == "per_page" { "integer" } else { "string" }}})
            })
            .collect();
        let mut responses = serde_json::Map::new();
        let ok_code = match (op.method, op.path) {
            ("post", "/api/v1/scans") => "202",
            ("post", _) => "201",
            ("delete", _) => "204",
            _ => "200",
        };
        responses.insert(
            ok_code.into(),
            json!({"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}}),
        );
        for e in op.errors {
            responses.insert(
                e.to_string(),
                json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
            );
        }
        let mut o = json!({"summary": op.summary, "parameters": params, "responses": responses});
        if let Some(b) = op.body {
            o["requestBody"] = json!({"required": op.path.ends_with("exceptions") || op.path.ends_with("asset-groups"),
                "content": {"application/json": {"schema": {"type": "object"}, "example": b}}});
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Pac compliance server", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object",
            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}, "details": {}},
            "required": ["status", "message"]}}}}},
    })
}

/// `POST /api/v1/scans/{id}/confirm` (body empty or `{}`): accepts a
/// `suspect` scan's removals; its source is scanned again at once and that
/// read may remove up to what the suspect one held back (202).
async fn confirm_scan(State(s): S, Path(id): Path<String>, body: Bytes) -> Res {
    let id = parse_id(&id, "scan")?;
    check_keys(&body_json(&body)?, &[])?;
    match s.confirm_scan(id).await {
        Ok(row) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({"status": "confirmed", "scan": row, "see": "/api/v1/scans"})),
        )
            .into_response()),
        Err(crate::ConfirmError::NotFound(m)) => Err(ApiError::not_found(m)),
        Err(crate::ConfirmError::Conflict(m)) => Err(ApiError::new(StatusCode::CONFLICT, m)),
        Err(crate::ConfirmError::Store(m)) => Err(ApiError::internal(m)),
    }
}
