//! Dashboards users arrange (`/dashboards`): named, ordered lists of
//! widgets, each a fragment of the portal's pages (headline figures, the
//! trend, compliance by severity, category or policy, the domains), for the
//! asset group in view or a fixed one, for everything or one compliance
//! domain. Stored in the store (`dashboards`), owned by the principal that
//! made it, shared by its link: whoever opens the link sees the figures of
//! their own scope, never the owner's (a widget fixed to a group the viewer
//! may not see says so instead of showing it).

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::dashboard::{
    Compliance, Fig, Trend, compliance_of, days_of, domain_compliance_of, domain_trend, trend_of,
    worst_first,
};
use super::domains::{DomainCard, GroupOnly, cards_of};
use super::forms::{checked_form, see_other};
use super::lists::{ExceptionV, expiring};
use super::{Ctx, PageResult, St, WebError, context, query};
use crate::api::error::ApiError;
use crate::auth::scope::Scope;
use crate::auth::{ALL_GROUPS, Principal, Role};
use crate::digest::{DAY, EXPIRING_DAYS};
use crate::store::{
    DashboardRow, DigestScope, IssueFilter, IssueRow, IssueSort, IssueStatus, JobRow,
};

/// Rows a list widget shows (the full list is a link away).
const LIST_ROWS: i64 = 10;

/// At most this many widgets on a dashboard, and dashboards per owner.
pub const MAX_WIDGETS: usize = 24;
pub const MAX_DASHBOARDS: usize = 50;
pub const MAX_NAME: usize = 80;

/// What a widget shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Overall compliance, open issues, results known, tagging.
    Headline,
    /// Compliance per day over the last 30 days.
    Trend,
    Severity,
    Category,
    /// Policies, worst first.
    Policies,
    /// Every compliance domain's figure.
    Domains,
    /// Open issues, most severe first (the tracker's first rows).
    Issues,
    /// Auto-fix jobs due in the next 24 hours.
    Fixes,
    /// Exceptions expiring within 14 days.
    Exceptions,
}

impl Kind {
    pub const ALL: [(Kind, &'static str); 9] = [
        (Kind::Headline, "Headline figures"),
        (Kind::Trend, "Trend (30 days)"),
        (Kind::Severity, "Compliance by severity"),
        (Kind::Category, "Compliance by category"),
        (Kind::Policies, "Policies, worst first"),
        (Kind::Domains, "Compliance domains"),
        (Kind::Issues, "Open issues, most severe first"),
        (Kind::Fixes, "Fixes due in the next 24 hours"),
        (Kind::Exceptions, "Exceptions expiring within 14 days"),
    ];
    /// Whether the widget can show one compliance domain's share (the
    /// lists are of every policy's).
    pub fn takes_domain(self) -> bool {
        !matches!(self, Kind::Issues | Kind::Fixes | Kind::Exceptions)
    }
    pub fn label(self) -> &'static str {
        Kind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, l)| l)
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Headline => "headline",
            Kind::Trend => "trend",
            Kind::Severity => "severity",
            Kind::Category => "category",
            Kind::Policies => "policies",
            Kind::Domains => "domains",
            Kind::Issues => "issues",
            Kind::Fixes => "fixes",
            Kind::Exceptions => "exceptions",
        }
    }
}

/// One widget as stored and as the API takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Widget {
    pub kind: Kind,
    /// A fixed asset group, `*` for all resources (absent: the group the
    /// viewer has chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// One compliance domain's figures (absent: all policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// The widgets of a stored dashboard (a row that no longer parses shows
/// none rather than failing the page).
pub fn widgets_of(row: &DashboardRow) -> Vec<Widget> {
    serde_json::from_str(&row.widgets).unwrap_or_default()
}

/// A dashboard's name as stored: at most [`MAX_NAME`] characters, trimmed,
/// control characters as spaces; a blank one is "Untitled dashboard".
pub fn check_name(name: &str) -> Result<String, ApiError> {
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::bad(format!(
            "a dashboard's name is at most {MAX_NAME} characters"
        )));
    }
    let n: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = n.trim();
    Ok(if n.is_empty() {
        "Untitled dashboard".to_string()
    } else {
        n.to_string()
    })
}

