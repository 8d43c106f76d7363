//! Writing a scan's results ([`super::Store::apply_scan`]): [`write_scan`]
//! runs the steps below, in its order, inside the scan's one transaction,
//! so a crash anywhere leaves the previous scan's state. Each step writes
//! one part of a [`ScanWrite`]; the pipeline decided everything before
//! (`scan.rs`), so no step reads a decision back, only the next free ids.

use serde_json::json;
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};

use super::{
    CHUNK, HistoryRow, IssueStatus, IssueUpdate, JobStatus, NewIssue, NewJob, ResourceWrite,
    Result, ScanWrite, insert_audit,
};

/// Writes `w` in the transaction `tx` (which the caller commits).
/// `with_resources`: false when [`upsert_resources`] already wrote
/// `w.upserts` in this transaction.
pub(super) async fn write_scan(
    tx: &mut SqliteConnection,
    w: &ScanWrite,
    with_resources: bool,
) -> Result<()> {
    let at = w.at;
    // Each step's time, logged at debug level: the commit is most of a
    // first scan's time.
    let mut steps: Vec<(&str, u128)> = Vec::with_capacity(14);
    let mut t = std::time::Instant::now();
    let mut step = |name: &'static str, t: &mut std::time::Instant| {
        steps.push((name, t.elapsed().as_millis()));
        *t = std::time::Instant::now();
    };
    if with_resources {
        upsert_resources(tx, &w.upserts, at).await?;
    }
    step("resources", &mut t);
    // Before `mark_seen`: a removed resource's last sighting is read from
    // the source_seen row that `mark_seen` replaces.
    mark_removed(tx, &w.removed, at).await?;
    mark_seen(tx, w).await?;
    step("seen", &mut t);
    insert_issues(tx, &w.new_issues, at).await?;
    update_issues(tx, &w.issue_updates, at).await?;
    append_events(tx, &w.events, w.scan_id, at).await?;
    step("issues", &mut t);
    update_memberships(tx, &w.member_removes, &w.member_adds).await?;
    step("groups", &mut t);
    let mut audit = AuditIds::next_free(tx).await?;
    create_jobs(tx, &w.new_jobs, w.scan_id, at, &mut audit).await?;
    cancel_jobs(tx, &w.cancel_jobs, w.scan_id, at, &mut audit).await?;
    step("jobs", &mut t);
    write_compliance(tx, &w.compliance, &w.history, w.scan_id, at).await?;
    write_domains(tx, w, at).await?;
    record_read(tx, w).await?;
    finish_scan_record(tx, w).await?;
    step("compliance", &mut t);
    tracing::debug!(scan = w.scan_id, ?steps, "scan written");
    Ok(())
}

