//! Sign-in with an OpenID provider: the authorization code flow with PKCE
//! (S256), `state` bound to the browser by a cookie and consumed once, and
//! a `nonce`. The `openidconnect` crate does discovery, the code exchange
//! and the ID token's verification (signature through the provider's JWKS,
//! `iss`, `aud`, `exp`, `nonce`, the algorithm allow-list); Pac adds `azp`,
//! bounds on `iat`, and clock leeway. Its HTTP goes through [`OidcHttp`]:
//! the reqwest 0.13 already in the tree, redirects off (a client that
//! follows them is an SSRF hole, says openidconnect's documentation),
//! bounded time and size.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthorizationCode, ClaimsVerificationError, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::session::{random_id, sha256_hex};
use super::store::LoginState;
use super::{Auth, UserClaims, grants_for, session};
use crate::api::error::ApiError;

/// The `[auth.oidc]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Exactly the provider's `issuer` (its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// The environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Or a file holding it (e.g. a mounted secret).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Where the provider sends the browser back; default
    /// `public_url` (else `http://<listen>`) + `/auth/callback`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// An ID token signed with a key Pac does not know makes it fetch the
    /// provider's keys again (the provider rotated them), at most this
    /// often (`5m`; `0s` in tests).
    #[serde(default = "default_jwks_min_refresh")]
    pub jwks_min_refresh: String,
    /// The provider's metadata and keys are fetched again when older than
    /// this (`24h`), so a key it withdrew stops being accepted within this
    /// time even if its id is still cached.
    #[serde(default = "default_jwks_max_age")]
    pub jwks_max_age: String,
    /// A multi-tenant issuer (Entra's `…/organizations/v2.0`, whose
    /// metadata names the template `…/{tenantid}/v2.0`): the tenant ids
    /// (`tid`) allowed to sign in. Empty: a single issuer, matched exactly.
    #[serde(default)]
    pub tenants: Vec<String>,
}

fn default_jwks_min_refresh() -> String {
    "5m".into()
}
fn default_jwks_max_age() -> String {
    "24h".into()
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}

impl OidcConfig {
    pub(super) fn check(&self) -> Result<(), String> {
        IssuerUrl::new(self.issuer.clone())
            .map_err(|e| format!("`oidc.issuer` `{}` is not a URL: {e}", self.issuer))?;
        crate::config::parse_duration(&self.jwks_min_refresh)
            .map_err(|e| format!("`oidc.jwks_min_refresh`: {e}"))?;
        let max_age = crate::config::parse_duration(&self.jwks_max_age)
            .map_err(|e| format!("`oidc.jwks_max_age`: {e}"))?;
        if max_age <= 0 {
            return Err("`oidc.jwks_max_age` must be longer than 0s".into());
        }
        if self.client_secret_env.is_some() == self.client_secret_file.is_some() {
            return Err(
                "`[auth.oidc]` needs exactly one of `client_secret_env` (a variable name) and `client_secret_file` (a path); the secret itself is never written in the configuration"
                    .into(),
            );
        }
        Ok(())
    }

    fn secret(&self) -> Result<String, String> {
        let s = match (&self.client_secret_env, &self.client_secret_file) {
            (Some(v), _) => std::env::var(v).map_err(|_| {
                format!("`auth.oidc.client_secret_env` names {v}, which is not set: set it to the client secret the provider gave")
            })?,
            (_, Some(p)) => std::fs::read_to_string(p).map_err(|e| {
                format!("`auth.oidc.client_secret_file` {}: {e}", p.display())
            })?,
            _ => return Err("no client secret configured".into()),
        };
        let s = s.trim().to_string();
        if s.is_empty() {
            return Err("the OpenID client secret is empty: set the one the provider gave".into());
        }
        Ok(s)
    }
}

/// The claims Pac reads beyond the standard ones (`groups`, `roles`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PacClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Entra's tenant id, checked for a multi-tenant issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}

impl AdditionalClaims for PacClaims {}

type PacTokenResponse = StandardTokenResponse<
    IdTokenFields<
        PacClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// An ID token with [`PacClaims`].
pub type PacIdToken = openidconnect::IdToken<
    PacClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// `CoreClient` with [`PacClaims`], in the endpoint states
