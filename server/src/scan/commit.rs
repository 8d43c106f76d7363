//! Stage 8, commit: the scan record (status, notes, errors), the one
//! transaction that writes everything, the INFO line that says what the
//! scan found, and the state kept in memory for the next scan.

use std::sync::Arc;
use std::time::Instant;

use pac_runtime::eval::{Warning, WarningKind};
use pac_runtime::{EvalReport, IngestError, Inventory};
use serde_json::json;

use super::judge::ReadVerdict;
use crate::Server;
use crate::program::Loaded;
use crate::store::{ScanBase, ScanCounts, ScanStatus, ScanWrite};

pub(super) struct RecordInput<'a> {
    pub verdict: &'a ReadVerdict,
    /// What the record says about a failed or suspect read.
    pub read_note: Option<&'a str>,
    /// The policy files do not compile: the last good set was used.
    pub policy_problem: Option<String>,
    /// API-defined items left out.
    pub api_problem: Option<&'a str>,
    pub warnings: &'a [Warning],
    /// How many scopes could not be collected.
    pub failed_scopes: usize,
    pub ingest: &'a [IngestError],
}

/// The scan record's own fields.
pub(super) struct Record {
    pub status: ScanStatus,
    /// A `suspect` read: the resources it would have removed.
    pub held_removals: Option<i64>,
    pub message: Option<String>,
    pub ingest_error_count: i64,
    /// The first thousand malformed documents.
    pub ingest_errors: serde_json::Value,
}

/// The scan record: its status and the notes a reader needs.
pub(super) fn record(input: RecordInput<'_>) -> Record {
    let RecordInput {
        verdict,
        read_note,
        policy_problem,
        api_problem,
        warnings,
        failed_scopes,
        ingest,
    } = input;
    let mut notes = Vec::new();
    if let Some(pb) = policy_problem {
        notes.push(pb);
    }
    if let Some(n) = read_note {
        notes.push(n.to_string());
    }
    if let Some(pb) = api_problem {
        notes.push(pb.to_string());
    }
    for warn in warnings {
        if warn.kind == WarningKind::ExpiredException {
            notes.push(warn.message.clone());
        }
    }
    if verdict == &ReadVerdict::Partial {
        notes.push(format!(
            "{failed_scopes} scope(s) could not be collected; their resources, issues and memberships are unchanged and their results count as unknown",
        ));
    }
    Record {
        status: verdict.status().into(),
        held_removals: match verdict {
            ReadVerdict::Suspect { would_remove, .. } => Some(*would_remove as i64),
            _ => None,
        },
        message: (!notes.is_empty()).then(|| notes.join("; ")),
        ingest_error_count: ingest.len() as i64,
        ingest_errors: serde_json::Value::Array(
            ingest
                .iter()
                .take(1000)
                .map(|e| {
                    let mut v = serde_json::to_value(e).unwrap_or_default();
                    v["text"] = json!(e.to_string());
                    v
                })
                .collect(),
        ),
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
    /// The native engine's layout of `inv`, when the scan ran natively
    /// (see [`pac_jit::Engine::relayout`]).
    pub layout: Option<pac_jit::Layout>,
}

/// The part of [`Warm`] that the evaluate stage produces.
pub(super) struct Evaluated {
    pub inv: Inventory,
    pub keys: Vec<String>,
    pub report: EvalReport,
    /// Resources taken over from the earlier scan.
    pub reused: usize,
    /// Evaluated with the native engine.
    pub native: bool,
    pub layout: Option<pac_jit::Layout>,
}

pub(super) struct Input {
    pub write: ScanWrite,
    pub evaluated: Evaluated,
    /// The state the store holds once `write` commits.
    pub base: ScanBase,
    pub program: Arc<Loaded>,
    /// The read was complete: its state may serve the next scan.
    pub complete: bool,
    /// When the scan started (its duration is recorded).
    pub started: Instant,
}

/// The store's transaction of this scan, begun early
/// ([`crate::store::Store::apply_scan_early`]): it commits once `rest`
/// gives it the whole write.
pub(super) struct Writer {
    pub rest: tokio::sync::oneshot::Sender<ScanWrite>,
    pub done: tokio::task::JoinHandle<crate::store::Result<()>>,
}

/// What the commit reports for the scan's debug line.
pub(super) struct Committed {
    pub new_jobs: usize,
    pub reused: usize,
    pub native: bool,
}

/// The commit stage: one transaction, then the INFO line, then the state
/// kept for the next scan.
pub(super) async fn commit(
    server: &Server,
    input: Input,
    writer: Writer,
) -> Result<Committed, String> {
    let Input {
        mut write,
        evaluated,
        mut base,
        program,
        complete,
        started,
    } = input;
    let store = &server.store;
    let new_jobs = write.new_jobs.len();
    let (reused, native) = (evaluated.reused, evaluated.native);
    write.finished_at = server.clock.now();
    write.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let summary = ScanSummary::of(&write);
    let marks = crate::search::Search::marks(&write);
    // A writer that already failed has dropped its receiver: its own
    // error is the one to report.
    let _ = writer.rest.send(write);
    writer
        .done
        .await
        .map_err(|e| format!("the scan's write stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    server.search.committed(marks);
    summary.log();
    server
        .last_reused
        .store(reused, std::sync::atomic::Ordering::Relaxed);
    server
        .last_native
        .store(native, std::sync::atomic::Ordering::Relaxed);
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
                layout: evaluated.layout,
            });
        }
    }
    Ok(Committed {
        new_jobs,
        reused,
        native,
    })
}

