//! Reading from a running server's API on the command line: the inventory
//! export that `pacc review --server` evaluates. http or https; redirects
//! are not followed (the token is sent to `--server` only).

/// The most inventory text read from a server: a larger answer is refused
/// rather than filling the memory of a CI runner.
pub const MAX_INVENTORY_BYTES: usize = 4 << 30;

/// An HTTP client for calls with a bearer token.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// The NDJSON of `GET /api/v1/inventory` (the caller's asset groups, or
/// `group` alone), whole: an answer cut short is an error, never a
/// smaller inventory.
pub fn fetch_inventory(server: &str, token: &str, group: Option<&str>) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(fetch(server.trim_end_matches('/'), token, group))
}

async fn fetch(server: &str, token: &str, group: Option<&str>) -> Result<String, String> {
    let http = client()?;
    let mut url = format!("{server}/api/v1/inventory");
    if let Some(g) = group {
        url.push_str("?group=");
        url.extend(form_urlencoded::byte_serialize(g.as_bytes()));
    }
    let mut resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach {server}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let m = body["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default();
        return Err(match status.as_u16() {
            401 => format!(
                "{server} refused the token (401): {m} — give a valid API token in PAC_TOKEN or --token"
            ),
            403 => format!("{server}: the token may not read resources (403): {m}"),
            _ => format!("{server} answered {status}: {m}"),
        });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        format!("{server}: the inventory was cut short ({e}); nothing was evaluated")
    })? {
        if bytes.len() + chunk.len() > MAX_INVENTORY_BYTES {
            return Err(format!(
                "{server}: the inventory is larger than {} GiB; export it to a file and pass --inventory",
                MAX_INVENTORY_BYTES >> 30
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| format!("{server}: the inventory is not UTF-8"))
}
