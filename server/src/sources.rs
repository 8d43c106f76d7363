//! Building the configured sources and auto-fix executors. ALL source
//! construction lives here; the scan pipeline only sees `Box<dyn
//! Connector>`.
//!
//! Kinds `aws`, `file`, `command` and `http` are the connectors crate's,
//! with its own `[[source]]` keys (docs/connectors.md) plus the server's
//! `schedule`. Kind `inventory` is the server's own: inventory files (JSON
//! array or NDJSON), each optionally tagged with the account it covers, so
//! that an unreadable file fails only that account's scope — the embedded
//! default's demo source.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pac_connectors::config::SourceConfig;
use pac_connectors::{Action, CollectPlan, Connector, Event, Scope, SourceError};
use serde_json::Value;
use tokio::sync::mpsc;

/// A configured source.
pub struct Built {
    pub name: String,
    /// Its own schedule, if it names one.
    pub schedule: Option<String>,
    pub connector: Box<dyn Connector>,
    /// The connectors crate's configuration of the source, for the action
    /// executors that reach the same cloud (`None` for `inventory`).
    pub config: Option<SourceConfig>,
    /// Its own `max_removed_percent` (the share of its resources one read
    /// may remove before it is held as suspect), if it names one.
    pub max_removed_percent: Option<u64>,
}

/// Builds a source from its `[[source]]` table.
pub fn build(table: &toml::Table) -> Result<Built, String> {
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or("a [[source]] needs `name = \"...\"`")?
        .to_string();
    let kind = table.get("kind").and_then(|v| v.as_str()).ok_or_else(|| {
        format!("source `{name}`: needs `kind` (`aws`, `file`, `command`, `http` or `inventory`)")
    })?;
    let schedule = table
        .get("schedule")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let max_removed_percent = match table.get("max_removed_percent") {
        None => None,
        Some(v) => Some(
            v.as_integer()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n <= 100)
                .ok_or_else(|| {
                    format!("source `{name}`: `max_removed_percent` must be a whole number from 0 to 100")
                })?,
        ),
    };
    match kind {
        "aws" | "file" | "command" | "http" => {
            // The connectors crate validates its own keys (unknown ones
            // with a "did you mean"); `schedule` and `max_removed_percent`
            // are the server's.
            let mut own = table.clone();
            own.remove("schedule");
            own.remove("max_removed_percent");
            let mut doc = toml::Table::new();
            doc.insert(
                "source".into(),
                toml::Value::Array(vec![toml::Value::Table(own)]),
            );
            let text = toml::to_string(&doc).map_err(|e| format!("source `{name}`: {e}"))?;
            let parsed = pac_connectors::config::Config::parse(&text, "the server configuration")
                .map_err(|e| format!("source `{name}`: {e}"))?;
            let config = parsed
                .sources
                .into_iter()
                .next()
                .ok_or_else(|| format!("source `{name}`: no source"))?;
            let connector = pac_connectors::config::connectors(std::slice::from_ref(&config))
                .pop()
                .ok_or_else(|| format!("source `{name}`: no connector"))?;
            Ok(Built {
                name,
                schedule,
                connector,
                config: Some(config),
                max_removed_percent,
            })
        }
        "inventory" => {
            let mut files = Vec::new();
            if let Some(paths) = table.get("paths") {
                let arr = paths
                    .as_array()
                    .ok_or_else(|| format!("source `{name}`: `paths` must be a list of files"))?;
                for p in arr {
                    let p = p.as_str().ok_or_else(|| {
                        format!("source `{name}`: `paths` must be a list of strings")
                    })?;
                    files.push(InventoryFile {
                        path: PathBuf::from(p),
                        account: None,
                    });
                }
            }
            if let Some(list) = table.get("file").and_then(|v| v.as_array()) {
                for f in list {
                    let path = f.get("path").and_then(|v| v.as_str()).ok_or_else(|| {
                        format!("source `{name}`: each [[source.file]] needs `path`")
                    })?;
                    files.push(InventoryFile {
                        path: PathBuf::from(path),
                        account: f
                            .get("account")
                            .and_then(|v| v.as_str())
                            .map(str::to_string),
                    });
                }
            }
            if files.is_empty() {
                return Err(format!(
                    "source `{name}`: an inventory source needs `paths = [\"file.json\"]` or [[source.file]] entries"
                ));
            }
            for key in table.keys() {
                if ![
                    "name",
                    "kind",
                    "schedule",
                    "paths",
                    "file",
                    "max_removed_percent",
                ]
                .contains(&key.as_str())
                {
                    return Err(format!("source `{name}`: unknown key `{key}`"));
                }
            }
            Ok(Built {
                name: name.clone(),
                schedule,
                connector: Box::new(InventoryFiles { name, files }),
                config: None,
                max_removed_percent,
            })
        }
        other => Err(format!(
            "source `{name}`: unknown kind `{other}` (the kinds are `aws`, `file`, `command`, `http` and `inventory`)"
        )),
    }
}

#[derive(Clone, Debug)]
pub struct InventoryFile {
    pub path: PathBuf,
    /// The account the file covers: its failure fails only that scope.
    pub account: Option<String>,
}

