//! The omni search index beside the store (docs/search.md): every resource,
//! policy, rule, issue and exception in a tantivy index under
//! `<data_dir>/search`, kept up to date by one task.
//!
//! Each scan marks what it changed (resources written or removed, issues
//! of them, memberships); the task reads those back from the store after
//! the scan's commit and applies them in one index commit that records the
//! scan's id. At start the recorded id is compared with the store's last
//! scan: an index that is behind (the process died between the two
//! commits), of another format or of other schemas is rebuilt from the
//! store, and until then answers from what it last committed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use pac_search::{Change, Kind, SearchDoc, SearchIndex, VISIBLE_TO_ALL, WriterOptions};
use serde_json::{Value, json};

use crate::Server;
use crate::store::{IssueRow, IssueStatus, ResourceRow, ScanWrite};

/// Bumped when the documents built here change shape: the index is then
/// rebuilt at start.
const FORMAT: u32 = 1;

/// The index and what it still has to take in.
#[derive(Default)]
pub struct Search {
    index: OnceLock<Arc<SearchIndex>>,
    pending: Mutex<Pending>,
    wake: tokio::sync::Notify,
    /// The scan the index reflects (0: none yet).
    as_of: std::sync::atomic::AtomicI64,
    /// Set once the index holds the whole store (after a rebuild at start).
    ready: std::sync::atomic::AtomicBool,
}

/// Changes not yet indexed, merged as they arrive.
#[derive(Default)]
struct Pending {
    rebuild: bool,
    resources: HashSet<String>,
    issues: HashSet<i64>,
    others: bool,
    scan: i64,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.rebuild && !self.others && self.resources.is_empty() && self.issues.is_empty()
    }
}

/// What the index records with each commit.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct State {
    format: u32,
    /// Of the resource schemas the documents were flattened under.
    schemas: u64,
    scan: i64,
}

fn schemas_fingerprint() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pac_stdlib::schemas::FILES.hash(&mut h);
    h.finish()
}

impl Search {
    /// The index, once [`start`] opened it.
    pub fn index(&self) -> Option<&Arc<SearchIndex>> {
        self.index.get()
    }

