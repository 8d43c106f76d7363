//! The store: current inventory, scans, issues and their events,
//! exceptions and asset groups defined through the API, auto-fix jobs and
//! their audit log, compliance roll-ups and daily history.
//!
//! [`Store`] is the interface; [`SqlStore`] implements it on SQLite through
//! sqlx. The SQL is portable (no SQLite-only functions, `$N` parameters,
//! `ON CONFLICT` upserts, ids assigned by the application), so a
//! PostgreSQL store is the same code over a `PgPool` with its own
//! migration file. Every scan's writes are one transaction
//! ([`Store::apply_scan`]): a crash mid-scan leaves the previous state.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use tokio::sync::oneshot;

mod apply;
mod migrate;
pub mod status;

pub use status::{CloseReason, IssueStatus, JobStatus, ReadStatus, ScanStatus};

/// Every write transaction takes SQLite's write lock when it begins: a
/// deferred one that read first fails at once with SQLITE_BUSY_SNAPSHOT
/// (517, "database is locked", which no busy timeout waits out) when
/// another connection committed in between — a scan racing the auto-fix
/// notifier did. An immediate one waits for the lock within busy_timeout.
const WRITE_TX: &str = "BEGIN IMMEDIATE";
/// SQLite's default: a commit that leaves the log over 1000 pages copies
/// it into the database (every write but a scan's, which leaves that to
/// [`SqlStore::checkpoint`]).
const AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 1000";

pub type Result<T> = std::result::Result<T, StoreError>;

/// What can go wrong with the store. Each message names the store or the
/// migration concerned and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "store: cannot create the data directory {path}: {source}; create it or choose another with --data-dir"
    )]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("store: cannot open {url}: {source}; check the path and its permissions")]
    Open { url: String, source: sqlx::Error },
    #[error(
        "store: {url} records migration {version}, which this release does not have: it was written by a newer Pac; run that release (or a newer one) on it"
    )]
    NewerStore { url: String, version: i64 },
    #[error("store: migrating {url} failed: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    /// A statement failed (the database's own message).
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    /// The scan's pipeline stopped before its write was complete: nothing
    /// of it was committed.
    #[error("store: the scan stopped before its write was complete; nothing of it was committed")]
    Abandoned,
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// A TEXT column holding JSON. The field's type says how text that does
/// not parse reads ([`From`] impls below): the store writes only valid
/// JSON, so this is a file edited by hand or damaged, and a list or page
/// still answers.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct JsonText(String);

/// A nullable TEXT column holding JSON.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct OptJsonText(Option<String>);

impl From<JsonText> for Value {
    /// Unparsable: `null`.
    fn from(t: JsonText) -> Value {
        serde_json::from_str(&t.0).unwrap_or(Value::Null)
    }
}

impl From<OptJsonText> for Option<Value> {
    /// Unparsable: absent.
    fn from(t: OptJsonText) -> Option<Value> {
        t.0.and_then(|t| serde_json::from_str(&t).ok())
    }
}

impl From<JsonText> for Vec<String> {
    /// Unparsable: empty.
    fn from(t: JsonText) -> Vec<String> {
        serde_json::from_str(&t.0).unwrap_or_default()
    }
}

impl From<JsonText> for Vec<GroupMemberSpec> {
    /// Unparsable: no members.
    fn from(t: JsonText) -> Vec<GroupMemberSpec> {
        serde_json::from_str(&t.0).unwrap_or_default()
    }
}

