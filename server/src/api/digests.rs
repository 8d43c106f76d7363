//! E-mail digest subscriptions through the API (the portal's `/digests`
//! does the same with forms): a signed-in user subscribes themselves to a
//! daily or weekly digest of an asset group they may read, sent to the
//! address their identity provider gives (docs/portal.md, "E-mail
//! digests"). A token or a server without sign-in has no address: digests
//! for those are `[[digest]]` tables of the configuration.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::params::{Check, Params, typed_body};
use super::{NoQuery, Res, S, check_group, ok, parse_id, read_scope};
use crate::Server;
use crate::auth::{Principal, Role};
use crate::config::DigestEvery;
use crate::store::{NewSubscription, SubscriptionRow};

/// The most subscriptions one user keeps.
pub const MAX_SUBSCRIPTIONS: usize = 20;

/// A subscription asked for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDigest {
    /// `daily` (every day at `hour`) or `weekly` (Mondays at `hour`).
    #[schema(pattern = "^(daily|weekly)$", example = "weekly")]
    pub every: String,
    /// The hour (UTC, 0 to 23) it goes out; 7 when absent.
    #[serde(default = "seven")]
    #[schema(minimum = 0, maximum = 23)]
    pub hour: i64,
    /// The asset group its figures and lists are confined to, one the
    /// caller may read; absent: the caller's first group (or everything,
    /// for a role on every group).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub group: Option<String>,
}

fn seven() -> i64 {
    7
}

impl Check for NewDigest {
    fn check(&self) -> Result<(), ApiError> {
        every_of(&self.every).map(|_| ())
    }
}

/// `daily` or `weekly`, as a form or a request writes it.
pub(crate) fn every_of(s: &str) -> Result<DigestEvery, ApiError> {
    DigestEvery::from_name(s).ok_or_else(|| {
        ApiError::bad(format!(
            "`every` is `daily` or `weekly`, not `{}`",
            s.chars().take(40).collect::<String>()
        ))
    })
}

pub(crate) fn subscription_json(r: &SubscriptionRow) -> Value {
    json!({
        "id": r.id,
        "every": r.every,
        "hour": r.hour,
        "group": r.grp,
        "address": r.address,
        "user": r.user_name,
        "created_at": crate::clock::rfc3339(r.created_at),
    })
}

/// Subscribes `caller` to a digest; its id. The checks the portal's form
/// and the API share.
pub(crate) async fn subscribe(
    s: &Server,
    caller: &Principal,
    every: DigestEvery,
    hour: i64,
    group: Option<String>,
) -> Result<i64, ApiError> {
    let Some(address) = caller
        .email()
        .filter(|a| a.parse::<lettre::message::Mailbox>().is_ok())
    else {
        return Err(ApiError::bad(
            "only a signed-in user whose identity provider gives an e-mail address may subscribe to a digest (a token or a server without sign-in has none): ask an admin for a `[[digest]]` table in the configuration",
        ));
    };
    if !(0..=23).contains(&hour) {
        return Err(ApiError::bad(format!(
            "`hour` is the hour of the day (UTC) the digest goes out, 0 to 23, not {hour}"
        )));
    }
    let scope = read_scope(caller);
    if let Some(g) = &group
        && g == crate::auth::ALL_GROUPS
        && !caller.has_global(Role::Viewer)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a digest of all resources (`*`) needs a role on every group: choose one of your groups",
        ));
    }
    let group = group.filter(|g| g != crate::auth::ALL_GROUPS);
    check_group(s, &scope, &group)
        .await
        .map_err(|e| ApiError::bad(e.message))?;
    if scope.groups().is_some_and(<[String]>::is_empty) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "you hold no role on any asset group: a digest would be empty",
        ));
    }
    if s.store.subscriptions(Some(&caller.id)).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::bad(format!(
            "{} has {MAX_SUBSCRIPTIONS} digest subscriptions, the most one may keep: remove one first",
            caller.name
        )));
    }
    let claims = serde_json::to_string(caller.claims.as_ref().unwrap_or(&Default::default()))
        .map_err(ApiError::internal)?;
    Ok(s.store
        .subscribe(&NewSubscription {
            principal: &caller.id,
            user_name: &caller.name,
            address: &address,
            claims: &claims,
            every: every.name(),
            hour,
            group: group.as_deref(),
            at: s.clock.now(),
        })
        .await?)
}

/// Removes subscription `id` of `caller` (or any, for an admin of every
/// group).
pub(crate) async fn remove(s: &Server, caller: &Principal, id: i64) -> Result<(), ApiError> {
    let r = s
        .store
        .subscription(id)
        .await?
        .filter(|r| r.principal == caller.id || caller.has_global(Role::Admin))
        // Another user's subscription is answered as a missing one.
        .ok_or_else(|| ApiError::not_found(format!("you have no digest subscription {id}")))?;
    s.store.unsubscribe(r.id).await?;
    Ok(())
}

/// The caller's digest subscriptions, oldest first.
#[utoipa::path(get, path = "/api/v1/digests", tag = "digests",
    responses((status = 200, description = "the caller's subscriptions", body = Object)))]
pub(super) async fn digests(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
) -> Res {
    let items: Vec<Value> = s
        .store
        .subscriptions(Some(&caller.id))
        .await?
        .iter()
        .map(subscription_json)
        .collect();
    ok(json!({"total": items.len(), "items": items}))
}

/// Subscribe the caller (a signed-in user with an e-mail address) to a
/// digest of one of their asset groups.
#[utoipa::path(post, path = "/api/v1/digests", tag = "digests", request_body = NewDigest,
    responses((status = 201, description = "the subscription, as stored", body = Object),
        (status = 400, description = "the caller has no address (a token), a bad hour, an asset group unknown or outside the caller's, or too many", body = ErrorBody),
        (status = 403, description = "all resources (`*`) without a role on every group", body = ErrorBody)))]
pub(super) async fn post_digest(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewDigest>(&body)?;
    let id = subscribe(&s, &caller, every_of(&v.every)?, v.hour, v.group).await?;
    let r = s
        .store
        .subscription(id)
        .await?
        .ok_or_else(|| ApiError::internal("the subscription just made is missing"))?;
    Ok((StatusCode::CREATED, axum::Json(subscription_json(&r))).into_response())
}

/// Remove one of the caller's subscriptions (an admin of every group may
/// remove anyone's).
#[utoipa::path(delete, path = "/api/v1/digests/{id}", tag = "digests",
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 204, description = "removed"),
        (status = 400, description = "an id that is not a number", body = ErrorBody),
        (status = 404, description = "no such subscription of the caller", body = ErrorBody)))]
pub(super) async fn delete_digest(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let id = parse_id(&id, "digest subscription")?;
    remove(&s, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
