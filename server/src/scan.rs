//! The scan pipeline: collect → validate → evaluate with the JIT →
//! reconcile issues → roll up compliance → schedule auto-fixes, committed
//! as one transaction.
//!
//! A scope the source could not read (an account, a region) is `unknown`:
//! its resources keep their last known documents (so cross-resource rules
//! still see them), their results count as unknown in the figures, and
//! their issues, memberships and jobs are left exactly as they were.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pac_compiler::Program;
use pac_connectors::{CollectPlan, Event, Scope, SourceError};
use pac_runtime::{Env, EvalReport, Frame, Inventory, Outcome};
use pac_stdlib::Value;
use rayon::prelude::*;
use serde_json::json;
use tokio::sync::mpsc;

use crate::Server;
use crate::compliance::{self, UnreadSource};
use crate::program::Loaded;
use crate::sources::Built;
use crate::store::{
    CloseReason, HistoryRow, IssueStatus, IssueUpdate, NewIssue, NewJob, ReadStatus, ResourceWrite,
    ScanBase, ScanCounts, ScanStatus, ScanWrite, SourceRead,
};

/// `type|account|region|id`: a resource's identity across scans.
pub fn resource_key(rtype: &str, account: &str, region: &str, id: &str) -> String {
    format!("{rtype}|{account}|{region}|{id}")
}

/// (type, account, region) of a key.
fn key_parts(key: &str) -> (&str, &str, &str) {
    let mut it = key.splitn(4, '|');
    (
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
    )
}

pub(crate) fn in_scope(scope: &Scope, rtype: &str, account: &str, region: &str) -> bool {
    scope.account.as_deref().is_none_or(|a| a == account)
        && scope.region.as_deref().is_none_or(|r| r == region)
        && scope
            .resource_type
            .as_deref()
            .is_none_or(|t| t == rtype || rtype.split('.').nth(1) == Some(t))
}

/// The stored hash of a document's text, by which changes are found:
/// BLAKE3 (specified, the same in every build and Rust release; and
/// collision-resistant, so that a document a hostile source crafts cannot
/// pass for an unchanged one), as 64 hex digits. Migration 0005 replaced
/// the earlier `DefaultHasher` values.
pub fn hash_text(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex().to_string()
}

/// A Pac value as JSON (auto-fix arguments).
pub fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Missing => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Str(s) => json!(&**s),
        Value::List(xs) => serde_json::Value::Array(xs.iter().map(value_json).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), value_json(v)))
                .collect(),
        ),
        other => json!(other.to_string()),
    }
}

/// What a scan collected from its source.
struct Collected {
    docs: Vec<serde_json::Value>,
    failed: Vec<SourceError>,
}

/// The collect stage. A connector that could collect nothing at all
/// (`Err`) is a failure of the whole source, judged like any other.
async fn collect(source: &Built) -> Collected {
    let (tx, mut rx) = mpsc::channel::<Event>(4096);
    let plan = CollectPlan::everything();
    let connector = &source.connector;
    let run = connector.collect(&plan, tx);
    let mut docs = Vec::new();
    let mut failed = Vec::new();
    let drain = async {
        while let Some(e) = rx.recv().await {
            match e {
                Event::Document(d) => docs.push(d),
                Event::Error(e) => failed.push(e),
                Event::Complete(_) | Event::Progress { .. } => {}
            }
        }
    };
    let (res, ()) = tokio::join!(run, drain);
    if let Err(e) = res {
        failed.push(SourceError {
            source_name: e.source_name,
            scope: Scope::default(),
            message: format!("could not be collected at all: {}", e.message),
        });
    }
    Collected { docs, failed }
}

/// Runs one scan of `source` and commits it; returns the scan id.
pub async fn run(server: &Arc<Server>, source: &Built, trigger: &str) -> Result<i64, String> {
    let _one_at_a_time = server.scan_lock.lock().await;
    let store = &server.store;
    let at = server.clock.now();
    let scan_id = store
        .begin_scan(&source.name, trigger, at)
        .await
        .map_err(|e| e.to_string())?;
    match scan_inner(server, source, scan_id, at, std::time::Instant::now()).await {
        Ok(()) => Ok(scan_id),
        Err(e) => {
            tracing::error!(scan = scan_id, source = %source.name, "scan failed: {e}");
            let _ = store.fail_scan(scan_id, server.clock.now(), &e).await;
            Err(e)
        }
    }
}

