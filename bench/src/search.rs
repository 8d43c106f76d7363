//! `pacc bench-search`: the omni search index (the `pac-search` crate) on a
//! generated estate, against issue 17's targets (docs/benchmarks.md,
//! "Search").
//!
//! 1. The estate (the `estate` crate) is written as NDJSON, and evaluated
//!    with the policies as `pacc eval` does (not timed), so that each
//!    resource has the status, severity, failing policies and asset
//!    groups the server gives it.
//! 2. Build: the NDJSON is read line by line, each document parsed and
//!    turned into a resource document as the server does
//!    (`SearchDoc::resource`), and applied to an on-disk index in commits
//!    of [`BATCH`] documents; documents are built on one thread while the
//!    index writer's threads index the previous batch. Timed from the first
//!    line read to the last commit searchable.
//! 3. Size: the index directory once tantivy's background merges have
//!    settled, beside the NDJSON.
//! 4. Update: 1% of the resources get a new tag; their documents are
//!    rebuilt from their lines and applied as one change. Timed from the
//!    first line parsed to the commit searchable.
//! 5. Queries: a fixed mix ([`queries`]), facets included, from `clients`
//!    threads in closed loops (each sends its next query when the last is
//!    answered) for `seconds`: percentiles of every query's latency, and
//!    queries per second. Each query is first timed alone, without the
//!    index's answer cache; the load runs twice, with the cache (the mix
//!    repeats, as people's searches do between two scans) and without it
//!    (every query counted afresh).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pac_compiler::ir::Program;
use pac_search::compliance::Verdict;
use pac_search::{Change, Request, SearchDoc, SearchIndex, WriterOptions};
use serde_json::{Value as Json, json};

use crate::units::{fmt_bytes, fmt_dur, group_digits};

/// Documents per commit while the index is built.
pub const BATCH: usize = 100_000;
/// Issue 17's targets.
const TARGET_BUILD: Duration = Duration::from_secs(60);
const TARGET_UPDATE: Duration = Duration::from_secs(2);
const TARGET_P99: Duration = Duration::from_millis(50);
/// The index is to be smaller than the NDJSON it holds.
const TARGET_RATIO: f64 = 1.0;

pub struct Args<'a> {
    pub count: u64,
    pub seed: u64,
    pub clients: usize,
    pub seconds: f64,
    pub policies: &'a [PathBuf],
    /// Where the NDJSON and the index go (a directory of its own under the
    /// system's temporary directory when `None`); removed at the end.
    pub dir: Option<PathBuf>,
}

/// The figures, for the table and for tests.
#[derive(Debug)]
pub struct Figures {
    pub resources: u64,
    pub ndjson_bytes: u64,
    pub build: Duration,
    pub settle: Duration,
    pub index_bytes: u64,
    pub updated: usize,
    pub update: Duration,
    /// The mix under the clients with the answer cache, and without.
    pub cached: Load,
    pub uncached: Load,
    /// Per query of the mix: its text, results, latency alone (no cache).
    pub mix: Vec<(String, u64, Duration)>,
}

/// One load run.
#[derive(Debug)]
pub struct Load {
    pub queries: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub qps: f64,
    /// Per query of the mix: p50 and p99.
    pub per_query: Vec<(Duration, Duration)>,
}