/// `Client::from_provider_metadata` gives.
pub type PacClient = Client<
    PacClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    PacTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The largest answer read from the provider.
const BODY_MAX: usize = 1024 * 1024;

/// openidconnect's HTTP client: reqwest without redirects, with deadlines
/// and a size bound.
#[derive(Clone)]
pub struct OidcHttp(reqwest::Client);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl OidcHttp {
    pub fn new() -> Result<OidcHttp, String> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map(OidcHttp)
            .map_err(|e| format!("cannot build the HTTP client for the OpenID provider: {e}"))
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut resp = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| HttpError(e.to_string()))?;
            let mut out = openidconnect::http::Response::builder().status(resp.status());
            if let Some(h) = out.headers_mut() {
                *h = resp.headers().clone();
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| HttpError(e.to_string()))? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > BODY_MAX {
                    return Err(HttpError(format!(
                        "the provider's answer is larger than {BODY_MAX} bytes"
                    )));
                }
            }
            out.body(bytes).map_err(|e| HttpError(e.to_string()))
        })
    }
}

/// Clock leeway for `exp` (openidconnect has none of its own).
const LEEWAY: i64 = 60;
/// A sign-in must come back within this time.
const LOGIN_TTL: i64 = 600;
/// The pre-sign-in cookie that binds `state` to the browser.
const LOGIN_COOKIE: &str = "pac_login";

/// The relying party: configuration, and the client once discovery worked.
pub struct Oidc {
    cfg: OidcConfig,
    secret: String,
    redirect: RedirectUrl,
    http: OidcHttp,
    client: tokio::sync::RwLock<Option<Arc<PacClient>>>,
    /// A multi-tenant provider's issuer template (`…/{tenantid}/v2.0`),
    /// once discovered.
    template: std::sync::RwLock<Option<String>>,
    /// When the metadata and keys were last fetched.
    fetched: std::sync::Mutex<Option<std::time::Instant>>,
    min_refresh: std::time::Duration,
    max_age: std::time::Duration,
}

/// Why an ID token was refused.
enum Refused {
    /// Signed with a key not in the provider's key set as Pac knows it.
    UnknownKey(String),
    Other(String),
}

impl Refused {
    fn message(self) -> String {
        match self {
            Refused::UnknownKey(m) | Refused::Other(m) => m,
        }
    }
}

/// A verified sign-in.
#[derive(Debug)]
pub struct Identity {
    /// `oidc:<issuer>#<sub>`.
    pub principal: String,
    pub name: String,
    pub claims: UserClaims,
}

impl Oidc {
    pub fn new(cfg: &OidcConfig, public_url: Option<&str>, listen: &str) -> Result<Oidc, String> {
        let redirect = match (&cfg.redirect_url, public_url) {
            (Some(r), _) => r.clone(),
            (None, Some(p)) => format!("{}/auth/callback", p.trim_end_matches('/')),
            (None, None) => format!("http://{listen}/auth/callback"),
        };
        Ok(Oidc {
            secret: cfg.secret()?,
            redirect: RedirectUrl::new(redirect.clone())
                .map_err(|e| format!("`auth.oidc.redirect_url` `{redirect}`: {e}"))?,
            http: OidcHttp::new()?,
            cfg: cfg.clone(),
            client: Default::default(),
            template: Default::default(),
            fetched: Default::default(),
            max_age: std::time::Duration::from_secs(
                crate::config::parse_duration(&cfg.jwks_max_age)?.max(1) as u64,
            ),
            min_refresh: std::time::Duration::from_secs(
                crate::config::parse_duration(&cfg.jwks_min_refresh)?.max(0) as u64,
            ),
        })
    }

