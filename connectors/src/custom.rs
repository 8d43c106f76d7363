//! Custom auto-fix actions (`[[action]]` in the configuration): an action
//! the operator implements as a program (`kind = "command"`, run without a
//! shell) or an HTTPS endpoint (`kind = "webhook"`). Both receive one JSON
//! document describing the request and answer with one JSON document in
//! the shape of a [`FixOutcome`]; docs/connectors.md documents the keys,
//! the documents and the limits.
//!
//! The executor checks the answer against the request: `changed` on a dry
//! run (the action did not honour `dry_run`) and `would_change` when asked
//! to apply are failures, as are a non-zero exit, a non-2xx status, an
//! answer that is not the expected JSON, a timeout and output beyond
//! [`MAX_ANSWER_BYTES`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::action::{Action, ActionError, FixOutcome, FixRequest, FixStatus};

/// The largest answer (stdout, response body) read; more is a failure.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// The most of a program's standard error kept (the rest is drained).
const MAX_STDERR_BYTES: usize = 64 * 1024;
/// How much of stderr, a body or a bad answer a failure quotes.
const EXCERPT_CHARS: usize = 400;
const EXCERPT_LINES: usize = 5;
/// The longest summary kept from an answer.
const MAX_SUMMARY_CHARS: usize = 1000;

/// One `[[action]]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ActionConfig {
    Command(CommandAction),
    Webhook(WebhookAction),
}

/// A `kind = "command"` action: a program run directly (argv, no shell).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandAction {
    /// The action's name, as declared in Pac (`action NAME(...) on ...`).
    pub name: String,
    /// The program and its fixed arguments: `["/usr/local/bin/quarantine", "--strict"]`.
    pub command: Vec<String>,
    /// Extra environment variables (the program inherits the rest).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The working directory (default: the current one).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Kill the program (its whole process group) after this many seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A `kind = "webhook"` action: an HTTPS endpoint the request is POSTed to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookAction {
    pub name: String,
    /// `https://…`; plain `http://` only to a loopback address.
    pub url: String,
    /// Request headers; `${VAR}` in a value is the environment variable.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    60
}

/// The keys each kind accepts (besides `kind`), for "unknown key" errors.
pub fn known_keys(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "command" => Some(&["name", "command", "env", "cwd", "timeout_secs"]),
        "webhook" => Some(&["name", "url", "headers", "timeout_secs"]),
        _ => None,
    }
}

/// Checks the kind and keys of one `[[action]]` table (before it is
/// deserialized). The error names the key it is about, if any, so that the
/// caller can add its line.
pub fn check_keys(index: usize, t: &toml::Table) -> Result<(), (String, Option<String>)> {
    let name = t.get("name").and_then(|n| n.as_str()).unwrap_or("?");
    let Some(kind) = t.get("kind").and_then(|k| k.as_str()) else {
        return Err((
            format!(
                "action #{} (`{name}`) has no `kind`; write kind = \"command\" or kind = \"webhook\"",
                index + 1
            ),
            None,
        ));
    };
    let Some(keys) = known_keys(kind) else {
        return Err((
            format!("action `{name}`: unknown kind `{kind}` (expected \"command\" or \"webhook\")"),
            Some("kind".into()),
        ));
    };
    for k in t.keys() {
        if k != "kind" && !keys.contains(&k.as_str()) {
            return Err((
                format!(
                    "action `{name}`: unknown key `{k}` for kind {kind} (the keys are {})",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(k.clone()),
            ));
        }
    }
    Ok(())
}

/// Reads and checks `[[action]]` tables as they come from another
/// configuration file (the server's).
pub fn from_tables(tables: &[toml::Table]) -> Result<Vec<ActionConfig>, String> {
    let mut out = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        check_keys(i, t).map_err(|(m, _)| m)?;
        let name = t.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let a: ActionConfig = toml::Value::Table(t.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("action `{name}`: {}", e.message()))?;
        out.push(a);
    }
    validate(&out)?;
    Ok(out)
}

/// Whether `name` can be an action's name in Pac (an identifier).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether plain http may reach `url`'s host: a loopback address only.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

impl ActionConfig {
    pub fn name(&self) -> &str {
        match self {
            ActionConfig::Command(c) => &c.name,
            ActionConfig::Webhook(w) => &w.name,
        }
    }

