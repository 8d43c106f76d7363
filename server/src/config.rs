//! `pacc serve --config FILE`: the server's TOML configuration. Without a
//! file the embedded default applies (see [`Config::embedded`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::compliance::Weights;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite store lives (`<data_dir>/pac.db`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// A store URL (`sqlite:///path/pac.db`); overrides `data_dir`.
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The URL the API is reached at when that is not the listen address
    /// (a proxy, a DNS name): its Host and Origin are accepted too.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Set by `pacc serve --insecure-no-auth` only: listen on a
    /// non-loopback address although no authentication is configured.
    #[serde(skip)]
    pub insecure_no_auth: bool,
    /// Policy files or directories (the stdlib is always loaded).
    #[serde(default = "default_policies")]
    pub policies: Vec<PathBuf>,
    /// When the policy set is re-evaluated over the stored inventory (a
    /// cron expression or `every 1h`); sources have their own schedules.
    #[serde(default)]
    pub policy_schedule: Option<String>,
    /// The default schedule of sources that name none.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Scan every source once at start.
    #[serde(default = "yes")]
    pub scan_at_start: bool,
    /// A read that would remove more than this percentage of a source's
    /// known resources is held as `suspect` (nothing removed or closed)
    /// until it is confirmed; a source may set its own. 100 never holds.
    #[serde(default = "default_max_removed_percent")]
    pub max_removed_percent: u64,
    #[serde(default)]
    pub compliance: ComplianceConfig,
    #[serde(default)]
    pub autofix: AutofixConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    /// Who may use the API (docs/auth.md). Without it, auth is off and
    /// only loopback may listen.
    #[serde(default)]
    pub auth: crate::auth::AuthConfig,
    /// Sources; each table is handed to `sources::build` whole.
    #[serde(default, rename = "source")]
    pub sources: Vec<toml::Table>,
    /// Custom auto-fix actions (`[[action]]`, docs/connectors.md): each
    /// table is checked here and built by `sources::custom_actions`.
    #[serde(default, rename = "action")]
    pub actions: Vec<toml::Table>,
    /// E-mail digests (`[[digest]]`, docs/portal.md): sent through the
    /// `[notify]` SMTP relay.
    #[serde(default, rename = "digest")]
    pub digests: Vec<DigestConfig>,
}

/// How often a digest goes out.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DigestEvery {
    /// Every day at `hour` (UTC), covering the 24 hours before.
    Daily,
    /// Every Monday at `hour` (UTC), covering the 7 days before.
    Weekly,
}

impl DigestEvery {
    /// As written in the configuration, the API and the store.
    pub fn name(self) -> &'static str {
        match self {
            DigestEvery::Daily => "daily",
            DigestEvery::Weekly => "weekly",
        }
    }

    pub fn from_name(s: &str) -> Option<DigestEvery> {
        match s {
            "daily" => Some(DigestEvery::Daily),
            "weekly" => Some(DigestEvery::Weekly),
            _ => None,
        }
    }
}

/// `[[digest]]`: one subscriber of a digest. The subscriber is a user
/// (`user`: an e-mail address whose `[[auth.grant]]`s with `claim =
/// "email"` give the groups it may see), or an address list (`to`) for an
/// asset group (`group`) and/or an owner tag value (`owner`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// Unique; names the digest in the log and the store.
    pub name: String,
    pub every: DigestEvery,
    /// The hour of the day (UTC) it goes out.
    #[serde(default = "default_digest_hour")]
    pub hour: u32,
    /// A user's e-mail address: the digest covers what the user may see
    /// and goes to that address (and to `to`).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// The asset group the figures and lists are confined to.
    #[serde(default)]
    pub group: Option<String>,
    /// Only resources whose `owner` tag has this value.
    #[serde(default)]
    pub owner: Option<String>,
    /// A user's own subscription (made in the portal, not in this file):
    /// the provider's claims at their last sign-in, which the grants are
    /// resolved from instead of `user`'s address alone.
    #[serde(skip)]
    pub claims: Option<crate::auth::UserClaims>,
}

