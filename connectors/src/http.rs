//! The HTTP plugin: GETs a JSON endpoint and follows its pagination, by a
//! next-page link or by a cursor sent back as a query parameter.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::mpsc;

use crate::plugin::Mapping;
use crate::source::{CollectPlan, Connector, Event, SourceError};

/// A `kind = "http"` source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpSource {
    pub name: String,
    /// The first page (http or https).
    pub url: String,
    /// Request headers; `${VAR}` in a value is replaced by the environment
    /// variable (keep tokens out of the file: `Authorization = "Bearer ${SCANNER_TOKEN}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON pointer to the array of records in a page (`/results`);
    /// default: the page itself when it is an array, else `/items`.
    #[serde(default)]
    pub items: Option<String>,
    /// A JSON pointer to the next page's URL (absolute or relative), e.g.
    /// `/next` or `/links/next`; the last page has none (or null, or "").
    #[serde(default)]
    pub next_link: Option<String>,
    /// A JSON pointer to the cursor of the next page (`/next_cursor`) …
    #[serde(default)]
    pub cursor: Option<String>,
    /// … sent back as this query parameter (default `cursor`).
    #[serde(default)]
    pub cursor_param: Option<String>,
    /// Stop after this many pages (a guard against endless pagination).
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(flatten)]
    pub mapping: Mapping,
}

fn default_max_pages() -> u32 {
    10_000
}
fn default_timeout() -> u64 {
    30
}

/// `${VAR}` → the environment variable's value (empty when unset).
pub(crate) fn expand(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in header value {value:?}"))?;
        let var = &after[..end];
        out.push_str(
            &std::env::var(var).map_err(|_| {
                format!("environment variable `{var}` (used in a header) is not set")
            })?,
        );
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub struct HttpConnector {
    source: HttpSource,
}

impl HttpConnector {
    pub fn new(source: HttpSource) -> HttpConnector {
        HttpConnector { source }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError {
            source_name: self.source.name.clone(),
            scope: self.source.mapping.scope(),
            message,
        }
    }

    fn page_items(&self, page: &mut Json) -> Result<Vec<Json>, String> {
        let ptr = match &self.source.items {
            Some(p) => p.as_str(),
            None if page.is_array() => "",
            None => "/items",
        };
        match page.pointer_mut(ptr).map(Json::take) {
            Some(Json::Array(items)) => Ok(items),
            Some(other) => Err(format!("`{ptr}` is not an array (found {})", kind(&other))),
            None => Err(format!(
                "the page has no `{ptr}`; set `items` to the JSON pointer of the records"
            )),
        }
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[async_trait]
impl Connector for HttpConnector {
    fn name(&self) -> &str {
        &self.source.name
    }

    async fn collect(
        &self,
        _plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError> {
        let src = &self.source;
        let mut url =
            Url::parse(&src.url).map_err(|e| self.error(format!("url {:?}: {e}", src.url)))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &src.headers {
            let v = expand(v).map_err(|e| self.error(e))?;
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| self.error(format!("header name {k:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(&v)
                .map_err(|e| self.error(format!("header {k}: {e}")))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(src.timeout_secs))
            .default_headers(headers)
            .build()
            .map_err(|e| self.error(format!("HTTP client: {e}")))?;
        let base = url.clone();
        let mut pages = 0u32;
        let mut index = 0usize;
        let mut failed = false;
        loop {
            pages += 1;
            let fetched = async {
                let resp = client
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status();
                if !status.is_success() {
                    let body = resp.text().await.unwrap_or_default();
                    let body: String = body.chars().take(200).collect();
                    return Err(format!("HTTP {status}: {body}"));
                }
                resp.json::<Json>()
                    .await
                    .map_err(|e| format!("not JSON: {e}"))
            }
            .await;
            let mut page = match fetched {
                Ok(p) => p,
                Err(e) => {
                    let _ = out
                        .send(Event::Error(self.error(format!("GET {url}: {e}"))))
                        .await;
                    return Ok(());
                }
            };
            let next = match (&src.next_link, &src.cursor) {
                (Some(ptr), _) => match page.pointer(ptr) {
                    Some(Json::String(s)) if !s.is_empty() => match url.join(s) {
                        Ok(u) => Some(u),
                        Err(e) => {
                            let _ = out
                                .send(Event::Error(
                                    self.error(format!("GET {url}: next link {s:?}: {e}")),
                                ))
                                .await;
                            return Ok(());
                        }
                    },
                    _ => None,
                },
                (None, Some(ptr)) => match page.pointer(ptr) {
                    Some(c @ (Json::String(_) | Json::Number(_))) => {
                        let c = match c {
                            Json::String(s) if s.is_empty() => None,
                            Json::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        };
                        c.map(|c| {
                            let param = src.cursor_param.as_deref().unwrap_or("cursor");
                            let mut u = base.clone();
                            let kept: Vec<(String, String)> = base
                                .query_pairs()
                                .filter(|(k, _)| k != param)
                                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                                .collect();
                            u.query_pairs_mut()
                                .clear()
                                .extend_pairs(kept)
                                .append_pair(param, &c);
                            u
                        })
                    }
                    _ => None,
                },
                (None, None) => None,
            };
            let items = match self.page_items(&mut page) {
                Ok(i) => i,
                Err(e) => {
                    let _ = out
                        .send(Event::Error(self.error(format!("GET {url}: {e}"))))
                        .await;
                    return Ok(());
                }
            };
            for item in items {
                let origin = format!("{url} #{index}");
                index += 1;
                let ev = match src.mapping.document(item, &origin) {
                    Ok(d) => Event::Document(d),
                    Err(e) => {
                        failed = true;
                        Event::Error(self.error(e))
                    }
                };
                if out.send(ev).await.is_err() {
                    return Ok(());
                }
            }
            let _ = out
                .send(Event::Progress {
                    source_name: src.name.clone(),
                    done: u64::from(pages),
                    total: None,
                    what: format!("page {pages}"),
                })
                .await;
            match next {
                Some(n) if pages < src.max_pages => url = n,
                Some(_) => {
                    let _ = out
                        .send(Event::Error(self.error(format!(
                            "stopped after max_pages = {} pages; raise it if the endpoint really has more",
                            src.max_pages
                        ))))
                        .await;
                    return Ok(());
                }
                None => break,
            }
        }
        if !failed {
            let _ = out.send(Event::Complete(src.mapping.scope())).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_expand_environment_variables() {
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("PAC_TEST_TOKEN_X", "s3cret") };
        assert_eq!(
            expand("Bearer ${PAC_TEST_TOKEN_X}").unwrap(),
            "Bearer s3cret"
        );
        assert!(
            expand("${PAC_SURELY_UNSET_VAR}")
                .unwrap_err()
                .contains("PAC_SURELY_UNSET_VAR")
        );
        assert!(expand("${oops").is_err());
        assert_eq!(expand("plain").unwrap(), "plain");
    }
}
