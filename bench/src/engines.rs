//! `pacc bench`: the native engine against the interpreter on generated
//! estates (see the `estate` crate and `docs/benchmarks.md`).
//!
//! For each `--count`, in one process and one run: generate the NDJSON,
//! read it, build the engine's layout, compile the policy library, then
//! evaluate every rule on every resource of its type with each engine on
//! one thread (evaluation only: the inventory, the layout and the probe
//! indexes already built), and print one table with medians of `--runs`
//! runs, the speed-ups, the memory and the targets of the issue. The two
//! engines' outcomes are compared on every (rule, resource) as well.
//! With `--inventory FILE` the same phases are measured on that file (and
//! `--now`) instead of generated estates.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pac_compiler::Program;
use pac_runtime::interp::{Env, Frame, eval};
use pac_runtime::{EvalOptions, Inventory};
use pac_stdlib::Value;

use crate::units::{
    fmt_bytes, fmt_dur, fmt_rate, fmt_ratio, group_digits, median, rss, status_kib,
};

/// One evaluated outcome: pass, fail, error.
type Tally = [usize; 3];

/// What one column of the table is measured on.
enum Input<'a> {
    /// A generated estate of this many documents.
    Generated(u64),
    /// The user's inventory file.
    File(&'a Path),
}

/// `pacc bench`: generated estates of `counts` documents, or the user's
/// `inventory` evaluated at `now`.
pub fn run(
    counts: &[u64],
    seed: u64,
    runs: usize,
    policies: &[PathBuf],
    inventory: Option<&Path>,
    now: i64,
) -> i32 {
    let runs = runs.max(1);
    let files = match pac_compiler::files::pac_files(policies)
        .and_then(|f| pac_compiler::files::read_sources(&f))
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // The library: front end, then native code (medians).
    let mut front = Vec::new();
    let mut compiled = None;
    for _ in 0..runs {
        let t = Instant::now();
        let c = pac_compiler::compile_sources(files.clone());
        front.push(t.elapsed());
        compiled = Some(c);
    }
    let Some(c) = compiled else { return 2 };
    if c.diagnostics.iter().any(|d| d.is_error()) {
        eprintln!("error: the policies do not compile; run `pacc check` first");
        return 2;
    }
    let program = c.program.clone();
    let mut native = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let e = pac_jit::Engine::compile(&program);
        native.push(t.elapsed());
        drop(e);
    }
    let engine = pac_jit::Engine::compile(&program);
    let fallbacks = engine.fallbacks();
    let user_files = program.files.len() - pac_compiler::stdlib_file_count();
    println!(
        "pacc bench: {user_files} policy file(s), {} policies, {} rules ({} compiled to native code); seed {seed}; median of {runs} run(s); evaluation on 1 thread",
        program.policies.len(),
        program.rules.len(),
        program.rules.len() - fallbacks.len(),
    );
    for (r, why) in &fallbacks {
        println!("  interpreted: {} ({why})", program.rules[*r].id);
    }
    println!();
    let mut table = Table::default();
    table.row("library: parse + type-check", |_| fmt_dur(median(&front)));
    table.row("library: compile to native code (target < 200 ms)", |_| {
        fmt_dur(median(&native))
    });

    let mut counts = counts.to_vec();
    counts.sort_unstable();
    let inputs: Vec<Input> = match inventory {
        Some(p) => vec![Input::File(p)],
        None => counts.iter().map(|&n| Input::Generated(n)).collect(),
    };
    let mut cols = Vec::new();
    for input in &inputs {
        match measure(&program, &engine, input, seed, runs, now) {
            Ok(col) => cols.push(col),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    table.header = cols.iter().map(|k| k.label.clone()).collect();
    let cols_ref = &cols;
    let c = |f: fn(&Column) -> String| move |i: usize| f(&cols_ref[i]);
    table.row(
        "generate NDJSON (pacc gen-inventory)",
        c(|k| {
            format!(
                "{} ({:.0} MB)",
                k.generate.map_or("-".to_string(), fmt_dur),
                k.ndjson_bytes as f64 / 1e6
            )
        }),
    );
    table.row("read NDJSON -> inventory", c(|k| fmt_dur(k.read)));
    table.row("inventory -> layout", c(|k| fmt_dur(k.layout)));
    table.row(
        "layout from NDJSON (read + layout)",
        c(|k| fmt_dur(k.read + k.layout)),
    );
    table.row(
        "read into cells in one pass, as pacc eval (target < 2 s at 1M)",
        c(|k| fmt_dur(k.streamed)),
    );
    table.row(
        "speed-up of reading into cells over read + layout",
        c(|k| fmt_ratio(k.read + k.layout, k.streamed)),
    );
    table.row("rule evaluations", c(|k| group_digits(k.evals as u64)));
    table.row("interpreter: evaluation time", c(|k| fmt_dur(k.interp)));
    table.row(
        "interpreter: evaluations/s",
        c(|k| fmt_rate(k.evals, k.interp)),
    );
    table.row(
        "jit: evaluation time (target < 1 s at 1M)",
        c(|k| fmt_dur(k.jit)),
    );
    table.row("jit: evaluations/s", c(|k| fmt_rate(k.evals, k.jit)));
    table.row(
        "jit: evaluation time by row range (all rules of a type per 256 rows)",
        c(|k| fmt_dur(k.jit_ranges)),
    );
    table.row(
        "jit speed-up by row range, as pacc eval runs (target >= 20x)",
        c(|k| fmt_ratio(k.interp, k.jit_ranges)),
    );
    table.row(
        "jit speed-up over interpreter, rule by rule",
        c(|k| fmt_ratio(k.interp, k.jit)),
    );
    table.row(
        "full report, interpreter (all threads)",
        c(|k| fmt_dur(k.report_interp)),
    );
    table.row(
        "full report, jit (all threads)",
        c(|k| fmt_dur(k.report_jit)),
    );
    table.row(
        "text report as pacc eval writes it, messages interpreted",
        c(|k| fmt_dur(k.text_interp)),
    );
    table.row(
        "text report as pacc eval writes it, messages compiled",
        c(|k| fmt_dur(k.text_native)),
    );
    table.row(
        "speed-up of compiled messages on the text report",
        c(|k| fmt_ratio(k.text_interp, k.text_native)),
    );
    table.row(
        "outcomes pass / fail / error",
        c(|k| format!("{} / {} / {}", k.tally[0], k.tally[1], k.tally[2])),
    );
    table.row(
        "jit disagreements with the interpreter",
        c(|k| k.mismatches.to_string()),
    );
    table.row(
        "layout size (target < 1 GiB at 1M)",
        c(|k| fmt_bytes(k.layout_bytes)),
    );
    table.row(
        "RSS growth: inventory values",
        c(|k| fmt_bytes(k.rss_inventory)),
    );
    table.row("RSS growth: layout", c(|k| fmt_bytes(k.rss_layout)));
    table.row("peak RSS of the process (VmHWM)", c(|k| fmt_bytes(k.hwm)));
    print!("{}", table.render(cols.len()));
    // Where the time goes, at the largest size.
    if let Some(k) = cols.last() {
        let mut by = k.per_rule.clone();
        by.sort_by_key(|(_, _, j)| std::cmp::Reverse(*j));
        println!(
            "\nslowest rules on the jit at {} resources (interpreter / jit / ratio):",
            group_digits(k.resources as u64)
        );
        for (r, i, j) in by.iter().take(8) {
            println!(
                "  {:<58} {:>10} {:>10} {:>7.1}x",
                program.rules[*r].id,
                fmt_dur(*i),
                fmt_dur(*j),
                i.as_secs_f64() / j.as_secs_f64().max(1e-9)
            );
        }
    }
    let bad: usize = cols.iter().map(|k| k.mismatches).sum();
    if bad > 0 {
        for k in &cols {
            for m in &k.examples {
                eprintln!("mismatch: {m}");
            }
        }
        return 1;
    }
    0
}

/// The figures for one inventory size.
struct Column {
    /// The column's heading: the size, or the file's name.
    label: String,
    resources: usize,
    /// `None` for the user's file.
    generate: Option<Duration>,
    ndjson_bytes: u64,
    read: Duration,
    layout: Duration,
    /// Read and layout as `pacc eval` does them (one pass, documents read
    /// straight into cells).
    streamed: Duration,
    layout_bytes: usize,
    evals: usize,
    interp: Duration,
    jit: Duration,
    /// The same, every rule of a type over one range of rows at a time.
    jit_ranges: Duration,
    report_interp: Duration,
    report_jit: Duration,
    /// `pacc eval`'s text report (failures, messages deferred), messages
    /// interpreted from the cells / computed by native code.
    text_interp: Duration,
    text_native: Duration,
    tally: Tally,
    mismatches: usize,
    examples: Vec<String>,
    rss_inventory: usize,
    rss_layout: usize,
    hwm: usize,
    /// (rule, interpreter time, jit time), medians.
    per_rule: Vec<(usize, Duration, Duration)>,
}

fn measure(
    program: &Program,
    engine: &pac_jit::Engine,
    input: &Input,
    seed: u64,
    runs: usize,
    now: i64,
) -> Result<Column, String> {
    let generated;
    let (path, label, generate) = match input {
        Input::Generated(n) => {
            let path =
                std::env::temp_dir().join(format!("pacc-bench-{}-{n}.ndjson", std::process::id()));
            generated = Remove(path.clone());
            eprintln!("[{n}] generating {}", path.display());
            let t = Instant::now();
            let file =
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            pac_estate::generate(*n, seed, std::io::BufWriter::with_capacity(1 << 20, file))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            (generated.0.clone(), group_digits(*n), Some(t.elapsed()))
        }
        Input::File(p) => (
            p.to_path_buf(),
            p.file_name().map_or_else(
                || p.display().to_string(),
                |f| f.to_string_lossy().into_owned(),
            ),
            None,
        ),
    };
    let n = &label;
    let ndjson_bytes = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();

    eprintln!("[{n}] reading");
    let rss0 = rss();
    let t = Instant::now();
    // As `pacc eval` reads: the file mapped, only the fields the library
    // reads kept.
    let text = pac_bundle::map_inventory(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mask = pac_compiler::reads::ReadMask::of(program);
    let (inv, errors) = Inventory::read_text(
        &program.schemas,
        Some(&mask),
        &path.display().to_string(),
        &text,
        &mut |b| text.release(b.bytes),
    );
    drop(text);
    let read = t.elapsed();
    match (input, errors.first()) {
        (_, None) => {}
        (Input::Generated(_), Some(e)) => {
            return Err(format!("the generated inventory does not load: {e}"));
        }
        // The user's file: measured as it loads, as `pacc eval` would.
        (Input::File(_), Some(e)) => {
            if errors.len() == 1 && inv.is_empty() {
                return Err(e.to_string());
            }
            eprintln!(
                "[{n}] {} document(s) skipped (e.g. {e}); measuring the {} read",
                errors.len(),
                inv.len()
            );
        }
    }
    let rss_inventory = rss().saturating_sub(rss0);

    eprintln!("[{n}] building the layout");
    let mut layouts = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        let p = engine.prepare(&inv);
        layouts.push(t.elapsed());
        drop(p);
    }
    let rss1 = rss();
    let prepared = engine.prepare(&inv);
    let rss_layout = rss().saturating_sub(rss1);
    let layout_bytes = prepared.layout().bytes();

    let env = Env::for_program(program, &inv, now);
    let rows: Vec<Vec<usize>> = program
        .rules
        .iter()
        .map(|r| env.of_type(r.resource).to_vec())
        .collect();
    let evals: usize = rows.iter().map(Vec::len).sum();

    // The interpreter, one thread.
    eprintln!("[{n}] interpreter ({runs} runs)");
    let mut interp = Vec::new();
    let mut interp_rules = vec![Vec::new(); rows.len()];
    let mut want: Vec<Vec<u8>> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        want = interpret(program, &env, &rows, &mut interp_rules);
        interp.push(t.elapsed());
    }
    // The native engine, one thread.
    eprintln!("[{n}] jit ({runs} runs)");
    let mut jit = Vec::new();
    let mut jit_rules = vec![Vec::new(); rows.len()];
    let mut got: Vec<Option<Vec<u8>>> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        got = rows
            .iter()
            .enumerate()
            .map(|(r, rows)| {
                let t = Instant::now();
                let out = prepared.run_rule(r, rows, now, None);
                jit_rules[r].push(t.elapsed());
                out
            })
            .collect();
        jit.push(t.elapsed());
    }
    // The native engine by row range: every rule of a type over 256 of
    // its rows before the next 256 (the rows stay in cache across rules),
    // as `pacc eval` orders its work.
    eprintln!("[{n}] jit by row range ({runs} runs)");
    let mut by_type: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (r, rule) in program.rules.iter().enumerate() {
        by_type.entry(rule.resource.0).or_default().push(r);
    }
    let mut jit_ranges = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for rules in by_type.values() {
            let all = &rows[rules[0]];
            for range in all.chunks(pac_runtime::eval::CHUNK) {
                for &r in rules {
                    std::hint::black_box(prepared.run_rule(r, range, now, None));
                }
            }
        }
        jit_ranges.push(t.elapsed());
    }
    let per_rule: Vec<(usize, Duration, Duration)> = (0..rows.len())
        .map(|r| (r, median(&interp_rules[r]), median(&jit_rules[r])))
        .collect();
    let mut tally = [0; 3];
    let mut mismatches = 0;
    let mut examples = Vec::new();
    for (r, (w, g)) in want.iter().zip(&got).enumerate() {
        for (k, &o) in w.iter().enumerate() {
            tally[o as usize] += 1;
            // A rule left to the interpreter agrees by construction.
            let Some(g) = g else { continue };
            if g.get(k).map(|&b| outcome_of(b)) != Some(o) {
                mismatches += 1;
                if examples.len() < 10 {
                    examples.push(format!(
                        "{} on {}: interpreter {}, jit {}",
                        program.rules[r].id,
                        inv.resources[rows[r][k]].id,
                        NAMES[o as usize],
                        g.get(k)
                            .map_or("nothing", |&b| NAMES[outcome_of(b) as usize])
                    ));
                }
            }
        }
    }

    // Whole reports (groups, exceptions, messages), default thread pool.
    eprintln!("[{n}] full reports");
    let opts = EvalOptions {
        now,
        ..Default::default()
    };
    let mut report_interp = Vec::new();
    let mut report_jit = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        drop(pac_runtime::evaluate(program, &inv, &opts));
        report_interp.push(t.elapsed());
        let t = Instant::now();
        let e: &dyn pac_runtime::RuleEngine = &prepared;
        drop(pac_runtime::evaluate_with(program, &inv, &opts, Some(e)));
        report_jit.push(t.elapsed());
    }

    // `pacc eval`'s path: the layout built while the file is read, each
    // resource keeping only its identity; its report must be the one of
    // the inventory read whole.
    eprintln!("[{n}] read into cells as pacc eval does");
    let full = pac_runtime::evaluate_failures_with(program, &inv, &opts, Some(&prepared), &[]);
    let read_cells = |engine: &pac_jit::Engine| -> Result<(Inventory, pac_jit::Layout), String> {
        let text =
            pac_bundle::map_inventory(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut builder = engine.layout_builder(text.len() / 512);
        let pieces = builder.pieces();
        let (slim, _) = Inventory::read_text_built(
            &program.schemas,
            Some(&mask),
            &path.display().to_string(),
            &text,
            &pieces,
            &mut |b| {
                text.release(b.block.bytes.clone());
                builder.add_built(b);
            },
        );
        Ok((slim, builder.finish()))
    };
    let mut streamed = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        let (slim, layout) = read_cells(engine)?;
        let slim_engine = engine.prepare_with(&slim, layout);
        streamed.push(t.elapsed());
        let e: &dyn pac_runtime::RuleEngine = &slim_engine;
        let report = pac_runtime::evaluate_failures_with(program, &slim, &opts, Some(e), &[]);
        let shown = |r: &pac_runtime::EvalReport| {
            let results: Vec<_> = r
                .results
                .iter()
                .map(|x| (x.rule, x.resource, x.outcome.clone(), x.message.clone()))
                .collect();
            (
                results,
                serde_json::to_string(&r.summary).unwrap_or_default(),
            )
        };
        if shown(&report) != shown(&full) {
            mismatches += 1;
            examples.push("the report of the inventory read as pacc eval reads it differs from the whole inventory's".into());
        }
    }
    // `pacc eval`'s report: the failures' text report, messages deferred
    // to the writing, rendered by the interpreter from the cells (an
    // engine without compiled messages) or by native code (with).
    eprintln!("[{n}] text reports as pacc eval writes them");
    let with_messages = pac_jit::Engine::compile_with(
        program,
        pac_jit::CompileOptions {
            messages: true,
            ..Default::default()
        },
    );
    let mut text_reports = [Vec::new(), Vec::new()];
    let mut digests = [0u64; 2];
    for (k, e) in [engine, &with_messages].into_iter().enumerate() {
        let (slim, layout) = read_cells(e)?;
        let prepared = e.prepare_with(&slim, layout);
        let re: &dyn pac_runtime::RuleEngine = &prepared;
        let report = pac_runtime::evaluate_failures_deferred(program, &slim, &opts, Some(re), &[]);
        for _ in 0..runs.min(3) {
            let mut out = Digest::default();
            let t = Instant::now();
            let late = pac_runtime::Messages::new(program, &slim, now, Some(re));
            pac_runtime::report::write_text_with(
                &mut out,
                program,
                &slim,
                &report,
                false,
                Some(&late),
            )
            .map_err(|e| e.to_string())?;
            text_reports[k].push(t.elapsed());
            digests[k] = out.finish();
        }
    }
    if digests[0] != digests[1] {
        mismatches += 1;
        examples.push(
            "the text report with compiled messages differs from the one with interpreted messages"
                .into(),
        );
    }
    let [text_interp, text_native] = text_reports;

    Ok(Column {
        label: label.clone(),
        resources: inv.len(),
        generate,
        ndjson_bytes,
        read,
        layout: median(&layouts),
        streamed: median(&streamed),
        layout_bytes,
        evals,
        interp: median(&interp),
        jit: median(&jit),
        jit_ranges: median(&jit_ranges),
        report_interp: median(&report_interp),
        report_jit: median(&report_jit),
        text_interp: median(&text_interp),
        text_native: median(&text_native),
        tally,
        mismatches,
        examples,
        rss_inventory,
        rss_layout,
        hwm: status_kib("VmHWM") * 1024,
        per_rule,
    })
}

