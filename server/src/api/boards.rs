//! Compliance domains and dashboards through the API (the portal's
//! `/domains` and `/dashboards` read and write the same).
//!
//! A domain's figures are the scan's roll-up of its policies, per asset
//! group, as `GET /api/v1/compliance` answers a group's. A dashboard is a
//! named list of widgets (`web::dashboards::Widget`), owned by the
//! principal that made it: anyone who may read figures may read it by its
//! id (it is shared by its link), and only its owner or an admin of every
//! group may change or delete it.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::params::{Check, Params, max_len, typed_body};
use super::{GroupQuery, NoQuery, Res, S, figures_group, ok, parse_id, read_scope};
use crate::auth::Principal;
use crate::auth::scope::Scope;
use crate::store::DashboardRow;
use crate::web::dashboards::{
    MAX_DASHBOARDS, Widget, check_name, check_widgets, may_edit, widgets_of,
};

/// Every declared domain: its policies and its figures within the group.
#[utoipa::path(get, path = "/api/v1/domains", tag = "compliance", params(GroupQuery),
    responses((status = 200, description = "the domains the policy files declare, with their figures", body = Object),
        (status = 404, description = "an unknown asset group", body = ErrorBody),
        (status = 503, description = "no scan has completed yet", body = ErrorBody)))]
pub(super) async fn domains(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<GroupQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let mut items = Vec::new();
    for d in &p.domains {
        let figures = s
            .store
            .domain_compliance(group.as_deref().unwrap_or(""), &d.name)
            .await?
            .map(|(_, _, body)| {
                json!({
                    "overall": body["overall"],
                    "coverage": body["coverage"],
                    "open": body["severities"].as_array().map(|a| a.iter().filter_map(|f| f["open"].as_i64()).sum::<i64>()),
                })
            });
        items.push(json!({
            "name": d.name,
            "title": d.title,
            "description": d.description,
            "policies": p.domain_policy_names(d),
            "compliance": figures,
        }));
    }
    ok(json!({"group": group, "total": items.len(), "items": items}))
}

fn domain_named<'p>(
    p: &'p pac_compiler::Program,
    name: &str,
) -> Result<&'p pac_compiler::ir::Domain, ApiError> {
    p.domain(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no compliance domain `{name}`; GET /api/v1/domains lists them"
        ))
    })
}

/// One domain's roll-up within the group: overall, by category, severity,
/// policy and rule, coverage (as `GET /api/v1/compliance`).
#[utoipa::path(get, path = "/api/v1/domains/{name}", tag = "compliance", params(("name" = String, Path, description = "the domain's name"), GroupQuery),
    responses((status = 200, description = "the domain's figures of the last scan", body = Object),
        (status = 404, description = "no such domain, or an unknown asset group", body = ErrorBody),
        (status = 503, description = "no scan has completed yet", body = ErrorBody)))]
pub(super) async fn domain(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(name): Path<String>,
    Params(q): Params<GroupQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let p = loaded.program();
    let d = domain_named(p, &name)?;
    let mut v = json!({
        "group": group,
        "name": d.name,
        "title": d.title,
        "description": d.description,
        "policies": p.domain_policy_names(d),
    });
    match s
        .store
        .domain_compliance(group.as_deref().unwrap_or(""), &d.name)
        .await?
    {
        Some((scan, at, body)) => {
            if let (Some(o), Some(b)) = (v.as_object_mut(), body.as_object()) {
                o.insert("scan".into(), json!(scan));
                o.insert("at".into(), json!(crate::clock::rfc3339(at)));
                o.extend(b.clone());
            }
            ok(v)
        }
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no scan has rolled this domain up yet (it was declared after the last scan): POST /api/v1/scans starts one",
        )),
    }
}

/// A domain's daily overall figure within the group.
#[utoipa::path(get, path = "/api/v1/domains/{name}/history", tag = "compliance", params(("name" = String, Path, description = "the domain's name"), GroupQuery),
    responses((status = 200, description = "one row per day", body = Object),
        (status = 404, description = "no such domain, or an unknown asset group", body = ErrorBody)))]
pub(super) async fn domain_history(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(name): Path<String>,
    Params(q): Params<GroupQuery>,
) -> Res {
    let group = figures_group(&s, &read_scope(&caller), q.group).await?;
    let loaded = s.current_program().await.map_err(ApiError::internal)?;
    let d = domain_named(loaded.program(), &name)?;
    let rows = s
        .store
        .domain_history(group.as_deref().unwrap_or(""), &d.name)
        .await?;
    let days: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"day": r.day, "compliance": r.compliance, "assets": r.assets,
                   "open": r.open, "exempt": r.exempt, "unknown": r.unknown})
        })
        .collect();
    ok(json!({"group": group, "domain": d.name, "days": days}))
}

// ---------------------------------------------------------------------------
// Dashboards
// ---------------------------------------------------------------------------

/// A dashboard: a name and its widgets, in order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDashboard {
    /// At most 80 characters (a blank name is "Untitled dashboard").
    #[schema(max_length = 80)]
    name: String,
    /// In order, at most 24.
    #[serde(default)]
    #[schema(max_items = 24)]
    widgets: Vec<Widget>,
}
impl Check for NewDashboard {
    fn check(&self) -> Result<(), ApiError> {
        max_len("name", &self.name, crate::web::dashboards::MAX_NAME)
    }
}