pub fn run(a: &Args) -> i32 {
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pac-bench-search-{}", std::process::id()))
    });
    let result = measure(a, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(f) => {
            print_table(a, &f);
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

pub fn measure(a: &Args, dir: &Path) -> Result<Figures, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ndjson = dir.join("estate.ndjson");
    let t = Instant::now();
    let file = std::fs::File::create(&ndjson).map_err(|e| format!("{}: {e}", ndjson.display()))?;
    let stats = pac_estate::generate(
        a.count,
        a.seed,
        std::io::BufWriter::with_capacity(1 << 20, file),
    )
    .map_err(|e| format!("generating the estate: {e}"))?;
    eprintln!(
        "generated {} documents ({}) in {}",
        group_digits(stats.docs),
        fmt_bytes(stats.bytes as usize),
        fmt_dur(t.elapsed())
    );

    let t = Instant::now();
    let files = pac_bundle::policy_sources(a.policies)?;
    let c = pac_compiler::compile_sources(files);
    if c.diagnostics.iter().any(|d| d.is_error()) {
        return Err("the policies do not compile; run `pacc check` first".into());
    }
    let program = &c.program;
    let verdicts = evaluate(program, &ndjson)?;
    let group_names: Vec<String> = program.groups.iter().map(|g| g.name.clone()).collect();
    eprintln!(
        "evaluated {} policies over them in {} (setup, not timed)",
        program.policies.len(),
        fmt_dur(t.elapsed())
    );

    let index_dir = dir.join("index");
    let index = SearchIndex::open(
        &index_dir,
        WriterOptions {
            threads: 2,
            heap: 1 << 30,
        },
    )
    .map_err(|e| e.to_string())?;
    eprintln!("building the index in {}", index_dir.display());
    let t = Instant::now();
    let kept = build(&index, program, &ndjson, &verdicts)?;
    let build_time = t.elapsed();
    let searchable = index.len();
    eprintln!(
        "indexed {} documents in {}",
        group_digits(searchable),
        fmt_dur(build_time)
    );

    let t = Instant::now();
    let index_bytes = settle(&index_dir);
    let settle_time = t.elapsed();
    eprintln!(
        "index {} after background merges settled ({})",
        fmt_bytes(index_bytes as usize),
        fmt_dur(settle_time)
    );

    // 1%: every hundredth line gets a tag.
    let t = Instant::now();
    let mut upserts = Vec::with_capacity(kept.len());
    for (n, line) in &kept {
        let mut doc: Json = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let tag = json!({"Key": "bench", "Value": "updated"});
        match doc["attributes"]
            .get_mut("tags")
            .and_then(Json::as_array_mut)
        {
            Some(tags) => tags.push(tag),
            None => doc["attributes"]["tags"] = json!([tag]),
        }
        if let Some(d) = document(&doc, &verdicts[*n], program) {
            upserts.push(d);
        }
    }
    let updated = upserts.len();
    index
        .apply(Change {
            upserts,
            ..Change::default()
        })
        .map_err(|e| e.to_string())?;
    let update_time = t.elapsed();
    let check = |q: &str| -> Result<u64, String> {
        let r = Request {
            query: q.into(),
            limit: 1,
            ..Request::default()
        };
        Ok(index.search(&r, None).map_err(|e| e.to_string())?.total)
    };
    if check("tag:bench=updated")? != updated as u64 || index.len() != searchable {
        return Err("the 1% update did not replace exactly its documents".into());
    }
    eprintln!(
        "updated {} documents in {}",
        group_digits(updated as u64),
        fmt_dur(update_time)
    );

    // Some id to look up: a resource of the middle of the estate (not an
    // ARN, which the query language reads as a field `arn:` unless quoted).
    let id = kept[kept.len() / 2..]
        .iter()
        .filter_map(|(_, l)| serde_json::from_str::<Json>(l).ok())
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .find(|id| !id.contains(':'))
        .unwrap_or_default();
    let mix = queries(&id, &group_names);
    index.set_cache_capacity(0);
    let (alone, totals) = alone(&index, &mix)?;
    index.set_cache_capacity(1_024);
    eprintln!(
        "querying from {} clients for {} s, answers cached",
        a.clients, a.seconds
    );
    let cached = load(&index, &mix, a.clients.max(1), a.seconds);
    index.set_cache_capacity(0);
    eprintln!(
        "querying from {} clients for {} s, no cache",
        a.clients, a.seconds
    );
    let uncached = load(&index, &mix, a.clients.max(1), a.seconds);
    Ok(Figures {
        resources: stats.docs,
        ndjson_bytes: stats.bytes,
        build: build_time,
        settle: settle_time,
        index_bytes,
        updated,
        update: update_time,
        cached,
        uncached,
        mix: mix
            .iter()
            .zip(alone)
            .zip(totals)
            .map(|((q, alone), total)| (q.label(), total, alone))
            .collect(),
    })
}

/// Each resource's compliance, by its line in the NDJSON (0-based), as
/// `pacc eval` computes it (the native engine over the fields the policies
/// read).
fn evaluate(program: &Program, ndjson: &Path) -> Result<Vec<Verdict>, String> {
    let engine = pac_jit::Engine::compile(program);
    let text =
        pac_bundle::map_inventory(ndjson).map_err(|e| format!("{}: {e}", ndjson.display()))?;
    let mask = pac_compiler::reads::ReadMask::of(program);
    let mut builder = engine.layout_builder(text.len() / 512);
    let pieces = builder.pieces();
    let (inv, errors) = pac_runtime::Inventory::read_text_built(
        &program.schemas,
        Some(&mask),
        &ndjson.display().to_string(),
        &text,
        &pieces,
        &mut |b| {
            text.release(b.block.bytes.clone());
            builder.add_built(b);
        },
    );
    drop(text);
    if let Some(e) = errors.first() {
        return Err(format!("the generated estate does not load: {e}"));
    }
    let prepared = engine.prepare_with(&inv, builder.finish());
    let opts = pac_runtime::EvalOptions {
        now: pac_estate::NOW,
        explain: false,
        coverage: None,
    };
    let report = pac_runtime::evaluate_failures_with(program, &inv, &opts, Some(&prepared), &[]);
    // By line of the NDJSON (the documents are read back line by line).
    let lines = inv.resources.iter().map(|r| r.line).max().unwrap_or(0);
    let mut out = vec![Verdict::default(); lines];
    let by_resource = pac_search::compliance::verdicts(program, &report, inv.len());
    for (r, v) in inv.resources.iter().zip(by_resource) {
        if let Some(slot) = r.line.checked_sub(1).and_then(|l| out.get_mut(l)) {
            *slot = v;
        }
    }
    Ok(out)
}

/// A resource's document as the server builds it (server/src/search.rs).
fn document(doc: &Json, v: &Verdict, program: &Program) -> Option<SearchDoc> {
    let field = |k: &str| doc.get(k).and_then(Json::as_str).unwrap_or_default();
    let rkey = format!(
        "{}|{}|{}|{}",
        field("type"),
        field("account"),
        field("region"),
        field("id")
    );
    let mut d = SearchDoc::resource(format!("resource:{rkey}"), doc)?;
    d.link = format!("/assets/{rkey}");
    v.describe(&mut d, program);
    Some(d)
}

/// Builds the index from the NDJSON: documents on this thread's helper,
/// commits here. Returns every hundredth line (with its line number), for
/// the update.
fn build(
    index: &SearchIndex,
    program: &Program,
    ndjson: &Path,
    verdicts: &[Verdict],
) -> Result<Vec<(usize, String)>, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SearchDoc>>(1);
    let policies = pac_search::policy::documents(program);
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> Result<Vec<(usize, String)>, String> {
            let file =
                std::fs::File::open(ndjson).map_err(|e| format!("{}: {e}", ndjson.display()))?;
            let mut kept = Vec::new();
            let mut batch = policies;
            for (n, line) in std::io::BufReader::with_capacity(1 << 20, file)
                .lines()
                .enumerate()
            {
                let line = line.map_err(|e| format!("{}: {e}", ndjson.display()))?;
                let doc: Json = serde_json::from_str(&line)
                    .map_err(|e| format!("{}:{}: {e}", ndjson.display(), n + 1))?;
                let v = verdicts.get(n).cloned().unwrap_or_default();
                if let Some(d) = document(&doc, &v, program) {
                    batch.push(d);
                }
                if n % 100 == 50 {
                    kept.push((n, line));
                }
                if batch.len() >= BATCH {
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        // The indexing side stopped; it says why.
                        return Ok(kept);
                    }
                    batch.reserve(BATCH);
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(kept)
        });
        let mut applied = Ok(());
        for batch in rx {
            if let Err(e) = index.apply(Change {
                upserts: batch,
                ..Change::default()
            }) {
                applied = Err(e.to_string());
                break;
            }
        }
        let kept = producer
            .join()
            .map_err(|_| "the document builder panicked".to_string())?;
        applied?;
        kept
    })
}