/// Inventory files as a connector. Documents are sent unvalidated (the
/// scan validates them with the runtime's reader); a line that is not JSON
/// is sent as its raw text in a JSON string so that the reader reports it
/// with its syntax error, like any other malformed document.
pub struct InventoryFiles {
    pub name: String,
    pub files: Vec<InventoryFile>,
}

#[async_trait]
impl Connector for InventoryFiles {
    fn name(&self) -> &str {
        &self.name
    }

    async fn collect(
        &self,
        plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError> {
        for f in &self.files {
            let scope = Scope {
                account: f.account.clone(),
                region: None,
                resource_type: None,
            };
            // The default demo inventory is embedded outside a checkout.
            let path = f.path.clone();
            let read = tokio::task::spawn_blocking(move || pac_bundle::read_inventory(&path));
            let text = match read.await.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
                Ok(t) => t,
                Err(e) => {
                    let err = SourceError {
                        source_name: self.name.clone(),
                        scope,
                        message: format!(
                            "{}: cannot read the inventory file: {e}; its resources keep their last known state",
                            f.path.display()
                        ),
                    };
                    if out.send(Event::Error(err)).await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
            };
            let docs = match split(&text).and_then(|d| not_an_inventory(&d).map_or(Ok(d), Err)) {
                Ok(d) => d,
                Err(e) => {
                    let err = SourceError {
                        source_name: self.name.clone(),
                        scope,
                        message: format!("{}: {e}", f.path.display()),
                    };
                    if out.send(Event::Error(err)).await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
            };
            let total = docs.len() as u64;
            for doc in docs {
                // A plan of every type needs no look at the document.
                let wanted = plan.types.is_none()
                    || crate::scan::doc_head(&doc)
                        .and_then(|h| h.rtype)
                        .is_none_or(|t| plan.wants_type(&t));
                if wanted && out.send(Event::Document(doc)).await.is_err() {
                    return Ok(());
                }
            }
            let _ = out
                .send(Event::Progress {
                    source_name: self.name.clone(),
                    done: total,
                    total: Some(total),
                    what: f.path.display().to_string(),
                })
                .await;
            if out.send(Event::Complete(scope)).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Splits a JSON array or NDJSON text into documents. An empty file is an
/// error, not an empty estate: a failed export must not read as "every
/// resource is gone" (an estate that really is empty is written `[]`).
fn split(text: &str) -> Result<Vec<Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(
            "the inventory file is empty; its resources keep their last known state (if the estate really is empty, write `[]` and confirm the scan)"
                .into(),
        );
    }
    if text.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<Value>>(text)
            .map_err(|e| format!("not a JSON array of documents (line {}): {e}", e.line()));
    }
    // Each line as its raw text: the scan parses it once, straight into
    // the schema's values, and hashes the text as it is (no JSON tree
    // built here and written back there).
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Value::String(l.to_string()))
        .collect())
}

/// Why documents split from a file are not an inventory at all: not one
/// of its lines is JSON (a garbage or binary file), so that the file fails
/// as a whole instead of reading as an estate whose resources all vanished.
fn not_an_inventory(docs: &[Value]) -> Option<String> {
    let is_json = |d: &Value| match d {
        Value::String(raw) => serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok(),
        _ => true,
    };
    let first = match docs.first() {
        Some(Value::String(raw)) if !docs.iter().any(is_json) => raw,
        _ => return None,
    };
    let shown: String = first.chars().take(60).collect();
    Some(format!(
        "not an inventory: none of its {} line(s) is a JSON document (the first starts `{}`); its resources keep their last known state",
        docs.len(),
        shown.escape_debug()
    ))
}

/// Builds a named auto-fix executor (`[autofix] executors = ["aws"]`):
/// `aws` acts through the configured AWS sources' credentials, roles and
/// endpoints, each on the accounts it can reach.
pub fn executor(
    name: &str,
    sources: &[std::sync::Arc<Built>],
) -> Result<Vec<Arc<dyn Action>>, String> {
    match name {
        "aws" => {
            let configs: Vec<SourceConfig> = sources
                .iter()
                .filter_map(|b| b.config.clone())
                .filter(|c| matches!(c, SourceConfig::Aws(_)))
                .collect();
            if configs.is_empty() {
                return Err(
                    "auto-fix executor `aws` needs a [[source]] of kind `aws` (its credentials, roles and endpoints are the executor's)"
                        .into(),
                );
            }
            // One per AWS source; a request goes to the first that reaches
            // the target's account (`Executors::run`).
            Ok(pac_connectors::config::actions(&configs)
                .into_iter()
                .map(Arc::from)
                .collect())
        }
        other => Err(format!(
            "unknown auto-fix executor `{other}` (the executors are `aws`; `notify_only` is built in)"
        )),
    }
}

