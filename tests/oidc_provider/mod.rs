//! A real OpenID provider per test: the certified npm `oidc-provider`
//! (tests/oidc_provider/provider.mjs, pinned in package.json) on a port of
//! 127.0.0.1 the system chooses, killed when the test ends. `./scripts/test`
//! installs it (`npm ci`); `PAC_OIDC_PROVIDER_DIR` may name another
//! directory holding provider.mjs and its node_modules.
//!
//! [`Browser`] is the test's user agent: reqwest with redirects off,
//! following every 302/303 itself with a cookie jar per host and port, and
//! completing the provider's sign-in and consent forms with plain POSTs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:PORT`, the provider's `issuer`.
    pub issuer: String,
}

/// How long a provider may take to say it listens before another is
/// started: node was once seen to hang before listening (asleep, no
/// socket), which hung the whole test run.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const START_ATTEMPTS: usize = 3;

fn provider_dir() -> PathBuf {
    if let Ok(p) = std::env::var("PAC_OIDC_PROVIDER_DIR") {
        return PathBuf::from(p);
    }
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("tests/oidc_provider")
}

impl OidcProvider {
    /// Starts a provider with these clients (oidc-provider client metadata)
    /// and accounts (login name → claims).
    pub fn start(clients: Value, accounts: Value) -> OidcProvider {
        OidcProvider::start_with(json!({"clients": clients, "accounts": accounts}))
    }

    /// Starts a provider from a whole specification (`clients`,
    /// `accounts`, `pkceOptional`: client ids that may skip PKCE).
    pub fn start_with(mut spec: Value) -> OidcProvider {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{}/node_modules/oidc-provider is missing: run ./scripts/test, or `npm ci` in {}",
            dir.display(),
            dir.display()
        );
        spec["port"] = json!(0);
        for attempt in 1..=START_ATTEMPTS {
            let mut child = Command::new("node")
                .arg("provider.mjs")
                .arg(spec.to_string())
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 or later is needed): {e}"));
            let stdout: ChildStdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                let _ = tx.send(line);
                // Read on, so that the provider never writes to a closed pipe.
                let mut rest = String::new();
                while r.read_line(&mut rest).is_ok_and(|n| n > 0) {
                    rest.clear();
                }
            });
            match rx.recv_timeout(START_TIMEOUT) {
                Ok(line) => {
                    let Some(issuer) = line.trim().strip_prefix("listening ") else {
                        let _ = child.kill();
                        panic!(
                            "oidc-provider did not start (it said {line:?}); run `node provider.mjs '{{}}'` in {} to see why",
                            dir.display()
                        );
                    };
                    return OidcProvider {
                        issuer: issuer.to_string(),
                        child,
                    };
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!(
                        "oidc-provider said nothing in {START_TIMEOUT:?} (attempt {attempt} of {START_ATTEMPTS}); starting another"
                    );
                }
            }
        }
        panic!(
            "oidc-provider did not start in {START_ATTEMPTS} attempts; run `node provider.mjs '{{}}'` in {} to see why",
            dir.display()
        );
    }

    /// One confidential client `id` whose redirect URI is `redirect`.
    pub fn client(id: &str, secret: &str, redirect: &str) -> Value {
        json!({"client_id": id, "client_secret": secret, "redirect_uris": [redirect],
               "response_types": ["code"], "grant_types": ["authorization_code"]})
    }
}