    fn timeout_secs(&self) -> u64 {
        match self {
            ActionConfig::Command(c) => c.timeout_secs,
            ActionConfig::Webhook(w) => w.timeout_secs,
        }
    }

    /// Checks what the types cannot; errors name the action and the key.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        if !is_identifier(name) {
            return Err(format!(
                "action `{name}`: `name` must be the name of an action declared in Pac (`action {}(…) on …`): letters, digits and `_`, not starting with a digit",
                if name.is_empty() { "NAME" } else { name }
            ));
        }
        if name == "notify_only" {
            return Err(
                "action `notify_only` is built in; give the custom action another `name`".into(),
            );
        }
        if self.timeout_secs() == 0 {
            return Err(format!(
                "action `{name}`: `timeout_secs` is 0; write the number of seconds the action may take (default 60)"
            ));
        }
        match self {
            ActionConfig::Command(c) => {
                if c.command.first().is_none_or(|p| p.is_empty()) {
                    return Err(format!(
                        "action `{name}`: `command` is empty; write the program and its arguments as a list, e.g. command = [\"/usr/local/bin/quarantine\", \"--mode\", \"strict\"] (it is run directly, never through a shell)"
                    ));
                }
            }
            ActionConfig::Webhook(w) => {
                let url = reqwest::Url::parse(&w.url).map_err(|e| {
                    format!(
                        "action `{name}`: `url` {:?} is not a URL ({e}); write url = \"https://…\"",
                        w.url
                    )
                })?;
                match url.scheme() {
                    "https" if url.host().is_some() => {}
                    "http" if is_loopback(&url) => {}
                    _ => {
                        return Err(format!(
                            "action `{name}`: `url` must start with https:// (plain http:// is accepted only to a loopback address such as http://127.0.0.1:8080/, e.g. a local relay), not {}",
                            shown_url(&url)
                        ));
                    }
                }
                for k in w.headers.keys() {
                    reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                        format!("action `{name}`: `headers`: {k:?} is not a header name")
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// Checks every action and that their names are unique.
pub fn validate(actions: &[ActionConfig]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for a in actions {
        a.validate()?;
        if !seen.insert(a.name()) {
            return Err(format!(
                "two actions are named `{}`; names must be unique",
                a.name()
            ));
        }
    }
    Ok(())
}

/// The executors of the configured custom actions, one per action.
pub fn executors(actions: &[ActionConfig]) -> Vec<Box<dyn Action>> {
    actions
        .iter()
        .map(|a| Box::new(CustomAction::new(a.clone())) as Box<dyn Action>)
        .collect()
}

/// The document a custom action receives (stdin, or the POST body).
/// `rule` and `policy` are those of the failure that asked for the fix.
pub fn request_document(req: &FixRequest) -> Json {
    let t = &req.target;
    json!({
        "action": req.action,
        "dry_run": req.dry_run,
        "resource": {
            "type": t.resource_type,
            "id": t.id,
            "account": t.account,
            "region": t.region,
            "state": t.document,
        },
        "rule": req.rule,
        "policy": req.policy,
        "args": req.args,
    })
}

/// Runs one configured custom action.
pub struct CustomAction {
    /// Leaked once per configured action: [`Action::names`] hands out
    /// `&'static str`, and a configuration is read once per process.
    name: [&'static str; 1],
    config: ActionConfig,
    /// The webhook's HTTP client (built once).
    client: Option<Result<reqwest::Client, String>>,
}

impl CustomAction {
    pub fn new(config: ActionConfig) -> CustomAction {
        let name: &'static str = Box::leak(config.name().to_owned().into_boxed_str());
        let client = match &config {
            ActionConfig::Command(_) => None,
            ActionConfig::Webhook(w) => Some(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(w.timeout_secs))
                    // A redirect is an answer like any other non-2xx: never
                    // followed (it could lead off https or off loopback).
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("HTTP client: {e}")),
            ),
        };
        CustomAction {
            name: [name],
            config,
            client,
        }
    }

    fn fail(&self, message: impl std::fmt::Display) -> ActionError {
        ActionError::Failed(format!("custom action `{}`: {message}", self.name[0]))
    }

    /// Runs the program; its standard output is the answer.
    async fn run_command(&self, c: &CommandAction, input: &[u8]) -> Result<Vec<u8>, ActionError> {
        let (program, args) = c
            .command
            .split_first()
            .ok_or_else(|| self.fail("`command` is empty"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(&c.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        if let Some(dir) = &c.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| self.fail(format!("cannot run `{program}`: {e}")))?;
        // Whatever happens next (answer, failure, timeout, the caller
        // giving up), what is left of the program's process group dies.
        let _group = GroupKill(child.id());
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            return Err(self.fail("cannot reach the program's standard streams"));
        };
        let write = async move {
            // A program that exits without reading its input is judged by
            // its exit status and answer, not by the broken pipe.
            let _ = stdin.write_all(input).await;
            let _ = stdin.shutdown().await;
        };
        let work = async {
            let ((), out, err, status) = tokio::join!(
                write,
                read_capped(stdout, MAX_ANSWER_BYTES),
                read_capped(stderr, MAX_STDERR_BYTES),
                child.wait()
            );
            (out, err, status)
        };
        let ((out, out_len), (err, _), status) =
            match tokio::time::timeout(Duration::from_secs(c.timeout_secs), work).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(self.fail(format!(
                        "`{program}` did not answer within {} s (timeout_secs) and was killed",
                        c.timeout_secs
                    )));
                }
            };
        let status = status.map_err(|e| self.fail(format!("waiting for `{program}`: {e}")))?;
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => {
                    #[cfg(unix)]
                    {
                        use std::os::unix::process::ExitStatusExt;
                        format!("was killed by signal {}", status.signal().unwrap_or(0))
                    }
                    #[cfg(not(unix))]
                    {
                        "was killed".to_string()
                    }
                }
            };
            let err = excerpt(&err);
            return Err(self.fail(format!(
                "`{program}` {how}{}",
                if err.is_empty() {
                    " (nothing on standard error)".to_string()
                } else {
                    format!("; standard error: {err}")
                }
            )));
        }
        if out_len > MAX_ANSWER_BYTES {
            return Err(self.fail(format!(
                "`{program}` wrote {out_len} bytes on standard output; an answer is at most {MAX_ANSWER_BYTES}"
            )));
        }
        Ok(out)
    }

    /// POSTs the request; the response body is the answer.
    async fn post(&self, w: &WebhookAction, input: &[u8]) -> Result<Vec<u8>, ActionError> {
        let url = reqwest::Url::parse(&w.url).map_err(|e| self.fail(format!("`url`: {e}")))?;
        let shown = shown_url(&url);
        let client = match &self.client {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(self.fail(e)),
            None => return Err(self.fail("no HTTP client")),
        };
        let mut rb = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(input.to_vec());
        for (k, v) in &w.headers {
            let v = crate::http::expand(v).map_err(|e| self.fail(format!("header {k}: {e}")))?;
            let v = reqwest::header::HeaderValue::from_str(&v).map_err(|_| {
                self.fail(format!(
                    "header {k}: its value is not a valid header value (a line break or control character)"
                ))
            })?;
            rb = rb.header(k, v);
        }
        let exchange = async {
            let mut resp = rb.send().await.map_err(|e| {
                if e.is_timeout() {
                    format!(
                        "POST {shown}: no answer within {} s (timeout_secs)",
                        w.timeout_secs
                    )
                } else {
                    format!("POST {shown}: {}", e.without_url())
                }
            })?;
            let status = resp.status();
            let mut body = Vec::new();
            let mut total = 0usize;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        total += chunk.len();
                        if total > MAX_ANSWER_BYTES {
                            break;
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(format!(
                            "POST {shown}: reading the answer: {}",
                            if e.is_timeout() {
                                format!("no answer within {} s (timeout_secs)", w.timeout_secs)
                            } else {
                                e.without_url().to_string()
                            }
                        ));
                    }
                }
            }
            if !status.is_success() {
                let body = excerpt(&body);
                return Err(format!(
                    "POST {shown} answered HTTP {status}{}",
                    if body.is_empty() {
                        String::new()
                    } else {
                        format!(": {body}")
                    }
                ));
            }
            if total > MAX_ANSWER_BYTES {
                return Err(format!(
                    "POST {shown}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
                ));
            }
            Ok(body)
        };
        // The client's timeout covers the exchange; this one also covers a
        // body that trickles in.
        match tokio::time::timeout(Duration::from_secs(w.timeout_secs), exchange).await {
            Ok(r) => r.map_err(|e| self.fail(e)),
            Err(_) => Err(self.fail(format!(
                "POST {shown}: no answer within {} s (timeout_secs)",
                w.timeout_secs
            ))),
        }
    }

    /// The answer as an outcome, checked against the request.
    fn outcome(&self, req: &FixRequest, answer: &[u8]) -> Result<FixOutcome, ActionError> {
        let doc: Json = serde_json::from_slice(answer).map_err(|e| {
            self.fail(format!(
                "the answer is not JSON ({e}): {}",
                if answer.is_empty() {
                    "it was empty".to_string()
                } else {
                    format!("it starts {:?}", excerpt(answer))
                }
            ))
        })?;
        let Json::Object(mut doc) = doc else {
            return Err(self.fail(
                "the answer is not a JSON object; answer {\"status\": …, \"summary\": …, \"before\": …, \"after\": …}",
            ));
        };
        let summary = match doc.get("summary") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) if s.trim().is_empty() => None,
            Some(Json::String(s)) => {
                Some(s.trim().chars().take(MAX_SUMMARY_CHARS).collect::<String>())
            }
            Some(_) => return Err(self.fail("the answer's `summary` is not a string")),
        };
        let status = match doc.get("status") {
            Some(Json::String(s)) => s.clone(),
            _ => {
                return Err(self.fail(
                    "the answer has no `status` string (changed, would_change, already_fixed or failed)",
                ));
            }
        };
        let status = match (status.as_str(), req.dry_run) {
            ("changed", false) => FixStatus::Changed,
            ("would_change", true) => FixStatus::WouldChange,
            ("already_fixed", _) => FixStatus::AlreadyFixed,
            ("changed", true) => {
                return Err(self.fail(format!(
                    "answered `changed` to a dry run: it did not honour `dry_run`, so {} may have been changed{}",
                    req.target.id,
                    summary.map(|s| format!(" ({s})")).unwrap_or_default()
                )));
            }
            ("would_change", false) => {
                return Err(self.fail(format!(
                    "answered `would_change` when asked to apply (`dry_run` false): {} was not changed",
                    req.target.id
                )));
            }
            ("failed", _) => {
                return Err(self.fail(format!(
                    "failed on {}: {}",
                    req.target.id,
                    summary.unwrap_or_else(|| "no summary".into())
                )));
            }
            (other, _) => {
                return Err(self.fail(format!(
                    "answered status {other:?}; expected changed, would_change, already_fixed or failed"
                )));
            }
        };
        let before = doc.remove("before").unwrap_or(Json::Null);
        let after = doc.remove("after").unwrap_or(Json::Null);
        Ok(FixOutcome {
            summary: summary.unwrap_or_else(|| {
                format!(
                    "`{}` on {}: {}",
                    self.name[0],
                    req.target.id,
                    match status {
                        FixStatus::Changed => "changed",
                        FixStatus::WouldChange => "would change",
                        FixStatus::AlreadyFixed => "already fixed",
                    }
                )
            }),
            status,
            before,
            after,
        })
    }
}

