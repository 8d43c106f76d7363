//! The scan pipeline, one scan at a time, in named stages
//! (docs/server.md, "The scan pipeline"):
//!
//! ```text
//! collect → validate → judge the read → evaluate → reconcile
//!         → roll up → schedule fixes → commit
//! ```
//!
//! Each stage is a module under `scan/` with its own input and output
//! types and its own unit tests; this file runs them in order ([`run`])
//! and holds what several of them share (resource keys, scopes, the
//! document hash). Only `collect` and `commit` do I/O: the stages between
//! them are pure and run on blocking threads.
//!
//! A scope the source could not read (an account, a region) is `unknown`:
//! its resources keep their last known documents (so cross-resource rules
//! still see them), their results count as unknown in the figures, and
//! their issues, memberships and jobs are left exactly as they were.

mod collect;
mod commit;
mod evaluate;
mod judge;
mod reconcile;
mod rollup;
mod schedule;
mod validate;

#[cfg(test)]
mod fixture;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use pac_connectors::Scope;
use pac_runtime::Env;

use crate::Server;
use crate::compliance;
use crate::program::Loaded;
use crate::sources::Built;
use crate::store::{ScanBase, ScanCounts, ScanWrite};

pub(crate) use commit::Warm;
use judge::{ReadVerdict, RemovalLimit};

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

/// Whether the resource of `key` lies in one of `scopes`.
fn key_in_scopes(key: &str, scopes: &[Scope]) -> bool {
    let (t, a, r) = key_parts(key);
    scopes.iter().any(|s| in_scope(s, t, a, r))
}

/// The stored hash of a document's text, by which changes are found:
/// BLAKE3 (specified, the same in every build and Rust release; and
/// collision-resistant, so that a document a hostile source crafts cannot
/// pass for an unchanged one), as 64 hex digits. Migration 0005 replaced
/// the earlier `DefaultHasher` values.
pub fn hash_text(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex().to_string()
}

/// The header members of a collected document (a JSON object, or the raw
/// text of one as the inventory source sends it), read without building
/// its attributes.
#[derive(Default)]
pub(crate) struct DocHead<'a> {
    pub rtype: Option<std::borrow::Cow<'a, str>>,
    pub id: Option<std::borrow::Cow<'a, str>>,
    pub account: Option<std::borrow::Cow<'a, str>>,
    pub region: Option<std::borrow::Cow<'a, str>>,
}

/// The header of a document; `None` when it is neither an object nor the
/// text of one. From text, parsing stops once the four members are read
/// (they come first in the documents Pac writes): the rest is the reader's
/// to check, and the hash of the whole text decides whether it changed.
pub(crate) fn doc_head(d: &serde_json::Value) -> Option<DocHead<'_>> {
    let part = |f: &str| {
        d.get(f)
            .and_then(serde_json::Value::as_str)
            .map(std::borrow::Cow::Borrowed)
    };
    match d {
        serde_json::Value::String(raw) => head_of_text(raw),
        serde_json::Value::Object(_) => Some(DocHead {
            rtype: part("type"),
            id: part("id"),
            account: part("account"),
            region: part("region"),
        }),
        _ => None,
    }
}