/// A dashboard as `scope` may see it: a widget fixed on a group outside the
/// scope shows `group_hidden: true` instead of the group's name (a link is
/// shared with anyone; the names of groups are not).
fn dashboard_json(d: &DashboardRow, scope: &Scope) -> Value {
    let widgets: Vec<Value> = widgets_of(d)
        .into_iter()
        .map(|w| match &w.group {
            Some(g) if g != crate::auth::ALL_GROUPS && !scope.covers(g) => json!({
                "kind": w.kind,
                "domain": w.domain,
                "group_hidden": true,
            }),
            _ => json!(w),
        })
        .collect();
    json!({
        "id": d.id,
        "name": d.name,
        "owner": d.owner_name,
        "widgets": widgets,
        "created_at": crate::clock::rfc3339(d.created_at),
        "updated_at": crate::clock::rfc3339(d.updated_at),
        "link": format!("/dashboards/{}", d.id),
    })
}

async fn load(s: &crate::Server, id: &str) -> Result<DashboardRow, ApiError> {
    let id = parse_id(id, "dashboard")?;
    s.store
        .dashboard(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no dashboard {id}")))
}

fn owned(caller: &Principal, d: &DashboardRow) -> Result<(), ApiError> {
    if may_edit(caller, d) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "dashboard {} is {}'s: only they or an admin of every group may change it",
            d.id, d.owner_name
        ),
    ))
}

/// The caller's dashboards, newest first.
#[utoipa::path(get, path = "/api/v1/dashboards", tag = "dashboards",
    responses((status = 200, description = "the caller's dashboards", body = Object)))]
pub(super) async fn dashboards(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
) -> Res {
    let items: Vec<Value> = s
        .store
        .dashboards(Some(&caller.id))
        .await?
        .iter()
        .map(|d| dashboard_json(d, &read_scope(&caller)))
        .collect();
    ok(json!({"total": items.len(), "items": items}))
}

/// Make a dashboard (owned by the caller).
#[utoipa::path(post, path = "/api/v1/dashboards", tag = "dashboards", request_body = NewDashboard,
    responses((status = 201, description = "the dashboard, as stored", body = Object),
        (status = 400, description = "a bad name or widget (an undeclared domain, an asset group unknown or outside the caller's groups), or too many", body = ErrorBody),
        (status = 403, description = "a widget for all resources (`*`) without a role on every group", body = ErrorBody)))]
pub(super) async fn post_dashboard(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let v = typed_body::<NewDashboard>(&body)?;
    let name = check_name(&v.name)?;
    check_widgets(&s, &caller, &v.widgets).await?;
    if s.store.dashboards(Some(&caller.id)).await?.len() >= MAX_DASHBOARDS {
        return Err(ApiError::bad(format!(
            "{} has {MAX_DASHBOARDS} dashboards, the most one may keep: delete one first",
            caller.name
        )));
    }
    let widgets = serde_json::to_value(&v.widgets).map_err(ApiError::internal)?;
    let id = s
        .store
        .create_dashboard((&caller.id, &caller.name), &name, &widgets, s.clock.now())
        .await?;
    let d = load(&s, &id.to_string()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(dashboard_json(&d, &read_scope(&caller))),
    )
        .into_response())
}

/// One dashboard (anyone who reads figures may read it: it is shared by
/// its link; its figures are the reader's to compute). A widget fixed on an
/// asset group outside the reader's groups shows `group_hidden: true`
/// instead of the group's name.
#[utoipa::path(get, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = i64, Path, description = "dashboard id")),
    responses((status = 200, description = "the dashboard", body = Object),
        (status = 404, description = "no such dashboard", body = ErrorBody)))]
pub(super) async fn dashboard(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    ok(dashboard_json(&load(&s, &id).await?, &read_scope(&caller)))
}

/// Replace a dashboard's name and widgets (its owner, or an admin of every
/// group).
#[utoipa::path(put, path = "/api/v1/dashboards/{id}", tag = "dashboards", request_body = NewDashboard,
    params(("id" = i64, Path, description = "dashboard id")),
    responses((status = 200, description = "the dashboard, as stored", body = Object),
        (status = 400, description = "a bad name or widget (an undeclared domain, an asset group unknown or outside the caller's groups), or too many", body = ErrorBody),
        (status = 403, description = "not the caller's, or a widget for all resources (`*`) without a role on every group", body = ErrorBody),
        (status = 404, description = "no such dashboard", body = ErrorBody)))]
pub(super) async fn put_dashboard(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
    body: Bytes,
) -> Res {
    let d = load(&s, &id).await?;
    owned(&caller, &d)?;
    let v = typed_body::<NewDashboard>(&body)?;
    let name = check_name(&v.name)?;
    check_widgets(&s, &caller, &v.widgets).await?;
    let widgets = serde_json::to_value(&v.widgets).map_err(ApiError::internal)?;
    s.store
        .update_dashboard(d.id, &name, &widgets, s.clock.now())
        .await?;
    ok(dashboard_json(&load(&s, &id).await?, &read_scope(&caller)))
}

/// Delete a dashboard (its owner, or an admin of every group).
#[utoipa::path(delete, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = i64, Path, description = "dashboard id")),
    responses((status = 204, description = "deleted"),
        (status = 403, description = "not the caller's", body = ErrorBody),
        (status = 404, description = "no such dashboard", body = ErrorBody)))]
pub(super) async fn delete_dashboard(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
    Params(_): Params<NoQuery>,
) -> Res {
    let d = load(&s, &id).await?;
    owned(&caller, &d)?;
    s.store.delete_dashboard(d.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