#[async_trait]
impl Action for CustomAction {
    fn names(&self) -> &[&'static str] {
        &self.name
    }

    async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError> {
        let input = serde_json::to_vec(&request_document(request))
            .map_err(|e| self.fail(format!("encoding the request: {e}")))?;
        let answer = match &self.config {
            ActionConfig::Command(c) => self.run_command(c, &input).await?,
            ActionConfig::Webhook(w) => self.post(w, &input).await?,
        };
        self.outcome(request, &answer)
    }
}

/// Kills a process group when dropped (best effort; a group already gone
/// is no error).
struct GroupKill(Option<u32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok())
            && pid > 0
        {
            // SAFETY: kill(2) with a negative pid signals the process group
            // the program was made the leader of (`process_group(0)`); it
            // touches no memory.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Reads `r` to its end, keeping at most `cap + 1` bytes (so that "more
/// than cap" shows) and draining the rest; returns them and the total.
async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                let room = (cap + 1).saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, total)
}

/// The first lines of `bytes`, bounded, on one line.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(EXCERPT_LINES)
        .collect();
    let joined = lines.join(" | ");
    if joined.chars().count() > EXCERPT_CHARS {
        let cut: String = joined.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// A URL as shown in messages and logs: no credentials, no query (a
/// webhook's token often rides in one).
fn shown_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if u.query().is_some() {
        u.set_query(None);
        format!("{u}?…")
    } else {
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ActionConfig>, String> {
        let t: toml::Table = toml::from_str(text).unwrap();
        let list: Vec<toml::Table> = t["action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_table().unwrap().clone())
            .collect();
        from_tables(&list)
    }

    #[test]
    fn configurations_are_checked_with_errors_that_say_what_to_write() {
        let ok = parse(
            r#"
[[action]]
name = "quarantine_instance"
kind = "command"
command = ["/usr/local/bin/quarantine", "--mode", "strict"]
timeout_secs = 30

[[action]]
name = "open_ticket"
kind = "webhook"
url = "https://tickets.example.com/hooks/pac?token=x"
headers = { Authorization = "Bearer ${TICKETS_TOKEN}" }

[[action]]
name = "local_relay"
kind = "webhook"
url = "http://127.0.0.1:8080/fix"
"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].name(), "quarantine_instance");
        let ActionConfig::Webhook(w) = &ok[1] else {
            panic!()
        };
        assert_eq!(w.timeout_secs, 60);

        let err = |text: &str| parse(text).unwrap_err();
        let e = err("[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = []\n");
        assert!(
            e.contains("`command` is empty") && e.contains("never through a shell"),
            "{e}"
        );
        let e =
            err("[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = [\"x\"]\nshell = true\n");
        assert!(e.contains("unknown key `shell` for kind command"), "{e}");
        let e = err("[[action]]\nname = \"a\"\ncommand = [\"x\"]\n");
        assert!(e.contains("has no `kind`"), "{e}");
        let e = err("[[action]]\nname = \"a\"\nkind = \"lambda\"\n");
        assert!(e.contains("unknown kind `lambda`"), "{e}");
        let e = err(
            "[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://hooks.example.com/x?token=secret\"\n",
        );
        assert!(
            e.contains("must start with https://") && e.contains("loopback"),
            "{e}"
        );
        assert!(!e.contains("secret"), "the query is not shown: {e}");
        let e = err("[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"ftp://127.0.0.1/\"\n");
        assert!(e.contains("must start with https://"), "{e}");
        let e = err("[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"not a url\"\n");
        assert!(e.contains("is not a URL"), "{e}");
        for ok in [
            "http://127.0.0.1:9/",
            "http://[::1]:9/",
            "http://localhost:9/",
        ] {
            parse(&format!(
                "[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"{ok}\"\n"
            ))
            .unwrap();
        }
        let e =
            err("[[action]]\nname = \"quarantine-now\"\nkind = \"command\"\ncommand = [\"x\"]\n");
        assert!(
            e.contains("must be the name of an action declared in Pac"),
            "{e}"
        );
        let e = err("[[action]]\nname = \"notify_only\"\nkind = \"command\"\ncommand = [\"x\"]\n");
        assert!(e.contains("built in"), "{e}");
        let e = err(
            "[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = [\"x\"]\ntimeout_secs = 0\n",
        );
        assert!(e.contains("`timeout_secs` is 0"), "{e}");
        let e = err(
            "[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = [\"x\"]\n[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = [\"y\"]\n",
        );
        assert!(e.contains("two actions are named `a`"), "{e}");
    }

    #[test]
    fn excerpts_and_urls_are_bounded_and_redacted() {
        let long = "x".repeat(5000);
        assert!(excerpt(long.as_bytes()).chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(
            excerpt(b"one\n\ntwo\nthree\nfour\nfive\nsix\n"),
            "one | two | three | four | five"
        );
        let u = reqwest::Url::parse("https://user:pw@h.example/p?token=s#f").unwrap();
        assert_eq!(shown_url(&u), "https://h.example/p?…");
    }
}
