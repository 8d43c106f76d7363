//! Exceptions, auto-fix jobs, scans and sources: the lists an operator
//! checks, each confined to the caller's groups as the API confines them.

use askama::Template;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::forms::Done;
use super::{Ctx, PageResult, Pager, St, context, query};
use crate::api::params::Check;
use crate::auth::Principal;
use crate::requests::{RequestRow, RequestStatus};
use crate::store::{JobRow, JobStatus, ScanRow};

/// The most requests the exceptions page lists (newest first).
const REQUESTS_SHOWN: usize = 200;

/// An exception as `GET /api/v1/exceptions` lists it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ExceptionV {
    pub name: String,
    pub sticky: bool,
    pub rules: Vec<String>,
    pub resources: Vec<String>,
    pub condition: Option<String>,
    pub group: Option<String>,
    pub expires: String,
    pub expired: bool,
    pub reason: String,
    pub origin: String,
    pub created_by: Option<String>,
}

/// The exceptions `scope` may see that have not expired and expire by
/// `until`, soonest first (the digests' and the dashboards' list).
pub async fn expiring(
    s: &crate::Server,
    scope: &crate::auth::scope::Scope,
    until: i64,
) -> Result<Vec<ExceptionV>, crate::api::error::ApiError> {
    let mut soon: Vec<(i64, ExceptionV)> = crate::api::exception_items(s, scope)
        .await?
        .into_iter()
        .filter(|x| x["expired"] == false)
        .filter_map(|x| {
            let at = x["expires_at"].as_i64().filter(|t| *t <= until)?;
            Some((at, serde_json::from_value(x).ok()?))
        })
        .collect();
    soon.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name.cmp(&b.1.name)));
    Ok(soon.into_iter().map(|(_, x)| x).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionsQuery {
    group: Option<String>,
    /// Also list expired exceptions.
    expired: Option<bool>,
    /// What the form just sent did (after its redirect).
    done: Option<Done>,
}
impl Check for ExceptionsQuery {}

#[derive(Template)]
#[template(path = "exceptions.html")]
struct ExceptionsPage {
    ctx: Ctx,
    exceptions: Vec<ExceptionV>,
    expired_shown: bool,
    expired_hidden: usize,
    requests: Vec<RequestV>,
    done: Option<Done>,
}

/// An exception request as the page lists it.
pub struct RequestV {
    pub r: RequestRow,
    /// pending, approved, rejected, or expired (approved, past its date).
    pub state: &'static str,
    /// The caller may decide it (approver of its group, not its own: the
    /// API's checks run again on the decision).
    pub decide: bool,
}

pub async fn exceptions(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: ExceptionsQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Exceptions",
        "exceptions",
        "/exceptions",
    )
    .await?;
    let all: Vec<ExceptionV> = crate::api::exception_items(&s, &crate::api::read_scope(&caller))
        .await?
        .into_iter()
        .filter_map(|x| serde_json::from_value(x).ok())
        .collect();
    let expired_shown = q.expired == Some(true);
    let expired_hidden = if expired_shown {
        0
    } else {
        all.iter().filter(|x| x.expired).count()
    };
    let exceptions = all
        .into_iter()
        .filter(|x| expired_shown || !x.expired)
        .collect();
    // Requests of the group in view (all the caller may see on "all
    // resources"), and the caller's own.
    let now = s.clock.now();
    let requests: Vec<RequestV> = s
        .requests
        .list(None)
        .await?
        .into_iter()
        .filter(|r| crate::api::requests::visible(&caller, r))
        .filter(|r| ctx.group.is_none() || r.group == ctx.group || r.requested_by == caller.id)
        .take(REQUESTS_SHOWN)
        .map(|r| {
            let expired = pac_lang::lexer::parse_timestamp(&r.expires).is_some_and(|t| t <= now);
            let state = match r.status {
                RequestStatus::Pending if expired => "expired",
                RequestStatus::Pending => "pending",
                RequestStatus::Approved if expired => "expired",
                RequestStatus::Approved => "approved",
                RequestStatus::Rejected => "rejected",
            };
            let decide = r.status == RequestStatus::Pending
                && r.requested_by != caller.id
                && crate::api::requests::approves_on(&caller, &r.group);
            RequestV { r, state, decide }
        })
        .collect();
    let page = ExceptionsPage {
        ctx,
        exceptions,
        expired_shown,
        expired_hidden,
        requests,
        done: q.done,
    };
    Ok(page.ctx.respond(&page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    group: Option<String>,
    status: Option<JobStatus>,
    page: Option<i64>,
}
impl Check for JobsQuery {
    fn check(&self) -> Result<(), crate::api::error::ApiError> {
        crate::api::params::in_range("page", self.page, 1, 1_000_000)
    }
}

const JOBS_PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "fixes.html")]
struct FixesPage {
    ctx: Ctx,
    jobs: Vec<JobRow>,
    now: i64,
    status: String,
    pager: Pager,
}