async fn scan_inner(
    server: &Arc<Server>,
    source: &Built,
    scan_id: i64,
    at: i64,
    started: std::time::Instant,
) -> Result<(), String> {
    let store = &server.store;
    let t0 = std::time::Instant::now();
    let loaded = server.load_program().await?;
    let collected = collect(source).await;
    // The previous scan's state, when nothing else committed since and
    // the same policy set applies (a partial collection takes the cold
    // path, which carries the stored documents of what failed).
    let warm = server
        .warm
        .lock()
        .ok()
        .and_then(|mut w| w.take())
        .filter(|w| {
            w.generation == store.generation()
                && Arc::ptr_eq(&w.program, &loaded)
                && collected.failed.is_empty()
        });
    let (base, mut others, mut own_stored) = match warm {
        Some(ref w) => {
            let mut base = w.base.clone();
            store
                .refresh_counters(&mut base)
                .await
                .map_err(|e| e.to_string())?;
            base.confirmed_removals = store
                .confirmed_removals(&source.name)
                .await
                .map_err(|e| e.to_string())?;
            (base, Vec::new(), Vec::new())
        }
        None => {
            let base = store
                .scan_base(&source.name)
                .await
                .map_err(|e| e.to_string())?;
            let others = store
                .documents(None, Some(&source.name))
                .await
                .map_err(|e| e.to_string())?;
            let own_stored = if collected.failed.is_empty() {
                Vec::new()
            } else {
                store
                    .documents(Some(&source.name), None)
                    .await
                    .map_err(|e| e.to_string())?
            };
            (base, others, own_stored)
        }
    };
    // Validate, then judge the read before anything is reconciled.
    let (mut validated, base, mut warm) = {
        let (loaded, name) = (loaded.clone(), source.name.clone());
        tokio::task::spawn_blocking(move || {
            let v = validate(&loaded, &name, collected, &base, warm.as_ref());
            (v, base, warm)
        })
        .await
        .map_err(|e| format!("the scan's validation stopped: {e}"))?
    };
    let limit = RemovalLimit {
        max_percent: source
            .max_removed_percent
            .unwrap_or(server.settings.max_removed_percent),
        confirmed: base
            .confirmed_removals
            .map(|n| usize::try_from(n).unwrap_or(0)),
    };
    let verdict = judge_read(&validated.facts(&base, &source.name), &limit);
    if verdict.holds() {
        // Nothing of this read applies: the source's stored documents are
        // carried as they are (read back: the warm path holds no documents).
        validated.hold();
        if warm.take().is_some() {
            others = store
                .documents(None, Some(&source.name))
                .await
                .map_err(|e| e.to_string())?;
        }
        if own_stored.is_empty() {
            own_stored = store
                .documents(Some(&source.name), None)
                .await
                .map_err(|e| e.to_string())?;
        }
        tracing::warn!(scan = scan_id, source = %source.name, "{}", verdict.explain(&source.name, scan_id));
    }
    let t_read = t0.elapsed();
    let weights = server.settings.weights.clone();
    let name = source.name.clone();
    let complete = verdict == ReadVerdict::Complete;
    let program = loaded.clone();
    let (mut write, evaluated, mut base) = tokio::task::spawn_blocking(move || {
        let (write, evaluated) = compute(
            &loaded,
            &name,
            scan_id,
            at,
            validated,
            &verdict,
            &base,
            others,
            own_stored,
            &weights,
            warm.as_ref(),
        );
        drop(warm);
        // The state the store will hold once this write commits.
        let mut base = base;
        base.apply(&write);
        (write, evaluated, base)
    })
    .await
    .map_err(|e| format!("the scan's evaluation stopped: {e}"))?;
    let t_compute = t0.elapsed();
    let new_jobs = write.new_jobs.len();
    let reused = evaluated.reused;
    write.finished_at = server.clock.now();
    write.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let summary = ScanSummary::of(&write);
    store.apply_scan(write).await.map_err(|e| e.to_string())?;
    summary.log();
    server
        .last_reused
        .store(reused, std::sync::atomic::Ordering::Relaxed);
    // Only a complete scan's state is kept: a partial one carries stored
    // documents the warm path does not know how to carry.
    if complete {
        base.waiting_jobs.clear();
        if let Ok(mut w) = server.warm.lock() {
            *w = Some(Warm {
                generation: store.generation(),
                program,
                base,
                inv: evaluated.inv,
                keys: evaluated.keys,
                report: evaluated.report,
            });
        }
    }
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::debug!(
        scan = scan_id,
        source = %source.name,
        new_jobs,
        reused,
        native = evaluated.native,
        collect_ms = ms(t_read),
        compute_ms = ms(t_compute - t_read),
        commit_ms = ms(t0.elapsed() - t_compute),
        "scan committed: timings"
    );
    Ok(())
}

/// The one plain line a scan logs at INFO: what it read, what it did to
/// issues, and the figure it left (docs/server.md, "Logs").
struct ScanSummary {
    scan: i64,
    source: String,
    status: ScanStatus,
    counts: crate::store::ScanCounts,
    rejected: i64,
    overall: Option<f64>,
    coverage: Option<u64>,
    duration_ms: i64,
}

impl ScanSummary {
    fn of(w: &ScanWrite) -> Self {
        // The whole estate's roll-up is the one of the unnamed group.
        let roll = w
            .compliance
            .iter()
            .find(|(g, _)| g.is_empty())
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok());
        ScanSummary {
            scan: w.scan_id,
            source: w.source.clone(),
            status: w.status,
            counts: w.counts,
            rejected: w.ingest_error_count,
            overall: roll.as_ref().and_then(|r| r["overall"].as_f64()),
            coverage: roll
                .as_ref()
                .and_then(|r| r["coverage"]["percent"].as_u64()),
            duration_ms: w.duration_ms,
        }
    }

    fn log(&self) {
        let c = &self.counts;
        let overall = self
            .overall
            .map_or_else(|| "unknown".to_string(), |o| o.to_string());
        let coverage = self
            .coverage
            .map_or_else(|| "unknown".to_string(), |p| format!("{p}%"));
        tracing::info!(
            scan = self.scan,
            source = %self.source,
            status = %self.status,
            resources = c.resources,
            rejected = self.rejected,
            removed = c.removed,
            opened = c.opened,
            closed = c.closed,
            reopened = c.reopened,
            exempted = c.exempted,
            unknown = c.unknown,
            overall = %overall,
            coverage = %coverage,
            duration_ms = self.duration_ms,
            "scan {} of {} {}: {} resources read, {} rejected, {} removed; issues {} opened, {} closed, {} reopened, {} exempted; {} results unknown; overall {}, coverage {}; {} ms",
            self.scan,
            self.source,
            self.status,
            c.resources,
            self.rejected,
            c.removed,
            c.opened,
            c.closed,
            c.reopened,
            c.exempted,
            c.unknown,
            overall,
            coverage,
            self.duration_ms
        );
    }
}

/// What a committed scan leaves in memory for the next one, so that a
/// rescan neither re-reads the stored state nor re-parses, re-validates and
/// re-evaluates what did not change (docs/server.md, "Rescans").
pub(crate) struct Warm {
    /// The store generation right after this scan committed: any other
    /// commit in between makes this state stale.
    pub generation: u64,
    pub program: Arc<Loaded>,
    /// The state the store holds after the commit.
    pub base: ScanBase,
    pub inv: Inventory,
    pub keys: Vec<String>,
    pub report: EvalReport,
}

/// The part of [`Warm`] that [`compute`] produces.
pub(crate) struct Evaluated {
    pub inv: Inventory,
    pub keys: Vec<String>,
    pub report: EvalReport,
    /// Resources taken over from the earlier scan, and evaluated with the
    /// native engine.
    pub reused: usize,
    pub native: bool,
}

/// A rescan evaluates with the interpreter when fewer than this share of
/// the resources changed: building the native engine's layout for the
/// whole inventory costs more than interpreting the few rules that must
/// run in full (docs/server.md).
const NATIVE_BELOW_REUSE: f64 = 0.9;