    /// Whether the index holds the whole store (it may lag the last scan
    /// by one update).
    pub fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The last scan the index reflects.
    pub fn as_of(&self) -> i64 {
        self.as_of.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Notes what a scan is about to commit (called before its commit, so
    /// the write can be moved into the store).
    pub fn marks(w: &ScanWrite) -> Marks {
        let mut resources: Vec<String> = w.upserts.iter().map(|r| r.key.clone()).collect();
        resources.extend(w.removed.iter().cloned());
        resources.extend(w.new_issues.iter().map(|i| i.rkey.clone()));
        resources.extend(w.member_adds.iter().map(|(_, k)| k.clone()));
        resources.extend(w.member_removes.iter().map(|(_, k)| k.clone()));
        Marks {
            scan: w.scan_id,
            resources,
            issues: w.issue_updates.iter().map(|u| u.id).collect(),
        }
    }

    /// Hands a committed scan's changes to the indexing task.
    pub fn committed(&self, m: Marks) {
        if let Ok(mut p) = self.pending.lock() {
            p.resources.extend(m.resources);
            p.issues.extend(m.issues);
            p.others = true;
            p.scan = p.scan.max(m.scan);
        }
        self.wake.notify_one();
    }

    /// Policies or exceptions changed outside a scan.
    pub fn others_changed(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.others = true;
        }
        self.wake.notify_one();
    }
}

/// The scan an index commit's recorded state names (0: none, or a state
/// this version cannot read).
pub fn scan_of(state: Option<&str>) -> i64 {
    state
        .and_then(|s| serde_json::from_str::<State>(s).ok())
        .map_or(0, |s| s.scan)
}

/// What one scan changed, for the index.
pub struct Marks {
    scan: i64,
    resources: Vec<String>,
    issues: Vec<i64>,
}

/// Opens the index under `dir` and starts the task that keeps it up to
/// date. An index that cannot be opened is logged and search answers 503;
/// nothing else depends on it.
pub async fn start(server: Arc<Server>, dir: &Path) {
    let opened = {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || SearchIndex::open(&dir, WriterOptions::default())).await
    };
    let index = match opened {
        Ok(Ok(i)) => Arc::new(i),
        Ok(Err(e)) => {
            tracing::error!(
                "search is off: {e} (remove {} to start it again)",
                dir.display()
            );
            return;
        }
        Err(e) => {
            tracing::error!("search is off: {e}");
            return;
        }
    };
    let recorded: Option<State> = index
        .state()
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok());
    let last = server.store.last_scan_id().await.unwrap_or(0);
    let current = recorded.as_ref().is_some_and(|s| {
        s.format == FORMAT && s.schemas == schemas_fingerprint() && s.scan >= last
    });
    let search = &server.search;
    if let Some(s) = &recorded {
        search
            .as_of
            .store(s.scan, std::sync::atomic::Ordering::Release);
    }
    if current {
        search
            .ready
            .store(true, std::sync::atomic::Ordering::Release);
    } else {
        tracing::info!(
            "search index: rebuilding from the store ({})",
            match &recorded {
                None => "new".to_string(),
                Some(s) if s.format != FORMAT || s.schemas != schemas_fingerprint() =>
                    "built by another version".to_string(),
                Some(s) => format!("it reflects scan {}, the store scan {last}", s.scan),
            }
        );
    }
    if let Ok(mut p) = search.pending.lock() {
        p.rebuild = !current;
        p.others = true;
        p.scan = p.scan.max(last);
    }
    let _ = search.index.set(index.clone());
    tokio::spawn(async move {
        loop {
            // After the scan that marked the work has returned: its tail
            // (the warm state for the next scan) is not slowed down.
            drop(server.scan_lock.lock().await);
            let work = match server.search.pending.lock() {
                Ok(mut p) => std::mem::take(&mut *p),
                Err(_) => return,
            };
            if work.is_empty() {
                server.search.wake.notified().await;
                continue;
            }
            let (rebuild, scan) = (work.rebuild, work.scan);
            let started = std::time::Instant::now();
            match update(&server, &index, work).await {
                Ok(n) => {
                    let s = &server.search;
                    s.as_of.fetch_max(scan, std::sync::atomic::Ordering::AcqRel);
                    if rebuild {
                        s.ready.store(true, std::sync::atomic::Ordering::Release);
                    }
                    tracing::debug!(
                        documents = n,
                        rebuild,
                        ms = started.elapsed().as_millis() as u64,
                        "search index updated to scan {scan}"
                    );
                }
                Err(e) => {
                    // Kept for the next round: the index stays as its last
                    // commit left it.
                    tracing::error!("search index update failed: {e}; retrying in 5 s");
                    if let Ok(mut p) = server.search.pending.lock() {
                        p.rebuild = true;
                        p.others = true;
                        p.scan = p.scan.max(scan);
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
            }
        }
    });
}

/// Resources read, turned into documents and staged per part: memory
/// stays that of one part whatever the estate's size.
const PART: usize = 2_000;

/// Reads what `work` names from the store and applies it in one commit
/// (staged in parts; a failure drops what was staged).
async fn update(server: &Server, index: &Arc<SearchIndex>, work: Pending) -> Result<usize, String> {
    let result = stage_all(server, index, &work).await;
    let committed = match result {
        Ok(n) => {
            let state = serde_json::to_string(&State {
                format: FORMAT,
                schemas: schemas_fingerprint(),
                scan: work.scan.max(server.search.as_of()),
            })
            .unwrap_or_default();
            let index = index.clone();
            tokio::task::spawn_blocking(move || index.commit(Some(&state)))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(|()| n)
        }
        Err(e) => Err(e),
    };
    if committed.is_err() {
        index.rollback();
    }
    committed
}

async fn stage(index: &Arc<SearchIndex>, c: Change) -> Result<usize, String> {
    let n = c.upserts.len();
    let index = index.clone();
    tokio::task::spawn_blocking(move || index.stage(c))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(n)
}

async fn stage_all(
    server: &Server,
    index: &Arc<SearchIndex>,
    work: &Pending,
) -> Result<usize, String> {
    let store = &server.store;
    let e = |e: crate::store::StoreError| e.to_string();
    let mut n = 0;
    if work.rebuild {
        stage(
            index,
            Change {
                clear: true,
                ..Change::default()
            },
        )
        .await?;
        let mut after: Option<String> = None;
        loop {
            let rows = store
                .search_resource_page(after.as_deref(), PART as i64)
                .await
                .map_err(e)?;
            let Some((last, _)) = rows.last() else { break };
            after = Some(last.key.clone());
            let keys: Vec<String> = rows.iter().map(|(r, _)| r.key.clone()).collect();
            let issues = store.search_issues(&keys).await.map_err(e)?;
            n += stage(index, documents(&rows, &issues)).await?;
        }
        // Issues of resources that are gone (closed): found by number.
        let mut after_id = 0;
        loop {
            let issues = store
                .orphan_issues(after_id, PART as i64)
                .await
                .map_err(e)?;
            let Some(last) = issues.last() else { break };
            after_id = last.id;
            n += stage(index, documents(&[], &issues)).await?;
        }
    } else {
        let mut keys: BTreeSet<String> = work.resources.iter().cloned().collect();
        let ids: Vec<i64> = work.issues.iter().copied().collect();
        keys.extend(store.issue_keys(&ids).await.map_err(e)?);
        let keys: Vec<String> = keys.into_iter().collect();
        for part in keys.chunks(PART) {
            let rows = store.search_resources(part).await.map_err(e)?;
            let found: HashSet<&str> = rows.iter().map(|(r, _)| r.key.as_str()).collect();
            let deletes: Vec<String> = part
                .iter()
                .filter(|k| !found.contains(k.as_str()))
                .map(|k| resource_key(k))
                .collect();
            let issues = store.search_issues(part).await.map_err(e)?;
            let mut c = documents(&rows, &issues);
            c.deletes = deletes;
            n += stage(index, c).await?;
        }
    }
    if work.others || work.rebuild {
        let mut c = Change {
            clear_kinds: vec![Kind::Policy, Kind::Rule, Kind::Exception],
            ..Change::default()
        };
        if let Ok(p) = server.current_program().await {
            c.upserts.extend(pac_search::policy::documents(p.program()));
        }
        let exceptions = crate::api::exception_items(server, &crate::auth::scope::Scope::All)
            .await
            .map_err(|e| e.message)?;
        for x in &exceptions {
            c.upserts.push(exception_doc(server, x).await?);
        }
        n += stage(index, c).await?;
    }
    Ok(n)
}

/// The documents of these resources (with their groups) and issues.
fn documents(resources: &[(ResourceRow, Vec<String>)], issues: &[IssueRow]) -> Change {
    let groups: HashMap<&str, &[String]> = resources
        .iter()
        .map(|(r, g)| (r.key.as_str(), g.as_slice()))
        .collect();
    let mut by_resource: HashMap<&str, Vec<&IssueRow>> = HashMap::new();
    let mut c = Change::default();
    for i in issues {
        by_resource.entry(&i.resource_key).or_default().push(i);
        c.upserts
            .push(issue_doc(i, groups.get(i.resource_key.as_str()).copied()));
    }
    for (r, g) in resources {
        let of = by_resource
            .get(r.key.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        c.upserts.push(resource_doc(r, g, of));
    }
    c
}

fn resource_key(rkey: &str) -> String {
    format!("resource:{rkey}")
}

/// The portal's path of a resource (its asset page).
fn asset_link(rkey: &str) -> String {
    format!("/assets/{}", crate::web::enc(rkey))
}

fn resource_doc(r: &ResourceRow, groups: &[String], issues: &[&IssueRow]) -> SearchDoc {
    let mut d = SearchDoc::resource(resource_key(&r.key), &r.document)
        .unwrap_or_else(|| SearchDoc::new(Kind::Resource, resource_key(&r.key), &r.id));
    // The store's columns are the truth for the header.
    d.id = r.id.clone();
    if d.title.is_empty() {
        d.title = r.id.clone();
    }
    d.link = asset_link(&r.key);
    d.rtype = Some(r.rtype.clone());
    d.account = Some(r.account.clone());
    d.region = Some(r.region.clone());
    let open: Vec<&&IssueRow> = issues
        .iter()
        .filter(|i| i.status == IssueStatus::Open)
        .collect();
    let exempted = issues.iter().any(|i| i.status == IssueStatus::Exempted);
    d.status = Some(
        if !open.is_empty() {
            "failing"
        } else if exempted {
            "exempted"
        } else {
            "passing"
        }
        .to_string(),
    );
    d.severity = open
        .iter()
        .map(|i| i.severity.as_str())
        .max_by_key(|s| severity_rank(s))
        .map(str::to_string);
    for i in issues.iter().filter(|i| i.status != IssueStatus::Closed) {
        d.policies.push(i.policy.clone());
        d.policies.push(i.rule.clone());
        // So that words of what it fails find it (`ssh world`).
        d.text.push(format!("fails {}: {}", i.rule, i.message));
    }
    d.groups = groups.to_vec();
    d
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

fn issue_doc(i: &IssueRow, groups: Option<&[String]>) -> SearchDoc {
    let mut d = SearchDoc::new(Kind::Issue, format!("issue:{}", i.id), i.id.to_string());
    d.title = i.message.clone();
    d.link = asset_link(&i.resource_key);
    d.rtype = Some(i.resource_type.clone());
    d.account = Some(i.account.clone());
    d.region = Some(i.region.clone());
    d.status = Some(json!(i.status).as_str().unwrap_or_default().to_string());
    d.severity = Some(i.severity.clone());
    d.policies = vec![i.policy.clone(), i.rule.clone()];
    d.groups = groups.map(<[String]>::to_vec).unwrap_or_default();
    d.text = vec![
        i.message.clone(),
        format!("resource {}", i.resource_id),
        format!("rule {} category {}", i.rule, i.category),
    ];
    if let Some(x) = &i.exception {
        d.text.push(format!("exception {x}"));
    }
    d
}

/// An exception as `GET /api/v1/exceptions` shows it: seen by whoever may
/// see it there (its group; everyone for a sticky one; the groups of the
/// resources it lists).
async fn exception_doc(server: &Server, x: &Value) -> Result<SearchDoc, String> {
    let name = x["name"].as_str().unwrap_or_default();
    let mut d = SearchDoc::new(Kind::Exception, format!("exception:{name}"), name);
    let reason = x["reason"].as_str().unwrap_or_default();
    d.title = format!("{name}: {reason}");
    d.link = "/exceptions".into();
    d.status = Some(
        if x["expired"].as_bool() == Some(true) {
            "expired"
        } else {
            "active"
        }
        .into(),
    );
    let str_list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    d.policies = str_list(&x["rules"]);
    let resources = str_list(&x["resources"]);
    d.groups = match x["group"].as_str() {
        Some(g) => vec![g.to_string()],
        None if x["sticky"].as_bool() == Some(true) || resources.is_empty() => {
            vec![VISIBLE_TO_ALL.to_string()]
        }
        None => server
            .store
            .groups_of_ids(&resources)
            .await
            .map_err(|e| e.to_string())?,
    };
    d.text = vec![reason.to_string()];
    for k in [
        "condition",
        "created_by",
        "requested_by",
        "approved_by",
        "origin",
    ] {
        if let Some(v) = x[k].as_str() {
            d.text.push(format!("{k} {v}"));
        }
    }
    d.text.extend(resources);
    Ok(d)
}
