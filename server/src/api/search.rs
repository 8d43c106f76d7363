//! `GET /api/v1/search`: the omni search (docs/search.md) over resources,
//! policies, rules, issues and exceptions, within the caller's asset
//! groups, with facet counts and highlights.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::params::{Check, Params};
use super::{NAME_MAX, Res, S, check_paging, opt_len, read_scope};
use crate::Server;
use crate::auth::Principal;
use crate::auth::scope::Scope;

/// The longest query accepted (characters).
pub const QUERY_MAX: usize = pac_search::query::MAX_QUERY;

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The query: words (typos forgiven), `field:value` on any attribute
    /// path (`state.name:running`, `tag:Owner=alice`), `type:`, `account:`,
    /// `region:`, `status:`, `severity:`, `policy:`, `kind:`, ranges
    /// (`size:>100`, `launch_time:>=2026-01-01`), `-` to exclude. Empty:
    /// everything in scope.
    #[param(max_length = 1000)]
    pub q: Option<String>,
    /// Only this kind: resource, policy, rule, issue or exception.
    #[param(min_length = 1, max_length = 128)]
    pub kind: Option<String>,
    /// Only this resource type (a trailing `*` matches a prefix).
    #[serde(rename = "type")]
    #[param(min_length = 1, max_length = 128)]
    pub rtype: Option<String>,
    #[param(min_length = 1, max_length = 128)]
    pub account: Option<String>,
    #[param(min_length = 1, max_length = 128)]
    pub region: Option<String>,
    /// failing, exempted or passing (resources); open, exempted or closed
    /// (issues); active or expired (exceptions).
    #[param(min_length = 1, max_length = 128)]
    pub status: Option<String>,
    #[param(min_length = 1, max_length = 128)]
    pub severity: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000)]
    pub page: Option<i64>,
    /// Results per page, 1 to 100 (20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

impl Check for SearchQuery {
    fn check(&self) -> Result<(), ApiError> {
        if let Some(q) = &self.q
            && q.chars().count() > QUERY_MAX
        {
            return Err(ApiError::bad(format!(
                "`q` is longer than {QUERY_MAX} characters; shorten it"
            )));
        }
        for (name, v) in self.filters_named() {
            opt_len(name, &v.cloned(), NAME_MAX)?;
        }
        check_paging(self.page, self.per_page)?;
        if self.page.unwrap_or(1) > 1000 || self.per_page.unwrap_or(20) > 100 {
            return Err(ApiError::bad(
                "`page` goes to 1000 and `per_page` to 100; narrow the query instead",
            ));
        }
        Ok(())
    }
}

impl SearchQuery {
    fn filters_named(&self) -> [(&'static str, Option<&String>); 6] {
        [
            ("kind", self.kind.as_ref()),
            ("type", self.rtype.as_ref()),
            ("account", self.account.as_ref()),
            ("region", self.region.as_ref()),
            ("status", self.status.as_ref()),
            ("severity", self.severity.as_ref()),
        ]
    }

    /// The filters as clauses of the query language, the value quoted as
    /// one word (so a value cannot add clauses).
    pub fn filters(&self) -> Vec<String> {
        self.filters_named()
            .into_iter()
            .filter_map(|(name, v)| {
                let v = v?.replace('"', "");
                Some(format!("{name}:\"{v}\""))
            })
            .collect()
    }

    pub fn page(&self) -> (usize, usize) {
        let page = self.page.unwrap_or(1).clamp(1, 1000) as usize;
        let per = self.per_page.unwrap_or(20).clamp(1, 100) as usize;
        (page, per)
    }
}

/// Runs `q` for a caller with `scope`, narrowed to `group` when given
/// (the portal's group in view). The index answers from its last commit;
/// 503 until it was first built.
pub(crate) async fn run(
    s: &Server,
    scope: &Scope,
    q: &SearchQuery,
    group: Option<&str>,
) -> Result<serde_json::Value, ApiError> {
    let Some(index) = s.search.index().cloned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search is not available on this server (its index could not be opened; see the server's log)",
        ));
    };
    if !s.search.ready() && index.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the search index is being built; retry in a few seconds",
        ));
    }
    let (page, per) = q.page();
    let request = pac_search::Request {
        query: q.q.clone().unwrap_or_default(),
        filters: q
            .filters()
            .into_iter()
            .chain(group.map(|g| format!("group:\"{}\"", g.replace('"', ""))))
            .collect(),
        offset: (page - 1) * per,
        limit: per,
    };
    let groups = scope.groups().map(<[String]>::to_vec);
    let started = std::time::Instant::now();
    let answer = tokio::task::spawn_blocking(move || index.search(&request, groups.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    let answer = match answer {
        Ok(a) => a,
        Err(pac_search::Error::Query(e)) => return Err(ApiError::bad(format!("`q`: {e}"))),
        Err(e) => return Err(ApiError::internal(e)),
    };
    Ok(json!({
        "query": q.q.clone().unwrap_or_default(),
        "total": answer.total,
        "page": page,
        "per_page": per,
        "pages": answer.total.div_ceil(per as u64),
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        // Of the commit the hits come from, not the latest one: the two
        // differ for a moment after each index commit.
        "as_of_scan": crate::search::scan_of(answer.state.as_deref()),
        "hits": answer.hits,
        "facets": answer.facets,
    }))
}

/// Searches resources, policies, rules, issues and exceptions.
///
/// Within the caller's asset groups (policies and rules are visible to
/// all); facet counts are of every result in that scope, not only the
/// page. The index follows each scan a moment after its commit
/// (`as_of_scan` says which scan it reflects).
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, description = "`total`, `hits` (kind, id, title, link, type, account, region, status, severity, score, highlight parts) and `facets` (kind, type, account, region, status, severity: value and count)", body = Object),
        (status = 400, description = "a query the language refuses (where and why)", body = ErrorBody),
        (status = 503, description = "the search index is being built", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
pub(super) async fn search(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<SearchQuery>,
) -> Res {
    match run(&s, &read_scope(&caller), &q, None).await {
        Ok(v) => Ok(axum::Json(v).into_response()),
        Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => {
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_value_cannot_add_clauses() {
        let q = SearchQuery {
            rtype: Some("aws.ec2.instance\" status:passing kind:\"x".into()),
            ..SearchQuery::default()
        };
        let f = q.filters();
        assert_eq!(f, vec!["type:\"aws.ec2.instance status:passing kind:x\""]);
        let clauses = pac_search::parse(&f[0]).unwrap();
        assert_eq!(clauses.len(), 1);
    }
}