impl From<JsonText> for Vec<pac_connectors::Scope> {
    /// Unparsable: the whole source (one scope matching everything) is
    /// unknown, never "all read".
    fn from(t: JsonText) -> Vec<pac_connectors::Scope> {
        serde_json::from_str(&t.0).unwrap_or_else(|_| vec![pac_connectors::Scope::default()])
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ScanRow {
    pub id: i64,
    pub source: String,
    #[sqlx(rename = "trigger_kind")]
    pub trigger: String,
    pub status: ScanStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub resources: i64,
    pub changed: i64,
    pub removed: i64,
    pub results: i64,
    pub opened: i64,
    pub closed: i64,
    pub reopened: i64,
    pub exempted: i64,
    pub unknown: i64,
    #[sqlx(try_from = "JsonText")]
    pub source_errors: Value,
    #[sqlx(try_from = "JsonText")]
    pub ingest_errors: Value,
    pub ingest_error_count: i64,
    pub message: Option<String>,
    /// Milliseconds from the start of the scan to its commit.
    pub duration_ms: Option<i64>,
    /// A `suspect` scan: resources its read would have removed.
    pub held_removals: Option<i64>,
    /// When a `suspect` scan was confirmed.
    pub confirmed_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct IssueRow {
    pub id: i64,
    pub rule: String,
    pub policy: String,
    #[sqlx(rename = "rkey")]
    pub resource_key: String,
    #[sqlx(rename = "rid")]
    pub resource_id: String,
    #[sqlx(rename = "rtype")]
    pub resource_type: String,
    pub account: String,
    pub region: String,
    pub severity: String,
    pub category: String,
    pub status: IssueStatus,
    pub message: String,
    #[sqlx(try_from = "OptJsonText")]
    pub explanation: Option<Value>,
    pub exception: Option<String>,
    pub first_seen: i64,
    pub last_opened: i64,
    pub closed_at: Option<i64>,
    pub close_reason: Option<CloseReason>,
    pub times_opened: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct IssueEvent {
    pub issue_id: i64,
    pub scan_id: Option<i64>,
    pub at: i64,
    pub kind: String,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ResourceRow {
    #[sqlx(rename = "rkey")]
    pub key: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[sqlx(rename = "rid")]
    pub id: String,
    pub account: String,
    pub region: String,
    pub source: String,
    #[sqlx(rename = "doc", try_from = "JsonText")]
    pub document: Value,
    pub first_seen: i64,
    pub last_seen: i64,
    pub changed_at: i64,
    pub deleted_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, sqlx::FromRow)]
pub struct ExceptionRow {
    pub name: String,
    #[sqlx(try_from = "JsonText")]
    pub targets: Vec<String>,
    #[sqlx(try_from = "JsonText")]
    pub resources: Vec<String>,
    pub condition: Option<String>,
    /// `in GROUP`: it exempts members of this asset group only.
    #[sqlx(rename = "grp")]
    #[serde(default)]
    pub group: Option<String>,
    pub expires: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    /// Who approved it, when it was made from a request (its `created_by`
    /// is then the requester, who owns it).
    #[serde(default)]
    pub approved_by: Option<String>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct GroupMemberSpec {
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, sqlx::FromRow)]
pub struct GroupRow {
    pub name: String,
    pub title: Option<String>,
    #[sqlx(try_from = "JsonText")]
    pub members: Vec<GroupMemberSpec>,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub issue_id: i64,
    pub rule: String,
    pub policy: String,
    #[sqlx(rename = "rkey")]
    pub resource_key: String,
    pub action: String,
    #[sqlx(try_from = "JsonText")]
    pub args: Value,
    #[sqlx(try_from = "JsonText")]
    pub notify: Vec<String>,
    pub status: JobStatus,
    pub created_at: i64,
    pub due_at: i64,
    pub notified_at: Option<i64>,
    pub ran_at: Option<i64>,
    #[sqlx(try_from = "OptJsonText")]
    pub result: Option<Value>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub job_id: Option<i64>,
    pub kind: String,
    #[sqlx(try_from = "JsonText")]
    pub detail: Value,
}

/// A dashboard as stored (`widgets`: the JSON list, see `web::dashboards`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DashboardRow {
    pub id: i64,
    pub owner: String,
    pub owner_name: String,
    pub name: String,
    pub widgets: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A digest a user subscribed to (docs/portal.md, "E-mail digests").
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: i64,
    pub principal: String,
    pub user_name: String,
    pub address: String,
    /// JSON `UserClaims` as of the user's last sign-in.
    pub claims: String,
    pub every: String,
    pub hour: i64,
    pub grp: Option<String>,
    pub created_at: i64,
}

/// What a new subscription holds (see [`SubscriptionRow`]).
pub struct NewSubscription<'a> {
    pub principal: &'a str,
    pub user_name: &'a str,
    pub address: &'a str,
    pub claims: &'a str,
    pub every: &'a str,
    pub hour: i64,
    pub group: Option<&'a str>,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub day: String,
    #[sqlx(rename = "grp")]
    pub group: String,
    pub policy: String,
    pub compliance: Option<i64>,
    pub assets: i64,
    pub open: i64,
    pub exempt: i64,
    pub unknown: i64,
}

// ---------------------------------------------------------------------------
// What a scan reads and writes
// ---------------------------------------------------------------------------

/// The state a scan reconciles against.
#[derive(Clone, Default)]
pub struct ScanBase {
    /// rkey → (hash, source) of every current (not deleted) resource.
    pub resources: HashMap<String, (String, String)>,
    /// Every issue ever opened: (rule, rkey) → state.
    pub issues: HashMap<(String, String), IssueState>,
    /// Current memberships: group → rkeys.
    pub members: HashMap<String, std::collections::HashSet<String>>,
    /// issue id → waiting job id.
    pub waiting_jobs: HashMap<i64, i64>,
    pub next_issue_id: i64,
    pub next_job_id: i64,
    /// Sources whose last read left some of their resources unknown.
    pub unread: HashMap<String, SourceRead>,
    /// Removals a confirmation accepted for the next read of the scanned
    /// source (its last scan was `suspect` and confirmed).
    pub confirmed_removals: Option<i64>,
}

/// How a source's last read went, kept while it leaves resources unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct SourceRead {
    /// How the read went; kept while its scopes are not empty (`completed`
    /// with an empty list when the source is wholly read again).
    pub status: ReadStatus,
    pub scan_id: i64,
    /// The first of the consecutive reads that left it unknown.
    pub since: i64,
    /// Its scopes whose resources are unknown.
    #[sqlx(try_from = "JsonText")]
    pub scopes: Vec<pac_connectors::Scope>,
    pub message: Option<String>,
}

impl ScanBase {
    /// The state after `w` committed, as the store holds it (what the next
    /// scan would read back), except the waiting jobs and next ids, which
    /// [`Store::refresh_counters`] re-reads.
    pub fn apply(&mut self, w: &ScanWrite) {
        for u in w.upserts.iter() {
            self.resources
                .insert(u.key.clone(), (u.hash.clone(), u.source.clone()));
        }
        for k in &w.removed {
            self.resources.remove(k);
        }
        for n in &w.new_issues {
            self.issues.insert(
                (n.rule.clone(), n.rkey.clone()),
                IssueState {
                    id: n.id,
                    status: n.status,
                    message: n.message.clone(),
                    exception: n.exception.clone(),
                },
            );
        }
        if !w.issue_updates.is_empty() {
            let updates: HashMap<i64, &IssueUpdate> =
                w.issue_updates.iter().map(|u| (u.id, u)).collect();
            for st in self.issues.values_mut() {
                let Some(u) = updates.get(&st.id) else {
                    continue;
                };
                // Closing keeps the last message and drops the exception,
                // as the store's update does.
                if u.status == IssueStatus::Closed {
                    st.exception = None;
                } else {
                    st.message = u.message.clone();
                    st.exception = u.exception.clone();
                }
                st.status = u.status;
            }
        }
        for (g, k) in &w.member_removes {
            if let Some(m) = self.members.get_mut(g) {
                m.remove(k);
            }
        }
        for (g, k) in &w.member_adds {
            self.members.entry(g.clone()).or_default().insert(k.clone());
        }
        self.members.retain(|_, m| !m.is_empty());
        match &w.read {
            Some(r) if !r.scopes.is_empty() => {
                self.unread.insert(w.source.clone(), r.clone());
            }
            _ => {
                self.unread.remove(&w.source);
            }
        }
        self.confirmed_removals = None;
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct IssueState {
    pub id: i64,
    pub status: IssueStatus,
    pub message: String,
    pub exception: Option<String>,
}

/// A scan's new and changed resources, given to
/// [`Store::apply_scan_early`] before the rest of its write.
pub struct EarlyResources {
    /// The same as the write's `upserts`.
    pub upserts: Arc<Vec<ResourceWrite>>,
    /// The scan's time.
    pub at: i64,
}

pub struct ResourceWrite {
    pub key: String,
    pub rtype: String,
    pub id: String,
    pub account: String,
    pub region: String,
    pub source: String,
    pub doc: String,
    pub hash: String,
}

pub struct NewIssue {
    pub id: i64,
    pub rule: String,
    pub policy: String,
    pub rkey: String,
    pub rid: String,
    pub rtype: String,
    pub account: String,
    pub region: String,
    pub severity: String,
    pub category: String,
    pub status: IssueStatus,
    pub message: String,
    pub explanation: Option<String>,
    pub exception: Option<String>,
}

/// A change to an existing issue.
pub struct IssueUpdate {
    pub id: i64,
    pub status: IssueStatus,
    pub message: String,
    pub exception: Option<String>,
    /// Set when it is reopened (explanation refreshed).
    pub reopened: bool,
    pub explanation: Option<String>,
    pub close_reason: Option<CloseReason>,
}

pub struct NewJob {
    pub id: i64,
    pub issue_id: i64,
    pub rule: String,
    pub policy: String,
    pub rkey: String,
    pub action: String,
    pub args: Value,
    pub notify: Vec<String>,
    pub due_at: i64,
    /// Why the fix cannot run on this resource (an argument computed from
    /// it is missing): the job is created `failed` with this reason, so
    /// the owner sees it and nothing runs with a guess.
    pub error: Option<String>,
}

#[derive(Default)]
pub struct ScanWrite {
    pub scan_id: i64,
    pub source: String,
    /// When the scan started: the time of its inventory changes and events.
    pub at: i64,
    /// When it committed, and how long it took.
    pub finished_at: i64,
    pub duration_ms: i64,
    pub status: ScanStatus,
    /// A `suspect` read: the resources it would have removed.
    pub held_removals: Option<i64>,
    /// The source's read as the next scans must know it (`None`: this scan
    /// read nothing of its own, e.g. a policy re-evaluation).
    pub read: Option<SourceRead>,
    pub message: Option<String>,
    pub counts: ScanCounts,
    pub source_errors: Value,
    pub ingest_errors: Value,
    pub ingest_error_count: i64,
    pub upserts: Arc<Vec<ResourceWrite>>,
    /// Resources of this source seen unchanged (their last_seen moves).
    pub seen: Vec<String>,
    /// True when every resource of the source was seen: one statement
    /// moves last_seen instead of one per resource.
    pub seen_all: bool,
    pub removed: Vec<String>,
    pub new_issues: Vec<NewIssue>,
    pub issue_updates: Vec<IssueUpdate>,
    pub events: Vec<(i64, String, String)>,
    pub member_adds: Vec<(String, String)>,
    pub member_removes: Vec<(String, String)>,
    pub new_jobs: Vec<NewJob>,
    /// Waiting jobs whose issue closed or became exempt: (job, reason).
    pub cancel_jobs: Vec<(i64, String)>,
    /// group → roll-up JSON.
    pub compliance: Vec<(String, String)>,
    pub history: Vec<HistoryRow>,
    /// (group, domain, roll-up): every domain's, replacing the stored ones.
    pub domains: Vec<(String, String, String)>,
    /// One row per group and domain (`policy` holds the domain).
    pub domain_history: Vec<HistoryRow>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ScanCounts {
    pub resources: i64,
    pub changed: i64,
    pub removed: i64,
    pub results: i64,
    pub opened: i64,
    pub closed: i64,
    pub reopened: i64,
    pub exempted: i64,
    pub unknown: i64,
}

/// Filters of the issue list.
#[derive(Clone, Debug, Default)]
pub struct IssueFilter {
    pub policy: Option<String>,
    pub status: Option<IssueStatus>,
    pub severity: Option<String>,
    /// Issues of resources in any of these asset groups (`None`: all).
    pub groups: Option<Vec<String>>,
    pub resource_key: Option<String>,
    /// Keyset paging: only ids above this (not part of the total).
    pub after: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct ResourceFilter {
    pub rtype: Option<String>,
    /// Resources in any of these asset groups (`None`: all).
    pub groups: Option<Vec<String>>,
    /// Substring of the id, account or region.
    pub q: Option<String>,
}

/// The orders an issue list can be read in. Each is a fixed SQL `ORDER BY`
/// clause chosen by a `match`: no SQL is built from the request's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueSort {
    /// Oldest first (the API's order, and the only one keyset paging uses).
    #[default]
    Id,
    /// Critical first.
    Severity,
    Policy,
    Resource,
    /// Most recently opened first.
    LastOpened,
}

impl IssueSort {
    pub const ALL: [IssueSort; 5] = [
        IssueSort::Id,
        IssueSort::Severity,
        IssueSort::Policy,
        IssueSort::Resource,
        IssueSort::LastOpened,
    ];
    /// The `sort=` value.
    pub fn name(self) -> &'static str {
        match self {
            IssueSort::Id => "id",
            IssueSort::Severity => "severity",
            IssueSort::Policy => "policy",
            IssueSort::Resource => "resource",
            IssueSort::LastOpened => "last_opened",
        }
    }
    fn order_by(self) -> &'static str {
        match self {
            IssueSort::Id => " ORDER BY id",
            IssueSort::Severity => {
                " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, id"
            }
            IssueSort::Policy => " ORDER BY policy, rule, id",
            IssueSort::Resource => " ORDER BY rid, id",
            IssueSort::LastOpened => " ORDER BY last_opened DESC, id",
        }
    }
}

/// What a digest's lists are confined to: resources in any of `groups`
/// (`None`: all) whose `owner` tag (`None`: any) has this value.
#[derive(Clone, Debug, Default)]
pub struct DigestScope {
    pub groups: Option<Vec<String>>,
    pub owner: Option<String>,
}

/// ` AND …` confining `table`'s `rkey` to `scope`, values bound.
fn push_digest_scope(q: &mut QueryBuilder<Sqlite>, table: &str, scope: &DigestScope) {
    if let Some(gs) = &scope.groups {
        q.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE ");
        push_group_match(q, gs);
        q.push(" AND m.rkey = ").push(table).push(".rkey)");
    }
    if let Some(owner) = &scope.owner {
        // Tags as a list of {key, value} (AWS) or as a map.
        q.push(" AND EXISTS (SELECT 1 FROM resources r WHERE r.rkey = ")
            .push(table)
            .push(".rkey AND (json_extract(r.doc, '$.attributes.tags.owner') = ")
            .push_bind(owner.clone())
            .push(" OR EXISTS (SELECT 1 FROM json_each(r.doc, '$.attributes.tags') t WHERE t.type = 'object' AND json_extract(t.value, '$.key') = 'owner' AND json_extract(t.value, '$.value') = ")
            .push_bind(owner.clone())
            .push(")))");
    }
}

/// The store interface the pipeline and the API use.
#[async_trait]
pub trait Store: Send + Sync {
    async fn begin_scan(&self, source: &str, trigger: &str, at: i64) -> Result<i64>;
    async fn fail_scan(&self, id: i64, at: i64, message: &str) -> Result<()>;
    /// Confirms a `suspect` scan that is still its source's last finished
    /// scan: the source's next read may remove what it held back. `false`
    /// when it is not (or no longer) that.
    async fn confirm_scan(&self, id: i64, at: i64) -> Result<bool>;
    /// The removals a confirmation accepted for the next read of `source`
    /// (its last finished scan is `suspect` and confirmed).
    async fn confirmed_removals(&self, source: &str) -> Result<Option<i64>>;
    async fn scan_base(&self, source: &str) -> Result<ScanBase>;
    /// Each source whose last reads left part of it unknown (failed,
    /// suspect or partial), with those parts.
    async fn unread(&self) -> Result<HashMap<String, SourceRead>>;
    /// Re-reads what changes between scans without one (auto-fix jobs
    /// finish): the waiting jobs and the next issue and job ids.
    async fn refresh_counters(&self, base: &mut ScanBase) -> Result<()>;
    /// Documents of current resources, optionally of one source only or of
    /// every source but one: (rkey, source, doc).
    async fn documents(
        &self,
        only: Option<&str>,
        except: Option<&str>,
    ) -> Result<Vec<(String, String, String)>>;
    async fn apply_scan(&self, w: ScanWrite) -> Result<()>;
    /// [`Store::apply_scan`] begun early: the scan's transaction starts
    /// when `resources` gives its new and changed resources (and the
    /// scan's time), which are written while the pipeline still evaluates;
    /// `rest` then gives the whole write (its `upserts` the same ones, not
    /// written again). A channel closed before its value rolls back all.
    async fn apply_scan_early(
        &self,
        resources: oneshot::Receiver<EarlyResources>,
        rest: oneshot::Receiver<ScanWrite>,
    ) -> Result<()>;
    /// Changes after every committed scan; what was read under an older
    /// value (issue counts, compliance bodies) may be stale.
    fn generation(&self) -> u64;

