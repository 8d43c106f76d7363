//! `pacc fix`: evaluates the policies over an inventory and runs the
//! auto-fix bound to every failing rule, through the action executors of
//! the configured sources and the custom `[[action]]`s (connectors crate).
//! Exempted failures are never fixed. There is no grace period here (the
//! server adds that); a dry run says what each fix would change. A request is built and run as the
//! server builds and runs its jobs (`pac_server::autofix::fix_args`,
//! `pac_connectors::Executors::run`), so both act alike.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use pac_connectors::{Config, Executors, FixRequest, FixResult, FixStatus, Target};
use serde_json::{Value as Json, json};

use crate::cli::{EngineKind, Format};

pub struct FixArgs<'a> {
    pub config: &'a Path,
    pub policies: &'a [PathBuf],
    pub inventory: &'a Path,
    pub apply: bool,
    pub now: Option<&'a str>,
    pub format: Format,
    pub engine: EngineKind,
}

/// The raw documents of the inventory file by (type, id, account, region),
/// handed to actions as the target's last-collected state.
fn raw_documents(path: &Path) -> HashMap<(String, String, String, String), Json> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = HashMap::new();
    for (_, r) in pac_connectors::plugin::records(&text) {
        let Ok(doc) = r else { continue };
        let s = |k: &str| doc[k].as_str().unwrap_or_default().to_owned();
        out.insert((s("type"), s("id"), s("account"), s("region")), doc);
    }
    out
}

pub fn run(args: &FixArgs) -> i32 {
    let config = match Config::load(args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let now = match crate::cli::parse_now(args.now) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let Some(c) = crate::cli::compile_or_report(args.policies) else {
        return 2;
    };
    let Some(inv) = crate::cli::read_inventory(&c, args.inventory, false) else {
        return 2;
    };
    let p = &c.program;
    let opts = pac_runtime::EvalOptions {
        now,
        explain: false,
        coverage: None,
    };
    let native = crate::cli::native_engine(p, args.engine, false, false);
    let prepared = native.as_ref().map(|e| e.prepare(&inv));
    let report = pac_runtime::evaluate_with(
        p,
        &inv,
        &opts,
        prepared.as_ref().map(|x| x as &dyn pac_runtime::RuleEngine),
    );
    let raw = raw_documents(args.inventory);
    let executors = Executors::new(config.executors().into_iter().map(std::sync::Arc::from));

    // The fixes to run, once each, in rule then inventory order: requests
    // that do the same thing (the same action and arguments on the same
    // resource, or on the same region or account for an action that
    // changes a setting there) are one fix, listing what it covers.
    let mut requests: Vec<Planned> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let env = pac_runtime::Env::new(&inv, now);
    let mut exempted = Vec::new();
    for r in &report.results {
        let rule = &p.rules[r.rule];
        let Some(fix) = &rule.autofix else { continue };
        if r.outcome != pac_runtime::Outcome::Fail {
            continue;
        }
        let res = &inv.resources[r.resource];
        if let Some(e) = r.exempted_by {
            exempted.push(format!(
                "{} on {} {}: exempted by `{}`, not fixed",
                rule.id, res.type_name, res.id, p.exceptions[e].name
            ));
            continue;
        }
        let document = raw
            .get(&(
                res.type_name.to_string(),
                res.id.to_string(),
                res.account.to_string(),
                res.region.to_string(),
            ))
            .cloned()
            .unwrap_or(Json::Null);
        let (fix_args, error) =
            match pac_server::autofix::fix_args_on(fix, rule.slots, &res.value, &env) {
                Ok(a) => (a, None),
                Err(e) => (pac_server::autofix::fix_args(&fix.args), Some(e)),
            };
        let request = FixRequest {
            action: fix.action.clone(),
            args: fix_args,
            target: Target {
                resource_type: res.type_name.to_string(),
                id: res.id.to_string(),
                account: res.account.to_string(),
                region: res.region.to_string(),
                document,
            },
            dry_run: !args.apply,
            rule: Some(rule.id.clone()),
            policy: Some(p.policy_of(r.rule).name.clone()),
        };
        // `notify_only` changes nothing: each failure's stands alone.
        let key = if request.action == "notify_only" {
            format!("{}\u{1f}{}\u{1f}{}", rule.id, res.type_name, res.id)
        } else {
            request.once_key(executors.scope(&request))
        };
        let covered =
            json!({"rule": rule.id, "type": res.type_name.to_string(), "id": res.id.to_string()});
        match by_key.get(&key) {
            Some(&i) => {
                if !requests[i].covers.contains(&covered) {
                    requests[i].covers.push(covered);
                }
            }
            None => {
                by_key.insert(key, requests.len());
                requests.push(Planned {
                    rule: rule.id.clone(),
                    request,
                    covers: vec![covered],
                    error,
                });
            }
        }
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let records = runtime.block_on(run_all(&executors, &requests));

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &records {
        *counts
            .entry(r["status"].as_str().unwrap_or("failed"))
            .or_default() += 1;
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "mode": if args.apply { "apply" } else { "dry-run" },
                "fixes": records,
                "exempted": exempted,
                "counts": counts,
            }))
            .unwrap_or_default()
        ),
        Format::Text => {
            for r in &records {
                let t = &r["target"];
                println!(
                    "{:<13} {} → {} on {} {} ({}/{}): {}",
                    r["status"].as_str().unwrap_or(""),
                    r["rule"].as_str().unwrap_or(""),
                    r["action"].as_str().unwrap_or(""),
                    t["type"].as_str().unwrap_or(""),
                    t["id"].as_str().unwrap_or(""),
                    t["account"].as_str().unwrap_or(""),
                    t["region"].as_str().unwrap_or(""),
                    r["summary"].as_str().or(r["error"].as_str()).unwrap_or(""),
                );
                let covers = r["covers"].as_array().map_or(0, Vec::len);
                if covers > 1 {
                    let scope = r["scope"].as_str().unwrap_or("resource");
                    let what = match scope {
                        "resource" => "failing rules of this resource".to_string(),
                        _ => format!("failures in this {scope}"),
                    };
                    println!("{:<13} one fix for {covers} {what}", "");
                }
            }
            for e in &exempted {
                println!("{:<13} {e}", "exempted");
            }
            let parts: Vec<String> = counts
                .iter()
                .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
                .collect();
            println!(
                "{}: {} fix(es){}{}",
                if args.apply { "applied" } else { "dry run" },
                records.len(),
                if parts.is_empty() {
                    String::new()
                } else {
                    format!(": {}", parts.join(", "))
                },
                if exempted.is_empty() {
                    String::new()
                } else {
                    format!("; {} exempted failure(s) left alone", exempted.len())
                },
            );
        }
    }
    i32::from(counts.contains_key("failed"))
}