fn head_of_text(raw: &str) -> Option<DocHead<'_>> {
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;
    /// Why the visitor stopped early: every member was read.
    const DONE: &str = "header read";
    /// A string, borrowed from the text when it has no escapes.
    #[derive(serde::Deserialize)]
    struct Str<'a>(#[serde(borrow)] Cow<'a, str>);
    struct Head<'h, 'de>(&'h mut DocHead<'de>);
    impl<'de> Visitor<'de> for Head<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a document")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                let slot = match &*key {
                    "type" => &mut self.0.rtype,
                    "id" => &mut self.0.id,
                    "account" => &mut self.0.account,
                    "region" => &mut self.0.region,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if slot.is_some() {
                    return Err(de::Error::custom("a member given twice"));
                }
                *slot = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0);
                let h = &self.0;
                if h.rtype.is_some() && h.id.is_some() && h.account.is_some() && h.region.is_some()
                {
                    return Err(de::Error::custom(DONE));
                }
            }
            Ok(())
        }
    }
    let mut head = DocHead::default();
    let mut de = serde_json::Deserializer::from_str(raw);
    match de.deserialize_map(Head(&mut head)) {
        Ok(()) => de.end().ok().map(|()| head),
        Err(e) if e.to_string().starts_with(DONE) => Some(head),
        Err(_) => None,
    }
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
    match scan_inner(server, source, scan_id, at, Instant::now()).await {
        Ok(()) => {
            // The asset dashboard's counts of this roll-up, counted beside
            // the server once the scan is committed (not kept if another
            // scan commits meanwhile; docs/portal.md, "At 100,000
            // resources"): the scan is done when its results are.
            let s = server.clone();
            tokio::spawn(async move { crate::web::assets::warm_counts(&s).await });
            Ok(scan_id)
        }
        Err(e) => {
            tracing::error!(scan = scan_id, source = %source.name, "scan failed: {e}");
            let _ = store.fail_scan(scan_id, server.clock.now(), &e).await;
            Err(e)
        }
    }
}

/// The stages in order: the async ones here, the pure ones on blocking
/// threads.
async fn scan_inner(
    server: &Arc<Server>,
    source: &Built,
    scan_id: i64,
    at: i64,
    started: Instant,
) -> Result<(), String> {
    let store = &*server.store;
    let t0 = Instant::now();
    let loaded = server.load_program().await?;
    let t_program = t0.elapsed();

    // 1. Collect: what the source returns, and what the store knows.
    let collected = collect::collect(&*source.connector).await;
    let t_connector = t0.elapsed();
    let mut warm = take_warm(server, &loaded, collected.failed.is_empty());
    let stored = collect::Stored::read(
        store,
        &source.name,
        warm.as_mut(),
        !collected.failed.is_empty(),
    )
    .await?;
    let t_stored = t0.elapsed();

    // 2. Validate against the compiled schemas.
    let (mut validated, mut stored, mut warm) = {
        let (loaded, name) = (loaded.clone(), source.name.clone());
        tokio::task::spawn_blocking(move || {
            let v = validate::validate(validate::Input {
                program: loaded.program(),
                source: &name,
                collected,
                base: &stored.base,
                warm: warm.as_ref(),
            });
            (v, stored, warm)
        })
        .await
        .map_err(|e| format!("the scan's validation stopped: {e}"))?
    };

    // 3. Judge the read before anything is reconciled.
    let limit = RemovalLimit {
        max_percent: source
            .max_removed_percent
            .unwrap_or(server.settings.max_removed_percent),
        confirmed: stored
            .base
            .confirmed_removals
            .map(|n| usize::try_from(n).unwrap_or(0)),
    };
    let verdict = judge::judge_read(&validated.facts(&stored.base, &source.name), &limit);
    if verdict.holds() {
        // Nothing of this read applies: the source's stored documents are
        // carried as they are (read back: the warm path holds no documents).
        validated.hold();
        let was_warm = warm.take().is_some();
        stored.hold(store, &source.name, was_warm).await?;
        tracing::warn!(scan = scan_id, source = %source.name, "{}", verdict.explain(&source.name, scan_id));
    }
    let t_read = t0.elapsed();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    tracing::debug!(
        scan = scan_id,
        program_ms = ms(t_program),
        connector_ms = ms(t_connector - t_program),
        stored_ms = ms(t_stored - t_connector),
        validate_ms = ms(t_read - t_stored),
        "scan read: timings"
    );

    // 4–7. Evaluate, reconcile, roll up, schedule fixes.
    let complete = verdict == ReadVerdict::Complete;
    let input = Compute {
        loaded: loaded.clone(),
        source: source.name.clone(),
        scan_id,
        at,
        validated,
        verdict,
        stored,
        weights: server.settings.weights.clone(),
        warm,
    };
    // The store's transaction begins as soon as the new and changed
    // resources are known, and writes them while the rules run (the
    // pipeline's other core); the rest follows when it is computed.
    let (early_tx, early_rx) = oneshot::channel();
    let (rest_tx, rest_rx) = oneshot::channel();
    let writer = {
        let store = server.store.clone();
        tokio::spawn(async move { store.apply_scan_early(early_rx, rest_rx).await })
    };
    let computed = tokio::task::spawn_blocking(move || compute(input, Some(early_tx)))
        .await
        .map_err(|e| format!("the scan's evaluation stopped: {e}"));
    let computed = match computed {
        Ok(c) => c,
        Err(e) => {
            // The writer rolls back once `rest_tx` is gone; wait for it,
            // so that the scan's failure is recorded after.
            drop(rest_tx);
            let _ = writer.await;
            return Err(e);
        }
    };
    let t_compute = t0.elapsed();

    // 8. Commit.
    let done = commit::commit(
        server,
        commit::Input {
            write: computed.write,
            evaluated: computed.evaluated,
            base: computed.base,
            program: loaded,
            complete,
            started,
        },
        commit::Writer {
            rest: rest_tx,
            done: writer,
        },
    )
    .await?;
    tracing::debug!(
        scan = scan_id,
        source = %source.name,
        new_jobs = done.new_jobs,
        reused = done.reused,
        native = done.native,
        collect_ms = ms(t_read),
        compute_ms = ms(t_compute - t_read),
        commit_ms = ms(t0.elapsed() - t_compute),
        "scan committed: timings"
    );
    Ok(())
}

