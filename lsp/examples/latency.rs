//! Latency benchmark of `pacc lsp`, driven over real JSON-RPC, on three
//! workspaces: the shipped library (`policies/aws`), the library plus one
//! generated file of 5,000 rules, and 50 renamed copies of the library.
//! For each: the time from a one-character didChange to its
//! publishDiagnostics (the debounce included), hover and completion right
//! after an edit (p50 and p95), the server's CPU time per edit, and its
//! resident memory after opening and after many more edits.
//!
//! ```text
//! cargo build --release --bin pacc
//! cargo run --release -p pac-lsp --example latency -- target/release/pacc
//! ```
//! (`-- PACC [RUNS] [library|rules5k|x50|all] [MEMORY_EDITS]`; PACC defaults
//! to `pacc` on the PATH, RUNS to 60, MEMORY_EDITS to 1,000. Linux: CPU and
//! memory are read from /proc.)

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    id: i64,
}

impl Lsp {
    fn send(&mut self, v: Value) {
        let body = serde_json::to_vec(&v).expect("json");
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
        self.stdin.write_all(&body).expect("write");
        self.stdin.flush().expect("flush");
    }
    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server answers")
    }
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m.get("method").is_none() && m["id"] == json!(id) {
                return m;
            }
            if m.get("method").is_some()
                && let Some(sid) = m.get("id").cloned()
            {
                self.send(json!({"jsonrpc": "2.0", "id": sid, "result": null}));
            }
        }
    }
    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }
    fn wait_diagnostics(&mut self, uri: &str, version: i64) {
        loop {
            let m = self.recv();
            if m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == json!(version)
            {
                return;
            }
        }
    }
}

