//! The portal's forms (docs/portal.md, "Forms"): requesting an exception,
//! approving or rejecting a request, running an auto-fix now; and the
//! auto-fix job page with its dry-run preview.
//!
//! Each POST passes the HTTP layer's form check (`api::http::check_form`:
//! a form body from this server's own origin), the page rules (the role),
//! then here the CSRF token (web::csrf), and then the API's own functions
//! (`create_request`, `approve_request`, `reject_request`) or
//! `autofix::fix_now`, which hold every rule. A success answers 303 to a
//! page (POST-redirect-GET) and is recorded in the audit log like the
//! API's changes; a refusal is a page saying why, with the API's status.

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Ctx, PageResult, St, WebError, context, csrf, enc, query};
use crate::api::NewException;
use crate::api::error::ApiError;
use crate::api::params::Check;
use crate::api::requests::{Decision, Rejection};
use crate::auth::audit::Change;
use crate::auth::scope::Scope;
use crate::auth::{ALL_GROUPS, Principal, Role};
use crate::store::{AuditRow, JobRow, JobStatus};

/// A form body as `T` (unknown fields refused, empty ones dropped: a
/// form sends every field).
fn form<T: DeserializeOwned>(body: &Bytes) -> Result<T, WebError> {
    let kept: Vec<(String, String)> = form_urlencoded::parse(body)
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let text = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    serde_urlencoded::from_str(&text)
        .map_err(|e| WebError::bad(format!("the form is not one this page sends: {e}")))
}

/// The form in `body` as `T`, once its CSRF token is checked: the token
/// first, so nothing of a forged form is looked at.
pub(super) fn checked_form<T: DeserializeOwned>(
    s: &crate::Server,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, WebError> {
    let given = form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    csrf::check(&s.auth, headers, &given)?;
    form(body)
}

/// 303 to `to` (a path of this portal), POST-redirect-GET.
pub(super) fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::SEE_OTHER.into_response(),
    }
}

/// `group=…` for the page a form returns to.
fn gq(group: &Option<String>) -> String {
    format!("group={}", enc(group.as_deref().unwrap_or(ALL_GROUPS)))
}

/// What a redirect after a form tells the page to say (a fixed set: the
/// URL never carries text to show).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Done {
    Requested,
    Approved,
    Rejected,
    Fixed,
}

impl Done {
    pub fn says(&self) -> &'static str {
        match self {
            Done::Requested => {
                "Your exception request is pending: another approver of the group decides it."
            }
            Done::Approved => {
                "Approved: the exception applies from the next scan, which marks the issues it covers exempted."
            }
            Done::Rejected => "Rejected: the requester sees why.",
            Done::Fixed => "The fix ran now; its result and audit entries are below.",
        }
    }
}

// ---------------------------------------------------------------------------
// Exception requests
// ---------------------------------------------------------------------------

/// What a refused exception request sent, to show it again in its form
/// with the reason (the page it came from, not a page of its own).
#[derive(Default)]
pub struct Kept {
    pub error: Option<String>,
    pub policy: Option<String>,
    pub reason: String,
    pub condition: String,
    pub expires: Option<String>,
}

/// What a page's exception request form needs: whether the caller may ask
/// in the group in view, the bounds of the expiry date, and what a refused
/// request sent.
pub struct RequestFields {
    pub may_request: bool,
    pub max_days: i64,
    pub expires_default: String,
    pub expires_min: String,
    pub expires_max: String,
    pub kept: Kept,
}

impl RequestFields {
    /// Whether the form's policy list starts at `policy`.
    pub fn is_policy(&self, policy: &str) -> bool {
        self.kept.policy.as_deref() == Some(policy)
    }

    pub fn of(
        s: &crate::Server,
        caller: &Principal,
        group: Option<&str>,
        kept: Kept,
    ) -> RequestFields {
        let request = Scope::of(caller, Role::Requester);
        let may_request = match group {
            Some(g) => request.covers(g),
            None => request.is_all(),
        };
        let now = s.clock.now();
        let max_days = s.auth.exception_max_days;
        let day = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        RequestFields {
            may_request,
            max_days,
            expires_default: kept
                .expires
                .clone()
                .unwrap_or_else(|| day(now + max_days.min(14) * 86_400)),
            expires_min: day(now + 86_400),
            expires_max: day(now + max_days * 86_400),
            kept,
        }
    }
}

/// A page showing a refused form again answers with the refusal's status.
pub(super) fn with_status(mut r: Response, req: &RequestFields) -> Response {
    if req.kept.error.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    group: Option<String>,
    /// The policy (or `policy.rule`) to except the resource from.
    policy: String,
    /// One resource (the asset 360 page's form), or:
    resource: Option<String>,
    /// a condition on the policy's resources, for a sticky exception (the
    /// policy page's form): it also covers resources created later.
    condition: Option<String>,
    reason: String,
    /// `2027-03-31`, as `<input type="date">` sends it.
    expires: String,
}

