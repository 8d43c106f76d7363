//! The source configuration (TOML): a `[[source]]` list, each with a `kind`
//! (`aws`, `file`, `command`, `http`) and a unique `name`, and an optional
//! `[[action]]` list of custom auto-fix actions ([`crate::custom`]). The CLI
//! reads it from `pacc collect --config` and `pacc fix --config`; the server
//! embeds the same [`SourceConfig`] list and `[[action]]` tables in its own
//! configuration. docs/connectors.md documents every key.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::aws::actions::AwsActions;
use crate::aws::{AwsConnector, AwsSource};
use crate::command::{CommandConnector, CommandSource};
use crate::custom::ActionConfig;
use crate::file::{FileConnector, FileSource};
use crate::http::{HttpConnector, HttpSource};
use crate::source::Connector;

/// One configured source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Aws(AwsSource),
    File(FileSource),
    Command(CommandSource),
    Http(HttpSource),
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Aws(s) => &s.name,
            SourceConfig::File(s) => &s.name,
            SourceConfig::Command(s) => &s.name,
            SourceConfig::Http(s) => &s.name,
        }
    }
}

/// A whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(rename = "source", default)]
    pub sources: Vec<SourceConfig>,
    /// Custom auto-fix actions (`[[action]]`).
    #[serde(rename = "action", default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionConfig>,
}

const MAPPING_KEYS: &[&str] = &[
    "type",
    "id_field",
    "account_field",
    "account",
    "region_field",
    "region",
];

/// The keys each kind accepts (besides `kind`), for "unknown key" errors.
fn known_keys(kind: &str) -> Option<Vec<&'static str>> {
    let own: &[&str] = match kind {
        "aws" => &[
            "name",
            "regions",
            "profile",
            "endpoint_url",
            "region_endpoints",
            "accounts",
            "types",
            "concurrency",
            "timeout_secs",
            "max_attempts",
            "page_size",
        ],
        "file" => &["name", "path"],
        "command" => &["name", "command", "env", "cwd", "timeout_secs"],
        "http" => &[
            "name",
            "url",
            "headers",
            "items",
            "next_link",
            "cursor",
            "cursor_param",
            "max_pages",
            "timeout_secs",
        ],
        _ => return None,
    };
    let mut keys = own.to_vec();
    if kind != "aws" {
        keys.extend(MAPPING_KEYS);
    }
    Some(keys)
}

/// The 1-based line of the first line of `text` that sets `key`.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

