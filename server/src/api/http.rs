//! The HTTP layer in front of the routes: who may ask (Host and Origin
//! checked against the server's own address, against CSRF and DNS
//! rebinding), how (state-changing requests carry JSON), how much and how
//! slowly (URI, body and header limits and deadlines), and what every
//! answer carries (security headers, JSON errors). Also the accept loop:
//! hyper is driven directly because `axum::serve` sets no header-read
//! timeout, so a half-sent request would hold its connection for ever.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use super::error::ApiError;

/// The largest request body accepted (exceptions with long resource lists
/// fit with room to spare).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The longest request target (path and query) answered; longer ones get a
/// JSON 414. (hyper itself answers a bare 414 past 64 KiB.)
pub const URI_LIMIT: usize = 8 * 1024;

/// How the HTTP layer is set up.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// The URL the server is reached at through a proxy or a DNS name
    /// (`https://pac.example.com`): its host and origin are accepted
    /// besides the listen address.
    pub public_url: Option<String>,
    /// The request line and headers must have arrived within this time
    /// (it also bounds an idle kept-alive connection).
    pub header_timeout: Duration,
    /// The whole body must have arrived within this time.
    pub body_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            public_url: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(15),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes (then lets the
/// answers in flight finish, for at most 10 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    options: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let local = listener
        .local_addr()
        .map_err(|e| format!("the listening socket has no address: {e}"))?;
    let app = guarded(app, &options, local)?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok((s, peer)) => (s, peer),
                    Err(e) => {
                        // Out of file descriptors and the like: pause
                        // rather than spin.
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // The peer's address, for the throttling of failed
                // authentication (auth::limit).
                let service = hyper_util::service::TowerToHyperService::new(
                    app.clone()
                        .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
                );
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(options.header_timeout);
                let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

/// `app` behind the host check, the URI limit, the security headers and
/// the JSON error rewriting (outermost).
pub fn guarded(app: Router, options: &HttpOptions, local: SocketAddr) -> Result<Router, String> {
    let hosts = Arc::new(Hosts::new(local, options.public_url.as_deref())?);
    let h = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    // The portal's pages set their own CSP (their stylesheet and script);
    // every other answer gets the one that allows nothing.
    let csp = SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    Ok(app
        .layer(axum::middleware::from_fn_with_state(hosts, check_host))
        .layer(axum::middleware::from_fn(check_uri))
        .layer(h("x-content-type-options", "nosniff"))
        .layer(h("x-frame-options", "DENY"))
        .layer(csp)
        // Pages send `same-origin` (html in web/mod.rs): with `no-referrer`
        // a browser's form POST carries `Origin: null`, which the origin
        // check refuses.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(h("cache-control", "no-store"))
        .layer(axum::middleware::map_response(super::error::to_json_error)))
}

/// The names the server answers to.
#[derive(Debug)]
pub struct Hosts {
    /// `host[:port]`, lower case, as a `Host` header may carry it.
    hosts: HashSet<String>,
    /// `scheme://host[:port]`, as an `Origin` header carries it.
    origins: HashSet<String>,
    /// Listening on every interface without a `public_url`: any name is
    /// accepted on this port (the address is not known in advance).
    any_on_port: Option<u16>,
    /// What the 403 names.
    expected: String,
}

impl Hosts {
    pub fn new(local: SocketAddr, public_url: Option<&str>) -> Result<Hosts, String> {
        let mut h = Hosts {
            hosts: HashSet::new(),
            origins: HashSet::new(),
            any_on_port: None,
            expected: String::new(),
        };
        let port = local.port();
        let ip = local.ip();
        let mut names: Vec<String> = Vec::new();
        if ip.is_loopback() || ip.is_unspecified() {
            names.extend(["localhost".into(), "127.0.0.1".into(), "[::1]".into()]);
        }
        if !ip.is_unspecified() {
            names.push(match ip {
                std::net::IpAddr::V4(v4) => v4.to_string(),
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        for n in &names {
            h.add("http", n, port);
        }
        if let Some(u) = public_url {
            let uri: Uri = u
                .parse()
                .map_err(|e| format!("`public_url` `{u}` is not a URL: {e}"))?;
            let scheme = uri.scheme_str().unwrap_or("");
            let (Some(auth), true) = (uri.authority(), scheme == "http" || scheme == "https")
            else {
                return Err(format!(
                    "`public_url` `{u}` must be an http or https URL with a host, e.g. https://pac.example.com"
                ));
            };
            let default = if scheme == "https" { 443 } else { 80 };
            h.add(
                scheme,
                &auth.host().to_ascii_lowercase(),
                auth.port_u16().unwrap_or(default),
            );
        } else if ip.is_unspecified() {
            h.any_on_port = Some(port);
        }
        let mut expected: Vec<&String> = h.hosts.iter().collect();
        expected.sort();
        h.expected = expected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Ok(h)
    }

    fn add(&mut self, scheme: &str, host: &str, port: u16) {
        let default = if scheme == "https" { 443 } else { 80 };
        self.hosts.insert(format!("{host}:{port}"));
        self.origins.insert(format!("{scheme}://{host}:{port}"));
        if port == default {
            self.hosts.insert(host.to_string());
            self.origins.insert(format!("{scheme}://{host}"));
        }
    }

    /// Whether a `Host` value names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.hosts.contains(&host) {
            return true;
        }
        match self.any_on_port {
            Some(80) => !host.contains(':') || host.ends_with(":80"),
            Some(p) => host.ends_with(&format!(":{p}")),
            None => false,
        }
    }

    /// Whether an `Origin` value is this server itself (the page that
    /// sends it was served by it, or by its public URL).
    pub fn origin_ok(&self, origin: &str, host: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.origins.contains(&origin) || origin == format!("http://{}", host.to_ascii_lowercase())
    }
}

async fn check_host(State(hosts): State<Arc<Hosts>>, mut req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return ApiError::bad("the request has no Host header").into_response();
    };
    if !hosts.host_ok(&host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Host `{host}` is not this server's address (it answers to {}); set `public_url` in the configuration when it is reached under another name",
                hosts.expected
            ),
        )
        .into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !hosts.origin_ok(origin, &host) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "requests from pages of `{origin}` are refused: only this server's own pages may call it"
                ),
            )
            .into_response();
        }
    }
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site && !sign_in_navigation(&req) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site requests are refused: only this server's own pages may call it",
        )
        .into_response();
    }
    // For the portal's form check ([`check_form`]).
    req.extensions_mut().insert(hosts);
    next.run(req).await
}