impl FixesPage {
    /// "in 3 h 20 min" / "due" for a job's grace period.
    fn countdown(&self, due: &i64) -> String {
        countdown(due - self.now)
    }
    fn resource_id<'a>(&self, key: &'a str) -> &'a str {
        key.rsplit('|').next().unwrap_or(key)
    }
    fn st_sel(&self, v: &str) -> bool {
        self.status == v
    }
}

/// "in 3 h 20 min" / "due" for `left` seconds of a grace period.
pub fn countdown(left: i64) -> String {
    if left <= 0 {
        return "due".into();
    }
    let (h, m) = (left / 3600, (left % 3600) / 60);
    if h >= 48 {
        format!("in {} d {} h", h / 24, h % 24)
    } else {
        format!("in {h} h {m} min")
    }
}

/// The job statuses (the filter's choices).
pub const JOB_STATUSES: [&str; 7] = [
    "waiting",
    "running",
    "done",
    "dry_run",
    "failed",
    "cancelled",
    "suspended",
];

pub async fn fixes(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: JobsQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Auto-fix jobs",
        "fixes",
        "/fixes",
    )
    .await?;
    let page = q.page.unwrap_or(1);
    let groups =
        crate::api::list_groups(&s, &crate::api::read_scope(&caller), ctx.group.clone()).await?;
    let (jobs, total) = s
        .store
        .jobs(
            q.status,
            groups.as_deref(),
            JOBS_PER_PAGE,
            (page - 1) * JOBS_PER_PAGE,
        )
        .await?;
    let status = q.status.map(|x| x.to_string()).unwrap_or_default();
    let mut base = ctx.gq();
    if !status.is_empty() {
        base.push_str(&format!("&status={status}"));
    }
    let pager = Pager::new(page, JOBS_PER_PAGE, total, jobs.len(), base);
    let p = FixesPage {
        ctx,
        jobs,
        now: s.clock.now(),
        status,
        pager,
    };
    Ok(p.ctx.respond(&p))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScansQuery {
    group: Option<String>,
    page: Option<i64>,
}
impl Check for ScansQuery {
    fn check(&self) -> Result<(), crate::api::error::ApiError> {
        crate::api::params::in_range("page", self.page, 1, 1_000_000)
    }
}

const SCANS_PER_PAGE: i64 = 30;

pub struct SourceV {
    pub name: String,
    pub kind: String,
    pub schedule: String,
    pub last: Option<ScanRow>,
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    ctx: Ctx,
    scans: Vec<ScanRow>,
    sources: Vec<SourceV>,
    /// A role on `*`: a scan's figures and read errors cover every group.
    full: bool,
    pager: Pager,
}

impl ScansPage {
    fn errors(&self, v: &serde_json::Value) -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| match e.as_str() {
                Some(s) => s.to_string(),
                None => e.to_string(),
            })
            .take(20)
            .collect()
    }
}

pub async fn scans(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: ScansQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Scans and sources",
        "scans",
        "/scans",
    )
    .await?;
    let page = q.page.unwrap_or(1);
    let (scans, total) = s
        .store
        .scans(SCANS_PER_PAGE, (page - 1) * SCANS_PER_PAGE)
        .await?;
    let (recent, _) = s.store.scans(200, 0).await?;
    let sources = s
        .sources
        .iter()
        .map(|b| SourceV {
            name: b.name.clone(),
            kind: b.connector.name().to_string(),
            schedule: b
                .schedule
                .clone()
                .unwrap_or_else(|| "the server's schedule".into()),
            last: recent.iter().find(|r| r.source == b.name).cloned(),
        })
        .collect();
    let full = crate::api::read_scope(&caller).is_all();
    let pager = Pager::new(page, SCANS_PER_PAGE, total, scans.len(), ctx.gq());
    let p = ScansPage {
        ctx,
        scans,
        sources,
        full,
        pager,
    };
    Ok(p.ctx.respond(&p))
}