fn spawn(pacc: &str) -> Lsp {
    let mut child = Command::new(pacc)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{pacc} lsp`: {e}"));
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    len = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                return;
            }
            if let Ok(v) = serde_json::from_slice(&body)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    Lsp {
        child,
        stdin,
        rx,
        id: 0,
    }
}

/// The shipped library (`policies/aws`) copied into the bench directory.
fn library_files() -> Vec<(String, String)> {
    let lib = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../policies/aws");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&lib)
        .expect("policies/aws")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pac"))
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).expect("read");
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        out.push((name, text));
    }
    out
}

/// Copy `k` of the library: its packages and its workspace-wide names
/// (policies, groups, exceptions, actions) get a suffix, so that the copies
/// do not declare anything twice.
fn library_copy(files: &[(String, String)], k: usize) -> Vec<(String, String)> {
    let mut names = Vec::new();
    for (_, text) in files {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let mut first = words.next().unwrap_or("");
            if first == "sticky" {
                first = words.next().unwrap_or("");
            }
            if matches!(first, "policy" | "group" | "exception" | "action")
                && let Some(name) = words.next()
            {
                let name = name.trim_matches('"');
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
    }
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    files
        .iter()
        .map(|(name, text)| {
            let mut t = text.replacen("package policies.", &format!("package copy{k}."), 1);
            for n in &names {
                t = replace_word(&t, n, &format!("{n}_c{k}"));
            }
            (format!("c{k}_{name}"), t)
        })
        .collect()
}

/// Replaces whole-word occurrences of `word` (not inside a longer name).
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// `n` generated policies of one rule each, 8 lines apiece.
fn generated(n: usize) -> String {
    let mut s = String::from("package bench.generated\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "policy generated_{i} {{\n  title \"Generated check {i}\"\n  severity high\n  category security\n  rule on aws.ec2.instance {{\n    violation when state.name == \"running\" and has(public_ip_address) and any sg in security_groups: starts_with(sg.group_id, \"sg-{i}\")\n    message \"{{instance_id}} breaks generated check {i}\"\n  }}\n}}\n"
        ));
    }
    s
}

/// A workspace to measure: its files and the file edited.
struct Shape {
    name: &'static str,
    files: Vec<(String, String)>,
    edited: usize,
}

fn shapes(which: &str) -> Vec<Shape> {
    let lib = library_files();
    let mut out = Vec::new();
    if which == "all" || which == "library" {
        let edited = lib
            .iter()
            .position(|f| f.0 == "ec2_instances.pac")
            .unwrap_or(0);
        out.push(Shape {
            name: "policies/ (the shipped library)",
            files: lib.clone(),
            edited,
        });
    }
    if which == "all" || which == "rules5k" {
        let mut files = lib.clone();
        files.push(("generated.pac".into(), generated(5_000)));
        out.push(Shape {
            name: "policies/ + one generated file of 5,000 rules",
            edited: files.len() - 1,
            files,
        });
    }
    if which == "all" || which == "x50" {
        let mut files = Vec::new();
        for k in 0..50 {
            files.extend(library_copy(&lib, k));
        }
        let edited = files
            .iter()
            .position(|f| f.0 == "c25_ec2_instances.pac")
            .unwrap_or(0);
        out.push(Shape {
            name: "policies/ x50 (renamed copies)",
            files,
            edited,
        });
    }
    out
}

fn percentile(xs: &[Duration], p: f64) -> Duration {
    let mut xs = xs.to_vec();
    xs.sort();
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i.min(xs.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// User plus system CPU time of a process, from /proc (Linux).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Resident memory of a process in MiB, from /proc (Linux).
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn position_of(text: &str, needle: &str, skip: usize, near: usize) -> (usize, usize) {
    let from = text[..near.min(text.len())].rfind("\npolicy ").unwrap_or(0);
    let at = text[from..]
        .find(needle)
        .map(|i| i + from)
        .unwrap_or_else(|| {
            text.find(needle)
                .unwrap_or_else(|| panic!("`{needle}` in the edited file"))
        })
        + skip;
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, col)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pacc = args.get(1).cloned().unwrap_or_else(|| "pacc".into());
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(60);
    let which = args.get(3).cloned().unwrap_or_else(|| "all".into());
    let memory_edits: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(1_000);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "pacc: {pacc}; {runs} runs per figure; load average before: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "| workspace | lines | open | diagnostics p50/p95 | hover p50/p95 | completion p50/p95 | CPU per edit | RSS after open → after {memory_edits} edits |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for shape in shapes(&which) {
        measure(&pacc, runs, memory_edits, shape);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average after: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn measure(pacc: &str, runs: usize, memory_edits: usize, shape: Shape) {
    let dir = std::env::temp_dir().join(format!("pac-lsp-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut lines = 0;
    for (name, text) in &shape.files {
        lines += text.lines().count();
        std::fs::write(dir.join(name), text).expect("write");
    }
    let (edited_name, text) = &shape.files[shape.edited];
    let path = dir.join(edited_name);
    let uri = format!("file://{}", path.display());

    let mut lsp = spawn(pacc);
    let pid = lsp.child.id();
    let t = Instant::now();
    lsp.request(
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {}}),
    );
    lsp.notify("initialized", json!({}));
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": text}}),
    );
    lsp.wait_diagnostics(&uri, 1);
    let open = t.elapsed();
    let rss_open = rss_mib(pid).unwrap_or(f64::NAN);

    // The edit: one character typed into, then removed from, a rule's
    // message in the middle of the edited file.
    let middle = text.len() / 2;
    let (line, col) = position_of(text, "message \"", 9, middle);
    let (fline, fcol) = position_of(text, "public_ip_address", 3, middle);
    let (dline, dcol) = position_of(text, " state.", 7, middle);
    let mut version = 1;
    let edit = |lsp: &mut Lsp, version: &mut i64, i: usize| {
        *version += 1;
        let (end, text) = if i.is_multiple_of(2) {
            (col, "x")
        } else {
            (col + 1, "")
        };
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": *version},
                   "contentChanges": [{"range": {"start": {"line": line, "character": col},
                                                 "end": {"line": line, "character": end}}, "text": text}]}),
        );
    };

    let mut change = Vec::new();
    let cpu_before = cpu_time(pid);
    for i in 0..runs {
        let t = Instant::now();
        edit(&mut lsp, &mut version, i);
        lsp.wait_diagnostics(&uri, version);
        change.push(t.elapsed());
    }
    let cpu_per_edit = match (cpu_before, cpu_time(pid)) {
        (Some(a), Some(b)) => ms(b.saturating_sub(a)) / runs as f64,
        _ => f64::NAN,
    };

    let (mut hover, mut completion) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // An edit before each pair, so that requests see a fresh revision
        // as they do while typing.
        edit(&mut lsp, &mut version, i);
        let t = Instant::now();
        let h = lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": fline, "character": fcol}}),
        );
        hover.push(t.elapsed());
        assert!(
            h["result"]["contents"]["value"].is_string(),
            "hover answered: {h}"
        );
        edit(&mut lsp, &mut version, i + 1);
        let t = Instant::now();
        let c = lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": dline, "character": dcol}}),
        );
        completion.push(t.elapsed());
        assert!(
            c["result"].as_array().is_some_and(|a| !a.is_empty()),
            "completion answered: {c}"
        );
    }
    // Memory over many edits, each one published.
    for i in 0..memory_edits {
        edit(&mut lsp, &mut version, i);
        if i % 10 == 9 {
            lsp.wait_diagnostics(&uri, version);
        }
    }
    lsp.request("shutdown", Value::Null);
    let rss_end = rss_mib(pid).unwrap_or(f64::NAN);
    lsp.notify("exit", Value::Null);
    let _ = lsp.child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let pp = |xs: &[Duration]| {
        format!(
            "{:.1} / {:.1} ms",
            ms(percentile(xs, 0.5)),
            ms(percentile(xs, 0.95))
        )
    };
    println!(
        "| {} | {lines} | {:.0} ms | {} | {} | {} | {cpu_per_edit:.1} ms | {rss_open:.0} → {rss_end:.0} MiB |",
        shape.name,
        ms(open),
        pp(&change),
        pp(&hover),
        pp(&completion),
    );
}
