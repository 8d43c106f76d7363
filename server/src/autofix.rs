//! Auto-fix: owners are notified when a job is created; once the grace
//! period has passed, a job whose issue is still open and not exempted runs
//! its action once (claimed before it runs, so a crash never runs it
//! twice), with the result in the audit log. Dry-run switches (global, per
//! policy) and blast-radius limits (per policy and run: at most N
//! resources or P% of the policy's resources; past that the policy's due
//! fixes are suspended with the reason) guard it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use pac_connectors::{Executors, FixRequest, FixResult, Target};
use pac_stdlib::Value;
use serde_json::json;

use crate::Server;
use crate::clock::rfc3339;
use crate::notify::Notification;
use crate::store::{IssueStatus, JobRow, JobStatus};

/// An auto-fix binding's arguments as the JSON an executor receives. The
/// server (when it schedules a job) and `pacc fix` both build a request's
/// arguments here, so a map is an object and a time its text in both.
pub fn fix_args(args: &[(String, Value)]) -> BTreeMap<String, serde_json::Value> {
    args.iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect()
}

/// A fix's arguments on one failing resource: the constants, and the
/// computed ones evaluated on it (`Err` names an argument that could not
/// be computed, and why: the fix is not run with a guess).
pub fn fix_args_on(
    fix: &pac_compiler::ir::Autofix,
    slots: u32,
    resource: &Value,
    env: &pac_runtime::Env<'_>,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let mut args = fix_args(&fix.args);
    for (name, expr) in &fix.exprs {
        let mut frame = pac_runtime::Frame::new(slots, resource.clone());
        match pac_runtime::eval(expr, &mut frame, env) {
            Ok(Value::Missing) => {
                return Err(format!(
                    "argument `{name}` of `{}` is missing on this resource",
                    fix.action
                ));
            }
            Ok(v) => {
                args.insert(name.clone(), value_json(&v));
            }
            Err(e) => {
                return Err(format!(
                    "argument `{name}` of `{}` could not be computed: {e}",
                    fix.action
                ));
            }
        }
    }
    Ok(args)
}

