//! Compliance domains (`/domains`, `/domains/{name}`): the named sets of
//! policies the policy files declare (`domain NAME { … }`), each with its
//! figures, trend and dashboard within the asset group in view. The
//! figures are the scan's own roll-ups of the domain's policies (stored
//! per group and domain), not recomputed here.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::dashboard::{
    Compliance, Fig, Trend, days_of, domain_compliance_of, domain_trend, worst_first,
};
use super::{Ctx, PageResult, St, WebError, context, query};
use crate::api::error::ApiError;
use crate::api::params::Check;
use crate::auth::Principal;

/// A domain as its card shows it.
pub struct DomainCard {
    pub name: String,
    pub title: String,
    pub description: String,
    pub policies: usize,
    pub c: Compliance,
}

/// Every declared domain with its figures within `group`.
pub async fn cards_of(
    s: &crate::Server,
    p: &pac_compiler::Program,
    group: Option<&str>,
) -> Result<Vec<DomainCard>, WebError> {
    let mut out = Vec::new();
    for d in &p.domains {
        let (c, _) = domain_compliance_of(s, group, &d.name).await?;
        out.push(DomainCard {
            name: d.name.clone(),
            title: d.title.clone().unwrap_or_else(|| d.name.clone()),
            description: d.description.clone().or(d.doc.clone()).unwrap_or_default(),
            policies: p.domain_policies(d).len(),
            c,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupOnly {
    pub group: Option<String>,
}
impl Check for GroupOnly {}

#[derive(Template)]
#[template(path = "domains.html")]
struct ListPage {
    ctx: Ctx,
    domains: Vec<DomainCard>,
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
        "Compliance domains",
        "domains",
        "/domains",
    )
    .await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let domains = cards_of(&s, loaded.program(), ctx.group.as_deref()).await?;
    let page = ListPage { ctx, domains };
    Ok(page.ctx.respond(&page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainQuery {
    group: Option<String>,
    /// 30 or 90.
    days: Option<i64>,
}
impl Check for DomainQuery {}

#[derive(Template)]
#[template(path = "domain.html")]
struct Page {
    ctx: Ctx,
    d: DomainCard,
    at: i64,
    trend: Trend,
    worst: Vec<Fig>,
    /// The domain's policies (all of them, those with no resource in view
    /// included), by name.
    members: Vec<(String, String)>,
}

pub async fn page(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: DomainQuery = query(raw.as_deref())?;
    let days = days_of(q.days)?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let Some(d) = p.domain(&name) else {
        return Err(ApiError::not_found(format!(
            "no compliance domain `{name}`: the policies declare {}",
            if p.domains.is_empty() {
                "none".to_string()
            } else {
                p.domains
                    .iter()
                    .map(|d| format!("`{}`", d.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ))
        .into());
    };
    let here = format!("/domains/{}", super::enc(&d.name));
    let title = d.title.clone().unwrap_or_else(|| d.name.clone());
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        title.clone(),
        "domains",
        &here,
    )
    .await?;
    let (c, at) = domain_compliance_of(&s, ctx.group.as_deref(), &d.name).await?;
    let trend = domain_trend(&s, ctx.group.as_deref(), &d.name, days).await?;
    let worst = worst_first(&c);
    let members: Vec<_> = p
        .domain_policies(d)
        .into_iter()
        .map(|i| (p.policies[i].name.clone(), p.policies[i].title.clone()))
        .collect();
    let page = Page {
        d: DomainCard {
            name: d.name.clone(),
            title,
            description: d.description.clone().or(d.doc.clone()).unwrap_or_default(),
            policies: members.len(),
            c,
        },
        ctx,
        at,
        trend,
        worst,
        members,
    };
    Ok(page.ctx.respond(&page))
}