    /// The client, discovering the provider on first use (and again after
    /// a failure: a provider that was down at start is retried).
    pub async fn client(&self) -> Result<Arc<PacClient>, String> {
        if !self.stale()
            && let Some(c) = &*self.client.read().await
        {
            return Ok(c.clone());
        }
        let mut w = self.client.write().await;
        if !self.stale()
            && let Some(c) = &*w
        {
            return Ok(c.clone());
        }
        let issuer = IssuerUrl::new(self.cfg.issuer.clone()).map_err(|e| e.to_string())?;
        let meta = if self.cfg.tenants.is_empty() {
            CoreProviderMetadata::discover_async(issuer, &self.http)
                .await
                .map_err(|e| {
                    format!(
                        "the OpenID provider `{}` could not be discovered ({e}); check `auth.oidc.issuer` (it must equal the provider's `issuer` exactly) and that the provider is reachable from this server",
                        self.cfg.issuer
                    )
                })?
        } else {
            let (meta, template) = self.discover_multi_tenant().await.map_err(|e| {
                format!(
                    "the multi-tenant OpenID provider `{}` could not be discovered: {e}",
                    self.cfg.issuer
                )
            })?;
            if let Ok(mut t) = self.template.write() {
                *t = Some(template);
            }
            meta
        };
        let c = Arc::new(
            PacClient::from_provider_metadata(
                meta,
                ClientId::new(self.cfg.client_id.clone()),
                Some(ClientSecret::new(self.secret.clone())),
            )
            .set_redirect_uri(self.redirect.clone()),
        );
        *w = Some(c.clone());
        if let Ok(mut f) = self.fetched.lock() {
            *f = Some(std::time::Instant::now());
        }
        Ok(c)
    }

    /// Whether the metadata and keys are older than `jwks_max_age`.
    fn stale(&self) -> bool {
        self.fetched
            .lock()
            .ok()
            .and_then(|f| *f)
            .is_some_and(|t| t.elapsed() >= self.max_age)
    }

