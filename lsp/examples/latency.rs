//! Latency benchmark of `pacc lsp` on a ~5,000-line workspace (the shipped
//! policy library plus generated policies), driven over real JSON-RPC:
//! the time from a one-character didChange to its publishDiagnostics, and
//! hover and completion round trips. Prints medians.
//!
//! ```text
//! cargo build --release --bin pacc
//! cargo run --release -p pac-lsp --example latency -- target/release/pacc
//! ```
//! (`-- PACC [RUNS]`; PACC defaults to `pacc` on the PATH, RUNS to 40.)

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

/// Generated policies, each ~20 lines, on a few resource types.
fn generated(n: usize) -> String {
    let mut s = String::from("package bench.generated\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "/// Generated policy {i}.\npolicy generated_{i} {{\n  title \"Generated check {i}\"\n  severity high\n  category security\n\n  rule on aws.ec2.instance {{\n    violation when\n      state.name == \"running\"\n      and has(public_ip_address)\n      and any sg in security_groups: starts_with(sg.group_id, \"sg-{i}\")\n    message \"{{instance_id}} breaks generated check {i}\"\n  }}\n}}\n\n"
        ));
    }
    s
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pacc = args.get(1).cloned().unwrap_or_else(|| "pacc".into());
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(40);
    let dir = std::env::temp_dir().join(format!("pac-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let lib = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../policies/aws");
    let mut lines = 0;
    for e in std::fs::read_dir(&lib).expect("policies/aws").flatten() {
        let text = std::fs::read_to_string(e.path()).expect("read");
        lines += text.lines().count();
        std::fs::write(dir.join(e.file_name()), text).expect("write");
    }
    let gen_text = generated((5_000 - lines.min(5_000)) / 15 + 2);
    lines += gen_text.lines().count();
    let gen_path = dir.join("generated.pac");
    std::fs::write(&gen_path, &gen_text).expect("write");
    let uri = format!("file://{}", gen_path.display());

    let mut lsp = spawn(&pacc);
    let t = Instant::now();
    lsp.request(
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {}}),
    );
    lsp.notify("initialized", json!({}));
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": gen_text}}),
    );
    lsp.wait_diagnostics(&uri, 1);
    let open = t.elapsed();

    // A one-character edit inside a message string, then its removal.
    let mark = gen_text.find("breaks generated check").expect("mark") + 6;
    let line = gen_text[..mark].matches('\n').count();
    let col = mark - gen_text[..mark].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let mut version = 1;
    let mut change = Vec::new();
    for i in 0..runs {
        version += 1;
        let (range, text) = if i % 2 == 0 {
            (
                json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}),
                "x",
            )
        } else {
            (
                json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}}),
                "",
            )
        };
        let t = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": range, "text": text}]}),
        );
        lsp.wait_diagnostics(&uri, version);
        change.push(t.elapsed());
    }

    let field = gen_text.find("public_ip_address").expect("field") + 3;
    let fline = gen_text[..field].matches('\n').count();
    let fcol = field - gen_text[..field].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let dot = gen_text.find("sg.group_id").expect("dot") + 3;
    let dline = gen_text[..dot].matches('\n').count();
    let dcol = dot - gen_text[..dot].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let (mut hover, mut completion) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // An edit before each pair, so that requests see a fresh revision
        // as they do while typing.
        version += 1;
        let text = if i % 2 == 0 { "x" } else { "" };
        let end = if i % 2 == 0 { col } else { col + 1 };
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": {"start": {"line": line, "character": col},
                                                 "end": {"line": line, "character": end}}, "text": text}]}),
        );
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
        let t = Instant::now();
        let c = lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": dline, "character": dcol}}),
        );
        completion.push(t.elapsed());
        assert!(
            c["result"].as_array().is_some_and(|a| !a.is_empty()),
            "completion answered"
        );
    }
    // Without an edit in between: the snapshot is already compiled.
    let mut steady = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": fline, "character": fcol}}),
        );
        steady.push(t.elapsed());
    }
    lsp.request("shutdown", Value::Null);
    lsp.notify("exit", Value::Null);
    let _ = lsp.child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!("workspace: {lines} lines of Pac in the workspace (+ the stdlib), {runs} runs each");
    println!("open → first diagnostics:                 {:>8.1?}", open);
    println!(
        "didChange (1 char) → publishDiagnostics:   {:>8.1?} median (target 50 ms; includes the 20 ms debounce)",
        median(change)
    );
    println!(
        "hover (first request after an edit):       {:>8.1?} median (target 20 ms)",
        median(hover)
    );
    println!(
        "completion after `.`:                      {:>8.1?} median (target 20 ms)",
        median(completion)
    );
    println!(
        "hover (no edit since the last request):    {:>8.1?} median",
        median(steady)
    );
}