/// The validate stage's output: every collected document as text and
/// hash, and the resources the schemas accepted (unchanged ones taken over
/// from the warm state).
pub(crate) struct Validated {
    /// Documents collected, accepted or not.
    documents: usize,
    texts: Vec<String>,
    hashes: Vec<String>,
    /// The accepted resources, in document order.
    inv: Inventory,
    ingest: Vec<pac_runtime::IngestError>,
    /// How many resources of `inv` this read accepted (all of it here;
    /// [`compute`] appends the carried ones).
    fresh: usize,
    /// Each accepted resource's warm counterpart.
    same_as: Vec<Option<usize>>,
    /// Each accepted resource's document: its position in `texts`.
    fresh_doc: Vec<usize>,
    fresh_keys: HashSet<String>,
    failed_scopes: Vec<Scope>,
    source_errors: serde_json::Value,
    parse_ms: u64,
}

/// Validates what was collected against the compiled schemas (taking the
/// warm state's unchanged documents as they were). No I/O: runs on a
/// blocking thread.
fn validate(
    loaded: &Loaded,
    source: &str,
    collected: Collected,
    base: &ScanBase,
    warm: Option<&Warm>,
) -> Validated {
    let schemas = &loaded.program().schemas;
    let phase = std::time::Instant::now();
    // Validate what was collected (taking unchanged documents as they were).
    // Text, hash and key of every document, on all cores; the parsed JSON
    // is freed on a thread of its own (100k documents take a while).
    type Keys = Vec<Option<String>>;
    let (texts, (hashes, doc_keys)): (Vec<String>, (Vec<String>, Keys)) = collected
        .docs
        .par_iter()
        .map(|d| {
            let text = match d {
                // A document the connector could not parse: its raw
                // text, so that the reader reports the syntax error.
                serde_json::Value::String(raw) => raw.replace(['\n', '\r'], " "),
                other => other.to_string(),
            };
            let hash = hash_text(&text);
            (text, (hash, doc_key(d)))
        })
        .unzip();
    let failed_scopes: Vec<Scope> = collected.failed.iter().map(|e| e.scope.clone()).collect();
    let source_errors = serde_json::to_value(&collected.failed).unwrap_or_default();
    let docs = collected.docs;
    std::thread::spawn(move || drop(docs));
    let warm_index: HashMap<&str, usize> = warm
        .map(|w| {
            w.keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    // Line (1-based position) → the warm resource it is.
    let mut known_at: Vec<Option<usize>> = vec![None; texts.len() + 1];
    let mut items = Vec::with_capacity(texts.len());
    for (k, (key, text)) in doc_keys.iter().zip(&texts).enumerate() {
        let line = k + 1;
        let known = warm.and_then(|w| {
            let key = key.as_ref()?;
            let i = *warm_index.get(key.as_str())?;
            let (h, s) = base.resources.get(key)?;
            (*h == hashes[k] && s == source).then_some((w, i))
        });
        items.push(match known {
            Some((w, i)) => {
                known_at[line] = Some(i);
                pac_runtime::Incoming::Known(line, w.inv.resources[i].clone())
            }
            None => pac_runtime::Incoming::Text(line, text.clone()),
        });
    }
    let label = format!("source `{source}` document");
    let (inv, ingest) = Inventory::from_incoming(schemas, &label, items);
    let fresh = inv.len();
    let same_as: Vec<Option<usize>> = inv.resources.iter().map(|r| known_at[r.line]).collect();
    // Each fresh resource's document: its position among `texts`.
    let fresh_doc: Vec<usize> = inv
        .resources
        .iter()
        .map(|r| r.line.wrapping_sub(1))
        .collect();

    let fresh_keys: HashSet<String> = inv
        .resources
        .iter()
        .map(|r| resource_key(&r.type_name, &r.account, &r.region, &r.id))
        .collect();
    let documents = texts.len();
    Validated {
        documents,
        texts,
        hashes,
        inv,
        ingest,
        fresh,
        same_as,
        fresh_doc,
        fresh_keys,
        failed_scopes,
        source_errors,
        parse_ms: phase.elapsed().as_millis() as u64,
    }
}

impl Validated {
    /// What [`judge_read`] needs to know about this read of `source`.
    fn facts(&self, base: &ScanBase, source: &str) -> ReadFacts {
        let own = base
            .resources
            .iter()
            .filter(|(_, (_, s))| s == source)
            .map(|(k, _)| k.as_str());
        ReadFacts::new(
            own,
            &self.fresh_keys,
            &self.failed_scopes,
            self.documents,
            self.fresh,
        )
    }

    /// Drops everything this read accepted, and marks the whole source
    /// unread: its stored resources are carried as they are (unknown).
    fn hold(&mut self) {
        self.inv = Inventory::default();
        self.fresh = 0;
        self.same_as.clear();
        self.fresh_doc.clear();
        self.fresh_keys.clear();
        self.failed_scopes = vec![Scope::default()];
    }
}

// ---------------------------------------------------------------------------
// Judge the read: may it change the source's state at all?
// ---------------------------------------------------------------------------

/// What a read of a source looks like next to what the store knows of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadFacts {
    /// Documents collected (accepted or rejected by the schemas).
    pub documents: usize,
    /// Of them, accepted.
    pub accepted: usize,
    /// Current resources of the source in the store.
    pub known: usize,
    /// Of them, not read again and not in a failed scope: what the read
    /// would remove.
    pub would_remove: usize,
    /// Some scope failed.
    pub partial: bool,
    /// The failed scopes cover every resource the source has and read:
    /// nothing of it was really read.
    pub whole_source_failed: bool,
}

impl ReadFacts {
    pub fn new<'a>(
        own_known: impl Iterator<Item = &'a str>,
        fresh: &HashSet<String>,
        failed: &[Scope],
        documents: usize,
        accepted: usize,
    ) -> ReadFacts {
        let failed_at = |key: &str| {
            let (t, a, r) = key_parts(key);
            failed.iter().any(|s| in_scope(s, t, a, r))
        };
        let (mut known, mut would_remove, mut all_known_failed) = (0, 0, true);
        for k in own_known {
            known += 1;
            let in_failed = !failed.is_empty() && failed_at(k);
            all_known_failed &= in_failed;
            if !in_failed && !fresh.contains(k) {
                would_remove += 1;
            }
        }
        let whole_source_failed = failed.iter().any(|s| *s == Scope::default())
            || (!failed.is_empty() && all_known_failed && fresh.iter().all(|k| failed_at(k)));
        ReadFacts {
            documents,
            accepted,
            known,
            would_remove,
            partial: !failed.is_empty(),
            whole_source_failed,
        }
    }
}