    /// A multi-tenant provider's metadata (its `issuer` the template,
    /// which is no URL: kept aside, and the configured issuer put in its
    /// place) and keys.
    async fn discover_multi_tenant(&self) -> Result<(CoreProviderMetadata, String), String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.cfg.issuer.trim_end_matches('/')
        );
        let req = openidconnect::http::Request::builder()
            .uri(url.as_str())
            .method(openidconnect::http::Method::GET)
            .header(header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let resp = self.http.call(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url} answered {}", resp.status()));
        }
        let mut doc: serde_json::Value =
            serde_json::from_slice(resp.body()).map_err(|e| format!("{url} is not JSON: {e}"))?;
        let template = doc["issuer"].as_str().unwrap_or_default().to_string();
        if template.matches("{tenantid}").count() != 1 {
            return Err(format!(
                "its metadata's issuer is `{template}`, not a template with `{{tenantid}}`: for a single issuer, remove `auth.oidc.tenants` and set `issuer` to that"
            ));
        }
        doc["issuer"] = serde_json::Value::String(self.cfg.issuer.clone());
        let mut meta: CoreProviderMetadata =
            serde_json::from_value(doc).map_err(|e| format!("{url}: {e}"))?;
        let keys = openidconnect::JsonWebKeySet::fetch_async(meta.jwks_uri(), &self.http)
            .await
            .map_err(|e| format!("its keys ({}): {e}", meta.jwks_uri().as_str()))?;
        meta = meta.set_jwks(keys);
        Ok((meta, template))
    }

    /// The issuer a multi-tenant provider gives tenant `tid`, when it is
    /// one of `auth.oidc.tenants`.
    fn tenant_issuer(&self, tid: &str) -> Option<String> {
        if !self.cfg.tenants.iter().any(|t| t == tid) {
            return None;
        }
        let t = self.template.read().ok()?.clone()?;
        Some(t.replace("{tenantid}", tid))
    }

    /// Whether `iss` (the callback's RFC 9207 parameter) names this
    /// provider: the configured issuer, or an allowed tenant's.
    fn is_our_issuer(&self, iss: &str) -> bool {
        iss == self.cfg.issuer
            || self
                .cfg
                .tenants
                .iter()
                .any(|t| self.tenant_issuer(t).as_deref() == Some(iss))
    }

    /// Forgets the provider's metadata and keys and fetches them again,
    /// unless that was done less than `jwks_min_refresh` ago (an unknown
    /// key id must not make every request fetch). The new client, or
    /// `None` when it is too soon.
    async fn refresh(&self) -> Result<Option<Arc<PacClient>>, String> {
        let recent = self
            .fetched
            .lock()
            .ok()
            .and_then(|f| *f)
            .is_some_and(|t| t.elapsed() < self.min_refresh);
        if recent {
            return Ok(None);
        }
        *self.client.write().await = None;
        let c = self.client().await?;
        tracing::info!(issuer = %self.cfg.issuer, "the OpenID provider's keys were fetched again (an ID token named a key Pac did not know)");
        Ok(Some(c))
    }

    /// [`Oidc::verify`], fetching the provider's keys again once when the
    /// token names a key Pac does not know (the provider rotated its keys).
    async fn verify_fresh(
        &self,
        client: &PacClient,
        id_token: &PacIdToken,
        nonce: &str,
        now: i64,
    ) -> Result<Identity, String> {
        match self.verify(client, id_token, nonce, now) {
            Ok(id) => Ok(id),
            Err(Refused::UnknownKey(m)) => match self.refresh().await? {
                Some(fresh) => self
                    .verify(&fresh, id_token, nonce, now)
                    .map_err(Refused::message),
                None => Err(m),
            },
            Err(Refused::Other(m)) => Err(m),
        }
    }

    /// Exchanges the code and verifies the ID token at time `now`.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Identity, String> {
        let client = self.client().await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| format!("the provider's metadata has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the provider refused the sign-in code: {e}"))?;
        let id_token = token.id_token().ok_or(
            "the provider answered without an ID token (is `openid` in `auth.oidc.scopes`?)",
        )?;
        self.verify_fresh(&client, id_token, nonce, now).await
    }

    /// Verifies a raw ID token (compact JWS) as the callback does: the one
    /// check every sign-in goes through, callable on its own for tests.
    pub async fn verify_id_token(
        &self,
        raw: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Identity, String> {
        let client = self.client().await?;
        let token: PacIdToken = raw
            .parse()
            .map_err(|e| format!("the ID token was refused: it is not a JWT ({e})"))?;
        self.verify_fresh(&client, &token, nonce, now).await
    }

    fn verify(
        &self,
        client: &PacClient,
        id_token: &PacIdToken,
        nonce: &str,
        now: i64,
    ) -> Result<Identity, Refused> {
        let verifier = client
            .id_token_verifier()
            // RS256/PS256/ES256 families; never `none`, never HS* (whose key
            // would be the client secret).
            .set_allowed_algs(vec![
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
                CoreJwsSigningAlgorithm::RsaSsaPssSha256,
                CoreJwsSigningAlgorithm::RsaSsaPssSha384,
                CoreJwsSigningAlgorithm::RsaSsaPssSha512,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            ])
            // A multi-tenant provider's tokens carry their tenant's issuer,
            // checked below against `tid` and the allowed tenants.
            .require_issuer_match(self.cfg.tenants.is_empty())
            .set_time_fn(move || utc(now - LEEWAY))
            .set_issue_time_verifier_fn(move |iat| {
                let iat = iat.timestamp();
                if iat > now + 300 {
                    Err(format!("issued {} s in the future", iat - now))
                } else if iat < now - 3600 {
                    Err(format!("issued {} s ago", now - iat))
                } else {
                    Ok(())
                }
            });
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map_err(|e| match e {
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => Refused::UnknownKey(
                    "the ID token was refused: its signature: no key of the provider matches its key id"
                        .into(),
                ),
                // Its Display hides which check of the signature failed.
                ClaimsVerificationError::SignatureVerification(inner) => Refused::Other(format!(
                    "the ID token was refused: its signature: {inner}"
                )),
                e => Refused::Other(format!("the ID token was refused: {e}")),
            })?;
        if let Some(azp) = claims.authorized_party()
            && azp.as_str() != self.cfg.client_id
        {
            return Err(Refused::Other(format!(
                "the ID token was refused: it was issued to `{}`",
                azp.as_str()
            )));
        }
        let extra = claims.additional_claims();
        if !self.cfg.tenants.is_empty() {
            let tid = extra.tid.as_deref().unwrap_or_default();
            let Some(expected) = self.tenant_issuer(tid) else {
                return Err(Refused::Other(format!(
                    "the ID token was refused: its tenant `{tid}` is not one of `auth.oidc.tenants`"
                )));
            };
            if claims.issuer().as_str() != expected {
                return Err(Refused::Other(format!(
                    "the ID token was refused: its issuer `{}` is not tenant `{tid}`'s (`{expected}`)",
                    claims.issuer().as_str()
                )));
            }
        }
        let user = UserClaims {
            sub: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            groups: extra.groups.clone().unwrap_or_default(),
            roles: extra.roles.clone().unwrap_or_default(),
        };
        let name = claims
            .preferred_username()
            .map(|u| u.to_string())
            .or_else(|| user.email.clone())
            .unwrap_or_else(|| user.sub.clone());
        Ok(Identity {
            principal: format!("oidc:{}#{}", claims.issuer().as_str(), user.sub),
            name,
            claims: user,
        })
    }
}