/// A Pac value as JSON.
fn value_json(v: &Value) -> serde_json::Value {
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

/// Why no executor took a request, and what to configure.
pub fn no_executor(executors: &Executors, request: &FixRequest, advice: &str) -> String {
    if executors.knows(&request.action) {
        format!(
            "no configured executor of `{}` reaches account {} ({advice})",
            request.action, request.target.account
        )
    } else {
        format!("no executor for action `{}`: {advice}", request.action)
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub notified: usize,
    pub ran: usize,
    pub dry_run: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub suspended: usize,
    /// Done by another job of the same run that made the same change.
    pub covered: usize,
    /// Due, but the resource's current state is unknown (the last read of
    /// its source failed or is held as suspect): left waiting, due date
    /// kept, until a read shows the resource again.
    pub deferred: usize,
}

/// One owner's notification of the jobs in `jobs` (all of a run's, that
/// is of a scan's, for that owner): one mail, not one per issue.
fn notification(server: &Server, owner: &str, jobs: &[&JobRow]) -> Result<Notification, String> {
    let (html, body) = crate::web::mail::fixes(&server.settings.portal_url, owner, jobs)?;
    let mut rules: Vec<&str> = jobs.iter().map(|j| j.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let more = if rules.len() > 3 {
        format!(" and {} more", rules.len() - 3)
    } else {
        String::new()
    };
    rules.truncate(3);
    let first_due = jobs.iter().map(|j| j.due_at).min().unwrap_or_default();
    Ok(Notification {
        to: vec![owner.to_string()],
        subject: format!(
            "[pac] {} auto-fix(es) scheduled on your resources ({}{more}), first due {}",
            jobs.len(),
            rules.join(", "),
            rfc3339(first_due)
        ),
        body,
        html: Some(html),
        unsubscribe: None,
    })
}

/// Sends pending notifications and runs the jobs that are due.
pub async fn run_due(server: &Arc<Server>) -> Result<RunSummary, String> {
    let _one = server.autofix_lock.lock().await;
    let store = &server.store;
    let cfg = &server.settings.autofix;
    let mut sum = RunSummary::default();
    let e = |x: crate::store::StoreError| x.to_string();

    // The jobs scheduled since the last run (a run follows every scan),
    // grouped per owner: each owner gets one mail listing all of theirs.
    let pending = store.unnotified_jobs().await.map_err(e)?;
    let mut by_owner: BTreeMap<&str, Vec<&JobRow>> = BTreeMap::new();
    for job in &pending {
        for owner in &job.notify {
            let jobs = by_owner.entry(owner.as_str()).or_default();
            if !jobs.iter().any(|j| j.id == job.id) {
                jobs.push(job);
            }
        }
    }
    // owner → (subject, result)
    let mut sent: HashMap<&str, (String, String)> = HashMap::new();
    for (owner, jobs) in &mut by_owner {
        jobs.sort_by_key(|j| (j.due_at, j.id));
        let outcome = match notification(server, owner, jobs) {
            Ok(n) => {
                let result = match server.notifier.send(&n).await {
                    Ok(()) => "sent".to_string(),
                    Err(err) => format!("failed: {err}"),
                };
                (n.subject, result)
            }
            Err(err) => (String::new(), format!("failed: {err}")),
        };
        sent.insert(owner, outcome);
    }
    for job in &pending {
        let now = server.clock.now();
        let audit = if job.notify.is_empty() {
            json!({"notifier": server.notifier.kind(), "to": [], "result": "no recipients"})
        } else {
            let outcomes: Vec<&(String, String)> = job
                .notify
                .iter()
                .filter_map(|o| sent.get(o.as_str()))
                .collect();
            let failed: Vec<String> = job
                .notify
                .iter()
                .filter_map(|o| {
                    sent.get(o.as_str())
                        .filter(|(_, r)| r != "sent")
                        .map(|(_, r)| format!("{o}: {r}"))
                })
                .collect();
            let result = if failed.is_empty() {
                "sent".to_string()
            } else {
                format!("failed: {}", failed.join("; "))
            };
            json!({
                "notifier": server.notifier.kind(),
                "to": job.notify,
                "subject": outcomes.first().map(|(s, _)| s.clone()).unwrap_or_default(),
                "grouped": "one mail per owner per scan",
                "result": result
            })
        };
        store.mark_notified(job.id, now, &audit).await.map_err(e)?;
        sum.notified += 1;
    }

    let now = server.clock.now();
    let due = store.due_jobs(now).await.map_err(e)?;
    let mut by_policy: BTreeMap<String, Vec<JobRow>> = BTreeMap::new();
    for j in due {
        by_policy.entry(j.policy.clone()).or_default().push(j);
    }
    let assets = policy_assets(server).await;
    let unread = store.unread().await.map_err(e)?;
    // What ran in this run, by what it does (FixRequest::once_key): a
    // job asking for the same change again (two rules binding the same fix
    // to a resource; every volume of a region asking for the region's EBS
    // setting) is covered by the first, not run again.
    let mut once: Once = HashMap::new();
    for (policy, mut jobs) in by_policy {
        // A fix acts only on what the last read showed: Pac does not act
        // on a resource whose source it could not read.
        let before = jobs.len();
        let mut kept = Vec::with_capacity(before);
        for j in jobs {
            if unknown_now(server, &unread, &j.resource_key).await? {
                continue;
            }
            kept.push(j);
        }
        sum.deferred += before - kept.len();
        jobs = kept;
        if jobs.is_empty() {
            continue;
        }
        // Only actions that change resources count against the limits,
        // each resource (or region or account, for a setting there) once.
        let mut changes = std::collections::HashSet::new();
        for j in jobs.iter().filter(|j| j.action != "notify_only") {
            let request = fix_request(server, j, false).await?;
            changes.insert(request.changes(server.executors.scope(&request)));
        }
        let n = changes.len() as u64;
        let total = assets.get(&policy).copied().unwrap_or(0);
        let over_count = n > cfg.max_resources;
        let over_share = total > 0 && n * 100 > cfg.max_percent * total;
        if over_count || over_share {
            let reason = if over_count {
                format!(
                    "blast radius: {n} fixes of `{policy}` are due, more than max_resources = {}; the policy's fixes are suspended until someone reviews them",
                    cfg.max_resources
                )
            } else {
                format!(
                    "blast radius: {n} fixes of `{policy}` are due, more than max_percent = {}% of its {total} resources; the policy's fixes are suspended until someone reviews them",
                    cfg.max_percent
                )
            };
            for j in &jobs {
                let done = store
                    .finish_job(
                        j.id,
                        JobStatus::Suspended,
                        now,
                        None,
                        Some(&reason),
                        &[("suspended".into(), json!({"reason": reason}))],
                    )
                    .await
                    .map_err(e)?;
                sum.suspended += usize::from(done);
            }
            continue;
        }
        for j in jobs {
            run_job_by(server, &j, &mut sum, None, Some(&mut once)).await?;
        }
    }
    Ok(sum)
}

/// Whether the resource lies in a part of its source that the last read
/// left unknown.
async fn unknown_now(
    server: &Arc<Server>,
    unread: &HashMap<String, crate::store::SourceRead>,
    key: &str,
) -> Result<bool, String> {
    if unread.is_empty() {
        return Ok(false);
    }
    let Some(r) = server
        .store
        .resource(key)
        .await
        .map_err(|x| x.to_string())?
    else {
        return Ok(false);
    };
    Ok(unread.get(&r.source).is_some_and(|u| {
        u.scopes
            .iter()
            .any(|s| crate::scan::in_scope(s, &r.rtype, &r.account, &r.region))
    }))
}

/// Each policy's assets in the last roll-up (results with a definite
/// outcome), the base of the percentage limit.
async fn policy_assets(server: &Arc<Server>) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    if let Ok(Some((_, _, body))) = server.store.compliance("").await
        && let Some(ps) = body["policies"].as_array()
    {
        for p in ps {
            if let Some(name) = p["name"].as_str() {
                out.insert(
                    name.to_string(),
                    p["assets"].as_u64().unwrap_or(0) + p["unknown"].as_u64().unwrap_or(0),
                );
            }
        }
    }
    out
}

/// The request an executor gets for job `j`: its action and arguments on
/// the resource as last read. The scheduled run, "fix now" and the
/// portal's preview (a dry run) all build it here.
async fn fix_request(server: &Server, j: &JobRow, dry_run: bool) -> Result<FixRequest, String> {
    let res = server
        .store
        .resource(&j.resource_key)
        .await
        .map_err(|x| x.to_string())?;
    let (rtype, id, account, region, document) = match &res {
        Some(r) => (
            r.rtype.clone(),
            r.id.clone(),
            r.account.clone(),
            r.region.clone(),
            r.document.clone(),
        ),
        None => Default::default(),
    };
    let args: BTreeMap<String, serde_json::Value> = j
        .args
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(FixRequest {
        action: j.action.clone(),
        args,
        target: Target {
            resource_type: rtype,
            id,
            account,
            region,
            document,
        },
        dry_run,
        rule: Some(j.rule.clone()),
        policy: Some(j.policy.clone()),
    })
}

/// What a job's action would do now: the same request the run would send,
/// as a dry run, through the same executors as `pacc fix --dry-run`.
/// Nothing changes and nothing is recorded.
pub async fn preview(server: &Server, j: &JobRow) -> Result<(FixRequest, FixResult), String> {
    let request = fix_request(server, j, true).await?;
    let outcome = server.executors.run(&request).await;
    Ok((request, outcome))
}

/// Why "fix now" did not run a job.
#[derive(Debug)]
pub enum FixNowError {
    /// It is not waiting any more (ran, cancelled, …): its status.
    NotWaiting(JobStatus),
    /// The resource's source could not be read at the last scan.
    Unknown,
    /// The policy's fixes in the last day reached the blast-radius limits
    /// (`max_resources`, `max_percent`): why.
    BlastRadius(String),
    Store(String),
}

/// The window "fix now" counts a policy's fixes in against the limits.
pub const FIX_NOW_WINDOW: i64 = 86_400;

/// Runs waiting job `id` now, before its grace period ends, at the request
/// of `by` (an approver; the caller checks that): the same steps as a due
/// job (still open and not exempt, claimed once, the dry-run switches),
/// with `by` in each audit entry. The job as it ends.
pub async fn fix_now(server: &Arc<Server>, id: i64, by: &str) -> Result<JobRow, FixNowError> {
    let _one = server.autofix_lock.lock().await;
    let e = |x: crate::store::StoreError| FixNowError::Store(x.to_string());
    let Some(j) = server.store.job(id).await.map_err(e)? else {
        return Err(FixNowError::Store(format!("no auto-fix job {id}")));
    };
    if j.status != JobStatus::Waiting {
        return Err(FixNowError::NotWaiting(j.status));
    }
    let unread = server.store.unread().await.map_err(e)?;
    if unknown_now(server, &unread, &j.resource_key)
        .await
        .map_err(FixNowError::Store)?
    {
        return Err(FixNowError::Unknown);
    }
    // The scheduled run's blast-radius limits hold for "fix now" too,
    // counted over the last day: clicking through a policy's jobs one by
    // one may not change more than a run could.
    if j.action != "notify_only" {
        let cfg = &server.settings.autofix;
        let since = server.clock.now() - FIX_NOW_WINDOW;
        let n = server
            .store
            .fixes_ran_since(&j.policy, since)
            .await
            .map_err(e)?
            + 1;
        let total = policy_assets(server)
            .await
            .get(&j.policy)
            .copied()
            .unwrap_or(0);
        if n > cfg.max_resources {
            return Err(FixNowError::BlastRadius(format!(
                "this would be fix {n} of `{}` within a day, more than max_resources = {}",
                j.policy, cfg.max_resources
            )));
        }
        if total > 0 && n * 100 > cfg.max_percent * total {
            return Err(FixNowError::BlastRadius(format!(
                "this would be fix {n} of `{}` within a day, more than max_percent = {}% of its {total} resources",
                j.policy, cfg.max_percent
            )));
        }
    }
    let mut sum = RunSummary::default();
    run_job_by(server, &j, &mut sum, Some(by), None)
        .await
        .map_err(FixNowError::Store)?;
    match server.store.job(id).await.map_err(e)? {
        Some(j) => Ok(j),
        None => Err(FixNowError::Store(format!("auto-fix job {id} vanished"))),
    }
}

/// The changes a run made, by [`FixRequest::once_key`] (and dry run or
/// not): the job that ran each, and its outcome (`Err`: why it failed).
type Once = HashMap<String, (i64, Result<serde_json::Value, String>)>;

/// `detail` with `"by"` (who asked for "fix now") when given.
fn by_whom(mut detail: serde_json::Value, by: Option<&str>) -> serde_json::Value {
    if let (Some(b), Some(m)) = (by, detail.as_object_mut()) {
        m.insert("by".into(), json!(b));
        m.insert("fix_now".into(), json!(true));
    }
    detail
}

async fn run_job_by(
    server: &Arc<Server>,
    j: &JobRow,
    sum: &mut RunSummary,
    by: Option<&str>,
    once: Option<&mut Once>,
) -> Result<(), String> {
    let store = &server.store;
    let cfg = &server.settings.autofix;
    let e = |x: crate::store::StoreError| x.to_string();
    let now = server.clock.now();
    let issue = store.issue(j.issue_id).await.map_err(e)?;
    let still_open = issue
        .as_ref()
        .is_some_and(|i| i.status == IssueStatus::Open);
    if !still_open {
        let reason = format!(
            "the issue is {} at the end of the grace period",
            issue.as_ref().map_or("gone", |i| i.status.as_str())
        );
        let done = store
            .finish_job(
                j.id,
                JobStatus::Cancelled,
                now,
                None,
                Some(&reason),
                &[(
                    "job_cancelled".into(),
                    by_whom(json!({"reason": reason}), by),
                )],
            )
            .await
            .map_err(e)?;
        sum.cancelled += usize::from(done);
        return Ok(());
    }
    // Claim it: a job runs at most once, even across a crash.
    if !store.claim_job(j.id, now).await.map_err(e)? {
        return Ok(());
    }
    let dry_run = cfg.dry_run || cfg.dry_run_policies.contains(&j.policy);
    let request = fix_request(server, j, dry_run).await?;
    let key = format!(
        "{dry_run}\u{1f}{}",
        request.once_key(server.executors.scope(&request))
    );
    // `notify_only` changes nothing: each issue's notification stands alone.
    let once = once.filter(|_| j.action != "notify_only");
    if let Some((first, result)) = once.as_ref().and_then(|o| o.get(&key)) {
        let now = server.clock.now();
        let (status, kind, detail) = match result {
            Ok(outcome) => (
                if dry_run {
                    JobStatus::DryRun
                } else {
                    JobStatus::Done
                },
                "action_ran",
                json!({"action": j.action, "dry_run": dry_run, "covered_by_job": first, "outcome": outcome}),
            ),
            Err(reason) => (
                JobStatus::Failed,
                "action_failed",
                json!({"action": j.action, "dry_run": dry_run, "covered_by_job": first, "error": reason}),
            ),
        };
        let reason = result
            .as_ref()
            .err()
            .map(|r| format!("the same fix failed in job {first}: {r}"));
        store
            .finish_job(
                j.id,
                status,
                now,
                Some(&json!({"covered_by_job": first})),
                reason.as_deref(),
                &[(kind.into(), detail)],
            )
            .await
            .map_err(e)?;
        match status {
            JobStatus::Failed => sum.failed += 1,
            JobStatus::DryRun => sum.dry_run += 1,
            _ => sum.covered += 1,
        }
        return Ok(());
    }
    let outcome = server.executors.run(&request).await;
    if let Some(once) = once {
        let result = match &outcome {
            FixResult::Ran(out) => Ok(serde_json::to_value(out).unwrap_or_default()),
            FixResult::Failed(err) => Err(err.to_string()),
            FixResult::NoExecutor => Err(no_executor(&server.executors, &request, "see job")),
        };
        once.insert(key, (j.id, result));
    }
    let now = server.clock.now();
    match outcome {
        FixResult::NoExecutor => {
            let reason = no_executor(
                &server.executors,
                &request,
                "configure one under [autofix] executors, e.g. \"aws\" with an aws source for that account",
            );
            store
                .finish_job(
                    j.id,
                    JobStatus::Failed,
                    now,
                    None,
                    Some(&reason),
                    &[(
                        "action_failed".into(),
                        by_whom(json!({"error": reason}), by),
                    )],
                )
                .await
                .map_err(e)?;
            sum.failed += 1;
        }
        FixResult::Ran(out) => {
            let status = if dry_run {
                JobStatus::DryRun
            } else {
                JobStatus::Done
            };
            let v = serde_json::to_value(&out).unwrap_or_default();
            store
                .finish_job(
                    j.id,
                    status,
                    now,
                    Some(&v),
                    None,
                    &[(
                        "action_ran".into(),
                        by_whom(
                            json!({"action": j.action, "dry_run": dry_run, "outcome": v}),
                            by,
                        ),
                    )],
                )
                .await
                .map_err(e)?;
            if dry_run {
                sum.dry_run += 1;
            } else {
                sum.ran += 1;
            }
        }
        FixResult::Failed(err) => {
            let reason = err.to_string();
            store
                .finish_job(
                    j.id,
                    JobStatus::Failed,
                    now,
                    Some(&serde_json::to_value(&err).unwrap_or_default()),
                    Some(&reason),
                    &[(
                        "action_failed".into(),
                        by_whom(
                            json!({"action": j.action, "dry_run": dry_run, "error": reason}),
                            by,
                        ),
                    )],
                )
                .await
                .map_err(e)?;
            sum.failed += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_arguments_are_json_of_their_pac_values() {
        let tags: std::collections::BTreeMap<std::sync::Arc<str>, Value> =
            [("team".into(), Value::str("web"))].into_iter().collect();
        let args = vec![
            (
                "ports".to_string(),
                Value::List(vec![Value::Int(22)].into()),
            ),
            ("tags".to_string(), Value::Map(std::sync::Arc::new(tags))),
            ("snapshot_first".to_string(), Value::Bool(true)),
            ("after".to_string(), Value::Dur(3600)),
            ("note".to_string(), Value::Missing),
        ];
        let j = serde_json::to_value(fix_args(&args)).unwrap();
        assert_eq!(
            j,
            json!({
                "ports": [22],
                // A map is an object (the CLI once sent it as its text).
                "tags": {"team": "web"},
                "snapshot_first": true,
                "after": Value::Dur(3600).to_string(),
                "note": null,
            })
        );
    }

    #[test]
    fn a_missing_executor_says_what_to_configure() {
        let req = FixRequest {
            action: "stop_instance".into(),
            args: BTreeMap::new(),
            target: Target {
                resource_type: "aws.ec2.instance".into(),
                id: "i-1".into(),
                account: "111".into(),
                region: "us-east-1".into(),
                document: serde_json::Value::Null,
            },
            dry_run: true,
            rule: None,
            policy: None,
        };
        let e = Executors::default();
        assert_eq!(
            no_executor(&e, &req, "configure one"),
            "no executor for action `stop_instance`: configure one"
        );
        let req = FixRequest {
            action: "notify_only".into(),
            ..req
        };
        assert!(no_executor(&e, &req, "x").contains("reaches account 111"));
    }
}