/// `POST /exception-requests`: the asset 360 page's form (one resource)
/// and the policy page's (a sticky exception with a condition).
pub async fn request_exception(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let f: RequestForm = checked_form(&s, &headers, &body)?;
    let group = f.group.filter(|g| g != ALL_GROUPS);
    let given = |v: &Option<String>| {
        v.as_ref()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (resource, condition) = (given(&f.resource), given(&f.condition));
    // A refusal of the request itself (400) is shown in the form it came
    // from, with what was typed: asset 360 for one resource, else the
    // policy's page.
    let refused = |e: ApiError| {
        let kept = Kept {
            error: Some(e.message),
            policy: Some(f.policy.clone()),
            reason: f.reason.clone(),
            condition: f.condition.clone().unwrap_or_default(),
            expires: Some(f.expires.clone()),
        };
        let (s, caller, headers, group) =
            (s.clone(), caller.clone(), headers.clone(), group.clone());
        let (resource, policy) = (resource.clone(), f.policy.clone());
        async move {
            match resource {
                Some(r) => super::assets::render(s, caller, headers, r, group, kept).await,
                None => {
                    super::policies::render(s, caller, headers, policy, group, None, kept).await
                }
            }
        }
    };
    let (resources, condition) = match (resource.clone(), condition) {
        (Some(r), None) => (Some(vec![r]), None),
        (None, Some(c)) => (None, Some(c)),
        _ => {
            return refused(ApiError::bad(
                "give one resource or a condition (a sticky exception), not both or neither",
            ))
            .await;
        }
    };
    // A name the requester need not invent: the day and a random tail.
    let tail: String = crate::auth::session::random_id()?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    let day = chrono::DateTime::from_timestamp(s.clock.now(), 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_default();
    let v = NewException {
        name: format!("request-{day}-{tail}"),
        targets: vec![f.policy.clone()],
        resources,
        condition,
        expires: f.expires.clone(),
        reason: f.reason.clone(),
        group: group.clone(),
        created_by: None,
    };
    let row = match crate::api::requests::create_request(&s, &caller, &v).await {
        Ok(row) => row,
        Err(e) if e.status == StatusCode::BAD_REQUEST => return refused(e).await,
        Err(e) => return Err(e.into()),
    };
    let to = format!("/exceptions?{}&done=requested#requests", gq(&group));
    Ok(Change::new(format!("exception request {}", row.id))
        .after(&row)
        .on(see_other(&to)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    group: Option<String>,
    comment: Option<String>,
}

/// `POST /exception-requests/{id}/approve`.
pub async fn approve(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let f: DecisionForm = checked_form(&s, &headers, &body)?;
    let d = Decision { comment: f.comment };
    let (before, x, _) = crate::api::requests::approve_request(&s, &caller, &id, &d).await?;
    let to = format!("/exceptions?{}&done=approved#requests", gq(&f.group));
    Ok(Change::new(format!("exception request {}", before.id))
        .before(&before)
        .after(&x)
        .on(see_other(&to)))
}

/// `POST /exception-requests/{id}/reject`.
pub async fn reject(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let f: DecisionForm = checked_form(&s, &headers, &body)?;
    let d = Rejection {
        comment: f.comment.unwrap_or_default(),
    };
    let (before, after) = crate::api::requests::reject_request(&s, &caller, &id, &d).await?;
    let to = format!("/exceptions?{}&done=rejected#requests", gq(&f.group));
    Ok(Change::new(format!("exception request {}", before.id))
        .before(&before)
        .after(&after)
        .on(see_other(&to)))
}

// ---------------------------------------------------------------------------
// An auto-fix job: preview and "fix now"
// ---------------------------------------------------------------------------

/// Loads job `id` when its resource is in the caller's read scope (the
/// API's `GET /api/v1/autofix/jobs/{id}` check; 404 otherwise).
async fn visible_job(s: &crate::Server, caller: &Principal, id: &str) -> Result<JobRow, WebError> {
    let id = crate::api::parse_id(id, "job")?;
    match s.store.job(id).await? {
        Some(j)
            if crate::api::resource_in_scope(
                s,
                &crate::api::read_scope(caller),
                &j.resource_key,
            )
            .await? =>
        {
            Ok(j)
        }
        _ => Err(ApiError::not_found(format!("no auto-fix job {id}")).into()),
    }
}

/// Whether `caller` approves on a group the job's resource belongs to
/// (who may run it now).
async fn approves_fix(s: &crate::Server, caller: &Principal, j: &JobRow) -> Result<bool, WebError> {
    let may = Scope::of(caller, Role::Approver);
    if may.is_all() {
        return Ok(true);
    }
    Ok(may.covers_any(&s.store.resource_groups(&j.resource_key).await?))
}

/// The dry run's answer, for the page.
pub struct PreviewV {
    pub ran: bool,
    pub status: String,
    pub summary: String,
    pub before: String,
    pub after: String,
    pub args: String,
}

#[derive(Template)]
#[template(path = "fix.html")]
struct FixPage {
    ctx: Ctx,
    j: JobRow,
    now: i64,
    preview: Option<PreviewV>,
    may_fix: bool,
    audit: Vec<AuditRow>,
    done: Option<Done>,
    dry_run_config: bool,
}

impl FixPage {
    fn countdown(&self) -> String {
        super::lists::countdown(self.j.due_at - self.now)
    }
    fn resource_id<'a>(&self, key: &'a str) -> &'a str {
        key.rsplit('|').next().unwrap_or(key)
    }
    fn waiting(&self) -> bool {
        self.j.status == JobStatus::Waiting
    }
    fn detail(&self, a: &AuditRow) -> String {
        a.detail.to_string()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixQuery {
    group: Option<String>,
    done: Option<Done>,
}
impl Check for FixQuery {}

/// `GET /fixes/{id}`: the job, its countdown, what its action would do
/// now (a dry run through the executors `pacc fix --dry-run` uses; nothing
/// changes), its audit trail, and "fix now" for approvers.
pub async fn fix_page(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: FixQuery = query(raw.as_deref())?;
    let j = visible_job(&s, &caller, &id).await?;
    let here = format!("/fixes/{}", j.id);
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        format!("Auto-fix job {}", j.id),
        "fixes",
        &here,
    )
    .await?;
    let preview = if j.status == JobStatus::Waiting {
        let (request, outcome) = crate::autofix::preview(&s, &j)
            .await
            .map_err(ApiError::internal)?;
        let args = serde_json::to_string(&request.args).unwrap_or_default();
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        Some(match outcome {
            pac_connectors::FixResult::Ran(o) => PreviewV {
                ran: true,
                status: serde_json::to_value(o.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                summary: o.summary,
                before: pretty(&o.before),
                after: pretty(&o.after),
                args,
            },
            pac_connectors::FixResult::NoExecutor => PreviewV {
                ran: false,
                status: "no executor".into(),
                summary: crate::autofix::no_executor(
                    &s.executors,
                    &request,
                    "configure one under [autofix] executors, e.g. \"aws\" with an aws source for that account",
                ),
                before: String::new(),
                after: String::new(),
                args,
            },
            pac_connectors::FixResult::Failed(e) => PreviewV {
                ran: false,
                status: "would fail".into(),
                summary: e.to_string(),
                before: String::new(),
                after: String::new(),
                args,
            },
        })
    } else {
        None
    };
    let may_fix = j.status == JobStatus::Waiting && approves_fix(&s, &caller, &j).await?;
    let audit = s.store.audit(Some(j.id)).await?;
    let cfg = &s.settings.autofix;
    let dry_run_config = cfg.dry_run || cfg.dry_run_policies.contains(&j.policy);
    let p = FixPage {
        ctx,
        j,
        now: s.clock.now(),
        preview,
        may_fix,
        audit,
        done: q.done,
        dry_run_config,
    };
    Ok(p.ctx.respond(&p))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixNowForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    group: Option<String>,
}

/// `POST /fixes/{id}/run`: "fix now", for an approver of a group of the
/// job's resource; audited in the job's trail (`by`) and the audit log.
pub async fn fix_now(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let f: FixNowForm = checked_form(&s, &headers, &body)?;
    let j = visible_job(&s, &caller, &id).await?;
    if !approves_fix(&s, &caller, &j).await? {
        return Err(WebError {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "{} may not run auto-fix job {} now: that needs the approver role on an asset group of its resource; ask an admin",
                caller.name, j.id
            ),
        });
    }
    let after = match crate::autofix::fix_now(&s, j.id, &caller.id).await {
        Ok(a) => a,
        Err(crate::autofix::FixNowError::NotWaiting(st)) => {
            return Err(WebError {
                status: StatusCode::CONFLICT,
                message: format!(
                    "auto-fix job {} is {st} already: only a waiting job runs now",
                    j.id
                ),
            });
        }
        Err(crate::autofix::FixNowError::Unknown) => {
            return Err(WebError {
                status: StatusCode::CONFLICT,
                message: format!(
                    "the last scan could not read the source of job {}'s resource: Pac does not act on a resource whose state it does not know; retry after a scan that reads it",
                    j.id
                ),
            });
        }
        Err(crate::autofix::FixNowError::BlastRadius(why)) => {
            return Err(WebError {
                status: StatusCode::CONFLICT,
                message: format!(
                    "auto-fix job {} was not run: {why} (the blast-radius limits, `[autofix]` in the configuration); it still runs when due, if the scheduled run's limits allow",
                    j.id
                ),
            });
        }
        Err(crate::autofix::FixNowError::Store(e)) => return Err(ApiError::internal(e).into()),
    };
    let to = format!("/fixes/{}?{}&done=fixed", j.id, gq(&f.group));
    Ok(Change::new(format!("auto-fix job {}", j.id))
        .before(&j)
        .after(&after)
        .on(see_other(&to)))
}