impl DigestConfig {
    /// The addresses it goes to.
    pub fn recipients(&self) -> Vec<String> {
        let mut to: Vec<String> = self.user.iter().cloned().collect();
        for t in &self.to {
            if !to.contains(t) {
                to.push(t.clone());
            }
        }
        to
    }

    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "`[[digest]]` name `{name}`: use letters, digits, `-`, `_` and `.` only"
            ));
        }
        if self.hour > 23 {
            return Err(format!(
                "digest `{name}`: `hour` is 0 to 23 (UTC), not {}",
                self.hour
            ));
        }
        if self.user.is_none() && self.group.is_none() && self.owner.is_none() {
            return Err(format!(
                "digest `{name}` names no subscriber: set `user` (an address), or `to` with `group` and/or `owner`"
            ));
        }
        if self.recipients().is_empty() {
            return Err(format!(
                "digest `{name}` has no recipient: list addresses in `to`"
            ));
        }
        for a in self.recipients() {
            a.parse::<lettre::message::Mailbox>().map_err(|e| {
                format!("digest `{name}`: `{a}` is not a mail address ({e}): write e.g. `ops@example.com`")
            })?;
        }
        Ok(())
    }
}

fn default_digest_hour() -> u32 {
    7
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceConfig {
    #[serde(default)]
    pub category_weights: BTreeMap<String, u32>,
    #[serde(default)]
    pub severity_weights: BTreeMap<String, u32>,
}

impl ComplianceConfig {
    pub fn weights(&self) -> Weights {
        let mut w = Weights::default();
        for (k, v) in &self.category_weights {
            w.categories.insert(k.clone(), *v);
        }
        for (k, v) in &self.severity_weights {
            w.severities.insert(k.clone(), *v);
        }
        w
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutofixConfig {
    /// Global dry run: actions only say what they would change.
    #[serde(default)]
    pub dry_run: bool,
    /// Policies whose fixes run dry whatever the global switch says.
    #[serde(default)]
    pub dry_run_policies: Vec<String>,
    /// At most this many fixes of one policy per run.
    #[serde(default = "default_max_resources")]
    pub max_resources: u64,
    /// At most this percentage of a policy's resources per run.
    #[serde(default = "default_max_percent")]
    pub max_percent: u64,
    /// How often due jobs are looked for between scans.
    #[serde(default = "default_tick")]
    pub tick: String,
    /// Action executors beside the built-in `notify_only` (`aws` once the
    /// AWS connector is merged).
    #[serde(default)]
    pub executors: Vec<String>,
}

impl Default for AutofixConfig {
    fn default() -> Self {
        AutofixConfig {
            dry_run: false,
            dry_run_policies: Vec::new(),
            max_resources: default_max_resources(),
            max_percent: default_max_percent(),
            tick: default_tick(),
            executors: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum NotifyConfig {
    /// Notifications go to the server's log (and the audit log).
    #[default]
    Log,
    Smtp {
        host: String,
        #[serde(default = "default_smtp_port")]
        port: u16,
        from: String,
        /// Plain SMTP without TLS (a local relay or a test sink).
        #[serde(default)]
        insecure: bool,
    },
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".pac-data")
}
fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_policies() -> Vec<PathBuf> {
    vec![PathBuf::from("policies")]
}
fn default_schedule() -> String {
    "every 1h".into()
}
fn yes() -> bool {
    true
}
fn default_max_resources() -> u64 {
    25
}
fn default_max_percent() -> u64 {
    20
}
fn default_max_removed_percent() -> u64 {
    20
}
fn default_tick() -> String {
    "1m".into()
}
fn default_smtp_port() -> u16 {
    25
}

impl Config {
    /// The embedded default: the bundled policy library and demo inventory
    /// (paths relative to the repository root), a SQLite file in
    /// `.pac-data/`, a scan at start and then hourly, the API on
    /// 127.0.0.1:8080.
    pub fn embedded() -> Config {
        let mut source = toml::Table::new();
        source.insert("name".into(), "demo".into());
        source.insert("kind".into(), "inventory".into());
        source.insert(
            "paths".into(),
            toml::Value::Array(vec!["examples/demo/inventory.json".into()]),
        );
        Config {
            data_dir: default_data_dir(),
            store: None,
            listen: default_listen(),
            public_url: None,
            insecure_no_auth: false,
            policies: default_policies(),
            policy_schedule: None,
            schedule: default_schedule(),
            scan_at_start: true,
            max_removed_percent: default_max_removed_percent(),
            compliance: ComplianceConfig::default(),
            autofix: AutofixConfig::default(),
            notify: NotifyConfig::Log,
            auth: crate::auth::AuthConfig::default(),
            sources: vec![source],
            actions: Vec::new(),
            digests: Vec::new(),
        }
    }

    /// Reads a configuration file; errors name the file and line.
    pub fn read(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the configuration: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let c: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
        Schedule::parse(&c.schedule).map_err(|e| format!("`schedule`: {e}"))?;
        if let Some(s) = &c.policy_schedule {
            Schedule::parse(s).map_err(|e| format!("`policy_schedule`: {e}"))?;
        }
        parse_duration(&c.autofix.tick).map_err(|e| format!("`autofix.tick`: {e}"))?;
        pac_connectors::custom::from_tables(&c.actions)
            .map_err(|e| format!("`[[action]]`: {e}"))?;
        c.auth.check().map_err(|e| format!("`auth`: {e}"))?;
        let mut names = std::collections::BTreeSet::new();
        for d in &c.digests {
            d.check()?;
            if !names.insert(&d.name) {
                return Err(format!("two `[[digest]]` tables are named `{}`", d.name));
            }
        }
        if !c.digests.is_empty() && !matches!(c.notify, NotifyConfig::Smtp { .. }) {
            tracing::warn!(
                "`[[digest]]` is configured but `[notify]` is not `kind = \"smtp\"`: digests go to the log only"
            );
        }
        if c.max_removed_percent > 100 {
            return Err(format!(
                "`max_removed_percent` is {}: write a percentage from 0 to 100",
                c.max_removed_percent
            ));
        }
        Ok(c)
    }

    /// The SQLite URL of the store.
    pub fn store_url(&self) -> String {
        match &self.store {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("pac.db").display()),
        }
    }
}

/// When something runs: a fixed interval or a cron expression (with
/// seconds, as the `cron` crate reads it: `0 */15 * * * *`).
#[derive(Clone, Debug)]
pub enum Schedule {
    Every(i64),
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let t = s.trim();
        if let Some(d) = t.strip_prefix("every ") {
            return parse_duration(d).map(Schedule::Every);
        }
        cron::Schedule::from_str(t)
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| {
                format!("`{s}` is neither `every DURATION` (e.g. `every 15m`) nor a cron expression with seconds (e.g. `0 */15 * * * *`): {e}")
            })
    }

    /// The next time after `t`.
    pub fn next_after(&self, t: i64) -> i64 {
        match self {
            Schedule::Every(d) => t + (*d).max(1),
            Schedule::Cron(c) => chrono::DateTime::from_timestamp(t, 0)
                .and_then(|dt| c.after(&dt).next())
                .map(|n| n.timestamp())
                .unwrap_or(t + 3600),
        }
    }
}

/// `30s`, `15m`, `1h`, `1d`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (write 30s, 15m, 1h or 1d)"))?;
    let mul = match unit.trim() {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: unknown unit (use s, m, h or d)")),
    };
    Ok(n * mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_and_durations() {
        assert_eq!(parse_duration("15m"), Ok(900));
        assert!(parse_duration("soon").is_err());
        assert_eq!(Schedule::parse("every 1h").unwrap().next_after(0), 3600);
        let c = Schedule::parse("0 */15 * * * *").unwrap();
        assert_eq!(c.next_after(0), 900);
        assert!(Schedule::parse("every tuesday").is_err());
    }

    #[test]
    fn config_errors_name_the_line() {
        let e = Config::parse("listen = \"x\"\nbogus = 1\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let c =
            Config::parse("[[source]]\nname = \"a\"\nkind = \"inventory\"\npaths = [\"x.json\"]\n")
                .unwrap();
        assert_eq!(c.sources.len(), 1);
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.max_removed_percent, 20);
        let e = Config::parse("max_removed_percent = 120\n").unwrap_err();
        assert!(e.contains("0 to 100"), "{e}");
        assert_eq!(
            Config::parse("max_removed_percent = 50\n")
                .unwrap()
                .max_removed_percent,
            50
        );
    }

    #[test]
    fn custom_actions_are_checked_when_the_configuration_is_read() {
        let c = Config::parse(
            "[[action]]\nname = \"quarantine_instance\"\nkind = \"command\"\ncommand = [\"/usr/local/bin/quarantine\"]\n",
        )
        .unwrap();
        let built = crate::sources::custom_actions(&c.actions).unwrap();
        assert_eq!(built[0].names(), ["quarantine_instance"]);
        let e = Config::parse(
            "[[action]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://hooks.example.com/\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("`[[action]]`: action `a`: `url` must start with https://"),
            "{e}"
        );
        let e =
            Config::parse("[[action]]\nname = \"a\"\nkind = \"command\"\nargv = []\n").unwrap_err();
        assert!(e.contains("unknown key `argv` for kind command"), "{e}");
    }
}
