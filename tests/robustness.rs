//! Nothing a policy file or an editor sends can stop `pacc`: deep and long
//! input gives a result or a clear diagnostic (never a signal, never a
//! hang), and the language server answers a message it cannot decode with a
//! JSON-RPC error and goes on. Every wait here is bounded, so that a hang
//! fails the test instead of blocking it.

mod lsp_support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Generous: a debug build on a loaded 2-core machine. Only a hang (or a
/// quadratic blow-up by orders of magnitude) reaches it.
const LIMIT: Duration = Duration::from_secs(120);

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
}

/// Runs pacc with a deadline; panics if it is killed by a signal (stack
/// overflow aborts) or does not finish in time.
fn pacc(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pacc runs");
    // Drain the pipes on threads so that a large output cannot block the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pacc {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    };
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "pacc {args:?} ended with {} (a signal is a crash)\nstderr: {}",
        out.status,
        tail(&out.stderr)
    );
    out
}

fn tail(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let n = s.len().saturating_sub(2000);
    let mut i = n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    s[i..].to_string()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn chain(op: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("instance_id == \"i-{i}\""))
        .collect::<Vec<_>>()
        .join(&format!(" {op} "))
}

/// A policy whose condition is `cond`, with tests that run it both ways.
fn policy(cond: &str) -> String {
    format!(
        r#"package robust

policy long_condition {{
  title "A long generated condition"
  severity low
  category governance

  rule on aws.ec2.instance {{
    let instance_id = self.instance_id ?? ""
    violation when {cond}
    message "{{instance_id}} matched"
  }}
}}

test "the generated condition decides" {{
  given aws.ec2.instance hit {{
    instance_id: "i-7",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: {{ code: 16, name: "running" }},
    placement: {{ availability_zone: "us-east-1a", tenancy: "default" }},
    monitoring: {{ state: "disabled" }},
  }}
  given aws.ec2.instance miss {{
    instance_id: "nope",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: {{ code: 16, name: "running" }},
    placement: {{ availability_zone: "us-east-1a", tenancy: "default" }},
    monitoring: {{ state: "disabled" }},
  }}
  expect long_condition fails hit
  expect long_condition passes miss
}}
"#
    )
}

fn write(dir: &Path, name: &str, src: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    p.display().to_string()
}

fn deep_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "nots.pac",
            format!("fn f() -> bool = {}true\n", "not ".repeat(10_000)),
        ),
        (
            "lists.pac",
            format!(
                "fn f() -> list<int> = {}1{}\n",
                "[".repeat(5_000),
                "]".repeat(5_000)
            ),
        ),
        (
            "parens.pac",
            format!(
                "fn f() -> int = {}1{}\n",
                "(".repeat(100_000),
                ")".repeat(100_000)
            ),
        ),
        (
            "sum.pac",
            format!("fn f() -> int = 1{}\n", " + 1".repeat(20_000)),
        ),
        (
            "types.pac",
            format!(
                "record R {{ x: {}int{} }}\n",
                "list<".repeat(5_000),
                ">".repeat(5_000)
            ),
        ),
        (
            "calls.pac",
            format!(
                "fn g(x: int) -> int = x\nfn f() -> int = {}1{}\n",
                "g(".repeat(5_000),
                ")".repeat(5_000)
            ),
        ),
        (
            "ifs.pac",
            format!(
                "fn f(x: int) -> int = {}0\n",
                "if x == 1 then 1 else ".repeat(5_000)
            ),
        ),
    ]
}

#[test]
fn check_reports_deep_nesting_instead_of_crashing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in deep_files() {
        let path = write(dir.path(), name, &src);
        let out = pacc(&["check", &path]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {t}");
        assert!(t.contains("E0002"), "{name}: {t}");
        assert!(t.contains("nested too deeply: limit 160"), "{name}: {t}");
        let json = pacc(&["check", &path, "--format", "json"]);
        assert!(text(&json).contains("E0002"), "{name}");
        // The formatter refuses the file with the same diagnostic.
        let fmt = pacc(&["fmt", "--check", &path]);
        let t = text(&fmt);
        assert_eq!(fmt.status.code(), Some(2), "fmt {name}: {t}");
        assert!(
            t.contains("error[E0002]") && t.contains("nested too deeply: limit 160"),
            "fmt {name}: {t}"
        );
        // Both engines refuse to evaluate it, naming the limit.
        for engine in ["interp", "jit"] {
            let out = pacc(&[
                "eval",
                "--policies",
                &path,
                "--now",
                "2026-06-01",
                "--engine",
                engine,
            ]);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "eval {engine} {name}: {t}");
            assert!(
                t.contains("nested too deeply: limit 160"),
                "eval {engine} {name}: {t}"
            );
        }
    }
}