    async fn scan(&self, id: i64) -> Result<Option<ScanRow>>;
    async fn scans(&self, limit: i64, offset: i64) -> Result<(Vec<ScanRow>, i64)>;
    async fn compliance(&self, group: &str) -> Result<Option<(i64, i64, Value)>>;
    async fn history(&self, group: &str, policy: &str) -> Result<Vec<HistoryRow>>;
    /// A domain's roll-up within `group` (`""`: everything).
    async fn domain_compliance(
        &self,
        group: &str,
        domain: &str,
    ) -> Result<Option<(i64, i64, Value)>>;
    /// A domain's daily overall rows within `group` (`policy` holds the
    /// domain's name).
    async fn domain_history(&self, group: &str, domain: &str) -> Result<Vec<HistoryRow>>;
    /// Dashboards, newest first: `owner`'s, or everyone's.
    async fn dashboards(&self, owner: Option<&str>) -> Result<Vec<DashboardRow>>;
    async fn dashboard(&self, id: i64) -> Result<Option<DashboardRow>>;
    /// A new dashboard of `owner` (id, name); its id.
    async fn create_dashboard(
        &self,
        owner: (&str, &str),
        name: &str,
        widgets: &Value,
        at: i64,
    ) -> Result<i64>;
    /// Replaces a dashboard's name and widgets; false when there is none.
    async fn update_dashboard(&self, id: i64, name: &str, widgets: &Value, at: i64)
    -> Result<bool>;
    async fn delete_dashboard(&self, id: i64) -> Result<bool>;
    async fn issues(
        &self,
        f: &IssueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<IssueRow>, i64)>;
    /// [`Store::issues`] in another order (keyset paging: `Id` only).
    async fn issues_sorted(
        &self,
        f: &IssueFilter,
        sort: IssueSort,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<IssueRow>, i64)>;
    async fn issue(&self, id: i64) -> Result<Option<IssueRow>>;
    async fn issue_events(&self, id: i64) -> Result<Vec<IssueEvent>>;
    async fn resources(
        &self,
        f: &ResourceFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ResourceRow>, i64)>;
    /// Current resources' (key, document text) in key order, the first
    /// `limit` after the key `after` (keyset paging: the inventory export
    /// reads any number of resources in constant time per page).
    async fn resource_documents(
        &self,
        f: &ResourceFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String)>>;
    /// By key, or by id (the first match).
    async fn resource(&self, id_or_key: &str) -> Result<Option<ResourceRow>>;
    async fn resource_groups(&self, rkey: &str) -> Result<Vec<String>>;
    /// For the search index: the current resources of `keys`, each with its
    /// asset groups.
    async fn search_resources(&self, keys: &[String]) -> Result<Vec<(ResourceRow, Vec<String>)>>;
    /// For the search index: up to `limit` current resources after the key
    /// `after`, in key order, each with its asset groups.
    async fn search_resource_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(ResourceRow, Vec<String>)>>;
    /// For the search index: every issue of the resources `keys`, whatever
    /// its status.
    async fn search_issues(&self, keys: &[String]) -> Result<Vec<IssueRow>>;
    /// Up to `limit` issues numbered after `after` whose resource is gone.
    async fn orphan_issues(&self, after: i64, limit: i64) -> Result<Vec<IssueRow>>;
    /// The resource keys of these issues.
    async fn issue_keys(&self, ids: &[i64]) -> Result<Vec<String>>;
    /// The asset groups of the current resources with these ids.
    async fn groups_of_ids(&self, ids: &[String]) -> Result<Vec<String>>;
    /// The id of the last scan that committed (0: none).
    async fn last_scan_id(&self) -> Result<i64>;
    /// Of `ids`, those of current resources in any of `groups`.
    async fn ids_in_groups(&self, ids: &[String], groups: &[String]) -> Result<Vec<String>>;
    async fn group_names_with_members(&self) -> Result<Vec<(String, i64)>>;
    /// Current resources counted per (type, account, region), of those in
    /// any of `groups` when given (the portal's asset dashboard).
    async fn resource_counts(
        &self,
        groups: Option<&[String]>,
    ) -> Result<Vec<(String, String, String, i64)>>;
    /// Open issues counted per (resource type, policy), of resources in any
    /// of `groups` when given.
    async fn open_issue_counts(
        &self,
        groups: Option<&[String]>,
    ) -> Result<Vec<(String, String, i64)>>;

    async fn api_groups(&self) -> Result<Vec<GroupRow>>;
    async fn put_group(&self, g: &GroupRow) -> Result<bool>;
    async fn api_exceptions(&self) -> Result<Vec<ExceptionRow>>;
    async fn put_exception(&self, x: &ExceptionRow) -> Result<bool>;
    async fn delete_exception(&self, name: &str, at: i64) -> Result<bool>;

