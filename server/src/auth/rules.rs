//! Every route's rule: who may call it. [`authorize`] runs on every routed
//! request (a `route_layer`, so it sees the matched path template) and
//! fails closed: a route with no rule in [`RULES`] answers 500. A test
//! (tests/server_auth_matrix.rs) checks that every operation of the OpenAPI
//! document has a rule and that each role gets what its rule says.
//!
//! Roles are held per asset group; here a rule asks for a role on *some*
//! group (or on `*` for [`Rule::GlobalAdmin`]). Which groups an answer may
//! cover, and on which group a change acts, is the handler's part, through
//! [`super::scope::Scope`] (docs/auth.md, "Group scope").

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Auth, Principal, Role};
use crate::api::error::ApiError;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (liveness, the API document, the sign-in steps).
    Public,
    /// Any principal (who am I, sign-out).
    Authenticated,
    /// `viewer` or more on some group.
    Read,
    /// `requester` or more on some group (asking for exceptions).
    Request,
    /// `approver` or more on some group (exceptions, scans, fixes).
    Approve,
    /// `admin` on some group (tokens for its groups).
    Admin,
    /// `admin` on every group (`*`): groups, tokens, confirming removals.
    GlobalAdmin,
}

/// (method, path template, rule) of every route.
pub const RULES: &[(&str, &str, Rule)] = &[
    ("GET", "/healthz", Rule::Public),
    ("GET", "/api/openapi.json", Rule::Public),
    ("GET", "/auth/login", Rule::Public),
    ("GET", "/auth/callback", Rule::Public),
    ("POST", "/auth/logout", Rule::Authenticated),
    ("GET", "/api/v1/me", Rule::Authenticated),
    ("GET", "/api/v1/compliance", Rule::Read),
    ("GET", "/api/v1/compliance/history", Rule::Read),
    ("GET", "/api/v1/domains", Rule::Read),
    ("GET", "/api/v1/domains/{name}", Rule::Read),
    ("GET", "/api/v1/domains/{name}/history", Rule::Read),
    ("GET", "/api/v1/dashboards", Rule::Read),
    ("POST", "/api/v1/dashboards", Rule::Read),
    ("GET", "/api/v1/dashboards/{id}", Rule::Read),
    ("PUT", "/api/v1/dashboards/{id}", Rule::Read),
    ("DELETE", "/api/v1/dashboards/{id}", Rule::Read),
    ("GET", "/api/v1/digests", Rule::Read),
    ("POST", "/api/v1/digests", Rule::Read),
    ("DELETE", "/api/v1/digests/{id}", Rule::Read),
    ("GET", "/api/v1/policies", Rule::Read),
    ("GET", "/api/v1/policies/{id}", Rule::Read),
    ("GET", "/api/v1/issues", Rule::Read),
    ("GET", "/api/v1/issues/{id}", Rule::Read),
    ("GET", "/api/v1/resources", Rule::Read),
    ("GET", "/api/v1/resources/{id}", Rule::Read),
    ("GET", "/api/v1/search", Rule::Read),
    ("GET", "/api/v1/inventory", Rule::Read),
    ("GET", "/api/v1/asset-groups", Rule::Read),
    ("POST", "/api/v1/asset-groups", Rule::GlobalAdmin),
    ("GET", "/api/v1/exceptions", Rule::Read),
    ("POST", "/api/v1/exceptions", Rule::Approve),
    ("DELETE", "/api/v1/exceptions/{name}", Rule::Approve),
    ("GET", "/api/v1/exception-requests", Rule::Read),
    ("POST", "/api/v1/exception-requests", Rule::Request),
    ("GET", "/api/v1/exception-requests/{id}", Rule::Read),
    (
        "POST",
        "/api/v1/exception-requests/{id}/approve",
        Rule::Approve,
    ),
    (
        "POST",
        "/api/v1/exception-requests/{id}/reject",
        Rule::Approve,
    ),
    ("GET", "/api/v1/scans", Rule::Read),
    ("POST", "/api/v1/scans", Rule::Approve),
    ("GET", "/api/v1/scans/{id}", Rule::Read),
    ("POST", "/api/v1/scans/{id}/confirm", Rule::GlobalAdmin),
    ("GET", "/api/v1/autofix/jobs", Rule::Read),
    ("GET", "/api/v1/autofix/jobs/{id}", Rule::Read),
    ("GET", "/api/v1/tokens", Rule::Admin),
    ("POST", "/api/v1/tokens", Rule::Admin),
    ("DELETE", "/api/v1/tokens/{id}", Rule::Admin),
    ("GET", "/api/v1/audit", Rule::GlobalAdmin),
];