#[test]
fn long_and_or_chains_are_accepted_by_check() {
    let dir = tempfile::tempdir().unwrap();
    for (op, n) in [
        ("and", 3_000),
        ("or", 3_000),
        ("and", 20_000),
        ("or", 20_000),
    ] {
        let path = write(dir.path(), "chain.pac", &policy(&chain(op, n)));
        let out = pacc(&["check", &path]);
        let t = text(&out);
        assert!(!t.contains("E0002"), "{op} × {n}: {t}");
        assert!(!t.contains("error["), "{op} × {n}: {t}");
    }
}

#[test]
fn fmt_keeps_a_long_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "chain.pac", &policy(&chain("or", 3_000)));
    let out = pacc(&["fmt", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_eq!(formatted.matches("instance_id == \"i-").count(), 3_000);
    assert_eq!(formatted.matches("or instance_id").count(), 2_999);
    let again = pacc(&["check", &path]);
    assert!(!text(&again).contains("error["), "{}", text(&again));
}

#[test]
fn test_and_eval_run_long_chains_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    for (op, n) in [("or", 3_000), ("or", 20_000)] {
        let sub = dir.path().join(format!("{op}{n}"));
        std::fs::create_dir_all(&sub).unwrap();
        let path = write(&sub, "chain.pac", &policy(&chain(op, n)));
        for engine in ["interp", "jit"] {
            let out = pacc(&["test", &path, "--engine", engine]);
            assert_eq!(out.status.code(), Some(0), "{engine} {n}: {}", text(&out));
            let out = pacc(&[
                "eval",
                "--policies",
                &path,
                "--now",
                "2026-06-01",
                "--engine",
                engine,
            ]);
            assert_ne!(out.status.code(), Some(2), "{engine} {n}: {}", text(&out));
        }
    }
    // An `and` chain of equalities on one field is never true: it passes.
    let path = write(
        dir.path(),
        "and.pac",
        &policy(&chain("and", 3_000)).replace(
            "expect long_condition fails hit",
            "expect long_condition passes hit",
        ),
    );
    for engine in ["interp", "jit"] {
        let out = pacc(&["test", &path, "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{engine}: {}", text(&out));
    }
}

/// An int expression nested `cycles` × 12 levels deep, mixing the kinds of
/// node that wrap another.
fn nested_int(cycles: usize) -> String {
    let mut e = String::from("instance_id.len()");
    for _ in 0..cycles {
        e = format!("([let y = 1; (if true then (1 + (-({e}))) else 0)][0] ?? 0)");
    }
    e
}

#[test]
fn nesting_just_under_the_limit_works_everywhere() {
    // 11 × 12 + a few levels: just under MAX_NESTING (160). `pacc test`
    // runs on rayon's threads (2 MiB stacks), `check` on the main thread.
    // Each cycle maps v to 1 - v: 3 (`i-7`) ends at -2, 4 (`nope`) at -3.
    let dir = tempfile::tempdir().unwrap();
    let cond = format!("{} == -2", nested_int(11));
    let src = policy(&cond);
    let path = write(dir.path(), "deep.pac", &src);
    let out = pacc(&["check", &path]);
    assert!(!text(&out).contains("error["), "{}", text(&out));
    for engine in ["interp", "jit"] {
        let out = pacc(&["test", &path, "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{engine}: {}", text(&out));
        let out = pacc(&[
            "eval",
            "--policies",
            &path,
            "--now",
            "2026-06-01",
            "--engine",
            engine,
        ]);
        assert_ne!(out.status.code(), Some(2), "{engine}: {}", text(&out));
    }
    let out = pacc(&["fmt", "--check", &path]);
    assert_ne!(out.status.code(), Some(2), "{}", text(&out));
    // Through calls: 20 functions deep, each adding IR levels, within the
    // IR limit (320): checked, tested and evaluated on both engines.
    let mut fns = String::from("fn h0(x: int) -> int = x + 1\n");
    for i in 1..20 {
        fns.push_str(&format!("fn h{i}(x: int) -> int = h{}(x) + 1\n", i - 1));
    }
    let src = format!("{}\n{fns}", policy("h19(instance_id.len()) == 23"));
    let path = write(dir.path(), "calls.pac", &src);
    let out = pacc(&["check", &path]);
    assert!(!text(&out).contains("error["), "{}", text(&out));
    for engine in ["interp", "jit"] {
        let out = pacc(&["test", &path, "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{engine}: {}", text(&out));
    }
    // Deep through calls: each function wraps the previous in 8 levels of
    // IR once inlined; h38 is about 305 levels deep, just under the IR limit
    // (320), and is evaluated by both engines on rayon's 2 MiB threads; h40
    // passes the limit (E0002). h0 = x + 1; each next one is 1 - the
    // previous, so even ones give x + 1.
    let chain = |n: usize| {
        let mut fns = String::from("fn h0(x: int) -> int = x + 1\n");
        for i in 1..=n {
            let body = nested_int(1).replace("instance_id.len()", &format!("h{}(x)", i - 1));
            fns.push_str(&format!("fn h{i}(x: int) -> int = {body}\n"));
        }
        format!(
            "{}\n{fns}",
            policy(&format!("h{n}(instance_id.len()) == 4"))
        )
    };
    let over = write(dir.path(), "over.pac", &chain(40));
    let out = pacc(&["check", &over]);
    assert!(
        text(&out).contains("limit 320 levels once function calls are inlined"),
        "{}",
        text(&out)
    );
    let src = chain(38);
    let path = write(dir.path(), "deep_calls.pac", &src);
    let out = pacc(&["check", &path]);
    assert!(!text(&out).contains("error["), "{}", text(&out));
    for engine in ["interp", "jit"] {
        let out = pacc(&["test", &path, "--engine", engine]);
        assert_eq!(out.status.code(), Some(0), "{engine}: {}", text(&out));
        let out = pacc(&[
            "eval",
            "--policies",
            &path,
            "--now",
            "2026-06-01",
            "--engine",
            engine,
        ]);
        assert_ne!(out.status.code(), Some(2), "{engine}: {}", text(&out));
    }
}

#[test]
fn functions_that_nest_through_calls_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Each function adds a level: deep through calls, not in any one body.
    let mut src = String::from("fn f0(x: int) -> int = x + 1\n");
    for i in 1..600 {
        src.push_str(&format!("fn f{i}(x: int) -> int = f{}(x) + 1\n", i - 1));
    }
    let path = write(dir.path(), "calls.pac", &src);
    let out = pacc(&["check", &path]);
    assert!(text(&out).contains("E0002"), "{}", text(&out));
    // Each function calls the previous twice: 2^40 nodes if inlined blindly.
    let mut src = String::from("fn g0(x: int) -> int = x\n");
    for i in 1..40 {
        src.push_str(&format!(
            "fn g{i}(x: int) -> int = g{p}(x) + g{p}(x)\n",
            p = i - 1
        ));
    }
    let path = write(dir.path(), "wide.pac", &src);
    let out = pacc(&["check", &path]);
    assert!(text(&out).contains("E0314"), "{}", text(&out));
}

#[test]
fn many_errors_on_one_long_line_render() {
    let dir = tempfile::tempdir().unwrap();
    let line: String = (0..1_000).map(|i| format!("nope{i} or ")).collect();
    let src = format!("fn f() -> bool = {line}true\n");
    let path = write(dir.path(), "errors.pac", &src);
    let out = pacc(&["check", &path]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        t.matches("[E0101]").count(),
        1_000,
        "{}",
        tail(t.as_bytes())
    );
    // Each report shows a window of the line, not all of it, under the
    // true line and column of the error.
    assert!(t.len() < 2_000_000, "{} bytes of output", t.len());
    let col = src.find("nope999").unwrap() + 1;
    assert!(
        t.contains(&format!("errors.pac:1:{col} ]")),
        "{}",
        tail(t.as_bytes())
    );
}

// ------------------------------------------------------------ the server

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
}

impl Lsp {
    fn start(dir: &Path) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pacc"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pacc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let rx = lsp_support::read_messages(stdout);
        Lsp { child, stdin, rx }
    }

    fn raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, v: Value) {
        self.raw(&serde_json::to_vec(&v).unwrap());
    }

    /// The next message satisfying `want`, answering the server's own
    /// requests meanwhile; panics if the server dies or says nothing in time.
    fn wait(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = match self.rx.recv_timeout(left) {
                Ok(m) => m,
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!("no {what} from the server (exited: {status:?})");
                }
            };
            if m.get("method").is_some()
                && let Some(id) = m.get("id")
            {
                let id = id.clone();
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}));
                continue;
            }
            if want(&m) {
                return m;
            }
        }
    }

    fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(&format!("answer to {method}"), |m| m["id"] == json!(id))
    }

    fn error_reply(&mut self) -> Value {
        self.wait("error reply", |m| {
            m.get("error").is_some() && m.get("method").is_none()
        })
    }

    fn finish(mut self) {
        let r = self.request(999_999, "shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.send(json!({"jsonrpc": "2.0", "method": "exit"}));
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                assert!(s.success(), "pacc lsp exited with {s}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("pacc lsp did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn initialize(lsp: &mut Lsp, dir: &Path) {
    let r = lsp.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {}}),
    );
    assert!(r.get("result").is_some(), "{r}");
    lsp.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
}