/// The previous scan's state, when nothing else committed since and the
/// same policy set applies (a partial collection takes the cold path, which
/// carries the stored documents of what failed).
fn take_warm(server: &Server, loaded: &Arc<Loaded>, collected_all: bool) -> Option<Warm> {
    let w = server.warm.lock().ok().and_then(|mut w| w.take())?;
    let (generation, program) = (
        w.generation == server.store.generation(),
        Arc::ptr_eq(&w.program, loaded),
    );
    if generation && program && collected_all {
        return Some(w);
    }
    tracing::debug!(
        same_generation = generation,
        same_program = program,
        collected_all,
        "the previous scan's state is not current: a cold scan"
    );
    None
}

/// What the pure stages (evaluate → schedule fixes) start from.
struct Compute {
    loaded: Arc<Loaded>,
    source: String,
    scan_id: i64,
    /// The scan's time (the clock of the evaluation and of its events).
    at: i64,
    validated: validate::Validated,
    verdict: ReadVerdict,
    stored: collect::Stored,
    weights: compliance::Weights,
    warm: Option<Warm>,
}

/// What they give the commit.
struct Computed {
    write: ScanWrite,
    evaluated: commit::Evaluated,
    /// The state the store will hold once `write` commits.
    base: ScanBase,
}

/// Milliseconds per stage, for the debug line "scan computed".
struct Laps {
    phases: Vec<(&'static str, u64)>,
    since: Instant,
}

impl Laps {
    fn lap(&mut self, name: &'static str) {
        self.phases
            .push((name, self.since.elapsed().as_millis() as u64));
        self.since = Instant::now();
    }
}

/// Everything a scan writes, computed from what it collected and the
/// stored state (no I/O: runs on a blocking thread). With `warm` (the
/// previous scan's state, still current), unchanged documents are taken
/// from it instead of being parsed, and their results too where a rule
/// reads only its resource.
/// `early`, when given, receives the new and changed resources as soon as
/// they are known (see [`crate::store::Store::apply_scan_early`]).
fn compute(c: Compute, early: Option<oneshot::Sender<crate::store::EarlyResources>>) -> Computed {
    let Compute {
        loaded,
        source,
        scan_id,
        at,
        validated,
        verdict,
        stored,
        weights,
        mut warm,
    } = c;
    let p = loaded.program();
    let collect::Stored {
        mut base,
        others,
        own_stored,
    } = stored;
    let validate::Validated {
        read,
        accepted,
        parse_ms,
    } = validated;
    let mut laps = Laps {
        phases: vec![("parse", parse_ms)],
        since: Instant::now(),
    };

    // 4. Evaluate: the estate the rules see, then the rules.
    let estate = evaluate::assemble(evaluate::Assemble {
        program: p,
        source: &source,
        base: &base,
        accepted,
        read: &read,
        others,
        own_stored,
        warm: warm.as_ref(),
    });
    laps.lap("carry");

    // 5. Reconcile the inventory with the stored state first: the store
    // writes the new and changed resources while the rules run.
    let mut inventory = reconcile::inventory(&source, &base, &estate, &read);
    let upserts = Arc::new(std::mem::take(&mut inventory.upserts));
    if let Some(early) = early {
        // Not sent: the write is not begun early (the receiver is gone,
        // and the scan with it).
        let _ = early.send(crate::store::EarlyResources {
            upserts: upserts.clone(),
            at,
        });
    }
    laps.lap("inventory");
    let env = Env::for_program(p, &estate.inv, at);
    let layout = warm.as_mut().and_then(|w| w.layout.take());
    let evaluation = evaluate::evaluate(&loaded, &env, &estate, warm.as_ref(), layout);
    let report = &evaluation.report;
    laps.lap("evaluate");

    // Then the issues and the group memberships.
    let index = reconcile::KeyIndex::new(&estate.keys);
    let issues = reconcile::issues(reconcile::IssuesInput {
        program: p,
        env: &env,
        base: &base,
        estate: &estate,
        report,
        index: &index,
    });
    laps.lap("reconcile");

    let members = reconcile::memberships(p, &base, &estate, report, &index);
    drop(index);
    laps.lap("groups");

    // 6. Roll up compliance, everything and each group.
    let read_state =
        rollup::source_read(&verdict, &source, scan_id, at, &base, &read.failed_scopes);
    let rolled = rollup::rollup(rollup::Input {
        program: p,
        report,
        unknown: &estate.unknown,
        member_sets: &members.sets,
        weights: &weights,
        unread: rollup::unread_sources(&base, &source, &read_state),
        at,
    });
    laps.lap("rollup");

    // 7. Schedule auto-fixes for the issues that became open.
    let new_jobs = schedule::fixes(schedule::Input {
        program: p,
        env: &env,
        inv: &estate.inv,
        keys: &estate.keys,
        opened: &issues.opened,
        next_job_id: base.next_job_id,
        at,
    });
    laps.lap("jobs");

    // The scan record, and the write the commit applies.
    let record = commit::record(commit::RecordInput {
        verdict: &verdict,
        read_note: read_state.message.as_deref(),
        policy_problem: loaded.policy_problem.as_ref().map(|pb| pb.note()),
        api_problem: loaded.api_problem.as_deref(),
        warnings: &report.warnings,
        failed_scopes: read.failed_scopes.len(),
        ingest: &estate.ingest,
    });
    let counts = ScanCounts {
        resources: estate.inv.len() as i64,
        changed: upserts.len() as i64,
        removed: inventory.removed.len() as i64,
        results: report.results.len() as i64,
        ..issues.counts
    };
    let write = ScanWrite {
        scan_id,
        source,
        at,
        finished_at: 0,
        duration_ms: 0,
        status: record.status,
        held_removals: record.held_removals,
        read: Some(read_state),
        message: record.message,
        counts,
        source_errors: read.source_errors,
        ingest_errors: record.ingest_errors,
        ingest_error_count: record.ingest_error_count,
        upserts,
        seen: inventory.seen,
        seen_all: inventory.seen_all,
        removed: inventory.removed,
        new_issues: issues.new_issues,
        issue_updates: issues.issue_updates,
        events: issues.events,
        member_adds: members.adds,
        member_removes: members.removes,
        new_jobs,
        cancel_jobs: issues.cancel_jobs,
        compliance: rolled.compliance,
        history: rolled.history,
        domains: rolled.domains,
        domain_history: rolled.domain_history,
    };
    laps.lap("record");
    let phases = laps.phases;
    tracing::debug!(?phases, "scan computed");
    drop(env);
    drop(warm);
    base.apply(&write);
    Computed {
        write,
        evaluated: commit::Evaluated {
            inv: estate.inv,
            keys: estate.keys,
            report: evaluation.report,
            reused: evaluation.reused,
            native: evaluation.native,
            layout: evaluation.layout,
        },
        base,
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
        assert!(key_in_scopes(
            "aws.s3.bucket|1|r|b",
            std::slice::from_ref(&s)
        ));
        assert!(!key_in_scopes("aws.s3.bucket|1|r|b", &[]));
    }

    #[test]
    fn a_raw_documents_header_is_read_without_its_attributes() {
        let head = |raw: &str| {
            doc_head(&serde_json::Value::String(raw.into())).map(|h| {
                [h.rtype, h.id, h.account, h.region]
                    .map(|p| p.map(|c| c.into_owned()).unwrap_or_default())
            })
        };
        let full = |t: &str, i: &str, a: &str, r: &str| Some([t, i, a, r].map(String::from));
        // Parsing stops at the fourth member: what follows is not read.
        assert_eq!(
            head(r#"{"type":"t.box","id":"b\"1","account":"1","region":"r","attributes":{oops"#),
            full("t.box", "b\"1", "1", "r")
        );
        // In any order, after other members.
        assert_eq!(
            head(
                r#"{"attributes":{"a":[1,{"b":null}]},"region":"r","account":"1","id":"x","type":"t"}"#
            ),
            full("t", "x", "1", "r")
        );
        // A member missing or null: the whole text is read.
        assert_eq!(
            head(r#"{"type":"t","id":"x","account":null,"attributes":{}}"#),
            full("t", "x", "", "")
        );
        // Nested 100,000 deep, before or after the header: skipped without
        // recursion (serde_json's `IgnoredAny`) or never read; the reader
        // then rejects the document for its depth.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for raw in [
            format!(r#"{{"attributes":{deep},"type":"t","id":"x","account":"1","region":"r"}}"#),
            format!(r#"{{"type":"t","id":"x","account":"1","region":"r","attributes":{deep}}}"#),
        ] {
            assert_eq!(head(&raw), full("t", "x", "1", "r"));
        }
        // Not a document, a member twice, a member not a string: no header.
        for bad in [
            "{not json",
            r#"{"type":"t","type":"u","id":"x","account":"1","region":"r"}"#,
            r#"{"type":"t","id":7,"account":"1","region":"r"}"#,
            r#"{"type":"t","id":"x"} trailing"#,
            "[1]",
        ] {
            assert_eq!(head(bad), None, "{bad}");
        }
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

    /// The whole pure part on a hand-built store state: the stages fit
    /// together, and the write is what each stage gave.
    #[test]
    fn compute_runs_the_stages_in_order() {
        let f = fixture::Fixture::new();
        let base = ScanBase {
            next_issue_id: 1,
            next_job_id: 1,
            ..Default::default()
        };
        let collected = collect::Collected {
            docs: vec![
                fixture::doc("b1", "", Some("ann@example.com")),
                fixture::doc("b2", "web", None),
            ],
            failed: Vec::new(),
        };
        let validated = validate::validate(validate::Input {
            program: f.loaded.program(),
            source: "s",
            collected,
            base: &base,
            warm: None,
        });
        let out = compute(
            Compute {
                loaded: f.loaded.clone(),
                source: "s".into(),
                scan_id: 3,
                at: fixture::NOW,
                validated,
                verdict: ReadVerdict::Complete,
                stored: collect::Stored {
                    base,
                    others: Vec::new(),
                    own_stored: Vec::new(),
                },
                weights: compliance::Weights::default(),
                warm: None,
            },
            None,
        );
        let w = &out.write;
        assert_eq!(w.status, crate::store::ScanStatus::Completed);
        assert_eq!(w.upserts.len(), 2);
        assert_eq!((w.counts.resources, w.counts.opened), (2, 1));
        assert_eq!(w.new_issues[0].rkey, resource_key("t.box", "1", "r", "b1"));
        assert_eq!(w.new_jobs.len(), 1, "the unnamed box's fix is scheduled");
        assert_eq!(w.new_jobs[0].notify, vec!["ann@example.com".to_string()]);
        assert!(w.compliance.iter().any(|(g, _)| g.is_empty()));
        // The state after the commit knows the new issue and resources.
        assert_eq!(out.base.resources.len(), 2);
        assert_eq!(out.base.issues.len(), 1);
        assert_eq!(out.evaluated.keys.len(), 2);
    }
}