/// How much of a source one read may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RemovalLimit {
    /// The share of the known resources, in percent (`max_removed_percent`).
    pub max_percent: u64,
    /// A confirmed suspect read held back this many removals: a read that
    /// removes no more is accepted.
    pub confirmed: Option<usize>,
}

/// The judgement of a read (docs/server.md, "Failed and suspect reads").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReadVerdict {
    /// Everything was read: changes and removals apply.
    Complete,
    /// Some scopes failed: their resources are unknown, the rest applies.
    Partial,
    /// Nothing usable was read (why): nothing of the source changes and
    /// its resources are unknown.
    Failed(String),
    /// The read would remove more than the allowed share: nothing of the
    /// source changes until the scan is confirmed.
    Suspect {
        would_remove: usize,
        known: usize,
        max_percent: u64,
    },
}

/// The judge stage: whether a read may change its source's state. Pure.
pub(crate) fn judge_read(f: &ReadFacts, limit: &RemovalLimit) -> ReadVerdict {
    if f.whole_source_failed {
        return ReadVerdict::Failed("the source could not be read (see source_errors)".to_string());
    }
    if f.documents > 0 && f.accepted == 0 {
        return ReadVerdict::Failed(format!(
            "all {} document(s) it returned were rejected (see ingest_errors)",
            f.documents
        ));
    }
    let too_many = (f.would_remove as u128) * 100 > u128::from(limit.max_percent) * f.known as u128;
    let confirmed = limit.confirmed.is_some_and(|n| f.would_remove <= n);
    if f.would_remove > 0 && too_many && !confirmed {
        return ReadVerdict::Suspect {
            would_remove: f.would_remove,
            known: f.known,
            max_percent: limit.max_percent,
        };
    }
    if f.partial {
        ReadVerdict::Partial
    } else {
        ReadVerdict::Complete
    }
}

impl ReadVerdict {
    /// Nothing of the read applies.
    pub fn holds(&self) -> bool {
        matches!(self, ReadVerdict::Failed(_) | ReadVerdict::Suspect { .. })
    }

    /// The scan record's status.
    pub fn status(&self) -> ReadStatus {
        match self {
            ReadVerdict::Complete => ReadStatus::Completed,
            ReadVerdict::Partial => ReadStatus::Partial,
            ReadVerdict::Failed(_) => ReadStatus::Failed,
            ReadVerdict::Suspect { .. } => ReadStatus::Suspect,
        }
    }

    /// What the scan record says about a held read, and what to do.
    pub fn explain(&self, source: &str, scan_id: i64) -> String {
        match self {
            ReadVerdict::Complete | ReadVerdict::Partial => String::new(),
            ReadVerdict::Failed(why) => format!(
                "the read of source `{source}` failed: {why}; nothing of it was removed, changed or closed, and its resources count as unknown until a read succeeds"
            ),
            ReadVerdict::Suspect {
                would_remove,
                known,
                max_percent,
            } => format!(
                "held as suspect: this read of source `{source}` would remove {would_remove} of its {known} resources ({}%), more than the {max_percent}% allowed (`max_removed_percent`); nothing of it was removed, changed or closed, and its resources count as unknown. If they are really gone, confirm with POST /api/v1/scans/{scan_id}/confirm (the next read may then remove up to {would_remove}); if not, fix the source",
                would_remove * 100 / (*known).max(1)
            ),
        }
    }
}