/// The one plain line a scan logs at INFO: what it read, what it did to
/// issues, and the figure it left (docs/server.md, "Logs").
struct ScanSummary {
    scan: i64,
    source: String,
    status: ScanStatus,
    counts: ScanCounts,
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

    fn overall(&self) -> String {
        self.overall
            .map_or_else(|| "unknown".to_string(), |o| o.to_string())
    }

    fn coverage(&self) -> String {
        self.coverage
            .map_or_else(|| "unknown".to_string(), |p| format!("{p}%"))
    }

    /// The line's text.
    fn message(&self) -> String {
        let c = &self.counts;
        format!(
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
            self.overall(),
            self.coverage(),
            self.duration_ms
        )
    }

    fn log(&self) {
        let c = &self.counts;
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
            overall = %self.overall(),
            coverage = %self.coverage(),
            duration_ms = self.duration_ms,
            "{}",
            self.message()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(verdict: &'a ReadVerdict, ingest: &'a [IngestError]) -> RecordInput<'a> {
        RecordInput {
            verdict,
            read_note: None,
            policy_problem: None,
            api_problem: None,
            warnings: &[],
            failed_scopes: 0,
            ingest,
        }
    }

    #[test]
    fn a_complete_read_leaves_a_plain_record() {
        let r = record(input(&ReadVerdict::Complete, &[]));
        assert_eq!(r.status, ScanStatus::Completed);
        assert_eq!((r.held_removals, r.message), (None, None));
        assert_eq!(r.ingest_errors, json!([]));
    }

    #[test]
    fn the_notes_say_what_the_reader_must_know_in_order() {
        let v = ReadVerdict::Partial;
        let r = record(RecordInput {
            read_note: Some("READ"),
            policy_problem: Some("POLICY".into()),
            api_problem: Some("API"),
            failed_scopes: 2,
            ..input(&v, &[])
        });
        assert_eq!(r.status, ScanStatus::Partial);
        let m = r.message.unwrap();
        assert!(
            m.starts_with("POLICY; READ; API; 2 scope(s) could not be collected"),
            "{m}"
        );
    }

    #[test]
    fn a_suspect_read_records_what_it_held_back() {
        let v = ReadVerdict::Suspect {
            would_remove: 3,
            known: 4,
            max_percent: 20,
        };
        let r = record(input(&v, &[]));
        assert_eq!((r.status, r.held_removals), (ScanStatus::Suspect, Some(3)));
    }

    #[test]
    fn at_most_a_thousand_rejected_documents_are_kept_but_all_counted() {
        let compiled = pac_compiler::compile_sources(Vec::new());
        let schemas = &compiled.program.schemas;
        let text = "not json\n".repeat(1200);
        let (_, errs) = Inventory::read_str(schemas, "t", &text);
        assert_eq!(errs.len(), 1200);
        let r = record(input(&ReadVerdict::Complete, &errs));
        assert_eq!(r.ingest_error_count, 1200);
        let kept = r.ingest_errors.as_array().unwrap();
        assert_eq!(kept.len(), 1000);
        assert!(kept[0]["text"].as_str().is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn the_summary_line_reads_the_whole_estates_roll_up() {
        let w = ScanWrite {
            scan_id: 4,
            source: "demo".into(),
            status: ScanStatus::Completed,
            counts: ScanCounts {
                resources: 10,
                removed: 1,
                opened: 2,
                closed: 3,
                unknown: 5,
                ..Default::default()
            },
            ingest_error_count: 6,
            duration_ms: 7,
            compliance: vec![
                ("web".into(), r#"{"overall": 1.0}"#.into()),
                (
                    String::new(),
                    r#"{"overall": 83.25, "coverage": {"percent": 90}}"#.into(),
                ),
            ],
            ..Default::default()
        };
        let s = ScanSummary::of(&w);
        assert_eq!(
            s.message(),
            "scan 4 of demo completed: 10 resources read, 6 rejected, 1 removed; issues 2 opened, 3 closed, 0 reopened, 0 exempted; 5 results unknown; overall 83.25, coverage 90%; 7 ms"
        );
        let none = ScanSummary::of(&ScanWrite::default());
        assert!(none.message().contains("overall unknown, coverage unknown"));
    }
}