/// A browser's top-level GET navigation to a sign-in step: the identity
/// provider's redirect back to `/auth/callback` is cross-site by nature
/// (and a link from elsewhere to `/auth/login` is harmless). Such a request
/// changes nothing the callback does not check itself (state bound to the
/// browser, consumed once). A link from elsewhere (a mail, a chat) to a
/// portal page is one too: pages only read, and the session cookie
/// (`SameSite=Strict`) does not come with it, so it leads to the sign-in.
fn sign_in_navigation(req: &Request) -> bool {
    req.method() == Method::GET
        && (matches!(req.uri().path(), "/auth/callback" | "/auth/login")
            || crate::web::is_page(req.uri().path()))
        && req
            .headers()
            .get("sec-fetch-mode")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"navigate"))
}

async fn check_uri(req: Request, next: Next) -> Response {
    let len = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(0);
    if len > URI_LIMIT {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request target is {len} bytes long; at most {URI_LIMIT} are answered"),
        )
        .into_response();
    }
    next.run(req).await
}

/// On requests a route answers (method and path): a body (and every POST,
/// PUT, PATCH) must be JSON;
/// the body is read whole, within [`BODY_LIMIT`] and the body deadline,
/// before the handler runs.
pub async fn check_body(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared: Option<u64> = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    let has_body = chunked || declared.is_some_and(|n| n > 0);
    let must_be_json =
        has_body || matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    if must_be_json {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            let given = if ct.is_empty() {
                "none".to_string()
            } else {
                format!("`{ct}`")
            };
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("send the request body as JSON with `Content-Type: application/json` (given: {given})"),
            )
            .into_response();
        }
    }
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return too_large();
    }
    let bytes = if has_body {
        match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                if e.to_string().contains("length limit") {
                    return too_large();
                }
                return ApiError::bad(format!("the request body could not be read: {e}"))
                    .into_response();
            }
            Err(_) => {
                let mut r = ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body did not arrive within {} s",
                        timeout.as_secs()
                    ),
                )
                .into_response();
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return r;
            }
        }
    } else {
        Default::default()
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The largest portal form accepted (a reason or a comment is at most
/// 2000 characters; percent-encoding triples them at worst).
pub const FORM_LIMIT: usize = 16 * 1024;

/// On the portal's POST routes (and only there; the API's routes keep
/// [`check_body`], JSON only): the body is an HTML form
/// (`application/x-www-form-urlencoded`), read whole within
/// [`FORM_LIMIT`] and the body deadline, and the request comes from this
/// server's own pages: its `Origin` (else its `Referer`'s origin) is one
/// [`check_host`] accepts. A request with neither is refused: a browser
/// submitting one of our forms sends `Origin` (the pages' `Referrer-Policy:
/// same-origin` keeps it from being `null`). The per-session CSRF token in
/// the form is the handler's check (web::csrf), on top of this.
pub async fn check_form(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let refuse = |m: &str| ApiError::new(StatusCode::FORBIDDEN, m.to_string()).into_response();
    let Some(hosts) = parts.extensions.get::<Arc<Hosts>>().cloned() else {
        return refuse("the form cannot be checked (no host check ran): refused");
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin = match parts.headers.get(header::ORIGIN) {
        Some(o) => Some(o.to_str().unwrap_or("").to_string()),
        None => parts
            .headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.parse::<Uri>().ok())
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?))),
    };
    match origin {
        Some(o) if hosts.origin_ok(&o, host) => {}
        Some(o) => {
            return refuse(&format!(
                "a form sent from `{o}` is refused: only this server's own pages may send its forms"
            ));
        }
        None => {
            return refuse(
                "a form must come with this server's Origin (or Referer) header: send it from the portal's own page",
            );
        }
    }
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the portal's forms are sent as `application/x-www-form-urlencoded` (use the API for JSON)",
        )
        .into_response();
    }
    let declared: Option<u64> = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if declared.is_some_and(|n| n > FORM_LIMIT as u64) {
        return too_large_form();
    }
    let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, FORM_LIMIT)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) if e.to_string().contains("length limit") => return too_large_form(),
        Ok(Err(e)) => {
            return ApiError::bad(format!("the form could not be read: {e}")).into_response();
        }
        Err(_) => {
            let mut r = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the form did not arrive within {} s", timeout.as_secs()),
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large_form() -> Response {
    let mut r = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the form is larger than {FORM_LIMIT} bytes"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

fn too_large() -> Response {
    let mut r = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {BODY_LIMIT} bytes"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Whether `listen` (an address or `host:port`) is only reachable from
/// this machine.
pub fn is_loopback_listen(listen: &str) -> Result<bool, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| format!("`listen` `{listen}` is not an address: {e}"))?
        .collect();
    Ok(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_answers_to_its_own_names_only() {
        let h = Hosts::new("127.0.0.1:8080".parse().unwrap(), None).unwrap();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert!(h.host_ok(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(!h.host_ok(bad), "{bad}");
        }
        assert!(h.origin_ok("http://localhost:8080", "localhost:8080"));
        assert!(!h.origin_ok("http://evil.example", "localhost:8080"));
        assert!(!h.origin_ok("null", "localhost:8080"));
    }

    #[test]
    fn a_public_url_adds_its_host_and_origin() {
        let h = Hosts::new(
            "127.0.0.1:8080".parse().unwrap(),
            Some("https://Pac.Example.com"),
        )
        .unwrap();
        assert!(h.host_ok("pac.example.com"));
        assert!(h.host_ok("pac.example.com:443"));
        assert!(h.origin_ok("https://pac.example.com", "pac.example.com"));
        assert!(!h.origin_ok("http://pac.example.com.evil.example", "pac.example.com"));
        assert!(Hosts::new("127.0.0.1:1".parse().unwrap(), Some("ftp://x")).is_err());
        assert!(Hosts::new("127.0.0.1:1".parse().unwrap(), Some("/relative")).is_err());
    }

    #[test]
    fn every_interface_without_a_public_url_checks_the_port() {
        let h = Hosts::new("0.0.0.0:9000".parse().unwrap(), None).unwrap();
        assert!(h.host_ok("10.1.2.3:9000"));
        assert!(!h.host_ok("10.1.2.3:9001"));
        assert!(h.origin_ok("http://10.1.2.3:9000", "10.1.2.3:9000"));
        assert!(!h.origin_ok("http://evil.example:9000", "10.1.2.3:9000"));
    }

    #[test]
    fn loopback_listen_addresses() {
        assert_eq!(is_loopback_listen("127.0.0.1:8080"), Ok(true));
        assert_eq!(is_loopback_listen("[::1]:8080"), Ok(true));
        assert_eq!(is_loopback_listen("0.0.0.0:8080"), Ok(false));
        assert_eq!(is_loopback_listen("10.0.0.1:8080"), Ok(false));
        assert!(is_loopback_listen("nonsense").is_err());
    }
}