#[test]
fn the_server_answers_undecodable_messages_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut lsp = Lsp::start(dir.path());
    initialize(&mut lsp, dir.path());
    let uri = format!("file://{}/a.pac", dir.path().display());
    let bad: Vec<(&str, Vec<u8>, i64)> = vec![
        (
            "invalid JSON",
            b"{\"jsonrpc\": \"2.0\", \"id\": 5, ".to_vec(),
            -32700,
        ),
        (
            "a JSON array",
            br#"[{"jsonrpc":"2.0","id":6,"method":"shutdown"}]"#.to_vec(),
            -32600,
        ),
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xff\xfe\"}".to_vec(),
            -32700,
        ),
        (
            "no jsonrpc field",
            br#"{"id":8,"method":"shutdown"}"#.to_vec(),
            -32600,
        ),
        (
            "a duplicate id",
            br#"{"jsonrpc":"2.0","id":9,"id":10,"method":"shutdown"}"#.to_vec(),
            -32600,
        ),
        (
            "a bad id",
            br#"{"jsonrpc":"2.0","id":{},"method":"shutdown"}"#.to_vec(),
            -32600,
        ),
    ];
    let mut next = 100;
    for (what, body, code) in bad {
        lsp.raw(&body);
        let e = lsp.error_reply();
        assert_eq!(e["error"]["code"], json!(code), "{what}: {e}");
        // The server is still there and answers a valid request.
        next += 1;
        let r = lsp.request(next, "workspace/symbol", json!({"query": ""}));
        assert!(r.get("result").is_some(), "after {what}: {r}");
    }
    // A header without a length, then a good frame.
    lsp.stdin
        .write_all(b"Content-Type: text/plain\r\n\r\n")
        .unwrap();
    let e = lsp.error_reply();
    assert_eq!(e["error"]["code"], json!(-32700), "{e}");
    // A lone surrogate in document text: replaced, and the text is served.
    let open = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"pac","version":1,"text":"fn f() -> string = \"a\ud800b\"\n"}}}}}}"#
    );
    lsp.raw(open.as_bytes());
    let d = lsp.wait("diagnostics", |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == json!(uri)
    });
    assert_eq!(d["params"]["diagnostics"], json!([]), "{d}");
    let h = lsp.request(
        200,
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 4}}),
    );
    assert!(h.get("error").is_none(), "{h}");
    lsp.finish();
}