/// One fix to run, and the failures (rule, resource) it serves.
struct Planned {
    rule: String,
    request: FixRequest,
    covers: Vec<Json>,
    /// Why it cannot run (an argument computed from the resource is
    /// missing): reported as failed, never run with a guess.
    error: Option<String>,
}

async fn run_all(executors: &Executors, requests: &[Planned]) -> Vec<Json> {
    let mut out = Vec::new();
    for Planned {
        rule,
        request: req,
        covers,
        error,
    } in requests
    {
        let t = &req.target;
        let mut record = json!({
            "rule": rule,
            "action": req.action,
            "args": req.args,
            "target": {"type": t.resource_type, "id": t.id, "account": t.account, "region": t.region},
            "scope": executors.scope(req),
            "covers": covers,
        });
        if let Some(e) = error {
            record["status"] = json!("failed");
            record["error"] = json!(e);
            out.push(record);
            continue;
        }
        match executors.run(req).await {
            FixResult::NoExecutor => {
                record["status"] = json!("skipped");
                record["summary"] = json!(pac_server::autofix::no_executor(
                    executors,
                    req,
                    "add a source of kind `aws` that reaches that account, or an [[action]] that runs it, to the --config file",
                ));
            }
            FixResult::Ran(o) => {
                record["status"] = json!(match o.status {
                    FixStatus::Changed => "changed",
                    FixStatus::WouldChange => "would_change",
                    FixStatus::AlreadyFixed => "already_fixed",
                });
                record["summary"] = json!(o.summary);
                record["before"] = o.before;
                record["after"] = o.after;
            }
            FixResult::Failed(err) => {
                record["status"] = json!("failed");
                record["error"] = json!(err.to_string());
            }
        }
        out.push(record);
    }
    out
}