/// The executors of the custom `[[action]]`s (commands and webhooks,
/// `pac_connectors::custom`), one per action.
pub fn custom_actions(tables: &[toml::Table]) -> Result<Vec<Arc<dyn Action>>, String> {
    let configs = pac_connectors::custom::from_tables(tables)?;
    Ok(pac_connectors::custom::executors(&configs)
        .into_iter()
        .map(Arc::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_and_keys_are_errors_that_say_what_to_do() {
        let t: toml::Table = toml::from_str("name = \"a\"\nkind = \"ftp\"").unwrap();
        assert!(build(&t).err().unwrap().contains("unknown kind `ftp`"));
        // The connectors crate's kinds are checked by its own rules.
        let t: toml::Table =
            toml::from_str("name = \"a\"\nkind = \"aws\"\nregion = [\"us-east-1\"]").unwrap();
        let e = build(&t).err().unwrap();
        assert!(e.contains("region"), "{e}");
        let t: toml::Table = toml::from_str(
            "name = \"a\"\nkind = \"file\"\npath = \"x.ndjson\"\nschedule = \"every 1h\"",
        )
        .unwrap();
        let b = build(&t).unwrap();
        assert_eq!(b.schedule.as_deref(), Some("every 1h"));
        assert!(matches!(b.config, Some(SourceConfig::File(_))));
        assert!(
            executor("aws", &[Arc::new(b)])
                .err()
                .unwrap()
                .contains("kind `aws`")
        );
        let t: toml::Table = toml::from_str("name = \"a\"\nkind = \"inventory\"").unwrap();
        assert!(build(&t).err().unwrap().contains("needs `paths"));
        let t: toml::Table =
            toml::from_str("name = \"a\"\nkind = \"inventory\"\npaths=[\"x\"]\nbogus=1").unwrap();
        assert!(build(&t).err().unwrap().contains("unknown key `bogus`"));
    }

    #[test]
    fn empty_and_garbage_files_are_errors_not_empty_estates() {
        for empty in ["", "\n  \n", "\u{feff}"] {
            assert!(split(empty).unwrap_err().contains("empty"), "{empty:?}");
        }
        // `[]` is an estate that really is empty (the removal limit holds it).
        assert_eq!(split("[]").unwrap(), Vec::<Value>::new());
        let garbage = split("<html>\n502 Bad Gateway\n").unwrap();
        let why = not_an_inventory(&garbage).unwrap();
        assert!(
            why.contains("none of its 2 line(s)") && why.contains("<html>"),
            "{why}"
        );
        // One good line among bad ones: the reader reports the bad ones.
        let mixed = split("{\"a\":1}\noops\n").unwrap();
        assert_eq!(not_an_inventory(&mixed), None);
        // Control characters from a hostile file are escaped in the message.
        let nasty = split("\u{1b}[31mred\n").unwrap();
        assert!(!not_an_inventory(&nasty).unwrap().contains('\u{1b}'));
    }

    #[test]
    fn a_source_may_set_its_own_removal_limit() {
        let t: toml::Table = toml::from_str(
            "name = \"a\"\nkind = \"inventory\"\npaths = [\"x\"]\nmax_removed_percent = 50",
        )
        .unwrap();
        assert_eq!(build(&t).unwrap().max_removed_percent, Some(50));
        let t: toml::Table = toml::from_str(
            "name = \"a\"\nkind = \"command\"\ncommand = [\"x\"]\nmax_removed_percent = 100",
        )
        .unwrap();
        assert_eq!(build(&t).unwrap().max_removed_percent, Some(100));
        for bad in ["101", "-1", "\"20%\""] {
            let t: toml::Table = toml::from_str(&format!(
                "name = \"a\"\nkind = \"inventory\"\npaths = [\"x\"]\nmax_removed_percent = {bad}"
            ))
            .unwrap();
            assert!(build(&t).err().unwrap().contains("0 to 100"), "{bad}");
        }
    }

    #[test]
    fn ndjson_lines_are_kept_as_raw_text() {
        let docs = split("{\"a\":1}\n{oops\n\n[1]").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0], Value::String("{\"a\":1}".into()));
        assert_eq!(docs[1], Value::String("{oops".into()));
    }

    #[tokio::test]
    async fn a_missing_file_fails_only_its_scope() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.ndjson");
        std::fs::write(&good, "{\"type\":\"x\",\"id\":\"1\"}\n").unwrap();
        let c = InventoryFiles {
            name: "s".into(),
            files: vec![
                InventoryFile {
                    path: good,
                    account: Some("1".into()),
                },
                InventoryFile {
                    path: dir.path().join("missing.ndjson"),
                    account: Some("2".into()),
                },
            ],
        };
        let (tx, mut rx) = mpsc::channel(16);
        c.collect(&CollectPlan::everything(), tx).await.unwrap();
        let mut complete = Vec::new();
        let mut errors = Vec::new();
        let mut docs = 0;
        while let Some(e) = rx.recv().await {
            match e {
                Event::Document(_) => docs += 1,
                Event::Complete(s) => complete.push(s.account),
                Event::Error(e) => errors.push(e.scope.account),
                Event::Progress { .. } => {}
            }
        }
        assert_eq!(docs, 1);
        assert_eq!(complete, vec![Some("1".to_string())]);
        assert_eq!(errors, vec![Some("2".to_string())]);
    }
}