#[test]
fn a_deep_file_in_the_workspace_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in deep_files() {
        std::fs::write(dir.path().join(name), src).unwrap();
    }
    std::fs::write(dir.path().join("chain.pac"), policy(&chain("and", 20_000))).unwrap();
    // Just under the nesting limit: every feature works on it.
    let deep_ok = policy(&format!("{} == -2", nested_int(11)));
    std::fs::write(dir.path().join("deep_ok.pac"), &deep_ok).unwrap();
    let mut lsp = Lsp::start(dir.path());
    initialize(&mut lsp, dir.path());
    let uri = format!("file://{}/nots.pac", dir.path().display());
    let text = std::fs::read_to_string(dir.path().join("nots.pac")).unwrap();
    lsp.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": text}}}));
    let d = lsp.wait("diagnostics of the deep file", |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == json!(uri)
    });
    let diags = d["params"]["diagnostics"].as_array().unwrap();
    assert!(diags.iter().any(|x| x["code"] == "E0002"), "{diags:?}");
    // Every feature on the deep and the long file answers.
    let chain_uri = format!("file://{}/chain.pac", dir.path().display());
    let chain_text = std::fs::read_to_string(dir.path().join("chain.pac")).unwrap();
    lsp.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": chain_uri, "languageId": "pac", "version": 1, "text": chain_text}}}));
    let mut id = 10;
    let ok_uri = format!("file://{}/deep_ok.pac", dir.path().display());
    lsp.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": ok_uri, "languageId": "pac", "version": 1, "text": deep_ok}}}));
    for u in [&uri, &chain_uri, &ok_uri] {
        for (method, params) in [
            (
                "textDocument/semanticTokens/full",
                json!({"textDocument": {"uri": u}}),
            ),
            (
                "textDocument/formatting",
                json!({"textDocument": {"uri": u}, "options": {"tabSize": 2, "insertSpaces": true}}),
            ),
            (
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": u}}),
            ),
            (
                "textDocument/foldingRange",
                json!({"textDocument": {"uri": u}}),
            ),
            (
                "textDocument/hover",
                json!({"textDocument": {"uri": u}, "position": {"line": 8, "character": 40}}),
            ),
            (
                "textDocument/completion",
                json!({"textDocument": {"uri": u}, "position": {"line": 8, "character": 40}}),
            ),
        ] {
            id += 1;
            let r = lsp.request(id, method, params);
            // An answer, not an error.
            assert!(
                r.get("result").is_some() && r.get("error").is_none(),
                "{method} on {u}: {}",
                tail(r.to_string().as_bytes())
            );
        }
    }
    lsp.finish();
}