const NAMES: [&str; 3] = ["pass", "fail", "error"];

/// A writer that keeps only a digest of what it is given (two reports
/// compared without holding either).
#[derive(Default)]
struct Digest(std::collections::hash_map::DefaultHasher);

impl Digest {
    fn finish(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

impl std::io::Write for Digest {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::hash::Hasher::write(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn outcome_of(b: u8) -> u8 {
    match b {
        pac_jit::OUT_PASS => 0,
        pac_jit::OUT_FAIL => 1,
        _ => 2,
    }
}

/// Every rule on every resource of its type, with the interpreter, on this
/// thread: 0 pass, 1 fail, 2 error.
fn interpret(
    program: &Program,
    env: &Env,
    rows: &[Vec<usize>],
    per_rule: &mut [Vec<Duration>],
) -> Vec<Vec<u8>> {
    let mut frame = Frame::default();
    program
        .rules
        .iter()
        .zip(rows)
        .zip(per_rule)
        .map(|((rule, rows), times)| {
            let t = Instant::now();
            let out = rows
                .iter()
                .map(|&i| {
                    frame.reset(rule.slots, env.inv.resources[i].value.clone());
                    match eval(&rule.cond, &mut frame, env) {
                        Ok(Value::Bool(false)) => 0,
                        Ok(Value::Bool(true)) => 1,
                        _ => 2,
                    }
                })
                .collect();
            times.push(t.elapsed());
            out
        })
        .collect()
}

/// Deletes the generated file however the measurement ends.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A table: a label column, then one column per inventory size (rows
/// about the library alone fill only the first).
#[derive(Default)]
struct Table {
    header: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    fn row(&mut self, label: &str, cell: impl Fn(usize) -> String) {
        let cells = (0..self.header.len().max(1)).map(cell).collect();
        self.rows.push((label.to_string(), cells));
    }

    fn render(&self, cols: usize) -> String {
        let label_w = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for (i, w) in widths.iter_mut().enumerate() {
            *w = self.header.get(i).map_or(0, String::len);
            for (_, cells) in &self.rows {
                *w = (*w).max(cells.get(i).map_or(0, |c| c.chars().count()));
            }
        }
        let mut out = format!("{:label_w$}", "resources");
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!(
                "  {:>w$}",
                self.header.get(i).map_or("", String::as_str)
            ));
        }
        out.push('\n');
        for (label, cells) in &self.rows {
            out.push_str(&format!("{label:label_w$}"));
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map_or("", String::as_str);
                let pad = w.saturating_sub(c.chars().count());
                out.push_str(&format!("  {}{c}", " ".repeat(pad)));
            }
            out.push('\n');
        }
        out
    }
}