/// New and changed resources, as multi-row upserts (one round trip per
/// chunk, not per row). `changed_at` stays when only the hash was
/// rewritten (after migration 0005 cleared the old hashes), so a hash
/// change alone never counts as a change of the resource.
pub(super) async fn upsert_resources(
    tx: &mut SqliteConnection,
    upserts: &[ResourceWrite],
    at: i64,
) -> Result<()> {
    for chunk in upserts.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO resources (rkey, rtype, rid, account, region, source, doc, hash, first_seen, last_seen, changed_at, deleted_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            // Bound by reference: the documents are most of the bytes.
            b.push_bind(r.key.as_str())
                .push_bind(r.rtype.as_str())
                .push_bind(r.id.as_str())
                .push_bind(r.account.as_str())
                .push_bind(r.region.as_str())
                .push_bind(r.source.as_str())
                .push_bind(r.doc.as_str())
                .push_bind(r.hash.as_str())
                .push_bind(at)
                .push_bind(at)
                .push_bind(at)
                .push("NULL");
        });
        q.push(
            " ON CONFLICT (rkey) DO UPDATE SET source = excluded.source, doc = excluded.doc, hash = excluded.hash,
               last_seen = excluded.last_seen,
               changed_at = CASE WHEN resources.deleted_at IS NULL AND resources.doc = excluded.doc THEN resources.changed_at ELSE excluded.changed_at END,
               deleted_at = NULL",
        );
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Resources gone from their source are kept, marked deleted (their issues
/// and history still name them). A removed resource was last seen by its
/// source's last complete scan, which may be later than its own column
/// (migration 0003).
async fn mark_removed(tx: &mut SqliteConnection, removed: &[String], at: i64) -> Result<()> {
    for k in removed {
        sqlx::query(
            "UPDATE resources SET deleted_at = $1, last_seen = COALESCE(
               (SELECT ss.seen_at FROM source_seen ss WHERE ss.source = resources.source AND ss.seen_at > resources.last_seen),
               last_seen)
             WHERE rkey = $2",
        )
        .bind(at)
        .bind(k)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Moves `last_seen` of what the read saw unchanged: when it saw its whole
/// source, one source_seen row instead of one update per resource (see
/// migration 0003); otherwise only the resources it saw.
async fn mark_seen(tx: &mut SqliteConnection, w: &ScanWrite) -> Result<()> {
    if w.seen_all {
        sqlx::query(
            "INSERT INTO source_seen (source, seen_at) VALUES ($1, $2)
             ON CONFLICT (source) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(&w.source)
        .bind(w.at)
        .execute(&mut *tx)
        .await?;
    } else {
        for k in &w.seen {
            sqlx::query("UPDATE resources SET last_seen = $1 WHERE rkey = $2")
                .bind(w.at)
                .bind(k)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// Issues opened for the first time (ids assigned by the pipeline), in
/// multi-row inserts.
async fn insert_issues(tx: &mut SqliteConnection, issues: &[NewIssue], at: i64) -> Result<()> {
    for chunk in issues.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO issues (id, rule, policy, rkey, rid, rtype, account, region, severity, category, status, message, explanation, exception, first_seen, last_opened, times_opened) ",
        );
        q.push_values(chunk, |mut b, i| {
            b.push_bind(i.id)
                .push_bind(i.rule.as_str())
                .push_bind(i.policy.as_str())
                .push_bind(i.rkey.as_str())
                .push_bind(i.rid.as_str())
                .push_bind(i.rtype.as_str())
                .push_bind(i.account.as_str())
                .push_bind(i.region.as_str())
                .push_bind(i.severity.as_str())
                .push_bind(i.category.as_str())
                .push_bind(i.status)
                .push_bind(i.message.as_str())
                .push_bind(i.explanation.as_deref())
                .push_bind(i.exception.as_deref())
                .push_bind(at)
                .push_bind(at)
                .push("1");
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Changes to existing issues, one statement per kind of change: closing
/// keeps the last message and drops the exception; reopening refreshes the
/// explanation and counts the opening; any other change rewrites status,
/// message and exception only.
async fn update_issues(tx: &mut SqliteConnection, updates: &[IssueUpdate], at: i64) -> Result<()> {
    for u in updates {
        if u.status == IssueStatus::Closed {
            sqlx::query(
                "UPDATE issues SET status = $2, closed_at = $3, close_reason = $4, exception = NULL WHERE id = $1",
            )
            .bind(u.id)
            .bind(u.status)
            .bind(at)
            .bind(u.close_reason)
            .execute(&mut *tx)
            .await?;
        } else if u.reopened {
            sqlx::query(
                "UPDATE issues SET status = $2, message = $3, exception = $4, explanation = $5, last_opened = $6, closed_at = NULL, close_reason = NULL, times_opened = times_opened + 1 WHERE id = $1",
            )
            .bind(u.id)
            .bind(u.status)
            .bind(&u.message)
            .bind(&u.exception)
            .bind(&u.explanation)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE issues SET status = $2, message = $3, exception = $4 WHERE id = $1",
            )
            .bind(u.id)
            .bind(u.status)
            .bind(&u.message)
            .bind(&u.exception)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// The issues' history (opened, closed, reopened, exempted, unexempted),
/// appended with ids after the last one (ids are the application's, for
/// portability).
async fn append_events(
    tx: &mut SqliteConnection,
    events: &[(i64, String, String)],
    scan_id: i64,
    at: i64,
) -> Result<()> {
    let mut next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM issue_events")
        .fetch_one(&mut *tx)
        .await?;
    for chunk in events.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO issue_events (id, issue_id, scan_id, at, kind, detail) ",
        );
        q.push_values(chunk, |mut b, (issue, kind, detail)| {
            b.push_bind(next)
                .push_bind(*issue)
                .push_bind(scan_id)
                .push_bind(at)
                .push_bind(kind.clone())
                .push_bind(detail.clone());
            next += 1;
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Asset group memberships: only the differences the pipeline found (a
/// whole rewrite per scan would touch every row of a large estate).
async fn update_memberships(
    tx: &mut SqliteConnection,
    removes: &[(String, String)],
    adds: &[(String, String)],
) -> Result<()> {
    for (g, k) in removes {
        sqlx::query("DELETE FROM group_members WHERE grp = $1 AND rkey = $2")
            .bind(g)
            .bind(k)
            .execute(&mut *tx)
            .await?;
    }
    for chunk in adds.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO group_members (grp, rkey) ");
        q.push_values(chunk, |mut b, (g, k)| {
            b.push_bind(g.clone()).push_bind(k.clone());
        });
        q.push(" ON CONFLICT (grp, rkey) DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// The next free audit-log ids: the job steps share them, because every job
/// created or cancelled leaves an audit record in the same transaction.
struct AuditIds(i64);

impl AuditIds {
    async fn next_free(tx: &mut SqliteConnection) -> Result<AuditIds> {
        Ok(AuditIds(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log")
                .fetch_one(&mut *tx)
                .await?,
        ))
    }

    fn take(&mut self) -> i64 {
        self.0 += 1;
        self.0 - 1
    }
}

/// Auto-fix jobs for issues that became open, `waiting` for their grace
/// period, each with its `job_created` audit record.
async fn create_jobs(
    tx: &mut SqliteConnection,
    jobs: &[NewJob],
    scan_id: i64,
    at: i64,
    audit: &mut AuditIds,
) -> Result<()> {
    for chunk in jobs.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO autofix_jobs (id, issue_id, rule, policy, rkey, action, args, notify, status, created_at, due_at, reason) ",
        );
        q.push_values(chunk, |mut b, j| {
            b.push_bind(j.id)
                .push_bind(j.issue_id)
                .push_bind(j.rule.clone())
                .push_bind(j.policy.clone())
                .push_bind(j.rkey.clone())
                .push_bind(j.action.clone())
                .push_bind(j.args.to_string())
                .push_bind(serde_json::to_string(&j.notify).unwrap_or_default())
                .push_bind(if j.error.is_some() {
                    JobStatus::Failed
                } else {
                    JobStatus::Waiting
                })
                .push_bind(at)
                .push_bind(j.due_at)
                .push_bind(j.error.clone());
        });
        q.build().execute(&mut *tx).await?;
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO audit_log (id, at, job_id, kind, detail) ");
        q.push_values(chunk, |mut b, j| {
            let mut detail = json!({"issue": j.issue_id, "action": j.action, "due_at": j.due_at, "scan": scan_id});
            if let Some(e) = &j.error {
                detail["error"] = json!(e);
            }
            b.push_bind(audit.take())
                .push_bind(at)
                .push_bind(j.id)
                .push("'job_created'")
                .push_bind(detail.to_string());
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Waiting jobs whose issue closed or became exempt are cancelled (only if
/// still waiting: one the notifier already claimed runs its course), each
/// with its `job_cancelled` audit record.
async fn cancel_jobs(
    tx: &mut SqliteConnection,
    cancels: &[(i64, String)],
    scan_id: i64,
    at: i64,
    audit: &mut AuditIds,
) -> Result<()> {
    for (job, reason) in cancels {
        sqlx::query(
            "UPDATE autofix_jobs SET status = $2, reason = $3 WHERE id = $1 AND status = $4",
        )
        .bind(job)
        .bind(JobStatus::Cancelled)
        .bind(reason)
        .bind(JobStatus::Waiting)
        .execute(&mut *tx)
        .await?;
        let detail = json!({"reason": reason, "scan": scan_id});
        insert_audit(tx, audit.take(), at, Some(*job), "job_cancelled", &detail).await?;
    }
    Ok(())
}

/// The roll-ups as served (one body per asset group, replaced) and the
/// day's history rows (one per day, group and policy: the last scan of the
/// day wins).
async fn write_compliance(
    tx: &mut SqliteConnection,
    current: &[(String, String)],
    history: &[HistoryRow],
    scan_id: i64,
    at: i64,
) -> Result<()> {
    for (g, body) in current {
        sqlx::query(
            "INSERT INTO compliance_current (grp, scan_id, at, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (grp) DO UPDATE SET scan_id = excluded.scan_id, at = excluded.at, body = excluded.body",
        )
        .bind(g)
        .bind(scan_id)
        .bind(at)
        .bind(body)
        .execute(&mut *tx)
        .await?;
    }
    const UPSERT: &str = "INSERT INTO compliance_history (day, grp, policy, compliance, assets, open, exempt, unknown) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (day, grp, policy) DO UPDATE SET compliance = excluded.compliance, assets = excluded.assets, open = excluded.open, exempt = excluded.exempt, unknown = excluded.unknown";
    write_history(tx, UPSERT, history).await
}

/// Upserts history rows with `upsert`, whose eight parameters are the
/// row's fields in order (the third: the policy, or the domain).
async fn write_history(
    tx: &mut SqliteConnection,
    upsert: &'static str,
    rows: &[HistoryRow],
) -> Result<()> {
    for h in rows {
        sqlx::query(upsert)
            .bind(&h.day)
            .bind(&h.group)
            .bind(&h.policy)
            .bind(h.compliance)
            .bind(h.assets)
            .bind(h.open)
            .bind(h.exempt)
            .bind(h.unknown)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The domains' roll-ups (all replaced: a domain no longer declared
/// disappears) and their day's history rows.
async fn write_domains(tx: &mut SqliteConnection, w: &ScanWrite, at: i64) -> Result<()> {
    if w.compliance.is_empty() {
        // This scan rolled nothing up: the stored figures stand.
        return Ok(());
    }
    sqlx::query("DELETE FROM domain_current")
        .execute(&mut *tx)
        .await?;
    for (g, d, body) in &w.domains {
        sqlx::query(
            "INSERT INTO domain_current (grp, domain, scan_id, at, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(g)
        .bind(d)
        .bind(w.scan_id)
        .bind(at)
        .bind(body)
        .execute(&mut *tx)
        .await?;
    }
    const UPSERT: &str = "INSERT INTO domain_history (day, grp, domain, compliance, assets, open, exempt, unknown) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (day, grp, domain) DO UPDATE SET compliance = excluded.compliance, assets = excluded.assets, open = excluded.open, exempt = excluded.exempt, unknown = excluded.unknown";
    write_history(tx, UPSERT, &w.domain_history).await
}

/// How the source's read went, for the next scans (of any source) to count
/// what it left unknown; a scan that read nothing of its own leaves it.
async fn record_read(tx: &mut SqliteConnection, w: &ScanWrite) -> Result<()> {
    let Some(r) = &w.read else { return Ok(()) };
    sqlx::query(
        "INSERT INTO source_reads (source, status, scan_id, at, since, scopes, message) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source) DO UPDATE SET status = excluded.status, scan_id = excluded.scan_id, at = excluded.at,
           since = excluded.since, scopes = excluded.scopes, message = excluded.message",
    )
    .bind(&w.source)
    .bind(r.status)
    .bind(w.scan_id)
    .bind(w.at)
    .bind(r.since)
    // Unserialisable scopes (never expected) are stored as "everything".
    .bind(serde_json::to_string(&r.scopes).unwrap_or_else(|_| "[{}]".into()))
    .bind(&r.message)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The scan record last: its status and counts say what this transaction
/// wrote, so they are committed with it or not at all.
async fn finish_scan_record(tx: &mut SqliteConnection, w: &ScanWrite) -> Result<()> {
    let c = &w.counts;
    sqlx::query(
        "UPDATE scans SET status = $2, finished_at = $3, resources = $4, changed = $5, removed = $6, results = $7, opened = $8, closed = $9, reopened = $10, exempted = $11, unknown = $12, source_errors = $13, ingest_errors = $14, ingest_error_count = $15, message = $16, duration_ms = $17, held_removals = $18 WHERE id = $1",
    )
    .bind(w.scan_id)
    .bind(w.status)
    .bind(w.finished_at.max(w.at))
    .bind(c.resources)
    .bind(c.changed)
    .bind(c.removed)
    .bind(c.results)
    .bind(c.opened)
    .bind(c.closed)
    .bind(c.reopened)
    .bind(c.exempted)
    .bind(c.unknown)
    .bind(w.source_errors.to_string())
    .bind(w.ingest_errors.to_string())
    .bind(w.ingest_error_count)
    .bind(&w.message)
    .bind(w.duration_ms)
    .bind(w.held_removals)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