impl OidcProvider {
    /// The provider signs with a new key from now on and publishes only it
    /// (the old one is withdrawn); the new key id.
    pub async fn rotate(&self) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/__test/rotate", self.issuer))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["kid"].as_str().unwrap().to_string()
    }

    /// How often the provider's key set (`/jwks`) was fetched.
    pub async fn jwks_hits(&self) -> u64 {
        let r = reqwest::get(format!("{}/__test/stats", self.issuer))
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["jwksHits"].as_u64().unwrap()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer, read whole.
#[derive(Debug, Clone)]
pub struct Hop {
    pub url: reqwest::Url,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Hop {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The `Set-Cookie` headers, as sent.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }
    fn location(&self) -> Option<reqwest::Url> {
        let l = self.headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
        self.url.join(l).ok()
    }
}

/// A user agent with a cookie jar per `host:port`.
pub struct Browser {
    http: reqwest::Client,
    pub jar: HashMap<String, HashMap<String, String>>,
    /// Every URL requested, in order.
    pub visited: Vec<reqwest::Url>,
    /// Redirects to URLs starting with this are not followed; the first
    /// such URL is kept in `stopped`.
    pub stop_at: Option<String>,
    pub stopped: Option<reqwest::Url>,
}

fn site(u: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        u.host_str().unwrap_or(""),
        u.port_or_known_default().unwrap_or(0)
    )
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
            visited: Vec::new(),
            stop_at: None,
            stopped: None,
        }
    }

    /// The cookie `name` held for the site of `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let u = reqwest::Url::parse(url).unwrap();
        self.jar.get(&site(&u))?.get(name).cloned()
    }

    pub fn set_cookie(&mut self, url: &str, name: &str, value: &str) {
        let u = reqwest::Url::parse(url).unwrap();
        self.jar
            .entry(site(&u))
            .or_default()
            .insert(name.into(), value.into());
    }

    /// One request (no redirect followed), with the site's cookies and
    /// `extra` headers; cookies set by the answer are kept.
    pub async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        extra: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Hop {
        let u = reqwest::Url::parse(url).unwrap();
        self.visited.push(u.clone());
        let mut rb = self.http.request(method, u.clone());
        if let Some(c) = self.jar.get(&site(&u))
            && !c.is_empty()
        {
            let v: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rb = rb.header(reqwest::header::COOKIE, v.join("; "));
        }
        for (k, v) in extra {
            rb = rb.header(*k, *v);
        }
        if let Some((ct, b)) = body {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct).body(b);
        }
        let r = rb.send().await.unwrap();
        let hop = Hop {
            url: u.clone(),
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        };
        let jar = self.jar.entry(site(&u)).or_default();
        for c in hop.set_cookies() {
            let first = c.split(';').next().unwrap_or("");
            let Some((k, v)) = first.split_once('=') else {
                continue;
            };
            let gone = v.is_empty()
                || c.to_ascii_lowercase().contains("max-age=0")
                || c.to_ascii_lowercase().contains("expires=thu, 01 jan 1970");
            if gone {
                jar.remove(k.trim());
            } else {
                jar.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        hop
    }

    pub async fn get(&mut self, url: &str) -> Hop {
        self.request(reqwest::Method::GET, url, &[], None).await
    }

    /// GETs `url` and follows redirects; every hop.
    pub async fn follow(&mut self, url: &str) -> Vec<Hop> {
        let first = self.get(url).await;
        self.follow_from(vec![first]).await
    }

    async fn follow_from(&mut self, mut hops: Vec<Hop>) -> Vec<Hop> {
        while let Some(next) = hops
            .last()
            .filter(|h| (300..400).contains(&h.status))
            .and_then(Hop::location)
        {
            assert!(hops.len() < 20, "redirect loop: {:?}", self.visited);
            if self
                .stop_at
                .as_ref()
                .is_some_and(|s| next.as_str().starts_with(s.as_str()))
            {
                self.stopped = Some(next);
                break;
            }
            hops.push(self.get(next.as_str()).await);
        }
        hops
    }

    /// POSTs a form and follows the redirects after it.
    pub async fn submit(&mut self, url: &str, form: &[(&str, &str)]) -> Vec<Hop> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let first = self
            .request(
                reqwest::Method::POST,
                url,
                &[],
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await;
        self.follow_from(vec![first]).await
    }

    /// Signs in at Pac (`pac` is its base URL) as `user` through the
    /// provider's real pages: Pac's /auth/login, the provider's
    /// authorization endpoint, its login form, its consent form, and back
    /// to Pac's callback. Every hop; the last is the callback's answer.
    pub async fn login(&mut self, pac: &str, user: &str, return_to: &str) -> Vec<Hop> {
        let start = format!(
            "{pac}/auth/login?return_to={}",
            form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        let mut hops = self.follow(&start).await;
        for _ in 0..4 {
            let last = hops.last().unwrap().clone();
            if last.url.as_str().starts_with(pac) || last.status != 200 || self.stopped.is_some() {
                break;
            }
            // The provider's development interaction: a form per prompt.
            let action = attr_after(&last.body, "<form", "action=\"").unwrap_or_else(|| {
                panic!("no form on the provider's page {}: {}", last.url, last.body)
            });
            let action = last.url.join(&action.replace("&amp;", "&")).unwrap();
            let prompt = attr_after(&last.body, "name=\"prompt\"", "value=\"").unwrap_or_default();
            let form: Vec<(&str, &str)> = match prompt.as_str() {
                "login" => vec![("prompt", "login"), ("login", user), ("password", "any")],
                "consent" => vec![("prompt", "consent")],
                other => panic!("unexpected provider prompt {other:?}: {}", last.body),
            };
            hops.extend(self.submit(action.as_str(), &form).await);
        }
        hops
    }
}

impl Browser {
    /// The test acting as a relying party of its own: signs `user` in at
    /// `issuer` for `client_id` (a `client_secret_post` client the provider
    /// lets skip PKCE) with `nonce`, exchanges the code, and returns the
    /// provider's raw ID token: real tokens for the verifier tests.
    pub async fn raw_id_token(
        &mut self,
        issuer: &str,
        client_id: &str,
        secret: &str,
        redirect: &str,
        user: &str,
        nonce: &str,
    ) -> String {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", client_id),
                ("response_type", "code"),
                ("scope", "openid email"),
                ("redirect_uri", redirect),
                ("state", "test-state-0123456789"),
                ("nonce", nonce),
            ])
            .finish();
        self.stop_at = Some(redirect.to_string());
        self.stopped = None;
        let mut hops = self.follow(&format!("{issuer}/auth?{q}")).await;
        for _ in 0..4 {
            let last = hops.last().unwrap().clone();
            if self.stopped.is_some() || last.status != 200 {
                break;
            }
            let action = attr_after(&last.body, "<form", "action=\"").unwrap();
            let action = last.url.join(&action.replace("&amp;", "&")).unwrap();
            let prompt = attr_after(&last.body, "name=\"prompt\"", "value=\"").unwrap_or_default();
            let form: Vec<(&str, &str)> = if prompt == "login" {
                vec![("prompt", "login"), ("login", user), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            hops.extend(self.submit(action.as_str(), &form).await);
        }
        let back = self
            .stopped
            .take()
            .unwrap_or_else(|| panic!("the provider did not redirect back: {:?}", hops.last()));
        self.stop_at = None;
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {back}"));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .finish();
        let t = self
            .request(
                reqwest::Method::POST,
                &format!("{issuer}/token"),
                &[],
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await;
        assert_eq!(t.status, 200, "{}", t.body);
        t.json()["id_token"].as_str().unwrap().to_string()
    }
}

/// The value of the first `attr` (e.g. `action="`) after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let start = rest.find(attr)? + attr.len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}
