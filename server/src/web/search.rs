//! The search page (docs/search.md): the answer of `GET /api/v1/search`
//! for the caller's scope and the asset group in view, with facets that
//! narrow the results and links to each result's page (asset 360 for
//! resources and issues).

use askama::Template;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::{Ctx, PageResult, Pager, St, context, enc, query};
use crate::api::error::ApiError;
use crate::api::params::Check;
use crate::api::search::SearchQuery;
use crate::auth::Principal;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    group: Option<String>,
    q: Option<String>,
    kind: Option<String>,
    #[serde(rename = "type")]
    rtype: Option<String>,
    account: Option<String>,
    region: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    page: Option<i64>,
}

impl PageQuery {
    fn search(&self) -> SearchQuery {
        SearchQuery {
            q: self.q.clone(),
            kind: self.kind.clone(),
            rtype: self.rtype.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            status: self.status.clone(),
            severity: self.severity.clone(),
            page: self.page,
            per_page: Some(PER_PAGE),
        }
    }

    /// (name, value) of the facet filters set.
    fn set(&self) -> Vec<(&'static str, String)> {
        [
            ("kind", &self.kind),
            ("type", &self.rtype),
            ("account", &self.account),
            ("region", &self.region),
            ("status", &self.status),
            ("severity", &self.severity),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.clone().map(|v| (n, v)))
        .collect()
    }
}

impl Check for PageQuery {
    fn check(&self) -> Result<(), ApiError> {
        self.search().check()
    }
}

const PER_PAGE: i64 = 20;

/// A facet value as a link that adds it to the filters (or, when set,
/// removes it).
pub struct FacetLink {
    pub value: String,
    pub count: u64,
    pub href: String,
    pub on: bool,
}

pub struct Facet {
    pub name: String,
    pub values: Vec<FacetLink>,
}

pub struct HitV {
    pub kind: String,
    pub id: String,
    pub title: String,
    pub href: String,
    pub rtype: String,
    pub place: String,
    pub status: String,
    pub severity: String,
    pub parts: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub ctx: Ctx,
    pub q: String,
    pub error: String,
    pub took_ms: String,
    pub hits: Vec<HitV>,
    pub facets: Vec<Facet>,
    /// Filters set, each with the link that removes it.
    pub set: Vec<(String, String, String)>,
    pub pager: Pager,
}

pub async fn page(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let pq: PageQuery = query(raw.as_deref())?;
    let mut ctx = context(
        &s,
        &caller,
        &headers,
        pq.group.as_deref(),
        "Search",
        "search",
        "/search",
    )
    .await?;
    ctx.query = pq.q.clone().unwrap_or_default();
    let sq = pq.search();
    let page = pq.page.unwrap_or(1);
    // The query string of the current query and filters, without `skip`.
    let current_except = |skip: &str| -> String {
        let mut out = ctx.gq();
        if let Some(q) = &pq.q {
            out.push_str(&format!("&q={}", enc(q)));
        }
        for (n, v) in pq.set() {
            if n != skip {
                out.push_str(&format!("&{n}={}", enc(&v)));
            }
        }
        out
    };
    // The link of the current filters with `name` set to `value` (or
    // removed when `value` is None), back to page 1.
    let link = |name: &str, value: Option<&str>| -> String {
        let mut out = current_except(name);
        if let Some(v) = value {
            out.push_str(&format!("&{name}={}", enc(v)));
        }
        format!("/search?{out}")
    };
    let set = pq
        .set()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v, link(n, None)))
        .collect();
    let (answer, error) =
        // The group in view narrows the results as it narrows every page.
        match crate::api::search::run(&s, &crate::api::read_scope(&caller), &sq, ctx.group.as_deref())
            .await
        {
            Ok(v) => (v, String::new()),
            // A query the language refuses is shown on the page, with the box
            // to correct it.
            Err(e) if e.status == StatusCode::BAD_REQUEST => (serde_json::Value::Null, e.message),
            Err(e) => return Err(e.into()),
        };
    let current = pq.set();
    let facets = answer["facets"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, values)| Facet {
            name: name.clone(),
            values: values
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    let value = v["value"].as_str().unwrap_or_default().to_string();
                    let on = current.iter().any(|(n, x)| n == name && x == &value);
                    FacetLink {
                        href: link(name, (!on).then_some(value.as_str())),
                        count: v["count"].as_u64().unwrap_or(0),
                        value,
                        on,
                    }
                })
                .collect(),
        })
        .filter(|f| !f.values.is_empty())
        .collect();
    let gq = ctx.gq();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let hits: Vec<HitV> = answer["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HitV {
            kind: text(&h["kind"]),
            id: text(&h["id"]),
            title: text(&h["title"]),
            href: format!("{}?{gq}", text(&h["link"])),
            rtype: text(&h["type"]),
            place: [text(&h["account"]), text(&h["region"])]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            status: text(&h["status"]),
            severity: text(&h["severity"]),
            parts: h["highlight"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["text"]), p["matched"].as_bool() == Some(true)))
                .collect(),
        })
        .collect();
    let total = answer["total"].as_i64().unwrap_or(0);
    let base = current_except("");
    let pager = Pager::new(page, PER_PAGE, total, hits.len(), base);
    let p = SearchPage {
        q: pq.q.clone().unwrap_or_default(),
        error,
        took_ms: answer["took_ms"]
            .as_f64()
            .map(|t| format!("{t:.1}"))
            .unwrap_or_default(),
        hits,
        facets,
        set,
        pager,
        ctx,
    };
    Ok(p.ctx.respond(&p))
}
