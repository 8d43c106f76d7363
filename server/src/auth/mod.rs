//! Identity and access (docs/auth.md): who is calling, and the one layer
//! every request passes through to say so.
//!
//! - [`oidc`]: sign-in with an OpenID provider (authorization code + PKCE,
//!   state, nonce; ID tokens verified by the `openidconnect` crate).
//! - [`session`]: server-side sessions in the store and their cookies.
//! - [`token`]: API tokens (`pac_…`, stored as SHA-256) and the bootstrap
//!   admin token.
//! - [`store`]: the tables of migration 0006.
//! - [`rules`]: every route's rule and the authorization layer.
//!
//! Invariant: with auth on, no handler runs without a [`Principal`] in the
//! request's extensions unless its path is public ([`is_public`]); only
//! [`authenticate`] puts one there. With auth off (no `[auth]` table), the
//! principal is `local`, admin everywhere, and only loopback may listen.

pub mod audit;
pub mod cli;
pub mod limit;
pub mod oidc;
pub mod rules;
pub mod scope;
pub mod session;
pub mod store;
pub mod token;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::ApiError;
use crate::clock::Clock;

/// Whether and how callers are identified.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Nobody is identified: everyone who reaches the port is admin, so
    /// only loopback may listen (today's `pacc serve`).
    #[default]
    Off,
    /// API tokens only.
    Tokens,
    /// Sign-in with an OpenID provider, and API tokens.
    Oidc,
}

/// The `[auth]` table of the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub mode: AuthMode,
    /// A session unused this long ends (`30m`, `1h`).
    #[serde(default = "default_session_idle")]
    pub session_idle: String,
    /// A session ends this long after sign-in, used or not.
    #[serde(default = "default_session_max")]
    pub session_max: String,
    /// The longest lifetime of an API token, in days.
    #[serde(default = "default_token_max_days")]
    pub token_max_days: i64,
    /// The furthest expiry a self-service exception request may ask for,
    /// in days.
    #[serde(default = "default_exception_max_days")]
    pub exception_max_days: i64,
    #[serde(default)]
    pub oidc: Option<oidc::OidcConfig>,
    /// Provider claims that grant Pac roles (`[[auth.grant]]`).
    #[serde(default, rename = "grant")]
    pub grants: Vec<Grant>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Off,
            session_idle: default_session_idle(),
            session_max: default_session_max(),
            token_max_days: default_token_max_days(),
            exception_max_days: default_exception_max_days(),
            oidc: None,
            grants: Vec::new(),
        }
    }
}

fn default_session_idle() -> String {
    "1h".into()
}
fn default_session_max() -> String {
    "12h".into()
}
fn default_token_max_days() -> i64 {
    365
}
fn default_exception_max_days() -> i64 {
    90
}

impl AuthConfig {
    /// Checks what the types do not: durations, the provider table for
    /// `mode = "oidc"`.
    pub fn check(&self) -> Result<(), String> {
        let idle = crate::config::parse_duration(&self.session_idle)
            .map_err(|e| format!("`session_idle`: {e}"))?;
        let max = crate::config::parse_duration(&self.session_max)
            .map_err(|e| format!("`session_max`: {e}"))?;
        if idle <= 0 || max <= 0 {
            return Err("`session_idle` and `session_max` must be longer than 0s".into());
        }
        if self.token_max_days < 1 {
            return Err("`token_max_days` must be at least 1".into());
        }
        if !(1..=3650).contains(&self.exception_max_days) {
            return Err("`exception_max_days` must be between 1 and 3650".into());
        }
        match (self.mode, &self.oidc) {
            (AuthMode::Oidc, None) => {
                return Err(
                    "`mode = \"oidc\"` needs an `[auth.oidc]` table with `issuer`, `client_id` and `client_secret_env` or `client_secret_file` (docs/auth.md)"
                        .into(),
                );
            }
            (AuthMode::Oidc, Some(o)) => o.check()?,
            _ => {}
        }
        for g in &self.grants {
            g.check()?;
        }
        Ok(())
    }
}

