//! Self-service exception requests (docs/auth.md, "Exception requests"):
//! `POST /api/v1/exception-requests` by a requester of the group, approved
//! or rejected by an approver of it who is not the requester; an approved
//! request becomes an API exception confined to that group, applied at the
//! next scan.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::params::{Check, Params, max_len, typed_body};
use super::{
    List, NewException, NoQuery, Res, S, TEXT_MAX, author, check_new_exception, confine_exception,
    ok, parse_id, read_scope,
};
use crate::Server;
use crate::auth::audit::Change;
use crate::auth::scope::Scope;
use crate::auth::{Principal, Role};
use crate::requests::{NewRequest, RequestRow, RequestStatus};
use crate::store::ExceptionRow;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    #[param(inline)]
    status: Option<RequestStatus>,
}
impl Check for RequestsQuery {}

/// `POST /api/v1/exception-requests/{id}/approve`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// A note for the requester.
    #[schema(min_length = 1, max_length = 2000)]
    pub(crate) comment: Option<String>,
}
impl Check for Decision {
    fn check(&self) -> Result<(), ApiError> {
        match &self.comment {
            Some(c) if c.trim().is_empty() => Err(ApiError::bad("`comment` is empty")),
            Some(c) => max_len("comment", c, TEXT_MAX),
            None => Ok(()),
        }
    }
}

/// `POST /api/v1/exception-requests/{id}/reject`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// Why it is rejected.
    #[schema(min_length = 1, max_length = 2000)]
    pub(crate) comment: String,
}
impl Check for Rejection {
    fn check(&self) -> Result<(), ApiError> {
        if self.comment.trim().is_empty() {
            return Err(ApiError::bad(
                "`comment` must say why the request is rejected",
            ));
        }
        max_len("comment", &self.comment, TEXT_MAX)
    }
}

/// Whether `caller` may see request `r`: its group is in the caller's
/// scope, or it is the caller's own.
pub(crate) fn visible(caller: &Principal, r: &RequestRow) -> bool {
    r.requested_by == caller.id
        || match &r.group {
            Some(g) => read_scope(caller).covers(g),
            None => read_scope(caller).is_all(),
        }
}

/// Ask for an exception: confined to an asset group where the caller
/// holds `requester` or more (or unconfined, for a requester on `*`), with
/// an expiry at most `auth.exception_max_days` ahead. It is checked now as
/// an exception would be, and applies once approved, from the next scan.
#[utoipa::path(post, path = "/api/v1/exception-requests", tag = "exceptions", request_body = NewException,
    responses((status = 201, description = "the request, pending", body = Object),
        (status = 404, description = "an unknown asset group", body = ErrorBody),
        (status = 409, description = "an exception of that name exists", body = ErrorBody)))]
pub(super) async fn post_request(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewException>(&body)?;
    let row = create_request(&s, &caller, &v).await?;
    Ok(Change::new(format!("exception request {}", row.id))
        .after(&row)
        .on((StatusCode::CREATED, axum::Json(json!(row))).into_response()))
}

/// Stores a pending request for `v` by `caller` after every check (the
/// API's `POST /api/v1/exception-requests` and the portal's form): the
/// caller requests on the group, the expiry is within
/// `auth.exception_max_days`, the exception would compile.
pub(crate) async fn create_request(
    s: &Server,
    caller: &Principal,
    v: &NewException,
) -> Result<RequestRow, ApiError> {
    v.check()?;
    let resources = v.resources.clone().unwrap_or_default();
    confine_exception(s, caller, Role::Requester, &v.group, &resources).await?;
    let now = s.clock.now();
    let max_days = s.auth.exception_max_days;
    let expires = pac_lang::lexer::parse_timestamp(&v.expires).ok_or_else(|| {
        ApiError::bad(format!(
            "`expires` is not a date or time: `{}` (write 2027-03-31)",
            v.expires
        ))
    })?;
    if expires <= now || expires > now + max_days * 86_400 {
        return Err(ApiError::bad(format!(
            "`expires` must be in the future and at most {max_days} days ahead (`auth.exception_max_days`)"
        )));
    }
    let x = ExceptionRow {
        name: v.name.clone(),
        targets: v.targets.clone(),
        resources: resources.clone(),
        condition: v.condition.clone(),
        group: v.group.clone(),
        expires: v.expires.clone(),
        reason: v.reason.clone(),
        created_by: author(caller, v.created_by.clone()),
        created_at: now,
        approved_by: None,
    };
    let x = check_new_exception(s, x).await?;
    let id = s
        .requests
        .put(&NewRequest {
            name: &x.name,
            group: x.group.as_deref(),
            targets: &x.targets,
            resources: &x.resources,
            condition: x.condition.as_deref(),
            expires: &x.expires,
            reason: &x.reason,
            requested_by: &x.created_by,
            requested_at: now,
        })
        .await?;
    s.requests
        .get(id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("exception request {id} vanished")))
}

