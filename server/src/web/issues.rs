//! The issue tracker: filters, paging and deep links (every filter is in
//! the URL), and the CSV export of the same selection. Rows come from the
//! store function the API's `GET /api/v1/issues` reads, with the same
//! filter and the same group confinement.

use askama::Template;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{Ctx, PageResult, Pager, St, context, enc, query, results_ready};
use crate::api::params::{Check, in_range, max_len};
use crate::auth::Principal;
use crate::store::{IssueFilter, IssueRow, IssueSort, IssueStatus};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuesQuery {
    group: Option<String>,
    policy: Option<String>,
    status: Option<IssueStatus>,
    severity: Option<crate::api::Severity>,
    page: Option<i64>,
    per_page: Option<i64>,
    /// One of [`IssueSort::ALL`]'s names; anything else is a 400.
    sort: Option<IssueSort>,
}
impl Check for IssuesQuery {
    fn check(&self) -> Result<(), crate::api::error::ApiError> {
        in_range("page", self.page, 1, 1_000_000)?;
        in_range("per_page", self.per_page, 1, 500)?;
        if let Some(p) = &self.policy {
            max_len("policy", p, crate::api::NAME_MAX)?;
        }
        Ok(())
    }
}

impl IssuesQuery {
    /// The filter, confined to the group in view (or the caller's groups),
    /// exactly as the API builds it.
    async fn filter(
        &self,
        s: &crate::Server,
        caller: &Principal,
        ctx: &Ctx,
    ) -> Result<IssueFilter, super::WebError> {
        Ok(IssueFilter {
            policy: self.policy.clone(),
            status: self.status,
            severity: self.severity.map(|x| x.name().to_string()),
            groups: crate::api::list_groups(s, &crate::api::read_scope(caller), ctx.group.clone())
                .await?,
            resource_key: None,
            after: None,
        })
    }

    /// The filters and the order as a query string (paging).
    fn link_sorted(&self, ctx: &Ctx) -> String {
        let mut q = self.link(ctx);
        if let Some(s) = self.sort.filter(|s| *s != IssueSort::Id) {
            q.push_str(&format!("&sort={}", s.name()));
        }
        q
    }

    /// The filters as a query string (for sort links and the export).
    fn link(&self, ctx: &Ctx) -> String {
        let mut q = ctx.gq();
        if let Some(p) = &self.policy {
            q.push_str(&format!("&policy={}", enc(p)));
        }
        if let Some(st) = self.status {
            q.push_str(&format!("&status={st}"));
        }
        if let Some(sv) = self.severity {
            q.push_str(&format!("&severity={}", sv.name()));
        }
        if let Some(pp) = self.per_page {
            q.push_str(&format!("&per_page={pp}"));
        }
        q
    }
}

#[derive(Template)]
#[template(path = "issues.html")]
struct IssuesPage {
    ctx: Ctx,
    issues: Vec<IssueRow>,
    pager: Pager,
    policy: String,
    status: String,
    severity: String,
    policies: Vec<String>,
    csv: String,
    /// The filters without the order, for the sort links.
    unsorted: String,
    sort: IssueSort,
    /// Open issues link to their exception request (a requester of the
    /// group in view).
    may_request: bool,
}

impl IssuesPage {
    /// The sort choices: (value, label, current).
    fn sorts(&self) -> Vec<(&'static str, &'static str, bool)> {
        IssueSort::ALL
            .iter()
            .map(|s| {
                let label = match s {
                    IssueSort::Id => "oldest first",
                    IssueSort::Severity => "severity",
                    IssueSort::Policy => "policy",
                    IssueSort::Resource => "resource",
                    IssueSort::LastOpened => "last opened",
                };
                (s.name(), label, *s == self.sort)
            })
            .collect()
    }
    fn st_sel(&self, v: &str) -> bool {
        self.status == v
    }
    fn sev_sel(&self, v: &str) -> bool {
        self.severity == v
    }
    fn pol_sel(&self, v: &str) -> bool {
        self.policy == v
    }
}