/// A role, each including the ones before it within the same group.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// May also request exceptions.
    Requester,
    /// May also grant exceptions, start scans and fixes.
    Approver,
    /// May also change sources, groups, tokens and settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Requester => "requester",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "requester" => Some(Role::Requester),
            "approver" => Some(Role::Approver),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// All asset groups (and resources in none).
pub const ALL_GROUPS: &str = "*";

/// `[[auth.grant]]`: a provider claim value that grants a role on groups.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `groups`, `roles`, `sub` or `email`.
    pub claim: String,
    /// Matched exactly.
    pub value: String,
    pub role: Role,
    /// Asset group names, or `["*"]`.
    pub groups: Vec<String>,
}

impl Grant {
    fn check(&self) -> Result<(), String> {
        if !["groups", "roles", "sub", "email"].contains(&self.claim.as_str()) {
            return Err(format!(
                "`[[auth.grant]]` claim `{}`: use `groups`, `roles`, `sub` or `email`",
                self.claim
            ));
        }
        if self.groups.is_empty() {
            return Err(format!(
                "`[[auth.grant]]` for {} `{}` names no groups: list asset groups, or `[\"*\"]` for all",
                self.claim, self.value
            ));
        }
        Ok(())
    }
}

/// What a provider said about a signed-in user that grants may match; kept
/// in the session row so a change of the grants applies at once.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct UserClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// The (role, group) pairs `grants` give a user with `claims`.
pub fn grants_for(grants: &[Grant], claims: &UserClaims) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    for g in grants {
        let hit = match g.claim.as_str() {
            "groups" => claims.groups.contains(&g.value),
            "roles" => claims.roles.contains(&g.value),
            "sub" => claims.sub == g.value,
            "email" => claims.email.as_deref() == Some(g.value.as_str()),
            _ => false,
        };
        if hit {
            for grp in &g.groups {
                out.push((g.role, grp.clone()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// How a principal proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// Auth is off: whoever reached the loopback port.
    Local,
    /// A signed-in user (session cookie).
    User,
    /// An API token.
    Token,
}

/// Who is calling, and what they hold.
#[derive(Clone, Debug)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// `local`, `oidc:<issuer>#<sub>` or `token:<id>`.
    pub id: String,
    pub name: String,
    pub grants: Vec<(Role, String)>,
    /// The session's absolute and idle expiry (users only).
    pub session: Option<(i64, i64)>,
    /// What the provider said at sign-in (users only): a user's digest
    /// subscription keeps them to read with its grants.
    pub claims: Option<UserClaims>,
}

impl Principal {
    pub fn local() -> Principal {
        Principal {
            kind: PrincipalKind::Local,
            id: "local".into(),
            name: "local".into(),
            grants: vec![(Role::Admin, ALL_GROUPS.into())],
            session: None,
            claims: None,
        }
    }

    /// The address a signed-in user's provider gave; none for a token or
    /// without sign-in (digests go to it).
    pub fn email(&self) -> Option<String> {
        match (&self.kind, &self.claims) {
            (PrincipalKind::User, Some(c)) => c.email.clone(),
            _ => None,
        }
    }

    /// Whether it holds at least `role` on every group.
    pub fn has_global(&self, role: Role) -> bool {
        self.grants
            .iter()
            .any(|(r, g)| *r >= role && g == ALL_GROUPS)
    }
}

/// The identity side of a running server.
pub struct Auth {
    pub mode: AuthMode,
    pub idle: i64,
    pub max: i64,
    pub token_max_days: i64,
    pub exception_max_days: i64,
    pub grants: Vec<Grant>,
    pub oidc: Option<oidc::Oidc>,
    pub store: store::AuthStore,
    /// Cookies carry `Secure` (and the session cookie the `__Host-`
    /// prefix): the server is reached over https (`public_url`).
    pub secure_cookies: bool,
    pub clock: Arc<dyn Clock>,
    /// Failed authentication per client address.
    pub limiter: limit::Limiter,
    /// The key of the portal's CSRF tokens (`web::csrf`): drawn once and
    /// kept in the store ([`Auth::keep_keys`]), so that a page rendered
    /// before a restart still submits after it.
    pub csrf_key: [u8; 32],
}

impl Auth {
    pub fn new(
        config: &AuthConfig,
        public_url: Option<&str>,
        listen: &str,
        store: store::AuthStore,
        clock: Arc<dyn Clock>,
    ) -> Result<Auth, String> {
        config.check().map_err(|e| format!("`auth`: {e}"))?;
        let secure_cookies = public_url.is_some_and(|u| u.starts_with("https://"));
        let oidc = match (config.mode, &config.oidc) {
            (AuthMode::Oidc, Some(o)) => Some(oidc::Oidc::new(o, public_url, listen)?),
            _ => None,
        };
        Ok(Auth {
            mode: config.mode,
            idle: crate::config::parse_duration(&config.session_idle)?,
            max: crate::config::parse_duration(&config.session_max)?,
            token_max_days: config.token_max_days,
            exception_max_days: config.exception_max_days,
            grants: config.grants.clone(),
            oidc,
            store,
            secure_cookies,
            clock,
            limiter: Default::default(),
            csrf_key: random_key()?,
        })
    }

    /// Replaces the keys drawn at start by those kept in the store (kept
    /// there the first time).
    pub async fn keep_keys(&mut self) -> Result<(), String> {
        self.csrf_key = self
            .store
            .server_key("csrf", self.csrf_key, self.clock.now())
            .await
            .map_err(|e| format!("the store: {e}"))?;
        Ok(())
    }

    pub fn on(&self) -> bool {
        self.mode != AuthMode::Off
    }
}

fn random_key() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| format!("the system's random number generator failed: {e}"))?;
    Ok(b)
}

/// Paths answered without a principal: liveness, the API's document, and
/// the sign-in steps themselves.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/api/openapi.json" | "/auth/login" | "/auth/callback"
    ) || crate::web::is_public(path)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: message.to_string(),
        details: Some(serde_json::json!({"login": "/auth/login"})),
    }
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The authentication layer: resolves the principal (an
/// `Authorization: Bearer pac_…` token first, else the session cookie)
/// and puts it in the request's extensions; refuses a request without one
/// on a non-public path (401), a malformed or dead token (401, never a
/// quiet fall-back to the cookie), and a cookie-authenticated change
/// without this server's `Origin` (403).
pub async fn authenticate(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    if !auth.on() {
        req.extensions_mut().insert(Principal::local());
        let mut res = next.run(req).await;
        res.extensions_mut().insert(audit::Actor("local".into()));
        return res;
    }
    let now = auth.clock.now();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let has_credentials = req.headers().contains_key(header::AUTHORIZATION)
        || cookie(req.headers(), session::cookie_name(auth.secure_cookies)).is_some();
    if has_credentials
        && let Some(ip) = peer
        && let Some(wait) = auth.limiter.blocked(ip, now)
    {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed sign-ins or unknown tokens from this address: retry in {wait} s"
            ),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1) as u64));
        return r;
    }
    let failed = |auth: &Auth| {
        if let Some(ip) = peer {
            auth.limiter.failed(ip, now);
        }
    };
    let mut clear_cookie = None;
    let principal = if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        let Some(t) = h.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            failed(&auth);
            return unauthorized(
                "the Authorization header must be `Bearer pac_…` (an API token; see POST /api/v1/tokens)",
            );
        };
        match token::authenticate(&auth, t.trim(), now).await {
            Ok(p) => Some(p),
            Err(token::TokenRejected::Store(e)) => return ApiError::internal(e).into_response(),
            Err(e) => {
                failed(&auth);
                return unauthorized(&e.to_string());
            }
        }
    } else if let Some(id) = cookie(req.headers(), session::cookie_name(auth.secure_cookies)) {
        match session::principal(&auth, id, now).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                failed(&auth);
                clear_cookie = Some(session::clear_cookie(auth.secure_cookies));
                None
            }
            Err(e) => return ApiError::internal(e).into_response(),
        }
    } else {
        None
    };
    let public = is_public(req.uri().path());
    let page = crate::web::is_page(req.uri().path())
        && matches!(*req.method(), Method::GET | Method::HEAD);
    let mut res = match principal {
        // A browser asking for a portal page is sent to the sign-in (and
        // back here after it), not given the API's JSON 401.
        None if !public && page => crate::web::signed_out(
            auth.oidc.is_some(),
            req.uri().path_and_query().map_or("/", |p| p.as_str()),
        ),
        None if !public => unauthorized(if clear_cookie.is_some() {
            "your session has ended (signed out, idle or too old): sign in again at /auth/login"
        } else {
            "sign in at /auth/login, or send an API token as `Authorization: Bearer pac_…`"
        }),
        p => {
            let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD);
            if let Some(p) = &p
                && p.kind == PrincipalKind::User
                && unsafe_method
                && !req.headers().contains_key(header::ORIGIN)
            {
                // check_host has refused a foreign Origin already; a missing
                // one is refused here for cookie-authenticated changes.
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "a change made with a session cookie must carry this server's Origin header (browsers send it; scripts should use an API token)",
                )
                .into_response();
            }
            let actor = p.as_ref().map(|p| audit::Actor(p.id.clone()));
            if let Some(p) = p {
                req.extensions_mut().insert(p);
            }
            let mut res = next.run(req).await;
            // The sign-in callback names its own actor.
            if let Some(a) = actor
                && res.extensions().get::<audit::Actor>().is_none()
            {
                res.extensions_mut().insert(a);
            }
            res
        }
    };
    if let Some(c) = clear_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The principal the layer found, for handlers.
