//! Assets: the asset dashboard (counts by type, account and region, the
//! most common failing policies per type, the resource list) and the
//! asset 360 page (the API's `GET /api/v1/resources/{id}` answer, plus
//! every rule that applies with its state and the auto-fix jobs).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::forms::Kept;
use super::lists::ExceptionV;
use super::{Ctx, PageResult, Pager, St, WebError, context, enc, query, results_ready};
use crate::api::params::{Check, in_range, max_len};
use crate::auth::Principal;
use crate::store::{JobRow, ResourceFilter, ResourceRow};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetsQuery {
    group: Option<String>,
    #[serde(rename = "type")]
    rtype: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}
impl Check for AssetsQuery {
    fn check(&self) -> Result<(), crate::api::error::ApiError> {
        in_range("page", self.page, 1, 1_000_000)?;
        if let Some(t) = &self.rtype {
            max_len("type", t, crate::api::NAME_MAX)?;
        }
        if let Some(q) = &self.q {
            max_len("q", q, crate::api::ID_MAX)?;
        }
        Ok(())
    }
}

const ASSETS_PER_PAGE: i64 = 50;
/// Failing policies shown per resource type.
const TOP_PER_TYPE: usize = 3;

pub struct TypeSummary {
    pub rtype: String,
    pub count: i64,
    /// (policy, open issues), most first.
    pub top: Vec<(String, i64)>,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    ctx: Ctx,
    total: i64,
    types: Vec<TypeSummary>,
    accounts: Vec<(String, i64)>,
    regions: Vec<(String, i64)>,
    rows: Vec<ResourceRow>,
    pager: Pager,
    rtype: String,
    q: String,
}

impl AssetsPage {
    fn type_sel(&self, v: &str) -> bool {
        self.rtype == v
    }
}

/// The asset dashboard's counts: resources per (type, account, region)
/// and open issues per (type, policy).
type Counts = (
    Vec<(String, String, String, i64)>,
    Vec<(String, String, i64)>,
);

/// The counts of the last roll-up, per group selection: resources and
/// issues change only when a scan commits (its roll-up, keyed by scan id
/// and time), so the GROUP BY queries over every resource and issue run
/// once per scan and selection instead of on every request. At most
/// [`COUNTS_KEPT`] selections are kept; a new roll-up empties it.
#[derive(Default)]
pub struct CountsCache(std::sync::Mutex<Option<(Rollup, PerSelection)>>);

/// A roll-up: (scan id, time).
type Rollup = (i64, i64);

/// Counts per group selection (`None`: every resource).
type PerSelection = HashMap<Option<Vec<String>>, Arc<Counts>>;

const COUNTS_KEPT: usize = 64;

async fn counts(s: &crate::Server, groups: Option<&[String]>) -> Result<Arc<Counts>, WebError> {
    let rollup = s.store.compliance("").await?.map(|(id, at, _)| (id, at));
    let key = groups.map(<[String]>::to_vec);
    if let Some(r) = rollup
        && let Ok(c) = s.asset_counts.0.lock()
        && let Some((k, m)) = c.as_ref()
        && *k == r
        && let Some(v) = m.get(&key)
    {
        return Ok(v.clone());
    }
    let v = Arc::new((
        s.store.resource_counts(groups).await?,
        s.store.open_issue_counts(groups).await?,
    ));
    // Kept only if no scan committed meanwhile (else the next request
    // counts again).
    let now = s.store.compliance("").await?.map(|(id, at, _)| (id, at));
    if let (Some(r), true) = (rollup, now == rollup)
        && let Ok(mut c) = s.asset_counts.0.lock()
    {
        match c.as_mut() {
            Some((k, m)) if *k == r && m.len() < COUNTS_KEPT => {
                m.insert(key, v.clone());
            }
            Some((k, _)) if *k == r => {}
            _ => *c = Some((r, HashMap::from([(key, v.clone())]))),
        }
    }
    Ok(v)
}