#[test]
fn semantic_tokens_of_a_two_megabyte_line() {
    // One line of 200,000 strings (2 MB, with a non-ASCII character in each
    // so that UTF-16 columns differ from bytes). Positions computed from the
    // line's start for each token (the old way: 15 s at 430 KB, quadratic)
    // would take hours here; the forward cursor takes a moment.
    let n = 200_000;
    let items: Vec<String> = (0..n).map(|i| format!("\"é-{i}\"")).collect();
    let src = policy(&format!("instance_id in [{}]", items.join(", ")));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.pac"), &src).unwrap();
    let mut lsp = Lsp::start(dir.path());
    initialize(&mut lsp, dir.path());
    let uri = format!("file://{}/long.pac", dir.path().display());
    lsp.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": src}}}));
    let r = lsp.request(
        2,
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": uri}}),
    );
    let data: Vec<u64> = r["result"]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no tokens: {}", tail(r.to_string().as_bytes())))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(data.len() / 5 >= n, "{} tokens", data.len() / 5);
    // The last string of the line is where the text has it, in UTF-16.
    let last = format!("\"é-{}\"", n - 1);
    let at = src.find(&last).unwrap();
    let line = src[..at].matches('\n').count() as u64;
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..at].encode_utf16().count() as u64;
    let len = last.encode_utf16().count() as u64;
    let (mut l, mut c) = (0u64, 0u64);
    let mut found = false;
    for t in data.chunks(5) {
        if t[0] > 0 {
            l += t[0];
            c = t[1];
        } else {
            c += t[1];
        }
        if (l, c) == (line, col) {
            assert_eq!(t[2], len, "token length");
            found = true;
        }
    }
    assert!(found, "no token at {line}:{col}");
    lsp.finish();
}

#[test]
fn many_diagnostics_on_one_long_line_are_published() {
    // 20,000 unknown names on one 230 KB line: each diagnostic's position is
    // found without counting the line from its start.
    let n = 20_000;
    let line: String = (0..n).map(|i| format!("nope{i} or ")).collect();
    let src = format!("fn f() -> bool = {line}true\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("errors.pac"), &src).unwrap();
    let mut lsp = Lsp::start(dir.path());
    initialize(&mut lsp, dir.path());
    let uri = format!("file://{}/errors.pac", dir.path().display());
    lsp.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": src}}}));
    let d = lsp.wait("diagnostics of the long line", |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == json!(uri)
    });
    let diags = d["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), n);
    let last = format!("nope{}", n - 1);
    let col = src.find(&last).unwrap() as u64;
    assert!(
        diags
            .iter()
            .any(|x| x["range"]["start"]["character"] == json!(col)
                && x["message"].as_str().unwrap_or("").contains(&last)),
        "no diagnostic at column {col}"
    );
    lsp.finish();
}
