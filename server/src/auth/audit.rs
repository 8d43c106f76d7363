//! The audit log (docs/auth.md, "Audit log"): one layer, outside every
//! other, appends a row for every state-changing request, every sign-in
//! and sign-out, and every request refused for its credentials (401 with
//! credentials, 429) or its role (403). Who comes from [`Actor`], which the
//! authentication layer (and the sign-in callback) put on the response;
//! what changed comes from a [`Change`] a handler puts there. The table
//! (migration 0009) refuses updates and deletes.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::Auth;

/// Who made a request, on its response.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

/// What a request changed, on its response.
#[derive(Clone, Debug, Default)]
pub struct Change {
    /// e.g. `exception prod-waiver`, `token 3`.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(target: impl Into<String>) -> Change {
        Change {
            target: target.into(),
            ..Default::default()
        }
    }
    pub fn before(mut self, v: impl Serialize) -> Change {
        self.before = serde_json::to_value(v).ok();
        self
    }
    pub fn after(mut self, v: impl Serialize) -> Change {
        self.after = serde_json::to_value(v).ok();
        self
    }
    /// Puts this change on `r`.
    pub fn on(self, mut r: Response) -> Response {
        r.extensions_mut().insert(self);
        r
    }
}

/// One row of the log.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub ip: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub target: Option<String>,
    #[sqlx(try_from = "crate::store::OptJsonText")]
    pub before: Option<Value>,
    #[sqlx(try_from = "crate::store::OptJsonText")]
    pub after: Option<Value>,
}

/// The longest path kept (a hostile request may send a long one).
const PATH_MAX: usize = 512;

/// The audit layer.
pub async fn record(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(PATH_MAX).collect();
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let had_credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key(header::COOKIE);
    let mut res = next.run(req).await;
    let status = res.status().as_u16();
    let change = res.extensions_mut().remove::<Change>();
    let actor = res.extensions_mut().remove::<Actor>();
    let changes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let sign_in = path == "/auth/callback";
    let refused = status == 403 || status == 429 || (status == 401 && had_credentials);
    if !(changes || sign_in || refused) {
        return res;
    }
    let (target, before, after) = match change {
        Some(c) => (Some(c.target), c.before, c.after),
        None => (None, None, None),
    };
    let row = NewEvent {
        at: auth.clock.now(),
        actor: actor.map_or_else(|| "anonymous".to_string(), |a| a.0),
        ip,
        method: method.to_string(),
        path,
        status: i64::from(status),
        target,
        before,
        after,
    };
    if let Err(e) = auth.store.append_audit(&row).await {
        // The request is done; its answer stands. The failure is loud.
        tracing::error!(error = %e, actor = %row.actor, path = %row.path, "could not append to the audit log");
    }
    res
}

/// A row to append.
pub struct NewEvent {
    pub at: i64,
    pub actor: String,
    pub ip: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub target: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// `GET /api/v1/audit`'s filters.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only refused or failed requests (status 400 and above).
    pub failed: bool,
    /// Only ids below this (newest first, keyset paging).
    pub before_id: Option<i64>,
    pub limit: i64,
}