/// Requests the caller may see: those of its groups, and its own.
#[utoipa::path(get, path = "/api/v1/exception-requests", tag = "exceptions", params(RequestsQuery),
    responses((status = 200, description = "requests, newest first", body = List)))]
pub(super) async fn requests(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<RequestsQuery>,
) -> Res {
    let items: Vec<serde_json::Value> = s
        .requests
        .list(q.status)
        .await?
        .into_iter()
        .filter(|r| visible(&caller, r))
        .map(|r| json!(r))
        .collect();
    Ok(axum::Json(List {
        total: items.len(),
        items,
        group: None,
    })
    .into_response())
}

/// Loads a request the caller may see (404 otherwise, as for none).
async fn visible_request(s: &Server, caller: &Principal, id: &str) -> Result<RequestRow, ApiError> {
    let id = parse_id(id, "request")?;
    match s.requests.get(id).await? {
        Some(r) if visible(caller, &r) => Ok(r),
        _ => Err(ApiError::not_found(format!("no exception request {id}"))),
    }
}

/// One request.
#[utoipa::path(get, path = "/api/v1/exception-requests/{id}", tag = "exceptions",
    params(("id" = i64, Path, description = "request id")),
    responses((status = 200, description = "the request", body = Object),
        (status = 404, description = "no such request", body = ErrorBody)))]
pub(super) async fn request(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    ok(json!(visible_request(&s, &caller, &id).await?))
}

/// Who stands behind a principal id: itself, the maker of a token, that
/// maker's maker when it is a token too, and so on (at most 8 steps: a
/// chain is made by admins, one token at a time).
async fn lineage(s: &Server, id: &str) -> Result<Vec<String>, ApiError> {
    let mut out = vec![id.to_string()];
    while out.len() < 8 {
        let last = &out[out.len() - 1];
        let Some(n) = last
            .strip_prefix("token:")
            .and_then(|n| n.parse::<i64>().ok())
        else {
            break;
        };
        match s.auth.store.token(n).await? {
            Some(t) if !out.contains(&t.created_by) => out.push(t.created_by),
            _ => break,
        }
    }
    Ok(out)
}

/// The checks of a decision: the request is visible, pending, of a group
/// the caller approves on, and not the caller's own: no one stands behind
/// both (a token counts as its maker's, so two tokens one admin made
/// cannot decide each other's requests).
/// Whether `caller` approves on the group of a request (every group for
/// an unconfined one); the portal shows the decision buttons by it.
pub(crate) fn approves_on(caller: &Principal, group: &Option<String>) -> bool {
    let approve = Scope::of(caller, Role::Approver);
    match group {
        Some(g) => approve.covers(g),
        None => approve.is_all(),
    }
}

async fn decidable(s: &Server, caller: &Principal, id: &str) -> Result<RequestRow, ApiError> {
    let r = visible_request(s, caller, id).await?;
    if !approves_on(caller, &r.group) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not decide requests of {}: that needs the approver role on it; ask an admin",
                caller.name,
                r.group
                    .as_deref()
                    .map_or("every group".to_string(), |g| format!("asset group `{g}`"))
            ),
        ));
    }
    let asked = lineage(s, &r.requested_by).await?;
    let deciding = lineage(s, &caller.id).await?;
    if deciding.iter().any(|x| asked.contains(x)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "nobody decides their own exception request: another approver of the group must",
        ));
    }
    if r.status != RequestStatus::Pending {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "exception request {} was {} already",
                r.id,
                json!(r.status).as_str().unwrap_or("decided")
            ),
        ));
    }
    Ok(r)
}