/// Everything a scan writes, computed from what it collected and the
/// stored state (no I/O: runs on a blocking thread). With `warm` (the
/// previous scan's state, still current), unchanged documents are taken
/// from it instead of being parsed, and their results too where a rule
/// reads only its resource.
#[allow(clippy::too_many_arguments)]
fn compute(
    loaded: &Loaded,
    source: &str,
    scan_id: i64,
    at: i64,
    validated: Validated,
    verdict: &ReadVerdict,
    base: &ScanBase,
    others: Vec<(String, String, String)>,
    own_stored: Vec<(String, String, String)>,
    weights: &compliance::Weights,
    warm: Option<&Warm>,
) -> (ScanWrite, Evaluated) {
    let p: &Program = loaded.program();
    let schemas = &p.schemas;
    let Validated {
        texts,
        hashes,
        mut inv,
        mut ingest,
        fresh,
        mut same_as,
        fresh_doc,
        fresh_keys,
        failed_scopes,
        source_errors,
        parse_ms,
        ..
    } = validated;
    // Milliseconds per phase, for the scan's log line.
    let mut phases: Vec<(&'static str, u64)> = vec![("parse", parse_ms)];
    let phase = std::time::Instant::now();
    // Resources of failed scopes keep their last known documents.
    let mut unknown_keys: HashSet<String> = HashSet::new();
    let mut carried = String::new();
    for (key, _, doc) in &own_stored {
        let (t, a, r) = key_parts(key);
        if !fresh_keys.contains(key) && failed_scopes.iter().any(|s| in_scope(s, t, a, r)) {
            unknown_keys.insert(key.clone());
            carried.push_str(doc);
            carried.push('\n');
        }
    }
    for (_, _, doc) in &others {
        carried.push_str(doc);
        carried.push('\n');
    }
    if !carried.is_empty() {
        let (old, errs) = Inventory::read_str(schemas, "stored inventory", &carried);
        ingest.extend(errs);
        ingest.extend(inv.extend(old));
    }
    // Other sources' resources, as the previous scan held them (in the
    // stored order, by key, as the cold path reads them).
    if let Some(w) = warm {
        let mut theirs: Vec<(&str, usize)> = w
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| base.resources.get(*k).is_some_and(|(_, s)| s != source))
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        theirs.sort();
        let items: Vec<pac_runtime::Incoming> = theirs
            .iter()
            .enumerate()
            .map(|(k, &(_, i))| pac_runtime::Incoming::Known(k + 1, w.inv.resources[i].clone()))
            .collect();
        let (old, errs) = Inventory::from_incoming(schemas, "stored inventory", items);
        ingest.extend(errs);
        ingest.extend(inv.extend(old));
        // `extend` keeps them in order, minus those a fresh document replaced.
        same_as.extend(
            theirs
                .iter()
                .filter(|(k, _)| !fresh_keys.contains(*k))
                .map(|&(_, i)| Some(i)),
        );
    }
    same_as.resize(inv.len(), None);
    let keys: Vec<String> = inv
        .resources
        .iter()
        .map(|r| resource_key(&r.type_name, &r.account, &r.region, &r.id))
        .collect();
    // Resources of other sources whose last read left them unknown are
    // unknown here too (never compliant by default).
    if base.unread.keys().any(|s| s != source) {
        for k in &keys {
            let Some(read) = base
                .resources
                .get(k)
                .filter(|(_, s)| s != source)
                .and_then(|(_, s)| base.unread.get(s))
            else {
                continue;
            };
            let (t, a, r) = key_parts(k);
            if read.scopes.iter().any(|s| in_scope(s, t, a, r)) {
                unknown_keys.insert(k.clone());
            }
        }
    }
    let unknown_idx: Vec<bool> = keys.iter().map(|k| unknown_keys.contains(k)).collect();

    phases.push(("carry", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // Evaluate: in full, or taking over the results the warm state holds
    // for unchanged resources.
    let env = Env::for_program(p, &inv, at);
    let reused = same_as.iter().filter(|s| s.is_some()).count();
    let native = warm.is_none() || (reused as f64) < NATIVE_BELOW_REUSE * inv.len() as f64;
    let report = {
        let prepared = native.then(|| loaded.engine.prepare(&inv));
        let engine = prepared.as_ref().map(|p| p as &dyn pac_runtime::RuleEngine);
        let earlier = warm.map(|w| pac_runtime::Earlier {
            report: &w.report,
            same_as: &same_as,
        });
        pac_runtime::evaluate_from(p, &env, false, engine, earlier.as_ref())
    };

    phases.push(("evaluate", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    let mut w = ScanWrite {
        scan_id,
        source: source.to_string(),
        at,
        ..Default::default()
    };

    // Inventory changes of this source.
    for (i, r) in inv.resources.iter().enumerate().take(fresh) {
        let key = &keys[i];
        let (text, hash) = (&texts[fresh_doc[i]], &hashes[fresh_doc[i]]);
        match base.resources.get(key) {
            Some((h, s)) if h == hash && s == source => w.seen.push(key.clone()),
            _ => w.upserts.push(ResourceWrite {
                key: key.clone(),
                rtype: r.type_name.to_string(),
                id: r.id.to_string(),
                account: r.account.to_string(),
                region: r.region.to_string(),
                source: source.to_string(),
                doc: text.clone(),
                hash: hash.clone(),
            }),
        }
    }
    w.seen_all = failed_scopes.is_empty();
    for (key, (_, s)) in &base.resources {
        if s == source && !fresh_keys.contains(key) && !unknown_keys.contains(key) {
            w.removed.push(key.clone());
        }
    }
    w.removed.sort();

    phases.push(("inventory", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // Reconcile issues.
    let mut counts = ScanCounts {
        resources: inv.len() as i64,
        changed: w.upserts.len() as i64,
        removed: w.removed.len() as i64,
        results: report.results.len() as i64,
        ..Default::default()
    };
    // Existing issues by (rule index, resource index), built once from the
    // stored state, so that the per-result loop below (400k results at 100k
    // resources) neither allocates keys nor hashes strings. Issues whose rule
    // or resource is gone are closed after the loop.
    let rule_ix: HashMap<&str, u32> = p
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u32))
        .collect();
    let mut res_ix: HashMap<&str, u32> = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        res_ix.entry(k.as_str()).or_insert(i as u32);
    }
    // A key held by two resources maps to its first (one issue per key).
    let canon: Vec<u32> = keys.iter().map(|k| res_ix[k.as_str()]).collect();
    // (rule, resource) → (state, touched by a result of this scan).
    let mut current: HashMap<(u32, u32), (Cow<'_, crate::store::IssueState>, bool)> =
        HashMap::with_capacity(base.issues.len());
    // Issues whose rule or resource is no longer there: (id, status, rkey).
    let mut orphans: Vec<(i64, CloseReason, &String)> = Vec::new();
    for ((rule, key), st) in &base.issues {
        match (rule_ix.get(rule.as_str()), res_ix.get(key.as_str())) {
            (Some(&ri), Some(&xi)) => {
                current.insert((ri, xi), (Cow::Borrowed(st), false));
            }
            (ri, _) if st.status != IssueStatus::Closed => {
                let reason = if ri.is_none() {
                    CloseReason::RuleRemoved
                } else {
                    CloseReason::ResourceRemoved
                };
                orphans.push((st.id, reason, key));
            }
            _ => {}
        }
    }
    let mut next_issue = base.next_issue_id;
    let mut next_job = base.next_job_id;
    // Issues that became open in this scan: (issue id, rule, resource).
    let mut opened_now: Vec<(i64, usize, usize)> = Vec::new();
    let explain = |rule: usize, res: usize| -> Option<String> {
        serde_json::to_string(&pac_runtime::explain::explain_rule(p, &env, rule, res)).ok()
    };
    for r in &report.results {
        let rule = &p.rules[r.rule];
        let key = &keys[r.resource];
        let pair = (r.rule as u32, canon[r.resource]);
        let entry = current.get_mut(&pair);
        if unknown_idx[r.resource] {
            counts.unknown += 1;
            if let Some(e) = entry {
                e.1 = true;
            }
            continue;
        }
        let want: Option<(IssueStatus, Option<&str>)> = match (&r.outcome, r.exempted_by) {
            (Outcome::Error(_), _) => {
                // Unknown: leave the issue as it is.
                counts.unknown += 1;
                if let Some(e) = entry {
                    e.1 = true;
                }
                continue;
            }
            (Outcome::Pass, _) => None,
            (Outcome::Fail, None) => Some((IssueStatus::Open, None)),
            (Outcome::Fail, Some(x)) => {
                Some((IssueStatus::Exempted, Some(p.exceptions[x].name.as_str())))
            }
        };
        let message = r.message.as_deref().unwrap_or_default();
        match (entry, want) {
            (None, None) => {}
            (None, Some((status, exception))) => {
                let res = &inv.resources[r.resource];
                let pol = p.policy_of(r.rule);
                let id = next_issue;
                next_issue += 1;
                let exception = exception.map(str::to_string);
                w.new_issues.push(NewIssue {
                    id,
                    rule: rule.id.clone(),
                    policy: pol.name.clone(),
                    rkey: key.clone(),
                    rid: res.id.to_string(),
                    rtype: res.type_name.to_string(),
                    account: res.account.to_string(),
                    region: res.region.to_string(),
                    severity: pol.severity.name().to_string(),
                    category: pol.category.clone(),
                    status,
                    message: message.to_string(),
                    explanation: explain(r.rule, r.resource),
                    exception: exception.clone(),
                });
                counts.opened += 1;
                w.events.push((id, "opened".into(), message.to_string()));
                if let Some(x) = &exception {
                    counts.exempted += 1;
                    w.events
                        .push((id, "exempted".into(), format!("by exception `{x}`")));
                } else {
                    opened_now.push((id, r.rule, r.resource));
                }
                current.insert(
                    pair,
                    (
                        Cow::Owned(crate::store::IssueState {
                            id,
                            status,
                            message: message.to_string(),
                            exception,
                        }),
                        true,
                    ),
                );
            }
            (Some((old, touched)), None) => {
                *touched = true;
                if old.status != IssueStatus::Closed {
                    close(&mut w, &mut counts, base, old.id, CloseReason::Passed);
                }
            }
            (Some((old, touched)), Some((status, exception))) => {
                *touched = true;
                if old.status == IssueStatus::Closed {
                    counts.reopened += 1;
                    w.events
                        .push((old.id, "reopened".into(), message.to_string()));
                    w.issue_updates.push(IssueUpdate {
                        id: old.id,
                        status,
                        message: message.to_string(),
                        exception: exception.map(str::to_string),
                        reopened: true,
                        explanation: explain(r.rule, r.resource),
                        close_reason: None,
                    });
                    match exception {
                        Some(x) => {
                            counts.exempted += 1;
                            w.events.push((
                                old.id,
                                "exempted".into(),
                                format!("by exception `{x}`"),
                            ));
                        }
                        None => opened_now.push((old.id, r.rule, r.resource)),
                    }
                } else if old.status != status
                    || old.exception.as_deref() != exception
                    || old.message != message
                {
                    if old.exception.as_deref() != exception {
                        match (&old.exception, exception) {
                            (_, Some(x)) => {
                                counts.exempted += 1;
                                w.events.push((
                                    old.id,
                                    "exempted".into(),
                                    format!("by exception `{x}`"),
                                ));
                                if let Some(job) = base.waiting_jobs.get(&old.id) {
                                    w.cancel_jobs
                                        .push((*job, format!("the issue is exempted by `{x}`")));
                                }
                            }
                            (Some(x), None) => {
                                w.events.push((
                                    old.id,
                                    "unexempted".into(),
                                    format!(
                                        "exception `{x}` no longer applies (expired or removed)"
                                    ),
                                ));
                                opened_now.push((old.id, r.rule, r.resource));
                            }
                            (None, None) => {}
                        }
                    }
                    w.issue_updates.push(IssueUpdate {
                        id: old.id,
                        status,
                        message: message.to_string(),
                        exception: exception.map(str::to_string),
                        reopened: false,
                        explanation: None,
                        close_reason: None,
                    });
                }
            }
        }
    }
    // Issues no result touched: the resource is gone, the rule is gone, or
    // the resource left the rule's scope.
    let present: HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut untouched: Vec<(i64, CloseReason)> = Vec::new();
    for ((_, xi), (st, touched)) in &current {
        if *touched
            || st.status == IssueStatus::Closed
            || unknown_keys.contains(&keys[*xi as usize])
        {
            continue;
        }
        untouched.push((st.id, CloseReason::OutOfScope));
    }
    for (id, reason, key) in &orphans {
        if !unknown_keys.contains(*key) {
            untouched.push((*id, *reason));
        }
    }
    untouched.sort();
    for (id, reason) in untouched {
        close(&mut w, &mut counts, base, id, reason);
    }

    phases.push(("reconcile", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // Auto-fix jobs for issues that became open.
    for (issue, ri, res) in opened_now {
        let rule = &p.rules[ri];
        let Some(fix) = &rule.autofix else { continue };
        let resource = &inv.resources[res];
        let mut notify = Vec::new();
        if let Some(expr) = &fix.notify {
            let mut frame = Frame::new(rule.slots, resource.value.clone());
            match pac_runtime::eval(expr, &mut frame, &env) {
                Ok(Value::Str(s)) => notify.push(s.to_string()),
                Ok(Value::List(xs)) => notify.extend(xs.iter().filter_map(|x| match x {
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                })),
                _ => {}
            }
        }
        let args: serde_json::Map<String, serde_json::Value> = fix
            .args
            .iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect();
        w.new_jobs.push(NewJob {
            id: next_job,
            issue_id: issue,
            rule: rule.id.clone(),
            policy: p.policy_of(ri).name.clone(),
            rkey: keys[res].clone(),
            action: fix.action.clone(),
            args: serde_json::Value::Object(args),
            notify,
            due_at: at + fix.after,
        });
        next_job += 1;
    }

    phases.push(("jobs", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // Group memberships (resources of failed scopes keep theirs).
    let mut member_sets: Vec<Vec<bool>> = Vec::with_capacity(p.groups.len());
    let group_names: HashSet<&str> = p.groups.iter().map(|g| g.name.as_str()).collect();
    for (gi, g) in p.groups.iter().enumerate() {
        let mut set = vec![false; inv.len()];
        if let Some(m) = report.groups.get(gi) {
            for &i in &m.members {
                set[i] = true;
            }
        }
        let empty = HashSet::new();
        let old = base.members.get(&g.name).unwrap_or(&empty);
        for (i, k) in keys.iter().enumerate() {
            if unknown_idx[i] {
                continue;
            }
            match (set[i], old.contains(k)) {
                (true, false) => w.member_adds.push((g.name.clone(), k.clone())),
                (false, true) => w.member_removes.push((g.name.clone(), k.clone())),
                _ => {}
            }
        }
        for k in old {
            if !present.contains(k.as_str()) && !unknown_keys.contains(k) {
                w.member_removes.push((g.name.clone(), k.clone()));
            }
        }
        member_sets.push(set);
    }
    for (g, old) in &base.members {
        if !group_names.contains(g.as_str()) {
            for k in old {
                w.member_removes.push((g.clone(), k.clone()));
            }
        }
    }

    phases.push(("groups", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // This read as the next scans must know it, and every source whose
    // resources are unknown now (shown in the coverage).
    let read_note = verdict.explain(source, scan_id);
    let read = SourceRead {
        status: verdict.status(),
        scan_id,
        since: base.unread.get(source).map_or(at, |r| r.since),
        scopes: if verdict == &ReadVerdict::Complete {
            Vec::new()
        } else {
            failed_scopes.clone()
        },
        message: (!read_note.is_empty()).then(|| read_note.clone()),
    };
    let unread = unread_sources(base, source, &read);

    // Compliance: everything, then each group.
    let day = crate::clock::day(at);
    let mut scopes: Vec<(String, Option<&Vec<bool>>)> = vec![(String::new(), None)];
    for (gi, g) in p.groups.iter().enumerate() {
        scopes.push((g.name.clone(), Some(&member_sets[gi])));
    }
    for (gname, members) in scopes {
        let (per_rule, tagging) = compliance::count_results(
            p,
            &report.results,
            |i| unknown_idx[i],
            |i| members.is_none_or(|m| m[i]),
        );
        let mut roll = compliance::rollup(&per_rule, weights, tagging);
        roll.coverage.unread = unread.clone();
        for f in &roll.policies {
            w.history.push(HistoryRow {
                day: day.clone(),
                group: gname.clone(),
                policy: f.name.clone(),
                compliance: f.compliance.map(|c| c as i64),
                assets: f.assets as i64,
                open: f.open as i64,
                exempt: f.exempt as i64,
                unknown: f.unknown as i64,
            });
        }
        w.history.push(HistoryRow {
            day: day.clone(),
            group: gname.clone(),
            policy: String::new(),
            compliance: roll.overall.map(|c| c.floor() as i64),
            assets: roll.coverage.known as i64,
            open: roll.policies.iter().map(|f| f.open as i64).sum(),
            exempt: roll.policies.iter().map(|f| f.exempt as i64).sum(),
            unknown: roll.coverage.unknown as i64,
        });
        w.compliance.push((
            gname,
            serde_json::to_string(&roll).unwrap_or_else(|_| "{}".into()),
        ));
    }

    phases.push(("rollup", phase.elapsed().as_millis() as u64));
    let phase = std::time::Instant::now();
    // The scan record.
    w.status = verdict.status().into();
    if let ReadVerdict::Suspect { would_remove, .. } = verdict {
        w.held_removals = Some(*would_remove as i64);
    }
    let mut notes = Vec::new();
    if let Some(pb) = &loaded.policy_problem {
        notes.push(pb.note());
    }
    if !read_note.is_empty() {
        notes.push(read_note);
    }
    if let Some(pb) = &loaded.api_problem {
        notes.push(pb.clone());
    }
    for warn in &report.warnings {
        if warn.kind == pac_runtime::eval::WarningKind::ExpiredException {
            notes.push(warn.message.clone());
        }
    }
    if verdict == &ReadVerdict::Partial {
        notes.push(format!(
            "{} scope(s) could not be collected; their resources, issues and memberships are unchanged and their results count as unknown",
            failed_scopes.len()
        ));
    }
    w.message = (!notes.is_empty()).then(|| notes.join("; "));
    w.read = Some(read);
    w.source_errors = source_errors;
    w.ingest_error_count = ingest.len() as i64;
    // The first thousand malformed documents are kept in the record.
    w.ingest_errors = serde_json::Value::Array(
        ingest
            .iter()
            .take(1000)
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["text"] = json!(e.to_string());
                v
            })
            .collect(),
    );
    w.counts = counts;
    phases.push(("record", phase.elapsed().as_millis() as u64));
    tracing::debug!(?phases, "scan computed");
    drop(env);
    (
        w,
        Evaluated {
            inv,
            keys,
            report,
            reused,
            native,
        },
    )
}

/// The sources whose resources are unknown after this scan: the others'
/// last reads as stored, and this one's `read`; by name.
fn unread_sources(base: &ScanBase, source: &str, read: &SourceRead) -> Vec<UnreadSource> {
    let own = (!read.scopes.is_empty()).then_some((source, read));
    let mut out: Vec<UnreadSource> = base
        .unread
        .iter()
        .map(|(s, r)| (s.as_str(), r))
        .filter(|(s, _)| *s != source)
        .chain(own)
        .map(|(s, r)| UnreadSource {
            source: s.to_string(),
            status: r.status.to_string(),
            scan: r.scan_id,
            since: crate::clock::rfc3339(r.since),
            scopes: r.scopes.iter().map(ToString::to_string).collect(),
            reason: r.message.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// A collected document's key, read from its JSON (`None` when a part is
/// missing: such a document is parsed, and rejected, as usual).
fn doc_key(d: &serde_json::Value) -> Option<String> {
    let part = |f: &str| d.get(f).and_then(serde_json::Value::as_str);
    Some(resource_key(
        part("type")?,
        part("account")?,
        part("region")?,
        part("id")?,
    ))
}

fn close(
    w: &mut ScanWrite,
    counts: &mut ScanCounts,
    base: &ScanBase,
    id: i64,
    reason: CloseReason,
) {
    counts.closed += 1;
    w.events.push((id, "closed".into(), reason.to_string()));
    w.issue_updates.push(IssueUpdate {
        id,
        status: IssueStatus::Closed,
        message: String::new(),
        exception: None,
        reopened: false,
        explanation: None,
        close_reason: Some(reason),
    });
    if let Some(job) = base.waiting_jobs.get(&id) {
        w.cancel_jobs.push((
            *job,
            format!("the issue closed ({reason}) before the fix was due"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_by_account_region_and_type_or_service() {
        let s = Scope {
            account: Some("1".into()),
            region: None,
            resource_type: Some("s3".into()),
        };
        assert!(in_scope(&s, "aws.s3.bucket", "1", "us-east-1"));
        assert!(!in_scope(&s, "aws.ec2.instance", "1", "us-east-1"));
        assert!(!in_scope(&s, "aws.s3.bucket", "2", "us-east-1"));
        assert!(in_scope(&Scope::default(), "x", "y", "z"));
        assert_eq!(key_parts("a.b|1|r|i|d"), ("a.b", "1", "r"));
    }

    fn keys(ids: &[&str]) -> Vec<String> {
        ids.iter()
            .map(|i| resource_key("t.x", "1", "r", i))
            .collect()
    }

    fn facts(known: &[&str], read: &[&str], failed: &[Scope], documents: usize) -> ReadFacts {
        let known = keys(known);
        let fresh: HashSet<String> = keys(read).into_iter().collect();
        ReadFacts::new(
            known.iter().map(String::as_str),
            &fresh,
            failed,
            documents,
            fresh.len(),
        )
    }

    const LIMIT: RemovalLimit = RemovalLimit {
        max_percent: 20,
        confirmed: None,
    };

    #[test]
    fn a_read_that_keeps_most_resources_is_complete() {
        let ten = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        // 2 of 10 removed: exactly the 20% allowed.
        let f = facts(&ten, &ten[2..], &[], 8);
        assert_eq!((f.known, f.would_remove), (10, 2));
        assert_eq!(judge_read(&f, &LIMIT), ReadVerdict::Complete);
        // A first read of a source the store does not know yet.
        assert_eq!(
            judge_read(&facts(&[], &["a"], &[], 1), &LIMIT),
            ReadVerdict::Complete
        );
        // Nothing known and nothing read (`[]`) is no loss.
        assert_eq!(
            judge_read(&facts(&[], &[], &[], 0), &LIMIT),
            ReadVerdict::Complete
        );
    }

    #[test]
    fn a_read_removing_more_than_the_share_is_suspect_until_confirmed() {
        let four = ["a", "b", "c", "d"];
        let f = facts(&four, &["a", "b"], &[], 2);
        let held = judge_read(&f, &LIMIT);
        assert_eq!(
            held,
            ReadVerdict::Suspect {
                would_remove: 2,
                known: 4,
                max_percent: 20
            }
        );
        assert!(held.holds());
        assert_eq!(held.status(), ReadStatus::Suspect);
        let why = held.explain("demo", 7);
        assert!(
            why.contains("2 of its 4") && why.contains("50%") && why.contains("/scans/7/confirm"),
            "{why}"
        );
        // A confirmation of 2 removals accepts 2, not 3.
        let ok = RemovalLimit {
            confirmed: Some(2),
            ..LIMIT
        };
        assert_eq!(judge_read(&f, &ok), ReadVerdict::Complete);
        let worse = facts(&four, &["a"], &[], 1);
        assert!(judge_read(&worse, &ok).holds());
        // A source allowed 100% never holds; 0% holds any removal.
        let all = RemovalLimit {
            max_percent: 100,
            confirmed: None,
        };
        assert_eq!(
            judge_read(&facts(&four, &[], &[], 0), &all),
            ReadVerdict::Complete
        );
        let none = RemovalLimit {
            max_percent: 0,
            confirmed: None,
        };
        assert!(judge_read(&facts(&four, &["a", "b", "c"], &[], 3), &none).holds());
    }

    #[test]
    fn an_empty_read_of_a_known_source_is_held() {
        let f = facts(&["a", "b"], &[], &[], 0);
        assert!(matches!(
            judge_read(&f, &LIMIT),
            ReadVerdict::Suspect {
                would_remove: 2,
                ..
            }
        ));
    }

    #[test]
    fn a_read_whose_every_document_was_rejected_failed() {
        let f = facts(&["a", "b"], &[], &[], 5);
        let v = judge_read(&f, &LIMIT);
        assert!(
            matches!(&v, ReadVerdict::Failed(why) if why.contains("all 5")),
            "{v:?}"
        );
        assert_eq!(v.status(), ReadStatus::Failed);
        // Even with a 100% allowance: there is nothing to accept.
        let all = RemovalLimit {
            max_percent: 100,
            confirmed: Some(2),
        };
        assert!(judge_read(&f, &all).holds());
    }

    #[test]
    fn a_failure_covering_the_whole_source_fails_the_read() {
        // An unscoped error (a missing file, a command exiting non-zero).
        let f = facts(&["a", "b"], &["a"], &[Scope::default()], 1);
        assert!(f.whole_source_failed);
        assert!(matches!(judge_read(&f, &LIMIT), ReadVerdict::Failed(_)));
        // A typed source's error covers all it has and all it read.
        let typed = Scope {
            resource_type: Some("t.x".into()),
            ..Scope::default()
        };
        let f = facts(&["a", "b"], &["a"], std::slice::from_ref(&typed), 1);
        assert!(f.whole_source_failed);
        assert_eq!(f.would_remove, 0, "nothing in a failed scope is removed");
        // One account of two failed: partial, the other account applies.
        let acct = Scope {
            account: Some("2".into()),
            ..Scope::default()
        };
        let mut known = keys(&["a", "b"]);
        known.push(resource_key("t.x", "2", "r", "c"));
        let fresh: HashSet<String> = keys(&["a"]).into_iter().collect();
        let f = ReadFacts::new(
            known.iter().map(String::as_str),
            &fresh,
            std::slice::from_ref(&acct),
            1,
            1,
        );
        assert!(!f.whole_source_failed);
        assert_eq!((f.known, f.would_remove), (3, 1));
        // 1 of 3 is more than 20%: held even though a scope failed.
        assert!(judge_read(&f, &LIMIT).holds());
        let lax = RemovalLimit {
            max_percent: 50,
            confirmed: None,
        };
        assert_eq!(judge_read(&f, &lax), ReadVerdict::Partial);
    }

    #[test]
    fn document_hashes_are_blake3_in_hex() {
        // The BLAKE3 test vector of the empty input: stored hashes must not
        // change with the Rust release or the build.
        assert_eq!(
            hash_text(""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_ne!(hash_text("{\"a\":1}"), hash_text("{\"a\":2}"));
    }
}