pub fn principal_of(parts: &axum::http::Extensions) -> Option<&Principal> {
    parts.get::<Principal>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(claim: &str, value: &str, role: Role, groups: &[&str]) -> Grant {
        Grant {
            claim: claim.into(),
            value: value.into(),
            role,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn grants_match_claims_exactly() {
        let gs = [
            grant("groups", "ops", Role::Approver, &["prod"]),
            grant("roles", "Pac.Admin", Role::Admin, &["*"]),
            grant("email", "v@example.com", Role::Viewer, &["dev", "prod"]),
        ];
        let c = UserClaims {
            sub: "u1".into(),
            email: Some("v@example.com".into()),
            groups: vec!["ops".into(), "opsx".into()],
            roles: vec![],
        };
        assert_eq!(
            grants_for(&gs, &c),
            vec![
                (Role::Viewer, "dev".into()),
                (Role::Viewer, "prod".into()),
                (Role::Approver, "prod".into())
            ]
        );
        let none = UserClaims {
            sub: "u2".into(),
            groups: vec!["OPS".into()],
            ..Default::default()
        };
        assert!(grants_for(&gs, &none).is_empty());
    }

    #[test]
    fn roles_are_ordered_and_global_admin_needs_star() {
        assert!(Role::Viewer < Role::Requester && Role::Approver < Role::Admin);
        let mut p = Principal::local();
        assert!(p.has_global(Role::Admin));
        p.grants = vec![(Role::Admin, "prod".into())];
        assert!(!p.has_global(Role::Viewer));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = axum::http::HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; pac_session=xyz; b=2"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&h, "pac_session"), Some("xyz"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "session"), None);
    }

    #[test]
    fn the_config_needs_a_provider_for_oidc() {
        let c: AuthConfig = toml::from_str("mode = \"oidc\"").unwrap();
        assert!(c.check().unwrap_err().contains("[auth.oidc]"));
        let c: AuthConfig =
            toml::from_str("mode = \"tokens\"\n[[grant]]\nclaim = \"x\"\nvalue = \"y\"\nrole = \"viewer\"\ngroups = [\"*\"]\n")
                .unwrap();
        assert!(c.check().unwrap_err().contains("claim `x`"));
        assert!(toml::from_str::<AuthConfig>("mode = \"tokens\"\nbogus = 1").is_err());
        let c: AuthConfig = toml::from_str("session_idle = \"soon\"").unwrap();
        assert!(c.check().unwrap_err().contains("session_idle"));
    }
}