    /// Jobs, of resources in any of `groups` when given.
    async fn jobs(
        &self,
        status: Option<JobStatus>,
        groups: Option<&[String]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<JobRow>, i64)>;
    async fn jobs_of_issue(&self, issue: i64) -> Result<Vec<JobRow>>;
    async fn job(&self, id: i64) -> Result<Option<JobRow>>;
    async fn due_jobs(&self, now: i64) -> Result<Vec<JobRow>>;
    /// How many fixes of `policy` that change resources (not
    /// `notify_only`) ran, or are running, since `since`.
    async fn fixes_ran_since(&self, policy: &str, since: i64) -> Result<u64>;
    async fn unnotified_jobs(&self) -> Result<Vec<JobRow>>;
    async fn finish_job(
        &self,
        id: i64,
        status: JobStatus,
        at: i64,
        result: Option<&Value>,
        reason: Option<&str>,
        audit: &[(String, Value)],
    ) -> Result<bool>;
    /// Moves a waiting job to `running`; false when someone else has.
    async fn claim_job(&self, id: i64, at: i64) -> Result<bool>;
    async fn mark_notified(&self, id: i64, at: i64, audit: &Value) -> Result<()>;
    /// Issues of a digest's period: opened (or reopened) since `since` and
    /// open now, or (`closed`) closed since `since`; newest first, at most
    /// `limit`, with the total.
    async fn issues_since(
        &self,
        scope: &DigestScope,
        since: i64,
        closed: bool,
        limit: i64,
    ) -> Result<(Vec<IssueRow>, i64)>;
    /// Waiting auto-fix jobs due in `[from, to)`, soonest first, at most
    /// `limit`, with the total.
    async fn jobs_due_between(
        &self,
        scope: &DigestScope,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<(Vec<JobRow>, i64)>;
    /// Whether the digest `name` of the period ending `period_end` went out
    /// (or was tried).
    async fn digest_sent(&self, name: &str, period_end: i64) -> Result<bool>;
    /// Subscriptions, oldest first: `principal`'s, or everyone's.
    async fn subscriptions(&self, principal: Option<&str>) -> Result<Vec<SubscriptionRow>>;
    async fn subscription(&self, id: i64) -> Result<Option<SubscriptionRow>>;
    async fn subscribe(&self, n: &NewSubscription<'_>) -> Result<i64>;
    async fn unsubscribe(&self, id: i64) -> Result<bool>;
    /// `address` no longer receives the `[[digest]]` named `digest`.
    async fn opt_out(&self, digest: &str, address: &str, at: i64) -> Result<()>;
    async fn opted_out(&self, digest: &str) -> Result<Vec<String>>;
    async fn record_digest(&self, name: &str, period_end: i64, at: i64, result: &str)
    -> Result<()>;
    async fn audit(&self, job: Option<i64>) -> Result<Vec<AuditRow>>;
    /// Consistency problems: the database's own check, then references
    /// between tables (an empty list when all is well).
    async fn check(&self) -> Result<Vec<String>>;

    /// The source texts (path, text) of the last policy set that compiled,
    /// and when they were stored; `None` before the first.
    async fn last_good_policies(&self) -> Result<Option<(Vec<(String, String)>, i64)>>;
    /// Replaces the stored last good policy set (in one transaction).
    async fn put_last_good_policies(&self, files: &[(String, String)], at: i64) -> Result<()>;
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqlStore {
    pool: SqlitePool,
    /// Bumped after every committed scan: cached reads tagged with an
    /// older generation are stale.
    generation: Arc<AtomicU64>,
    /// Issue-list totals per filter, for the generation they were counted in
    /// (the table only changes in `apply_scan`, so a page need not count).
    counts: Arc<Mutex<HashMap<String, (u64, i64)>>>,
}

impl SqlStore {
    /// Opens (creating) the store at `url` (`sqlite://path`), migrates it,
    /// and marks scans a crash left `running` as `interrupted`. Only the
    /// holder of the store's lock (`store_lock`) may call this: the marking
    /// is wrong while another server runs.
    pub async fn open(url: &str, at: i64) -> Result<SqlStore> {
        let store = SqlStore::connect(url).await?;
        store.recover(at).await?;
        Ok(store)
    }

    /// Opens and migrates the store without the start-up recovery.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        if let Some(path) = url.strip_prefix("sqlite://")
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            url: url.to_string(),
            source,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(30))
            // A scan writes ~100k rows into indexed tables and the API reads
            // them from up to 8 connections: SQLite's default 2 MB page
            // cache per connection made both spill and re-read pages
            // (profiled: pread and page-cache lookups dominated). 32 MB per
            // connection, and reads through a shared memory map.
            .pragma("cache_size", "-32768")
            .pragma("mmap_size", "268435456");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        let store = SqlStore {
            pool,
            generation: Arc::new(AtomicU64::new(0)),
            counts: Arc::new(Mutex::new(HashMap::new())),
        };
        migrate::run(&store.pool, url).await?;
        Ok(store)
    }

    /// Writes a scan in one transaction: its resources as soon as `early`
    /// gives them (while the pipeline still evaluates), then the rest
    /// when `rest` is ready; nothing is committed unless `rest` is.
    async fn write_scan_tx(
        &self,
        early: Option<oneshot::Receiver<EarlyResources>>,
        rest: impl std::future::Future<Output = Result<ScanWrite>> + Send,
    ) -> Result<()> {
        // The commit of a first scan leaves ~100 MB in the write-ahead log;
        // with SQLite's automatic checkpoint the committing connection
        // would then copy it into the database file (~0.7-1 s at 100k
        // resources) before the scan may finish. The commit is durable
        // once the log is synced, so that copy is done after it, on
        // another connection (docs/server.md, "Checkpoints").
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA wal_autocheckpoint = 0")
            .execute(&mut *conn)
            .await?;
        let written = async {
            let mut tx = sqlx::Connection::begin_with(&mut *conn, WRITE_TX).await?;
            let mut written_early = None;
            if let Some(early) = early
                && let Ok(e) = early.await
            {
                apply::upsert_resources(&mut tx, &e.upserts, e.at).await?;
                written_early = Some(e.upserts);
            }
            // An error or a closed channel drops `tx`: rolled back.
            let w = rest.await?;
            let resources_written = written_early
                .as_ref()
                .is_some_and(|e| Arc::ptr_eq(e, &w.upserts));
            apply::write_scan(&mut tx, &w, !resources_written).await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        let restored = sqlx::query(AUTOCHECKPOINT).execute(&mut *conn).await;
        if restored.is_err() {
            // Not back in the pool without its checkpoints.
            conn.close_on_drop();
        }
        written?;
        // After the commit: a reader that saw the old generation and counted
        // the new rows only leaves an entry nobody will trust.
        self.generation.fetch_add(1, Ordering::SeqCst);
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.checkpoint().await {
                tracing::warn!("checkpoint after a scan's commit: {e}");
            }
        });
        Ok(())
    }