/// Checks widgets against the caller's scope and the declared domains.
pub async fn check_widgets(
    s: &crate::Server,
    caller: &Principal,
    widgets: &[Widget],
) -> Result<(), ApiError> {
    if widgets.len() > MAX_WIDGETS {
        return Err(ApiError::bad(format!(
            "a dashboard holds at most {MAX_WIDGETS} widgets"
        )));
    }
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let scope = crate::api::read_scope(caller);
    for w in widgets {
        for (what, v) in [("domain", &w.domain), ("group", &w.group)] {
            if v.as_ref().is_some_and(|v| v.chars().count() > MAX_NAME) {
                return Err(ApiError::bad(format!(
                    "a widget's {what} is at most {MAX_NAME} characters"
                )));
            }
        }
        if w.domain.is_some() && !w.kind.takes_domain() {
            return Err(ApiError::bad(format!(
                "the `{}` widget lists every policy's; it takes no domain",
                w.kind.name()
            )));
        }
        if let Some(d) = &w.domain
            && p.domain(d).is_none()
        {
            return Err(ApiError::bad(format!(
                "no compliance domain `{d}`: the policies declare {}",
                p.domains
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        match &w.group {
            Some(g) if g == ALL_GROUPS && !scope.is_all() => {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "the figures of all resources need a role on every group",
                ));
            }
            Some(g) if g == ALL_GROUPS => {}
            Some(_) => {
                // A group it may not see is, as anywhere, "no asset group";
                // here a 400: the body is wrong, not the dashboard missing.
                crate::api::figures_group(s, &scope, w.group.clone())
                    .await
                    .map_err(|e| match e.status {
                        axum::http::StatusCode::NOT_FOUND => ApiError::bad(e.message),
                        _ => e,
                    })?;
            }
            None => {}
        }
    }
    Ok(())
}

/// Whether `caller` may change dashboard `row`: its owner, or a global admin.
pub fn may_edit(caller: &Principal, row: &DashboardRow) -> bool {
    row.owner == caller.id || caller.has_global(Role::Admin)
}

/// A widget ready to render.
pub struct View {
    pub pos: usize,
    pub kind: &'static str,
    pub title: String,
    /// Why it shows nothing (a group the viewer may not see, a domain no
    /// longer declared).
    pub error: Option<String>,
    pub c: Compliance,
    pub trend: Option<Trend>,
    pub worst: Vec<Fig>,
    pub domains: Vec<DomainCard>,
    /// The lists' first rows and their totals.
    pub issues: Vec<IssueRow>,
    pub fixes: Vec<JobRow>,
    pub exceptions: Vec<ExceptionV>,
    pub total: i64,
    /// `group=…` of the widget's group, for links to the full lists.
    pub gq: String,
}

impl View {
    /// Whether the list shows fewer rows than there are.
    pub fn cut(&self) -> bool {
        let shown = self.issues.len() + self.fixes.len() + self.exceptions.len();
        self.total > shown as i64
    }
}

/// One widget, with the program the page was rendered with (so that every
/// widget of a page sees the same policies).
async fn render_widget(
    s: &crate::Server,
    p: &pac_compiler::Program,
    caller: &Principal,
    ctx_group: Option<&str>,
    pos: usize,
    w: &Widget,
) -> Result<View, WebError> {
    let mut v = View {
        pos,
        kind: w.kind.name(),
        title: w.kind.label().to_string(),
        error: None,
        c: Compliance::default(),
        trend: None,
        worst: Vec::new(),
        domains: Vec::new(),
        issues: Vec::new(),
        fixes: Vec::new(),
        exceptions: Vec::new(),
        total: 0,
        gq: String::new(),
    };
    // The group: the widget's own (checked against the viewer's scope), or
    // the one in view.
    let scope = crate::api::read_scope(caller);
    let group = match &w.group {
        Some(g) if g == ALL_GROUPS => {
            if !scope.is_all() {
                v.error = Some(
                    "Not shown: the figures of all resources need a role on every group.".into(),
                );
                return Ok(v);
            }
            None
        }
        Some(g) => {
            // Outside the viewer's groups even the group's name is not
            // shown (the link is shared; the names of groups are not).
            if !scope.covers(g) {
                v.error =
                    Some("Not shown: this widget is fixed on an asset group outside yours.".into());
                return Ok(v);
            }
            if let Err(e) = crate::api::figures_group(s, &scope, Some(g.clone())).await {
                v.error = Some(format!("Not shown: {}", e.message));
                return Ok(v);
            }
            Some(g.clone())
        }
        None => ctx_group.map(str::to_string),
    };
    let domain = match &w.domain {
        Some(d) => match p.domain(d) {
            Some(dm) => Some((d.clone(), dm.title.clone().unwrap_or_else(|| d.clone()))),
            None => {
                v.error = Some(format!(
                    "Not shown: the policies no longer declare the domain `{d}`."
                ));
                return Ok(v);
            }
        },
        None => None,
    };
    v.title = format!(
        "{}{}{}",
        v.title,
        domain
            .as_ref()
            .map(|(_, t)| format!(" · {t}"))
            .unwrap_or_default(),
        w.group
            .as_ref()
            .map(|g| format!(" · group {g}"))
            .unwrap_or_default()
    );
    let g = group.as_deref();
    v.gq = gq(&group);
    // The lists read the widget's group's members (or, for all resources,
    // the viewer's scope, which is then everything).
    let members = match &group {
        Some(g) => Some(vec![g.clone()]),
        None => scope.groups().map(<[String]>::to_vec),
    };
    match w.kind {
        Kind::Domains => v.domains = cards_of(s, p, g).await?,
        Kind::Issues => {
            let f = IssueFilter {
                status: Some(IssueStatus::Open),
                groups: members,
                ..Default::default()
            };
            (v.issues, v.total) = s
                .store
                .issues_sorted(&f, IssueSort::Severity, LIST_ROWS, 0)
                .await
                .map_err(ApiError::from)?;
        }
        Kind::Fixes => {
            let now = s.clock.now();
            let lists = DigestScope {
                groups: members,
                owner: None,
            };
            (v.fixes, v.total) = s
                .store
                .jobs_due_between(&lists, now, now + DAY, LIST_ROWS)
                .await
                .map_err(ApiError::from)?;
        }
        Kind::Exceptions => {
            let confined = match members {
                Some(gs) => Scope::Groups(gs),
                None => Scope::All,
            };
            let all = expiring(s, &confined, s.clock.now() + EXPIRING_DAYS * DAY).await?;
            v.total = all.len() as i64;
            v.exceptions = all.into_iter().take(LIST_ROWS as usize).collect();
        }
        Kind::Trend => {
            v.trend = Some(match &domain {
                Some((d, _)) => domain_trend(s, g, d, days_of(None)?).await?,
                None => trend_of(s, g, "", days_of(None)?).await?,
            })
        }
        _ => {
            v.c = match &domain {
                Some((d, _)) => domain_compliance_of(s, g, d).await?.0,
                None => compliance_of(s, g).await?.0,
            };
            v.worst = worst_first(&v.c);
        }
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboards.html")]
struct ListPage {
    ctx: Ctx,
    mine: Vec<(i64, String, usize)>,
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
        "Dashboards",
        "dashboards",
        "/dashboards",
    )
    .await?;
    let mine = s
        .store
        .dashboards(Some(&caller.id))
        .await?
        .iter()
        .map(|d| (d.id, d.name.clone(), widgets_of(d).len()))
        .collect();
    let page = ListPage { ctx, mine };
    Ok(page.ctx.respond(&page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    name: Option<String>,
    group: Option<String>,
}

/// `POST /dashboards`: a new dashboard (the headline figures to start).
pub async fn create(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let f: NewForm = checked_form(&s, &headers, &body)?;
    let name = check_name(f.name.as_deref().unwrap_or(""))?;
    if s.store.dashboards(Some(&caller.id)).await?.len() >= MAX_DASHBOARDS {
        return Err(ApiError::bad(format!(
            "you have {MAX_DASHBOARDS} dashboards, the most one may keep: delete one first"
        ))
        .into());
    }
    let widgets = serde_json::to_value(vec![Widget {
        kind: Kind::Headline,
        group: None,
        domain: None,
    }])
    .unwrap_or_default();
    let id = s
        .store
        .create_dashboard((&caller.id, &caller.name), &name, &widgets, s.clock.now())
        .await?;
    Ok(see_other(&format!("/dashboards/{id}?{}", gq(&f.group))))
}

fn gq(group: &Option<String>) -> String {
    format!(
        "group={}",
        super::enc(group.as_deref().unwrap_or(ALL_GROUPS))
    )
}

async fn load(s: &crate::Server, id: &str) -> Result<DashboardRow, WebError> {
    let id = crate::api::parse_id(id, "dashboard")?;
    s.store
        .dashboard(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no dashboard {id}")).into())
}

#[derive(Template)]
#[template(path = "board.html")]
struct Page {
    ctx: Ctx,
    id: i64,
    name: String,
    owner: String,
    editable: bool,
    views: Vec<View>,
    kinds: Vec<(&'static str, &'static str)>,
    domain_names: Vec<(String, String)>,
}

pub async fn page(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: GroupOnly = query(raw.as_deref())?;
    let row = load(&s, &id).await?;
    let here = format!("/dashboards/{}", row.id);
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        row.name.clone(),
        "dashboards",
        &here,
    )
    .await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let widgets = widgets_of(&row);
    let mut views = Vec::with_capacity(widgets.len());
    for (i, w) in widgets.iter().enumerate() {
        views.push(render_widget(&s, loaded.program(), &caller, ctx.group.as_deref(), i, w).await?);
    }
    let domain_names = loaded
        .program()
        .domains
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.title.clone().unwrap_or_else(|| d.name.clone()),
            )
        })
        .collect();
    let page = Page {
        editable: may_edit(&caller, &row),
        ctx,
        id: row.id,
        name: row.name.clone(),
        owner: row.owner_name.clone(),
        views,
        kinds: Kind::ALL.iter().map(|(k, l)| (k.name(), *l)).collect(),
        domain_names,
    };
    Ok(page.ctx.respond(&page))
}

/// What the owner's forms on a dashboard ask for.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Op {
    Add,
    Up,
    Down,
    Remove,
    Rename,
    Delete,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditForm {
    /// Checked by [`checked_form`] before the rest is read.
    #[serde(default, rename = "csrf")]
    _csrf: String,
    op: Op,
    /// The group in view, to return to.
    group: Option<String>,
    /// `add`: the widget.
    kind: Option<Kind>,
    wgroup: Option<String>,
    wdomain: Option<String>,
    /// `up`, `down`, `remove`: the widget's position.
    pos: Option<usize>,
    /// `rename`.
    name: Option<String>,
}

/// `POST /dashboards/{id}`: the owner's changes (add, move, remove a
/// widget; rename; delete).
pub async fn edit(
    axum::extract::State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let f: EditForm = checked_form(&s, &headers, &body)?;
    let row = load(&s, &id).await?;
    if !may_edit(&caller, &row) {
        return Err(WebError {
            status: axum::http::StatusCode::FORBIDDEN,
            message: format!(
                "this dashboard is {}'s: only they (or an admin of every group) may change it; make your own under Dashboards",
                row.owner_name
            ),
        });
    }
    let mut widgets = widgets_of(&row);
    let mut name = row.name.clone();
    let pos = |n: usize| -> Result<usize, WebError> {
        match f.pos {
            Some(p) if p < n => Ok(p),
            _ => Err(WebError::bad("no widget at that position")),
        }
    };
    match f.op {
        Op::Delete => {
            s.store.delete_dashboard(row.id).await?;
            return Ok(see_other(&format!("/dashboards?{}", gq(&f.group))));
        }
        Op::Add => {
            let w = Widget {
                kind: f
                    .kind
                    .ok_or_else(|| WebError::bad("choose what the widget shows"))?,
                group: f.wgroup.clone(),
                domain: f.wdomain.clone(),
            };
            check_widgets(&s, &caller, std::slice::from_ref(&w)).await?;
            widgets.push(w);
        }
        Op::Up => {
            let p = pos(widgets.len())?;
            if p > 0 {
                widgets.swap(p, p - 1);
            }
        }
        Op::Down => {
            let p = pos(widgets.len())?;
            if p + 1 < widgets.len() {
                widgets.swap(p, p + 1);
            }
        }
        Op::Remove => {
            let p = pos(widgets.len())?;
            widgets.remove(p);
        }
        Op::Rename => name = check_name(f.name.as_deref().unwrap_or(""))?,
    }
    if widgets.len() > MAX_WIDGETS {
        return Err(WebError::bad(format!(
            "a dashboard holds at most {MAX_WIDGETS} widgets: remove one first"
        )));
    }
    let value = serde_json::to_value(&widgets).map_err(ApiError::internal)?;
    s.store
        .update_dashboard(row.id, &name, &value, s.clock.now())
        .await?;
    Ok(see_other(&format!(
        "/dashboards/{}?{}",
        row.id,
        gq(&f.group)
    )))
}