/// The index directory's size once its files stop changing (tantivy
/// merges segments in the background after commits): polled every half
/// second until two minutes have passed or it is the same for 3 s.
fn settle(dir: &Path) -> u64 {
    let start = Instant::now();
    let mut last = (dir_bytes(dir), Instant::now());
    while start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(500));
        let now = dir_bytes(dir);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(3) {
            break;
        }
    }
    last.0
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// One query of the mix.
pub struct Query {
    pub what: &'static str,
    pub request: Request,
    /// The asset groups of a scoped caller; `None`: unrestricted.
    pub scope: Option<Vec<String>>,
}

impl Query {
    fn label(&self) -> String {
        match &self.scope {
            Some(g) => format!(
                "{}: `{}` in {}",
                self.what,
                self.request.query,
                g.join(", ")
            ),
            None => format!("{}: `{}`", self.what, self.request.query),
        }
    }
}

/// The mix, over the generated estate's words, tags and attributes: what
/// a person looks for in a search box, first page of 20, facets always
/// counted.
pub fn queries(id: &str, groups: &[String]) -> Vec<Query> {
    let q = |what, query: &str| Query {
        what,
        request: Request {
            query: query.to_string(),
            filters: Vec::new(),
            offset: 0,
            limit: 20,
        },
        scope: None,
    };
    let mut mix = vec![
        q("free text", "payments prod"),
        q("typo", "paymnets"),
        q("id", id),
        q("type", "type:aws.ec2.instance"),
        q("tag", "tag:env=prod"),
        q("attribute path", "metadata_options.http_tokens:optional"),
        q("range", "cvss:>=9"),
        q("compliance", "status:failing severity:critical"),
    ];
    let mut scoped = q("scoped", "status:failing");
    // A caller whose roles hold on production and sandbox (the bundled
    // library's groups), or on the first two groups of another library.
    let wanted = ["production", "sandbox_resources"];
    let mut scope: Vec<String> = groups
        .iter()
        .filter(|g| wanted.contains(&g.as_str()))
        .cloned()
        .collect();
    if scope.is_empty() {
        scope = groups.iter().take(2).cloned().collect();
    }
    scoped.scope = Some(scope);
    mix.push(scoped);
    mix
}

