//! Policies: the list with their figures, and one policy's page
//! (description, remediation, rules with their auto-fix, trend, failing
//! resources with their messages, exceptions).

use askama::Template;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::dashboard::{Fig, Trend, days_of, trend_of};
use super::forms::Kept;
use super::lists::ExceptionV;
use super::{Ctx, PageResult, St, WebError, context, query, results_ready};
use crate::api::params::Check;
use crate::auth::Principal;
use crate::store::{IssueFilter, IssueRow, IssueStatus};

/// A policy as `GET /api/v1/policies` answers it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PolicyV {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: String,
    pub category: String,
    pub remediation: Option<String>,
    pub doc: Option<String>,
    pub file: Option<String>,
    pub rules: Vec<RuleV>,
    pub compliance: Option<Fig>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RuleV {
    pub id: String,
    pub resource_type: String,
    pub group: Option<String>,
    pub autofix: Option<AutofixV>,
    pub compliance: Option<Fig>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AutofixV {
    pub action: String,
    pub grace_seconds: i64,
}

impl AutofixV {
    pub fn grace(&self) -> String {
        let s = self.grace_seconds;
        if s == 0 {
            "at once".into()
        } else if s % 86_400 == 0 {
            format!("after {} d", s / 86_400)
        } else if s % 3600 == 0 {
            format!("after {} h", s / 3600)
        } else {
            format!("after {s} s")
        }
    }
}

impl PolicyV {
    pub fn fig(&self) -> Fig {
        self.compliance.clone().unwrap_or_default()
    }
}

/// Every policy with the figures of `group`, as the API builds them.
async fn policies_of(s: &crate::Server, group: Option<&str>) -> Result<Vec<PolicyV>, WebError> {
    let loaded = s
        .current_program()
        .await
        .map_err(crate::api::error::ApiError::internal)?;
    let p = loaded.program();
    let figs = crate::api::figures(s, group.unwrap_or("")).await?;
    Ok((0..p.policies.len())
        .map(|i| serde_json::from_value(crate::api::policy_json(p, i, &figs)).unwrap_or_default())
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    group: Option<String>,
    category: Option<String>,
    severity: Option<crate::api::Severity>,
}
impl Check for ListQuery {}

#[derive(Template)]
#[template(path = "policies.html")]
struct ListPage {
    ctx: Ctx,
    policies: Vec<PolicyV>,
    categories: Vec<String>,
    category: String,
    severity: String,
}

/// The severities, most severe first (the filter's choices).
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

impl ListPage {
    fn cat_sel(&self, c: &str) -> bool {
        self.category == c
    }
    fn sev_sel(&self, v: &str) -> bool {
        self.severity == v
    }
}

pub async fn list(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: ListQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Policies",
        "policies",
        "/policies",
    )
    .await?;
    results_ready(&s).await?;
    let all = policies_of(&s, ctx.group.as_deref()).await?;
    let mut categories: Vec<String> = all.iter().map(|p| p.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let severity = q.severity.map(|x| x.name().to_string()).unwrap_or_default();
    let category = q.category.unwrap_or_default();
    let policies = all
        .into_iter()
        .filter(|p| category.is_empty() || p.category == category)
        .filter(|p| severity.is_empty() || p.severity == severity)
        .collect();
    let page = ListPage {
        ctx,
        policies,
        categories,
        category,
        severity,
    };
    Ok(page.ctx.respond(&page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyQuery {
    group: Option<String>,
    days: Option<i64>,
}
impl Check for PolicyQuery {}

/// How many failing resources a policy page lists (the issue tracker has
/// them all).
const FAILING_SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    ctx: Ctx,
    p: PolicyV,
    trend: Trend,
    failing: Vec<IssueRow>,
    open: i64,
    exceptions: Vec<ExceptionV>,
    /// The sticky exception request form (shown to a requester of the
    /// group in view).
    req: super::forms::RequestFields,
}

pub async fn page(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: PolicyQuery = query(raw.as_deref())?;
    render(s, caller, headers, id, q.group, q.days, Kept::default()).await
}

/// The page of policy `id`; `kept` is what a refused sticky exception
/// request sent, shown again in the form with the reason it was refused.
#[allow(clippy::too_many_arguments)]
pub(super) async fn render(
    s: std::sync::Arc<crate::Server>,
    caller: Principal,
    headers: HeaderMap,
    id: String,
    group: Option<String>,
    days: Option<i64>,
    kept: Kept,
) -> PageResult {
    let days = days_of(days)?;
    let here = format!("/policies/{}", super::enc(&id));
    let ctx = context(
        &s,
        &caller,
        &headers,
        group.as_deref(),
        format!("Policy {id}"),
        "policies",
        &here,
    )
    .await?;
    results_ready(&s).await?;
    let Some(p) = policies_of(&s, ctx.group.as_deref())
        .await?
        .into_iter()
        .find(|p| p.id == id)
    else {
        return Err(WebError {
            status: StatusCode::NOT_FOUND,
            message: format!("no policy `{id}`: see the list of policies"),
        });
    };
    let trend = trend_of(&s, ctx.group.as_deref(), &p.id, days).await?;
    let f = IssueFilter {
        policy: Some(p.id.clone()),
        status: Some(IssueStatus::Open),
        groups: crate::api::list_groups(&s, &crate::api::read_scope(&caller), ctx.group.clone())
            .await?,
        ..Default::default()
    };
    let (failing, open) = s.store.issues(&f, FAILING_SHOWN, 0).await?;
    let rules: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
    let exceptions: Vec<ExceptionV> =
        crate::api::exception_items(&s, &crate::api::read_scope(&caller))
            .await?
            .into_iter()
            .filter(|x: &Value| {
                x["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r.as_str().is_some_and(|r| rules.contains(&r)))
            })
            .filter_map(|x| serde_json::from_value(x).ok())
            .collect();
    let req = super::forms::RequestFields::of(&s, &caller, ctx.group.as_deref(), kept);
    let page = PolicyPage {
        ctx,
        p,
        trend,
        failing,
        open,
        exceptions,
        req,
    };
    Ok(super::forms::with_status(
        page.ctx.respond(&page),
        &page.req,
    ))
}