fn utc(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// The sign-in routes: `GET /auth/login`, `GET /auth/callback`,
/// `POST /auth/logout`.
pub fn routes(auth: Arc<Auth>) -> Router {
    Router::new()
        .route("/auth/login", axum::routing::get(login))
        .route("/auth/callback", axum::routing::get(callback))
        .route("/auth/logout", axum::routing::post(logout))
        .route_layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            super::rules::authorize,
        ))
        .with_state(auth)
}

fn oidc_of(auth: &Auth) -> Result<&Oidc, ApiError> {
    auth.oidc.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "sign-in with an identity provider is not configured on this server: set `[auth] mode = \"oidc\"` and `[auth.oidc]` (docs/auth.md), or use an API token",
        )
    })
}

/// `return_to` if it is a path on this server, else `/` (no open
/// redirect): it starts with one `/`, and holds only characters that need
/// no escaping in a URL or HTML attribute.
pub fn safe_return_to(r: Option<&str>) -> String {
    match r {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 512
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~?=&%+,:@!$*".contains(&b)) =>
        {
            p.to_string()
        }
        _ => "/".into(),
    }
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /auth/login?return_to=/path`: starts a sign-in and sends the
/// browser to the provider.
async fn login(State(auth): State<Arc<Auth>>, req: Request) -> Result<Response, ApiError> {
    let oidc = oidc_of(&auth)?;
    let client = oidc.client().await.map_err(|e| {
        tracing::error!("sign-in: {e}");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
    })?;
    let pairs = query_pairs(&req);
    let return_to = safe_return_to(param(&pairs, "return_to"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &oidc.cfg.scopes {
        if s != "openid" {
            request = request.add_scope(Scope::new(s.clone()));
        }
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let binding = random_id()?;
    let now = auth.clock.now();
    auth.store
        .put_login_state(
            &sha256_hex(&binding),
            &LoginState {
                state_hash: sha256_hex(state.secret()),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                return_to,
                expires_at: now + LOGIN_TTL,
            },
            now,
        )
        .await?;
    // Lax: the provider's redirect back is a cross-site top-level GET.
    let cookie = format!(
        "{LOGIN_COOKIE}={binding}; Path=/auth/callback; HttpOnly; SameSite=Lax; Max-Age={LOGIN_TTL}{}",
        if auth.secure_cookies { "; Secure" } else { "" }
    );
    let mut r = StatusCode::FOUND.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(url.as_str()).map_err(ApiError::internal)?,
    );
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(r)
}

fn clear_login_cookie(secure: bool) -> HeaderValue {
    HeaderValue::from_static(if secure {
        "pac_login=; Path=/auth/callback; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
    } else {
        "pac_login=; Path=/auth/callback; HttpOnly; SameSite=Lax; Max-Age=0"
    })
}

/// What the browser sees when a sign-in cannot finish: start again.
const START_AGAIN: &str = "this sign-in was already used, has expired, or was started in another browser: start again at /auth/login";

/// `GET /auth/callback?code=…&state=…`: finishes the sign-in and creates
/// the session.
async fn callback(State(auth): State<Arc<Auth>>, req: Request) -> Result<Response, ApiError> {
    let oidc = oidc_of(&auth)?;
    let pairs = query_pairs(&req);
    let now = auth.clock.now();
    let binding = super::cookie(req.headers(), LOGIN_COOKIE).map(str::to_string);
    // The binding is consumed whatever happens next.
    let stored = match &binding {
        Some(b) => auth.store.take_login_state(&sha256_hex(b)).await?,
        None => None,
    };
    let fail = |status: StatusCode, msg: String| {
        let mut r = ApiError::new(status, msg).into_response();
        r.headers_mut()
            .append(header::SET_COOKIE, clear_login_cookie(auth.secure_cookies));
        Ok(r)
    };
    if let Some(e) = param(&pairs, "error") {
        let d = param(&pairs, "error_description").unwrap_or("");
        tracing::warn!("sign-in refused by the provider: {e} {d}");
        return fail(
            StatusCode::FORBIDDEN,
            format!(
                "the identity provider refused the sign-in ({e}: {d}); start again at /auth/login, or ask your administrator"
            ),
        );
    }
    let (Some(code), Some(state), Some(stored)) =
        (param(&pairs, "code"), param(&pairs, "state"), stored)
    else {
        tracing::warn!("sign-in callback without a matching sign-in in progress");
        return fail(StatusCode::BAD_REQUEST, START_AGAIN.into());
    };
    let state_ok: bool = sha256_hex(state)
        .as_bytes()
        .ct_eq(stored.state_hash.as_bytes())
        .into();
    if !state_ok || now >= stored.expires_at {
        tracing::warn!("sign-in callback with a foreign or expired state");
        return fail(StatusCode::BAD_REQUEST, START_AGAIN.into());
    }
    // RFC 9207: a provider that names itself must be ours (mix-up defence).
    if let Some(iss) = param(&pairs, "iss")
        && !oidc.is_our_issuer(iss)
    {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "the sign-in came back from `{iss}`, not from the configured provider: start again at /auth/login"
            ),
        );
    }
    let id = match oidc
        .finish(code, &stored.pkce_verifier, &stored.nonce, now)
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!("sign-in failed: {e}");
            return fail(
                StatusCode::FORBIDDEN,
                "the identity provider's answer could not be verified, so you are not signed in; start again at /auth/login, and if it happens again ask your administrator to check the server's log".into(),
            );
        }
    };
    if grants_for(&auth.grants, &id.claims).is_empty() {
        tracing::warn!(principal = %id.principal, "signed in, but no [[auth.grant]] matches");
        return fail(
            StatusCode::FORBIDDEN,
            format!(
                "signed in as {}, but no Pac role is granted to this account: ask an administrator to grant one (an `[[auth.grant]]` in the server's configuration)",
                id.name
            ),
        );
    }
    let sid = session::create(&auth, &id.principal, &id.name, &id.claims, now).await?;
    tracing::info!(principal = %id.principal, "signed in");
    // A page, not a redirect: the session cookie is SameSite=Strict, so a
    // redirect from this cross-site navigation would arrive without it;
    // the refresh is a same-site navigation. `return_to` holds only
    // characters that need no escaping (safe_return_to).
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={0}\"><title>Signed in</title><p>Signed in. <a href=\"{0}\">Continue</a>.</p>",
        stored.return_to
    );
    let mut r = (StatusCode::OK, page).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(auth.secure_cookies, &sid, auth.max),
    );
    h.append(header::SET_COOKIE, clear_login_cookie(auth.secure_cookies));
    r.extensions_mut()
        .insert(super::audit::Actor(id.principal.clone()));
    Ok(r)
}

/// `POST /auth/logout`: ends the session and removes its cookie.
async fn logout(State(auth): State<Arc<Auth>>, req: Request) -> Result<Response, ApiError> {
    if let Some(c) = super::cookie(req.headers(), session::cookie_name(auth.secure_cookies)) {
        session::end(&auth, c).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session::clear_cookie(auth.secure_cookies),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_a_local_path_or_root() {
        assert_eq!(
            safe_return_to(Some("/api/v1/issues?page=2")),
            "/api/v1/issues?page=2"
        );
        for bad in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example"),
            Some("/\\evil.example"),
            Some("/x\"onmouseover=1"),
            Some("/<script>"),
            Some("relative"),
        ] {
            assert_eq!(safe_return_to(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn the_secret_comes_from_the_environment_or_a_file_never_inline() {
        let mut c = OidcConfig {
            issuer: "https://idp.example.com".into(),
            client_id: "pac".into(),
            client_secret_env: None,
            client_secret_file: None,
            redirect_url: None,
            scopes: default_scopes(),
            jwks_min_refresh: default_jwks_min_refresh(),
            jwks_max_age: default_jwks_max_age(),
            tenants: Vec::new(),
        };
        assert!(c.check().unwrap_err().contains("exactly one"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, "s3cret\n").unwrap();
        c.client_secret_file = Some(f);
        c.check().unwrap();
        assert_eq!(c.secret().unwrap(), "s3cret");
        c.issuer = "not a url".into();
        assert!(c.check().is_err());
    }
}