/// Each query alone: the median of 5 runs, and its total.
fn alone(index: &SearchIndex, mix: &[Query]) -> Result<(Vec<Duration>, Vec<u64>), String> {
    let mut times = Vec::new();
    let mut totals = Vec::new();
    for q in mix {
        let mut runs = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let a = index
                .search(&q.request, q.scope.as_deref())
                .map_err(|e| format!("`{}`: {e}", q.request.query))?;
            runs.push(t.elapsed());
            total = a.total;
        }
        times.push(crate::units::median(&runs));
        totals.push(total);
    }
    Ok((times, totals))
}

/// `clients` threads in closed loops over the mix for `seconds`.
fn load(index: &SearchIndex, mix: &[Query], clients: usize, seconds: f64) -> Load {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds.max(0.1));
    let per_client: Vec<Vec<(usize, Duration)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    let mut n = c;
                    while Instant::now() < deadline {
                        let q = &mix[n % mix.len()];
                        let t = Instant::now();
                        let _ = index.search(&q.request, q.scope.as_deref());
                        out.push((n % mix.len(), t.elapsed()));
                        n += 1;
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall = start.elapsed();
    let mut all = Vec::new();
    let mut per_query = vec![Vec::new(); mix.len()];
    for (q, d) in per_client.into_iter().flatten() {
        all.push(d);
        per_query[q].push(d);
    }
    all.sort_unstable();
    for v in &mut per_query {
        v.sort_unstable();
    }
    Load {
        queries: all.len(),
        p50: pct(&all, 0.50),
        p99: pct(&all, 0.99),
        max: all.last().copied().unwrap_or_default(),
        qps: all.len() as f64 / wall.as_secs_f64().max(1e-9),
        per_query: per_query
            .iter()
            .map(|v| (pct(v, 0.50), pct(v, 0.99)))
            .collect(),
    }
}

/// The `p` percentile of sorted `v` (nearest rank).
fn pct(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn print_table(a: &Args, f: &Figures) {
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    let ratio = f.index_bytes as f64 / f.ndjson_bytes.max(1) as f64;
    println!(
        "pacc bench-search: {} resources (seed {}), index writer 2 threads / 1 GiB, commits of {} documents, {} clients for {} s\n",
        group_digits(f.resources),
        a.seed,
        group_digits(BATCH as u64),
        a.clients,
        a.seconds
    );
    println!("| measure | figure | target | |");
    println!("| --- | ---: | ---: | --- |");
    println!(
        "| NDJSON written | {} | | |",
        fmt_bytes(f.ndjson_bytes as usize)
    );
    println!(
        "| build the index (parse, documents, commits) | {} | < {} | {} |",
        fmt_dur(f.build),
        fmt_dur(TARGET_BUILD),
        met(f.build < TARGET_BUILD)
    );
    println!(
        "| background merges settled after | {} | | |",
        fmt_dur(f.settle)
    );
    println!(
        "| index size | {} ({ratio:.2}x the NDJSON) | < {TARGET_RATIO:.0}x | {} |",
        fmt_bytes(f.index_bytes as usize),
        met(ratio < TARGET_RATIO)
    );
    println!(
        "| 1% update ({} documents, one commit) | {} | < {} | {} |",
        group_digits(f.updated as u64),
        fmt_dur(f.update),
        fmt_dur(TARGET_UPDATE),
        met(f.update < TARGET_UPDATE)
    );
    for (what, l) in [("answers cached", &f.cached), ("no cache", &f.uncached)] {
        println!(
            "| queries answered, {what} | {} | | |",
            group_digits(l.queries as u64)
        );
        println!(
            "| query p50 / max, {what} | {} / {} | | |",
            fmt_dur(l.p50),
            fmt_dur(l.max)
        );
        println!(
            "| query p99, {what} | {} | < {} | {} |",
            fmt_dur(l.p99),
            fmt_dur(TARGET_P99),
            met(l.p99 < TARGET_P99)
        );
        println!("| queries/s, {what} | {:.0} | | |", l.qps);
    }
    println!();
    println!(
        "| query (first page of 20, facets) | results | alone | p50 / p99 cached | p50 / p99 no cache |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (((label, total, alone), c), u) in f
        .mix
        .iter()
        .zip(&f.cached.per_query)
        .zip(&f.uncached.per_query)
    {
        println!(
            "| {label} | {} | {} | {} / {} | {} / {} |",
            group_digits(*total),
            fmt_dur(*alone),
            fmt_dur(c.0),
            fmt_dur(c.1),
            fmt_dur(u.0),
            fmt_dur(u.1)
        );
    }
}