/// The statuses of an issue (the filter's choices).
pub const ISSUE_STATUSES: [&str; 3] = ["open", "exempted", "closed"];

pub async fn page(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: IssuesQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Issues",
        "issues",
        "/issues",
    )
    .await?;
    results_ready(&s).await?;
    let f = q.filter(&s, &caller, &ctx).await?;
    let page = q.page.unwrap_or(1);
    let per = q.per_page.unwrap_or(50);
    let sort = q.sort.unwrap_or_default();
    let (issues, total) = s
        .store
        .issues_sorted(&f, sort, per, (page - 1) * per)
        .await?;
    let loaded = s
        .current_program()
        .await
        .map_err(crate::api::error::ApiError::internal)?;
    let mut policies: Vec<String> = loaded
        .program()
        .policies
        .iter()
        .map(|p| p.name.clone())
        .collect();
    policies.sort();
    let link = q.link(&ctx);
    let pager = Pager::new(page, per, total, issues.len(), q.link_sorted(&ctx));
    let may_request = super::forms::RequestFields::of(
        &s,
        &caller,
        ctx.group.as_deref(),
        super::forms::Kept::default(),
    )
    .may_request;
    let p = IssuesPage {
        may_request,
        csv: format!("/issues.csv?{link}"),
        unsorted: link,
        sort,
        ctx,
        issues,
        pager,
        policy: q.policy.clone().unwrap_or_default(),
        status: q.status.map(|x| x.to_string()).unwrap_or_default(),
        severity: q.severity.map(|x| x.name().to_string()).unwrap_or_default(),
        policies,
    };
    Ok(p.ctx.respond(&p))
}

/// The most rows one export holds.
const CSV_MAX_ROWS: usize = 200_000;

/// The columns of the export, in order: the API's field names.
pub const CSV_COLUMNS: [&str; 15] = [
    "id",
    "policy",
    "rule",
    "resource_id",
    "resource_type",
    "account",
    "region",
    "severity",
    "category",
    "status",
    "exception",
    "message",
    "first_seen",
    "last_opened",
    "closed_at",
];

/// `/issues.csv`: every issue of the selection (all pages), one row each,
/// in id order like the API.
pub async fn csv(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: IssuesQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Issues",
        "issues",
        "/issues",
    )
    .await?;
    results_ready(&s).await?;
    let mut f = q.filter(&s, &caller, &ctx).await?;
    let mut out = String::new();
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
    let mut n = 0;
    // Keyset paging through the API's own query, 500 ids at a time.
    loop {
        let (rows, _) = s.store.issues(&f, 500, 0).await?;
        for r in &rows {
            csv_row(&mut out, r);
        }
        n += rows.len();
        match rows.last() {
            Some(last) if rows.len() == 500 && n < CSV_MAX_ROWS => f.after = Some(last.id),
            _ => break,
        }
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"pac-issues.csv\""),
    );
    Ok(r)
}

fn csv_row(out: &mut String, r: &IssueRow) {
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let cells = [
        r.id.to_string(),
        r.policy.clone(),
        r.rule.clone(),
        r.resource_id.clone(),
        r.resource_type.clone(),
        r.account.clone(),
        r.region.clone(),
        r.severity.clone(),
        r.category.clone(),
        r.status.to_string(),
        r.exception.clone().unwrap_or_default(),
        r.message.clone(),
        r.first_seen.to_string(),
        r.last_opened.to_string(),
        opt(r.closed_at),
    ];
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(c));
    }
    out.push_str("\r\n");
}

/// One CSV cell (RFC 4180). A cell a spreadsheet would run as a formula
/// (it starts with `=`, `+`, `-`, `@`, tab or carriage return: text from a
/// resource can) gets a leading `'`, as OWASP advises for CSV injection.
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