/// Records the decision on a pending request; 409 when another decision
/// came first.
async fn record(
    s: &Server,
    r: &RequestRow,
    status: RequestStatus,
    caller: &Principal,
    now: i64,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    if s.requests
        .decide(r.id, status, &caller.id, now, comment)
        .await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        format!("exception request {} was decided meanwhile", r.id),
    ))
}

/// Approve a pending request: it becomes an exception confined to its
/// group, owned by the requester, applied from the next scan.
#[utoipa::path(post, path = "/api/v1/exception-requests/{id}/approve", tag = "exceptions",
    params(("id" = i64, Path, description = "request id")),
    request_body(content = Decision, description = "an optional comment"),
    responses((status = 200, description = "approved: the request and the exception", body = Object),
        (status = 404, description = "no such request", body = ErrorBody),
        (status = 409, description = "decided already, or the exception's name is taken", body = ErrorBody)))]
pub(super) async fn approve(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let d = typed_body::<Decision>(&body)?;
    let (before, x, row) = approve_request(&s, &caller, &id, &d).await?;
    let change = Change::new(format!("exception request {}", before.id))
        .before(&before)
        .after(&x);
    Ok(change.on(axum::Json(
        json!({"request": row, "exception": x, "note": "it applies from the next scan"}),
    )
    .into_response()))
}

/// Approves request `id` as `caller` (the API's approve and the portal's
/// button): every check of [`decidable`], the exception checked again,
/// then stored. (the request before, the exception, the request after)
pub(crate) async fn approve_request(
    s: &Server,
    caller: &Principal,
    id: &str,
    d: &Decision,
) -> Result<(RequestRow, ExceptionRow, RequestRow), ApiError> {
    d.check()?;
    let r = decidable(s, caller, id).await?;
    let now = s.clock.now();
    let x = ExceptionRow {
        name: r.name.clone(),
        targets: r.targets.clone(),
        resources: r.resources.clone(),
        condition: r.condition.clone(),
        group: r.group.clone(),
        expires: r.expires.clone(),
        reason: r.reason.clone(),
        created_by: r.requested_by.clone(),
        created_at: now,
        approved_by: Some(caller.id.clone()),
    };
    // Checked again: the policies may have changed since the request.
    let x = check_new_exception(s, x).await?;
    record(
        s,
        &r,
        RequestStatus::Approved,
        caller,
        now,
        d.comment.as_deref(),
    )
    .await?;
    let put = s.store.put_exception(&x).await?;
    s.search.others_changed();
    if !put {
        s.requests.reopen(r.id).await?;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "an exception `{}` exists already: the request stays pending",
                x.name
            ),
        ));
    }
    let row = s.requests.get(r.id).await?.unwrap_or_else(|| r.clone());
    Ok((r, x, row))
}

/// Reject a pending request, saying why.
#[utoipa::path(post, path = "/api/v1/exception-requests/{id}/reject", tag = "exceptions",
    params(("id" = i64, Path, description = "request id")),
    request_body(content = Rejection, description = "`comment` says why"),
    responses((status = 200, description = "rejected", body = Object),
        (status = 404, description = "no such request", body = ErrorBody),
        (status = 409, description = "decided already", body = ErrorBody)))]
pub(super) async fn reject(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let d = typed_body::<Rejection>(&body)?;
    let (before, row) = reject_request(&s, &caller, &id, &d).await?;
    Ok(Change::new(format!("exception request {}", before.id))
        .before(&before)
        .after(&row)
        .on(axum::Json(json!(row)).into_response()))
}

/// Rejects request `id` as `caller`, saying why (the API's reject and the
/// portal's button). (the request before, after)
pub(crate) async fn reject_request(
    s: &Server,
    caller: &Principal,
    id: &str,
    d: &Rejection,
) -> Result<(RequestRow, RequestRow), ApiError> {
    d.check()?;
    let r = decidable(s, caller, id).await?;
    let now = s.clock.now();
    record(
        s,
        &r,
        RequestStatus::Rejected,
        caller,
        now,
        Some(&d.comment),
    )
    .await?;
    let row = s.requests.get(r.id).await?.unwrap_or_else(|| r.clone());
    Ok((r, row))
}