/// Counts, after a scan, for the selections pages ask for most: every
/// resource and each asset group alone. So the first view of `/assets`
/// after a scan is as fast as the next (at 100k resources the counting
/// takes about a quarter of a second per selection; the scan pays it once).
pub async fn warm_counts(s: &crate::Server) {
    let groups: Vec<String> = match s.current_program().await {
        Ok(p) => p.program().groups.iter().map(|g| g.name.clone()).collect(),
        Err(_) => return,
    };
    let mut selections = vec![None];
    selections.extend(groups.into_iter().map(|g| Some(vec![g])));
    for sel in selections {
        if let Err(e) = counts(s, sel.as_deref()).await {
            tracing::debug!("asset counts not prepared: {}", e.message);
            return;
        }
    }
}

pub async fn list(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: AssetsQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Assets",
        "assets",
        "/assets",
    )
    .await?;
    results_ready(&s).await?;
    let groups =
        crate::api::list_groups(&s, &crate::api::read_scope(&caller), ctx.group.clone()).await?;
    let cached = counts(&s, groups.as_deref()).await?;
    let (counts, open) = (&cached.0, &cached.1);
    let mut by_type: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_region: BTreeMap<String, i64> = BTreeMap::new();
    for (t, a, r, n) in counts {
        *by_type.entry(t.clone()).or_default() += n;
        *by_account.entry(a.clone()).or_default() += n;
        *by_region.entry(r.clone()).or_default() += n;
    }
    let types = by_type
        .iter()
        .map(|(t, n)| TypeSummary {
            rtype: t.clone(),
            count: *n,
            // Rows come most-failing first within a type.
            top: open
                .iter()
                .filter(|(ot, _, _)| ot == t)
                .take(TOP_PER_TYPE)
                .map(|(_, p, n)| (p.clone(), *n))
                .collect(),
        })
        .collect();
    let page = q.page.unwrap_or(1);
    let f = ResourceFilter {
        rtype: q.rtype.clone(),
        groups,
        q: q.q.clone(),
    };
    let (rows, total_rows) = s
        .store
        .resources(&f, ASSETS_PER_PAGE, (page - 1) * ASSETS_PER_PAGE)
        .await?;
    let mut base = ctx.gq();
    if let Some(t) = &q.rtype {
        base.push_str(&format!("&type={}", enc(t)));
    }
    if let Some(t) = &q.q {
        base.push_str(&format!("&q={}", enc(t)));
    }
    let pager = Pager::new(page, ASSETS_PER_PAGE, total_rows, rows.len(), base);
    let sorted = |m: BTreeMap<String, i64>| {
        let mut v: Vec<(String, i64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let p = AssetsPage {
        total: by_type.values().sum(),
        ctx,
        types,
        accounts: sorted(by_account),
        regions: sorted(by_region),
        rows,
        pager,
        rtype: q.rtype.unwrap_or_default(),
        q: q.q.unwrap_or_default(),
    };
    Ok(p.ctx.respond(&p))
}

/// The asset 360 answer of the API, typed for the page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AssetV {
    pub key: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub id: String,
    pub account: String,
    pub region: String,
    pub source: String,
    pub document: Value,
    pub first_seen: i64,
    pub last_seen: i64,
    pub deleted_at: Option<i64>,
    pub groups: Vec<String>,
    pub issues: Vec<IssueV>,
    pub exceptions: Vec<ExceptionV>,
    pub history: Vec<EventV>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IssueV {
    pub id: i64,
    pub rule: String,
    pub policy: String,
    pub status: String,
    pub message: String,
    pub exception: Option<String>,
    pub first_seen: i64,
    pub last_opened: i64,
    pub closed_at: Option<i64>,
    pub times_opened: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EventV {
    pub issue: i64,
    pub rule: String,
    pub at: i64,
    pub kind: String,
    pub detail: String,
}

/// A rule that applies to the resource, and its state at the last scan.
pub struct Applies {
    pub rule: String,
    pub policy: String,
    pub title: String,
    pub severity: String,
    /// fail, exempt, pass or unknown.
    pub state: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    ctx: Ctx,
    a: AssetV,
    document: String,
    applies: Vec<Applies>,
    jobs: Vec<JobRow>,
    exceptions: Vec<ExceptionV>,
    /// Whether the caller may request exceptions in the group in view.
    req: super::forms::RequestFields,
    /// (policy, title) of the rules failing now: what a request may name.
    failing: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetQuery {
    group: Option<String>,
    /// The policy the request form starts with (the issue tracker's link).
    policy: Option<String>,
}
impl Check for AssetQuery {}

pub async fn page(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: AssetQuery = query(raw.as_deref())?;
    let kept = Kept {
        policy: q.policy,
        ..Kept::default()
    };
    render(s, caller, headers, id, q.group, kept).await
}

/// Asset 360 of resource `id`; `kept` is what a refused request form sent,
/// shown again in the form with the reason it was refused.
pub(super) async fn render(
    s: std::sync::Arc<crate::Server>,
    caller: Principal,
    headers: HeaderMap,
    id: String,
    group: Option<String>,
    kept: Kept,
) -> PageResult {
    if id.len() > crate::api::ID_MAX * 2 {
        return Err(WebError::bad("that resource id is too long"));
    }
    let here = format!("/assets/{}", enc(&id));
    let ctx = context(
        &s,
        &caller,
        &headers,
        group.as_deref(),
        format!("Asset {id}"),
        "assets",
        &here,
    )
    .await?;
    results_ready(&s).await?;
    let scope = crate::api::read_scope(&caller);
    // The API's asset 360, with its scope check: outside the caller's
    // groups is the 404 of a resource that does not exist.
    let v = crate::api::asset_360(&s, &scope, &id).await?;
    let mut a: AssetV = serde_json::from_value(v).unwrap_or_default();
    let document = serde_json::to_string_pretty(&a.document).unwrap_or_default();
    // Unknown results: the resource's source could not be read at the
    // last scan (the roll-up's coverage lists it).
    let unread: Vec<String> = s
        .store
        .compliance("")
        .await?
        .map(|(_, _, body)| {
            body["coverage"]["unread"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["source"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let source_unread = unread.contains(&a.source);
    let all_groups = s.store.resource_groups(&a.key).await?;
    let loaded = s
        .current_program()
        .await
        .map_err(crate::api::error::ApiError::internal)?;
    let p = loaded.program();
    let applies: Vec<Applies> = p
        .rules
        .iter()
        .filter(|r| r.resource_type == a.rtype)
        .filter(|r| {
            r.scope
                .and_then(|g| p.groups.get(g))
                .is_none_or(|g| all_groups.contains(&g.name))
        })
        .map(|r| {
            let pol = &p.policies[r.policy];
            let issue = a.issues.iter().find(|i| i.rule == r.id);
            let (state, note) = match issue {
                Some(i) if i.status == "open" => ("fail", i.message.clone()),
                Some(i) if i.status == "exempted" => (
                    "exempt",
                    format!("by {}", i.exception.clone().unwrap_or_default()),
                ),
                _ if source_unread => (
                    "unknown",
                    "its source could not be read at the last scan".to_string(),
                ),
                Some(_) => ("pass", "an earlier issue is closed".to_string()),
                None => ("pass", String::new()),
            };
            Applies {
                rule: r.id.clone(),
                policy: pol.name.clone(),
                title: pol.title.clone(),
                severity: pol.severity.name().to_string(),
                state,
                note,
            }
        })
        .collect();
    let mut jobs = Vec::new();
    for i in &a.issues {
        jobs.extend(s.store.jobs_of_issue(i.id).await?);
    }
    let exceptions = std::mem::take(&mut a.exceptions);
    let req = super::forms::RequestFields::of(&s, &caller, ctx.group.as_deref(), kept);
    let mut failing: Vec<(String, String)> = applies
        .iter()
        .filter(|r| r.state == "fail")
        .map(|r| (r.policy.clone(), r.title.clone()))
        .collect();
    failing.dedup();
    let p = AssetPage {
        ctx,
        a,
        document,
        applies,
        jobs,
        exceptions,
        req,
        failing,
    };
    Ok(super::forms::with_status(p.ctx.respond(&p), &p.req))
}
