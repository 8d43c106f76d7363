//! The compliance dashboard (`/`): overall, by category, severity and
//! policy, with coverage and `unknown` beside every figure, and the trend
//! over the last 30 or 90 days.

use askama::Template;
use axum::Extension;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::{Ctx, PageResult, St, WebError, band, chart, context, pct, query, results_ready};
use crate::api::params::Check;
use crate::auth::Principal;

/// One line of a roll-up, as the compliance API answers it.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Fig {
    pub name: String,
    pub assets: i64,
    pub compliance: Option<f64>,
    pub open: i64,
    pub exempt: i64,
    pub unknown: i64,
}

impl Fig {
    pub fn pct(&self) -> String {
        pct(&self.compliance)
    }
    pub fn band(&self) -> &'static str {
        band(&self.compliance)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Coverage {
    pub known: i64,
    pub unknown: i64,
    pub percent: Option<f64>,
    pub unread: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Tagging {
    pub compliance: Option<f64>,
    pub taggable: i64,
    pub tagged: i64,
}

/// The stored roll-up of a group (what `GET /api/v1/compliance` answers).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Compliance {
    pub overall: Option<f64>,
    pub categories: Vec<Fig>,
    pub severities: Vec<Fig>,
    pub policies: Vec<Fig>,
    pub coverage: Coverage,
    pub tagging: Tagging,
}

impl Compliance {
    pub fn open(&self) -> i64 {
        self.severities.iter().map(|f| f.open).sum()
    }
    pub fn exempt(&self) -> i64 {
        self.severities.iter().map(|f| f.exempt).sum()
    }
}

/// The roll-up of `group` (`None`: everything) and when its scan ran.
pub async fn compliance_of(
    s: &crate::Server,
    group: Option<&str>,
) -> Result<(Compliance, i64), WebError> {
    results_ready(s).await?;
    match s.store.compliance(group.unwrap_or("")).await? {
        Some((_, at, body)) => Ok((serde_json::from_value(body).unwrap_or_default(), at)),
        None => Ok((Compliance::default(), 0)),
    }
}

/// A trend chart and the figures it shows (also as a table, for screen
/// readers and for reading exact values).
pub struct Trend {
    pub svg: String,
    pub days: i64,
    pub rows: Vec<(String, String, i64, i64)>,
}

/// The trend of `policy` (`""`: overall) in `group` over `days`.
pub async fn trend_of(
    s: &crate::Server,
    group: Option<&str>,
    policy: &str,
    days: i64,
) -> Result<Trend, WebError> {
    let rows = s.store.history(group.unwrap_or(""), policy).await?;
    trend_rows(s, &rows, days)
}

/// The trend of a domain within `group` over `days`.
pub async fn domain_trend(
    s: &crate::Server,
    group: Option<&str>,
    domain: &str,
    days: i64,
) -> Result<Trend, WebError> {
    let rows = s.store.domain_history(group.unwrap_or(""), domain).await?;
    trend_rows(s, &rows, days)
}

/// The roll-up of domain `domain` within `group` (`None`: everything).
pub async fn domain_compliance_of(
    s: &crate::Server,
    group: Option<&str>,
    domain: &str,
) -> Result<(Compliance, i64), WebError> {
    results_ready(s).await?;
    match s
        .store
        .domain_compliance(group.unwrap_or(""), domain)
        .await?
    {
        Some((_, at, body)) => Ok((serde_json::from_value(body).unwrap_or_default(), at)),
        None => Ok((Compliance::default(), 0)),
    }
}

/// Policies with something to look at, worst first.
pub fn worst_first(c: &Compliance) -> Vec<Fig> {
    let mut worst: Vec<Fig> = c
        .policies
        .iter()
        .filter(|f| f.assets > 0)
        .cloned()
        .collect();
    worst.sort_by(|a, b| {
        a.compliance
            .unwrap_or(101.0)
            .total_cmp(&b.compliance.unwrap_or(101.0))
            .then(b.open.cmp(&a.open))
    });
    worst
}

fn trend_rows(
    s: &crate::Server,
    rows: &[crate::store::HistoryRow],
    days: i64,
) -> Result<Trend, WebError> {
    let end = chrono::DateTime::from_timestamp(s.clock.now(), 0)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let points: Vec<(chrono::NaiveDate, f64)> = rows
        .iter()
        .filter_map(|r| {
            let d = chrono::NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?;
            Some((d, r.compliance? as f64))
        })
        .collect();
    let svg = chart::trend(&points, end, days).map_err(|m| WebError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        message: m,
    })?;
    let start = end - chrono::Duration::days(days);
    let rows = rows
        .iter()
        .filter(|r| chrono::NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").is_ok_and(|d| d >= start))
        .map(|r| {
            (
                r.day.clone(),
                pct(&r.compliance.map(|c| c as f64)),
                r.open,
                r.unknown,
            )
        })
        .collect();
    Ok(Trend { svg, days, rows })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashQuery {
    group: Option<String>,
    /// 30 or 90.
    days: Option<i64>,
}
impl Check for DashQuery {}

pub fn days_of(d: Option<i64>) -> Result<i64, WebError> {
    match d.unwrap_or(30) {
        d @ (30 | 90) => Ok(d),
        d => Err(WebError::bad(format!("`days` is 30 or 90, not {d}"))),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Page {
    ctx: Ctx,
    c: Compliance,
    at: i64,
    trend: Trend,
    worst: Vec<Fig>,
}

pub async fn page(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: DashQuery = query(raw.as_deref())?;
    let days = days_of(q.days)?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Compliance",
        "dashboard",
        "/",
    )
    .await?;
    let (c, at) = compliance_of(&s, ctx.group.as_deref()).await?;
    let trend = trend_of(&s, ctx.group.as_deref(), "", days).await?;
    let worst = worst_first(&c);
    let page = Page {
        ctx,
        c,
        at,
        trend,
        worst,
    };
    Ok(page.ctx.respond(&page))
}