    /// Copies what the write-ahead log holds into the database file, as
    /// far as no reader still needs it (a passive checkpoint: it blocks
    /// no reader and no writer); returns (frames in the log, frames
    /// copied), both -1 when another checkpoint is running.
    pub async fn checkpoint(&self) -> Result<(i64, i64)> {
        let started = std::time::Instant::now();
        let (_busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        tracing::debug!(
            log,
            copied,
            ms = started.elapsed().as_millis() as u64,
            "checkpoint"
        );
        Ok((log, copied))
    }

    /// What a previous server left half done: its `running` scans are
    /// `interrupted`, its `running` auto-fix actions `failed`.
    async fn recover(&self, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE scans SET status = $1, finished_at = $2, message = 'the server stopped during this scan; nothing of it was committed' WHERE status = $3",
        )
        .bind(ScanStatus::Interrupted)
        .bind(at)
        .bind(ScanStatus::Running)
        .execute(&self.pool)
        .await?;
        // At most once: an action a crash interrupted is not run again.
        sqlx::query(
            "UPDATE autofix_jobs SET status = $1, reason = 'the server stopped while the action ran; it is not run again (at most once): check the resource by hand' WHERE status = $2",
        )
        .bind(JobStatus::Failed)
        .bind(JobStatus::Running)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `rows` each with its asset groups (the search index's reads).
    async fn with_groups(&self, rows: Vec<ResourceRow>) -> Result<Vec<(ResourceRow, Vec<String>)>> {
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in rows.chunks(CHUNK) {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT rkey, grp FROM group_members WHERE rkey IN (");
            push_list(&mut q, chunk.iter().map(|r| r.key.clone()));
            for (k, g) in q
                .build_query_as::<(String, String)>()
                .fetch_all(&self.pool)
                .await?
            {
                groups.entry(k).or_default().push(g);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let g = groups.remove(&r.key).unwrap_or_default();
                (r, g)
            })
            .collect())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Lists leave the explanation out (it is in the issue's own answer).
const ISSUE_LIST_COLUMNS: &str = "id, rule, policy, rkey, rid, rtype, account, region, severity, category, status, message, NULL AS explanation, exception, first_seen, last_opened, closed_at, close_reason, times_opened";

/// Rows per multi-row statement (at 16 columns, well under SQLite's 32,766
/// bound parameters and PostgreSQL's 65,535).
const CHUNK: usize = 1000;

/// ` WHERE …` for the filters present, values bound; whether there was one.
fn push_issue_filter(q: &mut QueryBuilder<Sqlite>, f: &IssueFilter) -> bool {
    let mut sep = " WHERE ";
    for (col, v) in [
        ("policy", &f.policy),
        ("severity", &f.severity),
        ("rkey", &f.resource_key),
    ] {
        if let Some(v) = v {
            q.push(sep).push(col).push(" = ").push_bind(v.clone());
            sep = " AND ";
        }
    }
    if let Some(status) = f.status {
        q.push(sep).push("status = ").push_bind(status);
        sep = " AND ";
    }
    if let Some(gs) = &f.groups {
        // A membership probe per candidate row (the (grp, rkey) key): SQLite
        // keeps walking the (status, id) index in id order and stops at
        // LIMIT, where `rkey IN (SELECT …)` made it sort every match.
        q.push(sep)
            .push("EXISTS (SELECT 1 FROM group_members m WHERE ");
        push_group_match(q, gs);
        q.push(" AND m.rkey = issues.rkey)");
        sep = " AND ";
    }
    sep == " AND "
}
/// `m.grp` is one of `groups` (none: false), each bound.
fn push_group_match(q: &mut QueryBuilder<Sqlite>, groups: &[String]) {
    match groups {
        [] => {
            q.push("0");
        }
        [g] => {
            q.push("m.grp = ").push_bind(g.clone());
        }
        gs => {
            q.push("m.grp IN (");
            push_list(q, gs.iter().cloned());
        }
    }
}

/// Resource rows with their effective last_seen (migration 0003).
const RESOURCE_COLUMNS: &str = "rkey, rtype, rid, account, region, resources.source AS source, doc, hash, first_seen,
  CASE WHEN deleted_at IS NULL AND ss.seen_at > last_seen THEN ss.seen_at ELSE last_seen END AS last_seen,
  changed_at, deleted_at
  FROM resources LEFT JOIN source_seen ss ON ss.source = resources.source";
/// Binds `values` as the list of an `IN (` the query ends with, and
/// closes it.
fn push_list<T>(q: &mut QueryBuilder<Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: for<'a> sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send + 'static,
{
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    list.push_unseparated(")");
}

/// ` WHERE …` of a resource list, values bound.
fn push_resource_filter(q: &mut QueryBuilder<Sqlite>, f: &ResourceFilter, like: Option<&String>) {
    q.push(" WHERE deleted_at IS NULL");
    if let Some(t) = &f.rtype {
        q.push(" AND rtype = ").push_bind(t.clone());
    }
    if let Some(gs) = &f.groups {
        q.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE ");
        push_group_match(q, gs);
        q.push(" AND m.rkey = resources.rkey)");
    }
    if let Some(l) = like {
        q.push(" AND (rid LIKE ")
            .push_bind(l.clone())
            .push(" ESCAPE '\\' OR account LIKE ")
            .push_bind(l.clone())
            .push(" ESCAPE '\\' OR region LIKE ")
            .push_bind(l.clone())
            .push(" ESCAPE '\\')");
    }
}

/// An issue's state under its (rule, resource) key, as `scan_base` reads it.
#[derive(sqlx::FromRow)]
struct KeyedIssueState {
    rule: String,
    rkey: String,
    #[sqlx(flatten)]
    state: IssueState,
}

/// A source's read under its name, as `unread` reads it.
#[derive(sqlx::FromRow)]
struct NamedSourceRead {
    source: String,
    #[sqlx(flatten)]
    read: SourceRead,
}

#[async_trait]
impl Store for SqlStore {
    async fn begin_scan(&self, source: &str, trigger: &str, at: i64) -> Result<i64> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM scans")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO scans (id, source, trigger_kind, status, started_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(source)
        .bind(trigger)
        .bind(ScanStatus::Running)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn fail_scan(&self, id: i64, at: i64, message: &str) -> Result<()> {
        sqlx::query("UPDATE scans SET status = $2, finished_at = $3, message = $4 WHERE id = $1")
            .bind(id)
            .bind(ScanStatus::Failed)
            .bind(at)
            .bind(message)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn confirm_scan(&self, id: i64, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE scans SET confirmed_at = $2 WHERE id = $1 AND status = $3 AND confirmed_at IS NULL
               AND id = (SELECT MAX(l.id) FROM scans l WHERE l.source = scans.source AND l.status <> $4)",
        )
        .bind(id)
        .bind(at)
        .bind(ScanStatus::Suspect)
        .bind(ScanStatus::Running)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn confirmed_removals(&self, source: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT held_removals FROM scans WHERE id = (SELECT MAX(id) FROM scans WHERE source = $1 AND status <> $2)
               AND status = $3 AND confirmed_at IS NOT NULL",
        )
        .bind(source)
        .bind(ScanStatus::Running)
        .bind(ScanStatus::Suspect)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    async fn unread(&self) -> Result<HashMap<String, SourceRead>> {
        let rows: Vec<NamedSourceRead> = sqlx::query_as(
            "SELECT source, status, scan_id, since, scopes, message FROM source_reads WHERE scopes <> '[]'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.source, r.read)).collect())
    }

    async fn scan_base(&self, source: &str) -> Result<ScanBase> {
        let mut base = ScanBase::default();
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT rkey, hash, source FROM resources WHERE deleted_at IS NULL")
                .fetch_all(&self.pool)
                .await?;
        base.resources = rows
            .into_iter()
            .map(|(rkey, hash, source)| (rkey, (hash, source)))
            .collect();
        base.unread = self.unread().await?;
        base.confirmed_removals = self.confirmed_removals(source).await?;
        let rows: Vec<KeyedIssueState> =
            sqlx::query_as("SELECT id, rule, rkey, status, message, exception FROM issues")
                .fetch_all(&self.pool)
                .await?;
        base.issues = rows
            .into_iter()
            .map(|r| ((r.rule, r.rkey), r.state))
            .collect();
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT grp, rkey FROM group_members")
            .fetch_all(&self.pool)
            .await?;
        for (grp, rkey) in rows {
            base.members.entry(grp).or_default().insert(rkey);
        }
        self.refresh_counters(&mut base).await?;
        Ok(base)
    }

    async fn refresh_counters(&self, base: &mut ScanBase) -> Result<()> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT issue_id, id FROM autofix_jobs WHERE status = $1")
                .bind(JobStatus::Waiting)
                .fetch_all(&self.pool)
                .await?;
        base.waiting_jobs = rows.into_iter().collect();
        base.next_issue_id = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM issues")
            .fetch_one(&self.pool)
            .await?;
        base.next_job_id = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM autofix_jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    async fn documents(
        &self,
        only: Option<&str>,
        except: Option<&str>,
    ) -> Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT rkey, source, doc FROM resources WHERE deleted_at IS NULL AND ($1 IS NULL OR source = $1) AND ($2 IS NULL OR source <> $2) ORDER BY rkey",
        )
        .bind(only)
        .bind(except)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn apply_scan(&self, w: ScanWrite) -> Result<()> {
        self.write_scan_tx(None, async { Ok(w) }).await
    }

    async fn apply_scan_early(
        &self,
        resources: oneshot::Receiver<EarlyResources>,
        rest: oneshot::Receiver<ScanWrite>,
    ) -> Result<()> {
        self.write_scan_tx(Some(resources), async {
            rest.await.map_err(|_| StoreError::Abandoned)
        })
        .await
    }
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    async fn scan(&self, id: i64) -> Result<Option<ScanRow>> {
        Ok(sqlx::query_as("SELECT * FROM scans WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn scans(&self, limit: i64, offset: i64) -> Result<(Vec<ScanRow>, i64)> {
        let rows = sqlx::query_as("SELECT * FROM scans ORDER BY id DESC LIMIT $1 OFFSET $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scans")
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total))
    }

    async fn compliance(&self, group: &str) -> Result<Option<(i64, i64, Value)>> {
        let r: Option<(i64, i64, JsonText)> =
            sqlx::query_as("SELECT scan_id, at, body FROM compliance_current WHERE grp = $1")
                .bind(group)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|(scan, at, body)| (scan, at, body.into())))
    }

    async fn domain_compliance(
        &self,
        group: &str,
        domain: &str,
    ) -> Result<Option<(i64, i64, Value)>> {
        let r: Option<(i64, i64, JsonText)> = sqlx::query_as(
            "SELECT scan_id, at, body FROM domain_current WHERE grp = $1 AND domain = $2",
        )
        .bind(group)
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|(scan, at, body)| (scan, at, body.into())))
    }

    async fn domain_history(&self, group: &str, domain: &str) -> Result<Vec<HistoryRow>> {
        Ok(sqlx::query_as(
            "SELECT day, grp, domain AS policy, compliance, assets, open, exempt, unknown
             FROM domain_history WHERE grp = $1 AND domain = $2 ORDER BY day",
        )
        .bind(group)
        .bind(domain)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn dashboards(&self, owner: Option<&str>) -> Result<Vec<DashboardRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM dashboards WHERE $1 IS NULL OR owner = $1 ORDER BY id DESC",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn dashboard(&self, id: i64) -> Result<Option<DashboardRow>> {
        Ok(sqlx::query_as("SELECT * FROM dashboards WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_dashboard(
        &self,
        owner: (&str, &str),
        name: &str,
        widgets: &Value,
        at: i64,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO dashboards (owner, owner_name, name, widgets, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(owner.0)
        .bind(owner.1)
        .bind(name)
        .bind(widgets.to_string())
        .bind(at)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn update_dashboard(
        &self,
        id: i64,
        name: &str,
        widgets: &Value,
        at: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE dashboards SET name = $2, widgets = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(widgets.to_string())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_dashboard(&self, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM dashboards WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn history(&self, group: &str, policy: &str) -> Result<Vec<HistoryRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM compliance_history WHERE grp = $1 AND policy = $2 ORDER BY day",
        )
        .bind(group)
        .bind(policy)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn issues(
        &self,
        f: &IssueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<IssueRow>, i64)> {
        self.issues_sorted(f, IssueSort::Id, limit, offset).await
    }

    async fn issues_sorted(
        &self,
        f: &IssueFilter,
        sort: IssueSort,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<IssueRow>, i64)> {
        // Only the filters present become SQL (values are bound), so that
        // SQLite can use the (filter…, id) indexes of migration 0002.
        let mut list =
            QueryBuilder::<Sqlite>::new(format!("SELECT {ISSUE_LIST_COLUMNS} FROM issues"));
        let filtered = push_issue_filter(&mut list, f);
        if let Some(after) = f.after {
            list.push(if filtered {
                " AND id > "
            } else {
                " WHERE id > "
            })
            .push_bind(after);
        }
        list.push(sort.order_by())
            .push(" LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = list.build_query_as().fetch_all(&self.pool).await?;
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            f.policy, f.status, f.severity, f.groups, f.resource_key
        );
        let generation = self.generation();
        let cached = self
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
            .and_then(|(g, n)| (g == generation).then_some(n));
        let total = match cached {
            Some(n) => n,
            None => {
                let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM issues");
                push_issue_filter(&mut count, f);
                let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                if let Ok(mut c) = self.counts.lock() {
                    if c.len() > 4096 {
                        c.retain(|_, (g, _)| *g == generation);
                    }
                    c.insert(key, (generation, n));
                }
                n
            }
        };
        Ok((rows, total))
    }

    async fn issue(&self, id: i64) -> Result<Option<IssueRow>> {
        Ok(sqlx::query_as("SELECT * FROM issues WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn issue_events(&self, id: i64) -> Result<Vec<IssueEvent>> {
        Ok(
            sqlx::query_as("SELECT * FROM issue_events WHERE issue_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn resources(
        &self,
        f: &ResourceFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ResourceRow>, i64)> {
        // `%` and `_` in the text are plain characters (escaped for LIKE).
        let q = f.q.as_ref().map(|q| {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut list = QueryBuilder::<Sqlite>::new(format!("SELECT {RESOURCE_COLUMNS}"));
        push_resource_filter(&mut list, f, q.as_ref());
        list.push(" ORDER BY rkey LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = list.build_query_as().fetch_all(&self.pool).await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM resources");
        push_resource_filter(&mut count, f, q.as_ref());
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        Ok((rows, total))
    }

    async fn resource_documents(
        &self,
        f: &ResourceFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT rkey, doc FROM resources");
        push_resource_filter(&mut q, f, None);
        if let Some(a) = after {
            q.push(" AND rkey > ").push_bind(a.to_string());
        }
        q.push(" ORDER BY rkey LIMIT ").push_bind(limit);
        Ok(q.build_query_as().fetch_all(&self.pool).await?)
    }

    async fn resource(&self, id_or_key: &str) -> Result<Option<ResourceRow>> {
        Ok(sqlx::query_as(
            sqlx::AssertSqlSafe(format!("SELECT {RESOURCE_COLUMNS} WHERE rkey = $1 OR rid = $1 ORDER BY deleted_at IS NOT NULL, rkey LIMIT 1")),
        )
        .bind(id_or_key)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn search_resources(&self, keys: &[String]) -> Result<Vec<(ResourceRow, Vec<String>)>> {
        let mut rows: Vec<ResourceRow> = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {RESOURCE_COLUMNS} WHERE deleted_at IS NULL AND rkey IN ("
            ));
            push_list(&mut q, chunk.iter().cloned());
            rows.extend(
                q.build_query_as::<ResourceRow>()
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        self.with_groups(rows).await
    }

    async fn search_resource_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(ResourceRow, Vec<String>)>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RESOURCE_COLUMNS} WHERE deleted_at IS NULL"
        ));
        if let Some(a) = after {
            q.push(" AND rkey > ").push_bind(a.to_string());
        }
        q.push(" ORDER BY rkey LIMIT ").push_bind(limit);
        let rows = q
            .build_query_as::<ResourceRow>()
            .fetch_all(&self.pool)
            .await?;
        self.with_groups(rows).await
    }

    async fn search_issues(&self, keys: &[String]) -> Result<Vec<IssueRow>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM issues WHERE rkey IN (");
            push_list(&mut q, chunk.iter().cloned());
            out.extend(q.build_query_as::<IssueRow>().fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    async fn orphan_issues(&self, after: i64, limit: i64) -> Result<Vec<IssueRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM issues i WHERE i.id > $1 AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.rkey = i.rkey AND r.deleted_at IS NULL) ORDER BY i.id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn issue_keys(&self, ids: &[i64]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT DISTINCT rkey FROM issues WHERE id IN (");
            push_list(&mut q, chunk.iter().copied());
            out.extend(
                q.build_query_scalar::<String>()
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn groups_of_ids(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut out = std::collections::BTreeSet::new();
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT DISTINCT m.grp FROM group_members m JOIN resources r ON r.rkey = m.rkey WHERE r.deleted_at IS NULL AND r.rid IN (",
            );
            push_list(&mut q, chunk.iter().cloned());
            out.extend(
                q.build_query_scalar::<String>()
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(out.into_iter().collect())
    }

    async fn last_scan_id(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(MAX(id), 0) FROM scans WHERE status IN ('completed', 'partial', 'suspect')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn resource_groups(&self, rkey: &str) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT grp FROM group_members WHERE rkey = $1 ORDER BY grp")
                .bind(rkey)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn ids_in_groups(&self, ids: &[String], groups: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT DISTINCT rid FROM resources WHERE deleted_at IS NULL AND rid IN (",
            );
            push_list(&mut q, chunk.iter().cloned());
            q.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE ");
            push_group_match(&mut q, groups);
            q.push(" AND m.rkey = resources.rkey)");
            out.extend(
                q.build_query_scalar::<String>()
                    .fetch_all(&self.pool)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn group_names_with_members(&self) -> Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT grp, COUNT(*) AS n FROM group_members GROUP BY grp")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn resource_counts(
        &self,
        groups: Option<&[String]>,
    ) -> Result<Vec<(String, String, String, i64)>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT rtype, account, region, COUNT(*) FROM resources WHERE deleted_at IS NULL",
        );
        if let Some(gs) = groups {
            q.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE ");
            push_group_match(&mut q, gs);
            q.push(" AND m.rkey = resources.rkey)");
        }
        q.push(" GROUP BY rtype, account, region ORDER BY rtype, account, region");
        Ok(q.build_query_as().fetch_all(&self.pool).await?)
    }

    async fn open_issue_counts(
        &self,
        groups: Option<&[String]>,
    ) -> Result<Vec<(String, String, i64)>> {
        let f = IssueFilter {
            status: Some(IssueStatus::Open),
            groups: groups.map(<[String]>::to_vec),
            ..Default::default()
        };
        let mut q = QueryBuilder::<Sqlite>::new("SELECT rtype, policy, COUNT(*) FROM issues");
        push_issue_filter(&mut q, &f);
        q.push(" GROUP BY rtype, policy ORDER BY rtype, COUNT(*) DESC, policy");
        Ok(q.build_query_as().fetch_all(&self.pool).await?)
    }

    async fn api_groups(&self) -> Result<Vec<GroupRow>> {
        Ok(sqlx::query_as("SELECT * FROM asset_groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    async fn put_group(&self, g: &GroupRow) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO asset_groups (name, title, members, created_by, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&g.name)
        .bind(&g.title)
        .bind(serde_json::to_string(&g.members).unwrap_or_default())
        .bind(&g.created_by)
        .bind(g.created_at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn api_exceptions(&self) -> Result<Vec<ExceptionRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM exceptions WHERE deleted_at IS NULL ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn put_exception(&self, x: &ExceptionRow) -> Result<bool> {
        // A deleted exception's name may be used again.
        let r = sqlx::query(
            "INSERT INTO exceptions (name, targets, resources, condition, expires, reason, created_by, created_at, deleted_at, grp, approved_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)
             ON CONFLICT (name) DO UPDATE SET targets = excluded.targets, resources = excluded.resources, condition = excluded.condition,
               grp = excluded.grp, approved_by = excluded.approved_by, expires = excluded.expires, reason = excluded.reason, created_by = excluded.created_by, created_at = excluded.created_at, deleted_at = NULL
             WHERE exceptions.deleted_at IS NOT NULL",
        )
        .bind(&x.name)
        .bind(serde_json::to_string(&x.targets).unwrap_or_default())
        .bind(serde_json::to_string(&x.resources).unwrap_or_default())
        .bind(&x.condition)
        .bind(&x.expires)
        .bind(&x.reason)
        .bind(&x.created_by)
        .bind(x.created_at)
        .bind(&x.group)
        .bind(&x.approved_by)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_exception(&self, name: &str, at: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE exceptions SET deleted_at = $2 WHERE name = $1 AND deleted_at IS NULL",
        )
        .bind(name)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn jobs(
        &self,
        status: Option<JobStatus>,
        groups: Option<&[String]>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<JobRow>, i64)> {
        let filter = |q: &mut QueryBuilder<Sqlite>| {
            q.push(" WHERE 1");
            if let Some(st) = status {
                q.push(" AND status = ").push_bind(st);
            }
            if let Some(gs) = groups {
                q.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE ");
                push_group_match(q, gs);
                q.push(" AND m.rkey = autofix_jobs.rkey)");
            }
        };
        let mut list = QueryBuilder::<Sqlite>::new("SELECT * FROM autofix_jobs");
        filter(&mut list);
        list.push(" ORDER BY id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let rows = list.build_query_as().fetch_all(&self.pool).await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM autofix_jobs");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        Ok((rows, total))
    }

    async fn jobs_of_issue(&self, issue: i64) -> Result<Vec<JobRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM autofix_jobs WHERE issue_id = $1 ORDER BY id")
                .bind(issue)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn job(&self, id: i64) -> Result<Option<JobRow>> {
        Ok(sqlx::query_as("SELECT * FROM autofix_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn fixes_ran_since(&self, policy: &str, since: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM autofix_jobs WHERE policy = $1 AND action != 'notify_only' AND status IN ($2, $3, $4) AND ran_at >= $5",
        )
        .bind(policy)
        .bind(JobStatus::Running)
        .bind(JobStatus::Done)
        .bind(JobStatus::Failed)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn due_jobs(&self, now: i64) -> Result<Vec<JobRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM autofix_jobs WHERE status = $1 AND due_at <= $2 ORDER BY id",
        )
        .bind(JobStatus::Waiting)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn unnotified_jobs(&self) -> Result<Vec<JobRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM autofix_jobs WHERE status = $1 AND notified_at IS NULL ORDER BY id",
        )
        .bind(JobStatus::Waiting)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn finish_job(
        &self,
        id: i64,
        status: JobStatus,
        at: i64,
        result: Option<&Value>,
        reason: Option<&str>,
        audit: &[(String, Value)],
    ) -> Result<bool> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        let r = sqlx::query(
            "UPDATE autofix_jobs SET status = $2, ran_at = $3, result = $4, reason = $5 WHERE id = $1 AND status IN ($6, $7)",
        )
        .bind(id)
        .bind(status)
        .bind(at)
        .bind(result.map(|v| v.to_string()))
        .bind(reason)
        .bind(JobStatus::Waiting)
        .bind(JobStatus::Running)
        .execute(&mut *tx)
        .await?;
        let mut next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log")
            .fetch_one(&mut *tx)
            .await?;
        for (kind, detail) in audit {
            insert_audit(&mut tx, next, at, Some(id), kind, detail).await?;
            next += 1;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn claim_job(&self, id: i64, at: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE autofix_jobs SET status = $3, ran_at = $2 WHERE id = $1 AND status = $4",
        )
        .bind(id)
        .bind(at)
        .bind(JobStatus::Running)
        .bind(JobStatus::Waiting)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn mark_notified(&self, id: i64, at: i64, audit: &Value) -> Result<()> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        sqlx::query("UPDATE autofix_jobs SET notified_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log")
            .fetch_one(&mut *tx)
            .await?;
        insert_audit(&mut tx, next, at, Some(id), "notified", audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn issues_since(
        &self,
        scope: &DigestScope,
        since: i64,
        closed: bool,
        limit: i64,
    ) -> Result<(Vec<IssueRow>, i64)> {
        let filter = |q: &mut QueryBuilder<Sqlite>| {
            if closed {
                q.push(" WHERE closed_at >= ").push_bind(since);
            } else {
                q.push(" WHERE status = ")
                    .push_bind(IssueStatus::Open)
                    .push(" AND last_opened >= ")
                    .push_bind(since);
            }
            push_digest_scope(q, "issues", scope);
        };
        let mut list =
            QueryBuilder::<Sqlite>::new(format!("SELECT {ISSUE_LIST_COLUMNS} FROM issues"));
        filter(&mut list);
        list.push(if closed {
            " ORDER BY closed_at DESC, id LIMIT "
        } else {
            " ORDER BY last_opened DESC, id LIMIT "
        })
        .push_bind(limit);
        let rows = list.build_query_as().fetch_all(&self.pool).await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM issues");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        Ok((rows, total))
    }

    async fn jobs_due_between(
        &self,
        scope: &DigestScope,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<(Vec<JobRow>, i64)> {
        let filter = |q: &mut QueryBuilder<Sqlite>| {
            q.push(" WHERE status = ")
                .push_bind(JobStatus::Waiting)
                .push(" AND due_at >= ")
                .push_bind(from)
                .push(" AND due_at < ")
                .push_bind(to);
            push_digest_scope(q, "autofix_jobs", scope);
        };
        let mut list = QueryBuilder::<Sqlite>::new("SELECT * FROM autofix_jobs");
        filter(&mut list);
        list.push(" ORDER BY due_at, id LIMIT ").push_bind(limit);
        let rows = list.build_query_as().fetch_all(&self.pool).await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM autofix_jobs");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
        Ok((rows, total))
    }

    async fn digest_sent(&self, name: &str, period_end: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM digest_sends WHERE name = $1 AND period_end = $2",
        )
        .bind(name)
        .bind(period_end)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn subscriptions(&self, principal: Option<&str>) -> Result<Vec<SubscriptionRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM digest_subscriptions WHERE $1 IS NULL OR principal = $1 ORDER BY id",
        )
        .bind(principal)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn subscription(&self, id: i64) -> Result<Option<SubscriptionRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM digest_subscriptions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn subscribe(&self, n: &NewSubscription<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO digest_subscriptions (principal, user_name, address, claims, every, hour, grp, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(n.principal)
        .bind(n.user_name)
        .bind(n.address)
        .bind(n.claims)
        .bind(n.every)
        .bind(n.hour)
        .bind(n.group)
        .bind(n.at)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn unsubscribe(&self, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM digest_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn opt_out(&self, digest: &str, address: &str, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO digest_optouts (digest, address, at) VALUES ($1, $2, $3) ON CONFLICT (digest, address) DO NOTHING",
        )
        .bind(digest)
        .bind(address)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn opted_out(&self, digest: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT address FROM digest_optouts WHERE digest = $1 ORDER BY address",
        )
        .bind(digest)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_digest(
        &self,
        name: &str,
        period_end: i64,
        at: i64,
        result: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO digest_sends (name, period_end, sent_at, result) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name, period_end) DO UPDATE SET sent_at = excluded.sent_at, result = excluded.result",
        )
        .bind(name)
        .bind(period_end)
        .bind(at)
        .bind(result)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, job: Option<i64>) -> Result<Vec<AuditRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM audit_log WHERE ($1 IS NULL OR job_id = $1) ORDER BY id")
                .bind(job)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        if rows != ["ok"] {
            problems.extend(rows);
        }
        for (what, sql, binds) in CHECKS {
            let mut q = sqlx::query_scalar(*sql);
            for b in *binds {
                q = q.bind(*b);
            }
            let n: i64 = q.fetch_one(&self.pool).await?;
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        Ok(problems)
    }

    async fn last_good_policies(&self) -> Result<Option<(Vec<(String, String)>, i64)>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT path, source, saved_at FROM last_good_policies ORDER BY path")
                .fetch_all(&self.pool)
                .await?;
        let Some(at) = rows.iter().map(|r| r.2).max() else {
            return Ok(None);
        };
        let files = rows
            .into_iter()
            .map(|(path, source, _)| (path, source))
            .collect();
        Ok(Some((files, at)))
    }

    async fn put_last_good_policies(&self, files: &[(String, String)], at: i64) -> Result<()> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        sqlx::query("DELETE FROM last_good_policies")
            .execute(&mut *tx)
            .await?;
        for (path, source) in files {
            sqlx::query(
                "INSERT INTO last_good_policies (path, source, saved_at) VALUES ($1, $2, $3)",
            )
            .bind(path)
            .bind(source)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Consistency checks: (what is wrong, the SQL counting it, its bound values).
const CHECKS: &[(&str, &str, &[&str])] = &[
    (
        "issue events of missing issues",
        "SELECT COUNT(*) FROM issue_events WHERE issue_id NOT IN (SELECT id FROM issues)",
        &[],
    ),
    (
        "auto-fix jobs of missing issues",
        "SELECT COUNT(*) FROM autofix_jobs WHERE issue_id NOT IN (SELECT id FROM issues)",
        &[],
    ),
    (
        "audit records of missing jobs",
        "SELECT COUNT(*) FROM audit_log WHERE job_id IS NOT NULL AND job_id NOT IN (SELECT id FROM autofix_jobs)",
        &[],
    ),
    (
        "issues without an opening event",
        "SELECT COUNT(*) FROM issues WHERE id NOT IN (SELECT issue_id FROM issue_events WHERE kind = 'opened')",
        &[],
    ),
    (
        "closed issues without a reason",
        "SELECT COUNT(*) FROM issues WHERE status = $1 AND (close_reason IS NULL OR closed_at IS NULL)",
        &[IssueStatus::Closed.as_str()],
    ),
    (
        "scans still running",
        "SELECT COUNT(*) FROM scans WHERE status = $1 AND id < (SELECT MAX(id) FROM scans)",
        &[ScanStatus::Running.as_str()],
    ),
];

async fn insert_audit(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    at: i64,
    job: Option<i64>,
    kind: &str,
    detail: &Value,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (id, at, job_id, kind, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(at)
        .bind(job)
        .bind(kind)
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrates_once_and_marks_interrupted_scans() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d/pac.db").display());
        let s = SqlStore::open(&url, 10).await.unwrap();
        let id = s.begin_scan("demo", "api", 11).await.unwrap();
        assert_eq!(
            s.scan(id).await.unwrap().unwrap().status,
            ScanStatus::Running
        );
        drop(s);
        let s = SqlStore::open(&url, 12).await.unwrap();
        let scan = s.scan(id).await.unwrap().unwrap();
        assert_eq!(scan.status, ScanStatus::Interrupted);
        assert_eq!(scan.finished_at, Some(12));
        assert_eq!(s.begin_scan("demo", "api", 13).await.unwrap(), id + 1);
    }

    #[tokio::test]
    async fn repeated_dollar_parameters_bind_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pac.db").display());
        let s = SqlStore::open(&url, 0).await.unwrap();
        let f = IssueFilter {
            policy: Some("p".into()),
            ..Default::default()
        };
        let (rows, total) = s.issues(&f, 10, 0).await.unwrap();
        assert!(rows.is_empty());
        assert_eq!(total, 0);
        let x = ExceptionRow {
            name: "X".into(),
            targets: vec!["p".into()],
            resources: vec!["r".into()],
            condition: None,
            group: Some("g".into()),
            expires: "2030-01-01".into(),
            reason: "why".into(),
            created_by: "me".into(),
            created_at: 1,
            approved_by: None,
        };
        assert!(s.put_exception(&x).await.unwrap());
        assert!(!s.put_exception(&x).await.unwrap(), "names are unique");
        assert!(s.delete_exception("X", 2).await.unwrap());
        assert!(s.api_exceptions().await.unwrap().is_empty());
        assert!(
            s.put_exception(&x).await.unwrap(),
            "a deleted name is free again"
        );
    }

    #[tokio::test]
    async fn last_seen_follows_complete_scans_without_rewriting_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pac.db").display());
        let s = SqlStore::open(&url, 0).await.unwrap();
        let res = |id: &str| ResourceWrite {
            key: format!("t|a|r|{id}"),
            rtype: "t".into(),
            id: id.into(),
            account: "a".into(),
            region: "r".into(),
            source: "src".into(),
            doc: "{}".into(),
            hash: "h".into(),
        };
        let st = &s;
        let scan = |at: i64| async move {
            let scan_id = st.begin_scan("src", "api", at).await.unwrap();
            ScanWrite {
                scan_id,
                source: "src".into(),
                at,
                status: ScanStatus::Completed,
                seen_all: true,
                ..Default::default()
            }
        };
        let mut w = scan(1).await;
        w.upserts = Arc::new(vec![res("x"), res("y")]);
        s.apply_scan(w).await.unwrap();
        // Nothing changed: no resource row is written, both were seen at 5.
        s.apply_scan(scan(5).await).await.unwrap();
        for id in ["x", "y"] {
            let r = s.resource(id).await.unwrap().unwrap();
            assert_eq!((r.first_seen, r.last_seen, r.changed_at), (1, 5, 1), "{id}");
        }
        let mut w = scan(9).await;
        w.removed = vec!["t|a|r|y".into()];
        s.apply_scan(w).await.unwrap();
        let x = s.resource("x").await.unwrap().unwrap();
        assert_eq!((x.last_seen, x.deleted_at), (9, None));
        let y = s.resource("y").await.unwrap().unwrap();
        assert_eq!(
            (y.last_seen, y.deleted_at),
            (5, Some(9)),
            "gone: last seen at 5"
        );
        let (rows, total) = s
            .resources(&ResourceFilter::default(), 10, 0)
            .await
            .unwrap();
        assert_eq!(total, 1);
        assert_eq!((rows[0].id.as_str(), rows[0].last_seen), ("x", 9));
        // A partial scan moves only what it saw.
        let mut w = scan(12).await;
        w.seen_all = false;
        w.seen = vec![];
        s.apply_scan(w).await.unwrap();
        assert_eq!(s.resource("x").await.unwrap().unwrap().last_seen, 9);
    }

    /// A scan's transaction begun early writes its resources first and
    /// commits only with the rest; abandoned, it leaves nothing, and the
    /// store is writable after.
    #[tokio::test]
    async fn a_write_begun_early_commits_only_with_its_rest() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pac.db").display());
        let s = SqlStore::open(&url, 0).await.unwrap();
        let upserts = Arc::new(
            (0..3000)
                .map(|i| ResourceWrite {
                    key: format!("t|a|r|{i}"),
                    rtype: "t".into(),
                    id: i.to_string(),
                    account: "a".into(),
                    region: "r".into(),
                    source: "src".into(),
                    doc: format!("{{\"pad\":\"{}\"}}", "x".repeat(2000)),
                    hash: "h".into(),
                })
                .collect::<Vec<_>>(),
        );
        let scan_id = s.begin_scan("src", "api", 3).await.unwrap();
        let write = ScanWrite {
            scan_id,
            source: "src".into(),
            at: 3,
            status: ScanStatus::Completed,
            seen_all: true,
            upserts: upserts.clone(),
            ..Default::default()
        };
        // A write begun with the resources: its channel for the rest, and
        // the writer.
        let begin = || {
            let (early_tx, early_rx) = oneshot::channel();
            let (rest_tx, rest_rx) = oneshot::channel::<ScanWrite>();
            let st = s.clone();
            let writer = tokio::spawn(async move { st.apply_scan_early(early_rx, rest_rx).await });
            let early = EarlyResources {
                upserts: upserts.clone(),
                at: 3,
            };
            early_tx.send(early).ok().unwrap();
            (rest_tx, writer)
        };
        // Abandoned after its resources: nothing of it is committed.
        let (rest_tx, writer) = begin();
        drop(rest_tx);
        let err = writer.await.unwrap().unwrap_err();
        assert!(matches!(err, StoreError::Abandoned), "{err}");
        assert!(s.resource("7").await.unwrap().is_none());
        // Given both: the resources are written once, with the rest.
        let (rest_tx, writer) = begin();
        rest_tx.send(write).ok().unwrap();
        writer.await.unwrap().unwrap();
        let (rows, total) = s.resources(&ResourceFilter::default(), 1, 0).await.unwrap();
        assert_eq!(total, 3000);
        assert_eq!(rows[0].first_seen, 3);
        assert_eq!(
            s.scan(scan_id).await.unwrap().unwrap().status,
            ScanStatus::Completed
        );
        // A checkpoint (the one after the commit runs in the background)
        // copies the whole log into the database file.
        let mut ran = (-1, -1);
        for _ in 0..100 {
            // -1: the background one is running.
            ran = s.checkpoint().await.unwrap();
            if ran.0 >= 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let (log, copied) = ran;
        assert!(log > 1000 && copied == log, "{log} {copied}");
        let db = std::fs::metadata(dir.path().join("pac.db")).unwrap().len();
        assert!(db > 6_000_000, "{db}");
        // The store takes the next write as usual.
        let scan_id = s.begin_scan("src", "api", 4).await.unwrap();
        s.apply_scan(ScanWrite {
            scan_id,
            source: "src".into(),
            at: 4,
            status: ScanStatus::Completed,
            seen_all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn unparsable_json_columns_read_as_their_documented_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pac.db").display());
        let s = SqlStore::open(&url, 0).await.unwrap();
        let id = s.begin_scan("src", "api", 1).await.unwrap();
        // Text the store never writes: a file edited by hand or damaged.
        for sql in [
            "UPDATE scans SET source_errors = '{oops', ingest_errors = 'nope'",
            "INSERT INTO source_reads (source, status, scan_id, at, since, scopes, message) VALUES ('src', 'partial', 1, 1, 1, 'not json', NULL)",
            "INSERT INTO asset_groups (name, title, members, created_by, created_at) VALUES ('g', NULL, '[{', 'me', 1)",
        ] {
            sqlx::query(sql).execute(s.pool()).await.unwrap();
        }
        let scan = s.scan(id).await.unwrap().unwrap();
        assert_eq!(
            (scan.source_errors, scan.ingest_errors),
            (Value::Null, Value::Null)
        );
        let unread = s.unread().await.unwrap();
        assert_eq!(
            unread["src"].scopes,
            [pac_connectors::Scope::default()],
            "unparsable scopes: the whole source is unknown, never all read"
        );
        assert!(s.api_groups().await.unwrap()[0].members.is_empty());
        // A status no enum knows fails the read instead of passing through.
        sqlx::query("UPDATE scans SET status = 'exploded'")
            .execute(s.pool())
            .await
            .unwrap();
        assert!(s.scan(id).await.is_err());
    }

    fn issue(id: i64, scan_id: i64) -> NewIssue {
        let sev = ["critical", "high", "medium", "low"][(id % 4) as usize];
        NewIssue {
            id,
            rule: format!("p{}.r", id % 3),
            policy: format!("p{}", id % 3),
            rkey: format!("t|a|r|{id}"),
            rid: id.to_string(),
            rtype: "t".into(),
            account: "a".into(),
            region: "r".into(),
            severity: sev.into(),
            category: "security".into(),
            status: if id % 5 == 0 {
                IssueStatus::Exempted
            } else {
                IssueStatus::Open
            },
            message: format!("m{id} of scan {scan_id}"),
            explanation: None,
            exception: (id % 5 == 0).then(|| "X".to_string()),
        }
    }

    /// 2,500 issues (more than one multi-row chunk) written by one scan.
    async fn store_with_issues() -> (tempfile::TempDir, SqlStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pac.db").display());
        let s = SqlStore::open(&url, 0).await.unwrap();
        let scan_id = s.begin_scan("src", "api", 1).await.unwrap();
        let mut w = ScanWrite {
            scan_id,
            source: "src".into(),
            at: 1,
            status: ScanStatus::Completed,
            ..Default::default()
        };
        for id in 1..=2500 {
            w.new_issues.push(issue(id, scan_id));
            w.events.push((id, "opened".into(), String::new()));
            if id % 2 == 0 {
                w.member_adds.push(("even".into(), format!("t|a|r|{id}")));
            }
        }
        s.apply_scan(w).await.unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn issue_filters_combine_and_pages_cover_every_match_once() {
        let (_dir, s) = store_with_issues().await;
        let want = |id: i64, f: &IssueFilter| {
            f.policy
                .as_deref()
                .is_none_or(|p| p == format!("p{}", id % 3))
                && f.severity
                    .as_deref()
                    .is_none_or(|v| v == ["critical", "high", "medium", "low"][(id % 4) as usize])
                && f.status.is_none_or(|v| {
                    v == if id % 5 == 0 {
                        IssueStatus::Exempted
                    } else {
                        IssueStatus::Open
                    }
                })
                && f.groups.as_deref().is_none_or(|_| id % 2 == 0)
        };
        let filters = [
            IssueFilter::default(),
            IssueFilter {
                status: Some(IssueStatus::Open),
                ..Default::default()
            },
            IssueFilter {
                groups: Some(vec!["even".into()]),
                ..Default::default()
            },
            IssueFilter {
                policy: Some("p1".into()),
                severity: Some("high".into()),
                ..Default::default()
            },
            IssueFilter {
                policy: Some("p2".into()),
                status: Some(IssueStatus::Exempted),
                severity: Some("critical".into()),
                groups: Some(vec!["even".into()]),
                ..Default::default()
            },
            IssueFilter {
                status: Some(IssueStatus::Open),
                groups: Some(vec!["even".into()]),
                ..Default::default()
            },
        ];
        for f in &filters {
            let expected: Vec<i64> = (1..=2500).filter(|&id| want(id, f)).collect();
            assert!(!expected.is_empty(), "{f:?} matches something");
            let mut seen = Vec::new();
            let mut offset = 0;
            loop {
                let (rows, total) = s.issues(f, 97, offset).await.unwrap();
                assert_eq!(total, expected.len() as i64, "{f:?}");
                if rows.is_empty() {
                    break;
                }
                seen.extend(rows.iter().map(|r| r.id));
                offset += 97;
            }
            assert_eq!(seen, expected, "{f:?}: pages in id order, each match once");
            // The same list by keyset pages.
            let mut keyset = Vec::new();
            let mut g = IssueFilter {
                after: None,
                ..f.clone()
            };
            loop {
                let (rows, total) = s.issues(&g, 97, 0).await.unwrap();
                assert_eq!(
                    total,
                    expected.len() as i64,
                    "{g:?}: the total ignores `after`"
                );
                let Some(last) = rows.last() else { break };
                g.after = Some(last.id);
                keyset.extend(rows.iter().map(|r| r.id));
            }
            assert_eq!(keyset, expected, "{f:?} by keyset");
        }
    }

    #[tokio::test]
    async fn issue_totals_follow_the_next_scan() {
        let (_dir, s) = store_with_issues().await;
        let open = IssueFilter {
            status: Some(IssueStatus::Open),
            ..Default::default()
        };
        let before = s.issues(&open, 10, 0).await.unwrap().1;
        assert_eq!(before, 2000);
        let g = s.generation();
        let scan_id = s.begin_scan("src", "api", 2).await.unwrap();
        let mut w = ScanWrite {
            scan_id,
            source: "src".into(),
            at: 2,
            status: ScanStatus::Completed,
            ..Default::default()
        };
        for id in 1..=10 {
            w.issue_updates.push(IssueUpdate {
                id,
                status: IssueStatus::Closed,
                message: String::new(),
                exception: None,
                reopened: false,
                explanation: None,
                close_reason: Some(CloseReason::Passed),
            });
        }
        w.new_issues.push(issue(2501, scan_id));
        s.apply_scan(w).await.unwrap();
        assert!(
            s.generation() > g,
            "a committed scan invalidates cached reads"
        );
        // Ids 1..=10 held 8 open issues (5 and 10 were exempted); 2501 is open.
        assert_eq!(s.issues(&open, 10, 0).await.unwrap().1, before - 8 + 1);
        // A failed scan writes nothing and changes no generation.
        let g = s.generation();
        let id = s.begin_scan("src", "api", 3).await.unwrap();
        s.fail_scan(id, 3, "boom").await.unwrap();
        assert_eq!(s.generation(), g);
    }
}