impl Config {
    /// Parses and checks a configuration; errors name `path` and the line.
    pub fn parse(text: &str, path: &str) -> Result<Config, String> {
        let raw: toml::Table = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        for key in raw.keys() {
            if key != "source" && key != "action" {
                let at = line_of(text, key)
                    .map(|l| format!(":{l}"))
                    .unwrap_or_default();
                return Err(format!(
                    "{path}{at}: unknown top-level key `{key}` (sources are `[[source]]` tables, custom actions `[[action]]` tables)"
                ));
            }
        }
        if let Some(list) = raw.get("action") {
            let Some(list) = list.as_array() else {
                return Err(format!(
                    "{path}: `action` must be a list of `[[action]]` tables"
                ));
            };
            for (i, a) in list.iter().enumerate() {
                let Some(t) = a.as_table() else { continue };
                if let Err((message, key)) = crate::custom::check_keys(i, t) {
                    let at = key
                        .and_then(|k| line_of(text, &k))
                        .map(|l| format!(":{l}"))
                        .unwrap_or_default();
                    return Err(format!("{path}{at}: {message}"));
                }
            }
        }
        if let Some(toml::Value::Array(list)) = raw.get("source") {
            for (i, s) in list.iter().enumerate() {
                let Some(t) = s.as_table() else { continue };
                let name = t.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                let Some(kind) = t.get("kind").and_then(|k| k.as_str()) else {
                    return Err(format!(
                        "{path}: source #{} (`{name}`) has no `kind`; write kind = \"aws\", \"file\", \"command\" or \"http\"",
                        i + 1
                    ));
                };
                let Some(keys) = known_keys(kind) else {
                    let at = line_of(text, "kind")
                        .map(|l| format!(":{l}"))
                        .unwrap_or_default();
                    return Err(format!(
                        "{path}{at}: source `{name}`: unknown kind `{kind}` (expected aws, file, command or http)"
                    ));
                };
                for k in t.keys() {
                    if k != "kind" && !keys.contains(&k.as_str()) {
                        let at = line_of(text, k)
                            .map(|l| format!(":{l}"))
                            .unwrap_or_default();
                        let hint = keys
                            .iter()
                            .filter(|c| strsim_like(c, k))
                            .map(|c| format!(" (did you mean `{c}`?)"))
                            .next()
                            .unwrap_or_default();
                        return Err(format!(
                            "{path}{at}: source `{name}`: unknown key `{k}` for kind {kind}{hint}"
                        ));
                    }
                }
            }
        }
        let config: Config = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        config.validate().map_err(|e| format!("{path}: {e}"))?;
        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Checks what the types cannot: unique names, AWS settings, custom
    /// actions.
    pub fn validate(&self) -> Result<(), String> {
        crate::custom::validate(&self.actions)?;
        if self.sources.is_empty() && self.actions.is_empty() {
            return Err("no sources: add at least one [[source]] table".into());
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.sources {
            if s.name().is_empty() {
                return Err("a source has an empty `name`".into());
            }
            if !seen.insert(s.name()) {
                return Err(format!(
                    "two sources are named `{}`; names must be unique",
                    s.name()
                ));
            }
            if let SourceConfig::Aws(a) = s {
                a.validate()?;
            }
        }
        Ok(())
    }
}

/// Two keys close enough to suggest one for the other (one edit, or a swap).
fn strsim_like(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    // Levenshtein distance ≤ 2 on short keys.
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

/// The connectors of the configured sources, in configuration order.
pub fn connectors(sources: &[SourceConfig]) -> Vec<Box<dyn Connector>> {
    sources
        .iter()
        .map(|s| -> Box<dyn Connector> {
            match s {
                SourceConfig::Aws(a) => Box::new(AwsConnector::new(a.clone())),
                SourceConfig::File(f) => Box::new(FileConnector::new(f.clone())),
                SourceConfig::Command(c) => Box::new(CommandConnector::new(c.clone())),
                SourceConfig::Http(h) => Box::new(HttpConnector::new(h.clone())),
            }
        })
        .collect()
}

/// The action executors of the configured sources (one per AWS source:
/// its credentials, roles and endpoints); plugins have none.
pub fn actions(sources: &[SourceConfig]) -> Vec<Box<dyn Action>> {
    sources
        .iter()
        .filter_map(|s| match s {
            SourceConfig::Aws(a) => Some(Box::new(AwsActions::new(a.clone())) as Box<dyn Action>),
            _ => None,
        })
        .collect()
}

impl Config {
    /// Every action executor of the configuration: those of the sources
    /// ([`actions`]), then the custom `[[action]]`s.
    pub fn executors(&self) -> Vec<Box<dyn Action>> {
        let mut out = actions(&self.sources);
        out.extend(crate::custom::executors(&self.actions));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[source]]
kind = "aws"
name = "prod"
regions = ["us-east-1", "eu-west-1"]
endpoint_url = "http://127.0.0.1:5000"
region_endpoints = { "eu-west-1" = "http://127.0.0.1:5001" }
concurrency = 4

[[source.accounts]]
role_arn = "arn:aws:iam::111122223333:role/pac-reader"
external_id = "x"

[[source]]
kind = "file"
name = "scanner-export"
path = "findings/"
type = "vuln.finding"
id_field = "finding_id"

[[source]]
kind = "command"
name = "cmdb"
command = ["cmdb-export", "--ndjson"]

[[source]]
kind = "http"
name = "certs"
url = "https://certs.example.com/api/certs"
headers = { Authorization = "Bearer ${CERTS_TOKEN}" }
items = "/results"
next_link = "/next"
type = "cert.certificate"
"#;

    #[test]
    fn the_documented_example_parses() {
        let c = Config::parse(EXAMPLE, "pac.toml").unwrap();
        assert_eq!(c.sources.len(), 4);
        let SourceConfig::Aws(a) = &c.sources[0] else {
            panic!()
        };
        assert_eq!(a.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(a.concurrency, 4);
        assert_eq!(a.timeout_secs, 30);
        assert_eq!(
            a.accounts[0].role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/pac-reader")
        );
        assert_eq!(a.region_endpoints["eu-west-1"], "http://127.0.0.1:5001");
        let SourceConfig::File(f) = &c.sources[1] else {
            panic!()
        };
        assert_eq!(f.mapping.resource_type.as_deref(), Some("vuln.finding"));
        assert_eq!(f.mapping.id_field.as_deref(), Some("finding_id"));
        let SourceConfig::Http(h) = &c.sources[3] else {
            panic!()
        };
        assert_eq!(h.next_link.as_deref(), Some("/next"));
        assert_eq!(connectors(&c.sources).len(), 4);
        assert_eq!(actions(&c.sources).len(), 1);
    }

    #[test]
    fn custom_actions_are_read_beside_the_sources_and_checked() {
        let text = format!(
            "{EXAMPLE}\n[[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = [\"/usr/local/bin/quarantine\", \"--mode\", \"strict\"]\ntimeout_secs = 60\n\n[[action]]\nname = \"open_ticket\"\nkind = \"webhook\"\nurl = \"https://tickets.example.com/hook\"\n"
        );
        let c = Config::parse(&text, "pac.toml").unwrap();
        assert_eq!(c.actions.len(), 2);
        assert_eq!(c.actions[1].name(), "open_ticket");
        let e = c.executors();
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].names(), ["quarantine_instance"]);
        // A file with actions only is a configuration for `pacc fix`.
        let only = "[[action]]\nname = \"a\"\nkind = \"command\"\ncommand = [\"x\"]\n";
        assert_eq!(Config::parse(only, "c.toml").unwrap().sources.len(), 0);
        let e = Config::parse(
            "[[action]]\nname = \"a\"\nkind = \"command\"\n\ncommand = [\"x\"]\nshell = \"sh\"\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(
            e.starts_with("c.toml:6: action `a`: unknown key `shell` for kind command"),
            "{e}"
        );
        let e = Config::parse(
            "[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://10.0.0.1/\"\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(
            e.starts_with("c.toml: action `a`: `url` must start with https://"),
            "{e}"
        );
        let e = Config::parse("action = 1\n", "c.toml").unwrap_err();
        assert!(e.contains("list of `[[action]]` tables"), "{e}");
    }

    #[test]
    fn mistakes_are_reported_with_file_line_and_a_hint() {
        let e = Config::parse(
            "[[source]]\nkind = \"aws\"\nname = \"a\"\nregoins = [\"x\"]\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(
            e.starts_with("c.toml:4:") && e.contains("did you mean `regions`"),
            "{e}"
        );
        let e = Config::parse("[[source]]\nkind = \"ftp\"\nname = \"a\"\n", "c.toml").unwrap_err();
        assert!(e.contains("unknown kind `ftp`"), "{e}");
        let e = Config::parse(
            "[[source]]\nkind = \"aws\"\nname = \"a\"\nregions = []\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(e.contains("`regions` is empty"), "{e}");
        let e = Config::parse(
            "[[source]]\nkind = \"file\"\nname = \"a\"\npath = \"x\"\n[[source]]\nkind = \"file\"\nname = \"a\"\npath = \"y\"\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(e.contains("two sources are named `a`"), "{e}");
        let e = Config::parse("[[source]]\nkind = \"aws\"\nname = \"a\"\n", "c.toml").unwrap_err();
        assert!(e.contains("regions"), "{e}");
        let e = Config::parse("[[source]\n", "c.toml").unwrap_err();
        assert!(e.starts_with("c.toml: TOML parse error at line 1"), "{e}");
    }
}