/// The rule of `method` on the path template `path`; HEAD is GET's.
pub fn rule(method: &Method, path: &str) -> Option<Rule> {
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    RULES
        .iter()
        .chain(crate::web::PAGE_RULES)
        .find(|(rm, rp, _)| *rm == m && *rp == path)
        .map(|(_, _, r)| *r)
}

/// Whether `p` may call a route under `rule`: `Ok`, or the 403's message.
pub fn allows(rule: Rule, p: &Principal) -> Result<(), String> {
    let some = |role: Role| p.grants.iter().any(|(r, _)| *r >= role);
    let need = match rule {
        Rule::Public | Rule::Authenticated => return Ok(()),
        Rule::Read if some(Role::Viewer) => return Ok(()),
        Rule::Request if some(Role::Requester) => return Ok(()),
        Rule::Approve if some(Role::Approver) => return Ok(()),
        Rule::Admin if some(Role::Admin) => return Ok(()),
        Rule::GlobalAdmin if p.has_global(Role::Admin) => return Ok(()),
        Rule::Read => "the viewer role on an asset group",
        Rule::Request => "the requester role (or higher) on an asset group",
        Rule::Approve => "the approver role (or higher) on an asset group",
        Rule::Admin => "the admin role on an asset group",
        Rule::GlobalAdmin => "the admin role on every asset group (`*`)",
    };
    Err(format!(
        "{} may not do this: it needs {need}; ask an admin for that role",
        p.name
    ))
}

/// The authorization layer (a `route_layer`: it runs once a route
/// matched). The authentication layer has already refused requests
/// without a principal on non-public paths.
pub async fn authorize(State(_auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let known_path = RULES
        .iter()
        .chain(crate::web::PAGE_RULES)
        .any(|(_, p, _)| *p == path);
    let Some(rule) = rule(req.method(), &path) else {
        if known_path {
            // A method with no rule is not run, whether or not a handler
            // exists for it (fail closed): 405 with the methods that have
            // rules, as the router's own 405 would say.
            let mut allow: Vec<&str> = RULES
                .iter()
                .chain(crate::web::PAGE_RULES)
                .filter(|(_, p, _)| *p == path)
                .map(|(m, _, _)| *m)
                .collect();
            if allow.contains(&"GET") {
                allow.push("HEAD");
            }
            allow.sort_unstable();
            let mut r = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{path} answers {}", allow.join(", ")),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&allow.join(",")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return r;
        }
        tracing::error!(method = %req.method(), path, "a route without an authorization rule was called");
        return ApiError::internal(format!(
            "{} {path} has no authorization rule, so it is refused (a bug: add it to auth::rules::RULES)",
            req.method()
        ))
        .into_response();
    };
    if rule == Rule::Public {
        return next.run(req).await;
    }
    let Some(p) = req.extensions().get::<Principal>() else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign in at /auth/login, or send an API token as `Authorization: Bearer pac_…`",
        )
        .into_response();
    };
    if let Err(m) = allows(rule, p) {
        return ApiError::new(StatusCode::FORBIDDEN, m).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PrincipalKind;

    fn with(grants: &[(Role, &str)]) -> Principal {
        Principal {
            kind: PrincipalKind::Token,
            id: "token:9".into(),
            name: "t".into(),
            grants: grants.iter().map(|(r, g)| (*r, g.to_string())).collect(),
            session: None,
            claims: None,
        }
    }

    #[test]
    fn roles_include_the_ones_below_and_global_admin_needs_star() {
        let viewer = with(&[(Role::Viewer, "dev")]);
        let approver = with(&[(Role::Approver, "prod")]);
        let group_admin = with(&[(Role::Admin, "prod")]);
        let admin = with(&[(Role::Admin, "*")]);
        assert!(allows(Rule::Read, &viewer).is_ok());
        assert!(allows(Rule::Request, &viewer).is_err());
        assert!(allows(Rule::Approve, &approver).is_ok());
        assert!(allows(Rule::Request, &approver).is_ok());
        assert!(allows(Rule::GlobalAdmin, &group_admin).is_err());
        assert!(allows(Rule::GlobalAdmin, &admin).is_ok());
        assert!(allows(Rule::Read, &with(&[])).is_err());
        assert!(allows(Rule::Authenticated, &with(&[])).is_ok());
        let m = allows(Rule::Approve, &viewer).unwrap_err();
        assert!(m.contains("approver"), "{m}");
    }

    #[test]
    fn every_rule_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in RULES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
        assert_eq!(rule(&Method::HEAD, "/healthz"), Some(Rule::Public));
        assert_eq!(rule(&Method::GET, "/nope"), None);
    }
}
