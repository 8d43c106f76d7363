//! `/digests`: the caller's e-mail digest subscriptions (make, remove),
//! and the digests of the configuration that go to their address; and
//! `/digests/unsubscribe`, the link every digest mail carries (no sign-in:
//! the signed token in the link is what allows it).

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::domains::GroupOnly;
use super::forms::{checked_form, see_other};
use super::{Ctx, PageResult, St, WebError, context, query};
use crate::api::params::Check;
use crate::auth::{ALL_GROUPS, Principal};
use crate::digest::unsubscribe;

/// One row of the caller's subscriptions.
pub struct SubV {
    pub id: i64,
    pub every: String,
    pub hour: i64,
    pub group: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "digests.html")]
struct ListPage {
    ctx: Ctx,
    /// The address digests go to; `None`: the caller has none (a token,
    /// no sign-in), so cannot subscribe.
    address: Option<String>,
    mine: Vec<SubV>,
    /// `[[digest]]` tables that go to the caller's address: (name, every).
    configured: Vec<(String, &'static str)>,
}

pub async fn list(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: GroupOnly = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "E-mail digests",
        "digests",
        "/digests",
    )
    .await?;
    let address = caller.email();
    let mine = s
        .store
        .subscriptions(Some(&caller.id))
        .await?
        .into_iter()
        .map(|r| SubV {
            id: r.id,
            every: r.every,
            hour: r.hour,
            group: r.grp.unwrap_or_else(|| "your groups".into()),
            address: r.address,
        })
        .collect();
    let configured = match &address {
        Some(a) => s
            .settings
            .digests
            .iter()
            .filter(|d| d.recipients().iter().any(|r| r.eq_ignore_ascii_case(a)))
            .map(|d| (d.name.clone(), d.every.name()))
            .collect(),
        None => Vec::new(),
    };
    let page = ListPage {
        ctx,
        address,
        mine,
        configured,
    };
    Ok(page.ctx.respond(&page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    every: String,
    hour: Option<i64>,
    /// The digest's group (`*`: everything).
    dgroup: Option<String>,
    /// The group in view, to return to.
    group: Option<String>,
}

fn back(group: &Option<String>) -> String {
    format!(
        "/digests?group={}",
        super::enc(group.as_deref().unwrap_or(ALL_GROUPS))
    )
}

/// `POST /digests`: subscribe the caller.
pub async fn create(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let f: NewForm = checked_form(&s, &headers, &body)?;
    crate::api::digests::subscribe(
        &s,
        &caller,
        crate::api::digests::every_of(&f.every)?,
        f.hour.unwrap_or(7),
        f.dgroup,
    )
    .await?;
    Ok(see_other(&back(&f.group)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveForm {
    #[serde(default, rename = "csrf")]
    _csrf: String,
    group: Option<String>,
}

/// `POST /digests/{id}/remove`: the caller's subscription goes.
pub async fn remove(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let f: RemoveForm = checked_form(&s, &headers, &body)?;
    let id = crate::api::parse_id(&id, "digest subscription")?;
    crate::api::digests::remove(&s, &caller, id).await?;
    Ok(see_other(&back(&f.group)))
}

/// What an unsubscribe link carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    d: String,
    a: String,
    t: String,
}
impl Check for Link {}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    ctx: Ctx,
    digest: String,
    address: String,
    /// `None`: the confirmation form; `Some(changed)`: done.
    done: Option<bool>,
    /// The form's target (this same link).
    action: String,
}

fn checked_link(s: &crate::Server, raw: Option<&str>) -> Result<Link, WebError> {
    let l: Link = query(raw)?;
    if !unsubscribe::valid(s, &l.d, &l.a, &l.t) {
        return Err(WebError {
            status: axum::http::StatusCode::FORBIDDEN,
            message: "this unsubscribe link is not valid (it was changed, or it is from another server): use the link of a recent digest, or sign in and open E-mail digests".into(),
        });
    }
    Ok(l)
}

/// `GET /digests/unsubscribe`: asks to confirm (a mail scanner that opens
/// links must not unsubscribe anyone).
pub async fn unsubscribe_page(axum::extract::State(s): St, RawQuery(raw): RawQuery) -> PageResult {
    let l = checked_link(&s, raw.as_deref())?;
    let page = UnsubscribePage {
        ctx: Ctx::bare("Unsubscribe"),
        action: format!("/digests/unsubscribe?{}", raw.unwrap_or_default()),
        digest: l.d,
        address: l.a,
        done: None,
    };
    Ok(page.ctx.respond(&page))
}

/// `POST /digests/unsubscribe`: the confirmation form, or a mail reader's
/// one-click request (RFC 8058, body `List-Unsubscribe=One-Click`, from no
/// page at all). Doing it twice changes nothing more.
pub async fn unsubscribe_now(axum::extract::State(s): St, RawQuery(raw): RawQuery) -> PageResult {
    let l = checked_link(&s, raw.as_deref())?;
    let changed = unsubscribe::apply(&s, &l.d, &l.a, s.clock.now())
        .await
        .map_err(crate::api::error::ApiError::internal)?;
    tracing::info!(digest = %l.d, "digest unsubscribed: {}", l.a);
    let page = UnsubscribePage {
        ctx: Ctx::bare("Unsubscribed"),
        action: String::new(),
        digest: l.d,
        address: l.a,
        done: Some(changed),
    };
    Ok(page.ctx.respond(&page))
}
