//! `pacc collect`: runs the configured sources (connectors crate), checks
//! every document against the schemas, writes the inventory as NDJSON and
//! prints a summary (documents per type, account and region; every error;
//! the API calls made).
//!
//! With `--policies`, only what those policies read is collected (the
//! compiler's read set, `pac_compiler::reads`); without, everything.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pac_connectors::{CollectPlan, Config, Event, Scope, SourceError};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

use crate::cli::Format;

pub struct CollectArgs<'a> {
    pub config: &'a Path,
    pub policies: Option<&'a [PathBuf]>,
    pub out: &'a Path,
    pub format: Format,
}

/// Everything one collection produced.
struct Collected {
    /// (source index, position within the source, document)
    docs: Vec<(usize, usize, Json)>,
    errors: Vec<SourceError>,
    complete: Vec<(String, Scope)>,
    api_calls: Vec<(String, BTreeMap<String, u64>)>,
}

pub fn run(args: &CollectArgs) -> i32 {
    let config = match Config::load(args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if config.sources.is_empty() {
        eprintln!(
            "error: {}: no sources to collect from: add at least one [[source]] table",
            args.config.display()
        );
        return 2;
    }
    // The schemas documents are checked against: the stdlib's and any the
    // policies declare.
    let compiled = match args.policies {
        Some(p) => match crate::cli::compile_or_report(p) {
            Some(c) => c,
            None => return 2,
        },
        None => pac_compiler::compile_sources(vec![]),
    };
    let plan = match args.policies {
        Some(_) => CollectPlan {
            types: Some(pac_compiler::reads::reads(&compiled.program)),
        },
        None => CollectPlan::everything(),
    };
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
    let start = Instant::now();
    let connectors = pac_connectors::config::connectors(&config.sources);
    let collected = runtime.block_on(collect_all(&connectors, &plan));
    let seconds = start.elapsed().as_secs_f64();

    let names: Vec<&str> = connectors.iter().map(|c| c.name()).collect();
    let (inv, rejected) = pac_runtime::Inventory::from_documents(
        &compiled.program.schemas,
        collected
            .docs
            .iter()
            .map(|(src, pos, doc)| (names[*src], *pos, doc)),
    );
    // A rejected document is left out of the written inventory.
    let bad: std::collections::HashSet<(&str, usize)> = rejected
        .iter()
        .map(|e| (e.source.as_str(), e.line))
        .collect();
    if let Err(e) = write_ndjson(
        args.out,
        collected
            .docs
            .iter()
            .filter(|(src, pos, _)| !bad.contains(&(names[*src], *pos)))
            .map(|(_, _, d)| d),
    ) {
        eprintln!("error: {}: {e}", args.out.display());
        return 2;
    }

    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_account: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_region: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &inv.resources {
        *by_type.entry(&r.type_name).or_default() += 1;
        *by_account.entry(&r.account).or_default() += 1;
        *by_region.entry(&r.region).or_default() += 1;
    }
    let total_calls: u64 = collected
        .api_calls
        .iter()
        .flat_map(|(_, m)| m.values())
        .sum();
    match args.format {
        Format::Json => {
            let summary = json!({
                "out": args.out.display().to_string(),
                "documents": inv.len(),
                "by_type": by_type,
                "by_account": by_account,
                "by_region": by_region,
                "errors": collected.errors.iter().map(|e| json!({
                    "source": e.source_name, "scope": e.scope, "message": e.message,
                })).collect::<Vec<_>>(),
                "rejected": rejected.iter().map(|e| json!({
                    "source": e.source, "position": e.line, "type": e.type_name, "id": e.id,
                    "field": e.field, "message": e.message,
                })).collect::<Vec<_>>(),
                "complete": collected.complete.iter().map(|(s, scope)| json!({"source": s, "scope": scope})).collect::<Vec<_>>(),
                "api_calls": collected.api_calls.iter().map(|(s, m)| (s.clone(), json!(m))).collect::<serde_json::Map<_, _>>(),
                "api_calls_total": total_calls,
                "seconds": seconds,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
        }
        Format::Text => {
            let mut o = String::new();
            o.push_str(&format!(
                "collected {} resource(s) into {} in {seconds:.1} s, {total_calls} API call(s)\n",
                inv.len(),
                args.out.display()
            ));
            for (title, map) in [
                ("type", &by_type),
                ("account", &by_account),
                ("region", &by_region),
            ] {
                o.push_str(&format!("\nby {title}:\n"));
                for (k, n) in map {
                    let k = if k.is_empty() { "(none)" } else { k };
                    o.push_str(&format!("  {n:>7}  {k}\n"));
                }
            }
            if !collected.errors.is_empty() {
                o.push_str(&format!("\n{} error(s):\n", collected.errors.len()));
                for e in &collected.errors {
                    o.push_str(&format!("  {e}\n"));
                }
            }
            if !rejected.is_empty() {
                o.push_str(&format!(
                    "\n{} document(s) rejected by the schemas:\n",
                    rejected.len()
                ));
                for e in &rejected {
                    o.push_str(&format!("  {e}\n"));
                }
            }
            print!("{o}");
        }
    }
    i32::from(!collected.errors.is_empty() || !rejected.is_empty())
}

/// Writes the documents as NDJSON, through a temporary file so that a
/// failed run does not leave half an inventory.
fn write_ndjson<'a>(path: &Path, docs: impl Iterator<Item = &'a Json>) -> std::io::Result<()> {
    let tmp = path.with_extension("ndjson.partial");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for d in docs {
            serde_json::to_writer(&mut w, d)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, path)
}

async fn collect_all(
    connectors: &[Box<dyn pac_connectors::Connector>],
    plan: &CollectPlan,
) -> Collected {
    let (tx, mut rx) = mpsc::channel::<(usize, Event)>(4096);
    let producers = connectors.iter().enumerate().map(|(i, c)| {
        let tx = tx.clone();
        async move {
            let (ctx, mut crx) = mpsc::channel::<Event>(1024);
            let forward = async {
                while let Some(ev) = crx.recv().await {
                    if tx.send((i, ev)).await.is_err() {
                        break;
                    }
                }
            };
            let (result, ()) = tokio::join!(c.collect(plan, ctx), forward);
            if let Err(e) = result {
                let _ = tx.send((i, Event::Error(e))).await;
            }
        }
    });
    // Each producer holds its own sender: collect them before dropping ours
    // so that the channel closes when the last source is done.
    let producers: Vec<_> = producers.collect();
    drop(tx);
    let bar = progress_bar();
    let mut out = Collected {
        docs: Vec::new(),
        errors: Vec::new(),
        complete: Vec::new(),
        api_calls: Vec::new(),
    };
    let mut per_source = vec![0usize; connectors.len()];
    let consumer = async {
        let mut status: BTreeMap<usize, String> = BTreeMap::new();
        while let Some((i, ev)) = rx.recv().await {
            match ev {
                Event::Document(d) => {
                    per_source[i] += 1;
                    out.docs.push((i, per_source[i], d));
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                }
                Event::Progress {
                    source_name,
                    done,
                    total,
                    what,
                } => {
                    let t = total.map(|t| format!("/{t}")).unwrap_or_default();
                    status.insert(i, format!("{source_name} {done}{t} ({what})"));
                    if let Some(b) = &bar {
                        b.set_message(status.values().cloned().collect::<Vec<_>>().join("  "));
                    }
                }
                Event::Complete(scope) => {
                    out.complete.push((connectors[i].name().to_owned(), scope))
                }
                Event::Error(e) => {
                    if let Some(b) = &bar {
                        b.println(format!("error: {e}"));
                    }
                    out.errors.push(e);
                }
            }
        }
    };
    tokio::join!(futures::future::join_all(producers), consumer);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out.api_calls = connectors
        .iter()
        .map(|c| (c.name().to_owned(), c.api_calls()))
        .filter(|(_, m)| !m.is_empty())
        .collect();
    out
}

/// A spinner with the document count and each source's progress, on a
/// terminal only.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos} documents {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
