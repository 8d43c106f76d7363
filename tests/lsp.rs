//! `pacc lsp` as an editor drives it: a child process spoken to in real
//! JSON-RPC with Content-Length framing on stdio. Covers the lifecycle,
//! every feature on a multi-file workspace with the stdlib, a file with
//! several errors (diagnostics identical to `pacc check`), position
//! encodings with non-ASCII text, empty configuration, and mutated
//! documents through didChange (the server must never die).

mod lsp_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    notes: Vec<Value>,
}

impl Lsp {
    fn start() -> Lsp {
        Lsp::start_with(&["lsp"])
    }

    fn start_with(args: &[&str]) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pacc"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pacc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let rx = lsp_support::read_messages(stdout);
        Lsp {
            child,
            stdin,
            rx,
            next_id: 0,
            notes: Vec::new(),
        }
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_vec(&v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within a minute")
    }

    /// Sends a request and returns its whole response (`result` or
    /// `error`); answers the server's own requests with null meanwhile.
    fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m.get("method").is_some() {
                if let Some(sid) = m.get("id") {
                    let sid = sid.clone();
                    self.send(json!({"jsonrpc": "2.0", "id": sid, "result": null}));
                } else {
                    self.notes.push(m);
                }
                continue;
            }
            if m["id"] == json!(id) {
                return m;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let m = self.request_raw(method, params);
        assert!(m.get("error").is_none(), "{method} failed: {m}");
        m["result"].clone()
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published for `uri` (of `version`, if given).
    fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        loop {
            if let Some(i) = self.notes.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uri
                    && version.is_none_or(|v| n["params"]["version"] == json!(v))
            }) {
                let n = self.notes.remove(i);
                return n["params"]["diagnostics"].as_array().unwrap().clone();
            }
            let m = self.recv();
            if m.get("method").is_some() && m.get("id").is_none() {
                self.notes.push(m);
            }
        }
    }

    fn initialize(&mut self, root: Option<&Path>, caps: Value) -> Value {
        let root_uri = root.map(uri);
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": root_uri, "capabilities": caps}),
        );
        self.notify("initialized", json!({}));
        r
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "pac", "version": 1, "text": text}}),
        );
    }

    fn shutdown(mut self) {
        let r = self.request_raw("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "pacc lsp exited with {status}");
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// The UTF-16 position of the `n`th byte after the start of `needle`.
fn pos(text: &str, needle: &str, n: usize) -> Value {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in text"))
        + n;
    let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[..at].matches('\n').count();
    let col = text[line_start..at].encode_utf16().count();
    json!({"line": line, "character": col})
}

fn tdp(uri: &str, text: &str, needle: &str, n: usize) -> Value {
    json!({"textDocument": {"uri": uri}, "position": pos(text, needle, n)})
}

fn workspace() -> (tempfile::TempDir, String, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("tests/lsp_ws");
    let net = std::fs::read_to_string(src.join("network.pac")).unwrap();
    let exc = std::fs::read_to_string(src.join("exceptions.pac")).unwrap();
    std::fs::write(dir.path().join("network.pac"), &net).unwrap();
    std::fs::write(dir.path().join("exceptions.pac"), &exc).unwrap();
    let a = uri(&dir.path().join("network.pac"));
    let b = uri(&dir.path().join("exceptions.pac"));
    (dir, a, net, b, exc)
}

#[test]
fn serves_a_multi_file_workspace_with_the_stdlib() {
    let (dir, a, net, b, exc) = workspace();
    let mut lsp = Lsp::start();
    let init = lsp.initialize(Some(dir.path()), json!({}));
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    for cap in [
        "hoverProvider",
        "completionProvider",
        "definitionProvider",
        "referencesProvider",
        "renameProvider",
        "documentFormattingProvider",
        "codeActionProvider",
        "documentSymbolProvider",
        "workspaceSymbolProvider",
        "semanticTokensProvider",
        "foldingRangeProvider",
        "codeLensProvider",
        "executeCommandProvider",
    ] {
        assert!(!caps[cap].is_null(), "{cap} advertised");
    }
    // The whole workspace is checked at start: clean files get no errors.
    lsp.open(&a, &net);
    assert_eq!(lsp.diagnostics(&a, Some(1)), Vec::<Value>::new());

    // Hover: a field (type and schema doc), a built-in, a policy, a group.
    let h = lsp.request("textDocument/hover", tdp(&a, &net, "cidr_block}", 1));
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(md.contains("cidr_block: cidr"), "{md}");
    assert!(md.contains("field of `aws.ec2.vpc`"), "{md}");
    let h = lsp.request("textDocument/hover", tdp(&a, &net, "starts_with(", 2));
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(
        md.contains("starts_with(s: string, prefix: string) -> bool"),
        "{md}"
    );
    assert!(md.contains("example:"), "{md}");
    let h = lsp.request(
        "textDocument/hover",
        tdp(&b, &exc, "default_vpc_in_use {", 3),
    );
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(md.contains("**Default VPC is in use**"), "{md}");
    assert!(md.contains("severity `medium`"), "{md}");
    assert!(md.contains("not for production"), "{md}");
    let h = lsp.request("textDocument/hover", tdp(&a, &net, "core_vpcs {", 1));
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("VPCs that everything")
    );

    // Definition: a field into the stdlib's schema file (a real file).
    let d = lsp.request(
        "textDocument/definition",
        tdp(&a, &net, "vpc_id, \"vpc-0\"", 1),
    );
    let target = d["uri"].as_str().unwrap();
    assert!(target.ends_with("aws/ec2.pac"), "{d}");
    let path = target.strip_prefix("file://").unwrap();
    let stdlib = std::fs::read_to_string(path).unwrap();
    let line = d["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(stdlib.lines().nth(line).unwrap().contains("vpc_id"), "{d}");
    // A policy named in another file.
    let d = lsp.request(
        "textDocument/definition",
        tdp(&b, &exc, "default_vpc_in_use {", 0),
    );
    assert_eq!(d["uri"], a);
    assert_eq!(d["range"]["start"], pos(&net, "default_vpc_in_use", 0));
    // A group named in a rule head.
    let d = lsp.request(
        "textDocument/definition",
        tdp(&a, &net, "core_vpcs {\n    v", 0),
    );
    assert_eq!(d["range"]["start"], pos(&net, "core_vpcs", 0));

    // References across files: declaration, exception, test expectation.
    let refs = lsp.request(
        "textDocument/references",
        json!({"textDocument": {"uri": a}, "position": pos(&net, "default_vpc_in_use", 2),
               "context": {"includeDeclaration": true}}),
    );
    let mut files: Vec<&str> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, vec![b.as_str(), b.as_str(), a.as_str()], "{refs}");
    // References of a schema field include uses in the workspace.
    let refs = lsp.request(
        "textDocument/references",
        json!({"textDocument": {"uri": a}, "position": pos(&net, "vpc_id, \"vpc-0\"", 0),
               "context": {"includeDeclaration": false}}),
    );
    assert_eq!(refs.as_array().unwrap().len(), 2, "{refs}");

    // Rename a policy across files.
    let prep = lsp.request(
        "textDocument/prepareRename",
        tdp(&b, &exc, "default_vpc_in_use fails", 0),
    );
    assert_eq!(prep["start"], pos(&exc, "default_vpc_in_use fails", 0));
    let edit = lsp.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": b}, "position": pos(&exc, "default_vpc_in_use fails", 0),
               "newName": "legacy_vpc"}),
    );
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(changes[&a].as_array().unwrap().len(), 1);
    assert_eq!(changes[&b].as_array().unwrap().len(), 2);
    assert!(
        changes
            .values()
            .flat_map(|v| v.as_array().unwrap())
            .all(|e| e["newText"] == "legacy_vpc")
    );
    // Fields are not renameable; bad names are refused.
    let r = lsp.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": a},
        "position": pos(&net, "vpc_id,", 0), "newName": "x"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only policies, rules and groups")
    );
    let r = lsp.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": a},
        "position": pos(&net, "core_vpcs", 0), "newName": "policy"}),
    );
    assert!(r.get("error").is_some(), "{r}");

    // Completion: fields after `.` of a record; resource types after `on`.
    let typed = net.replace(
        "starts_with(vpc_id, \"vpc-0\")",
        "starts_with(vpc_id, \"vpc-0\") and self.",
    );
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 2},
        "contentChanges": [{"text": typed}]}),
    );
    let c = lsp.request("textDocument/completion", tdp(&a, &typed, "self.", 5));
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"cidr_block") && labels.contains(&"is_default"),
        "{labels:?}"
    );
    let item = c
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "cidr_block")
        .unwrap();
    assert_eq!(item["detail"], "cidr?");
    assert!(!item["documentation"]["value"].as_str().unwrap().is_empty());
    // The syntax error shows up, then the fix clears it.
    let diags = lsp.diagnostics(&a, Some(2));
    assert!(diags.iter().any(|d| d["code"] == "E0001"), "{diags:?}");
    let typed = net.replace("rule on aws.ec2.vpc", "rule on aws.ec2.");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 3},
        "contentChanges": [{"text": typed}]}),
    );
    let c = lsp.request("textDocument/completion", tdp(&a, &typed, "aws.ec2. in", 8));
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"aws.ec2.vpc") && labels.contains(&"aws.s3.bucket"),
        "{labels:?}"
    );
    // Severities after `severity`, policy names after `for`.
    let c = lsp.request(
        "textDocument/completion",
        tdp(&a, &typed, "severity medium", 9),
    );
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["critical", "high", "medium", "low", "info"]);
    let c = lsp.request(
        "textDocument/completion",
        tdp(&b, &exc, "default_vpc_in_use {", 0),
    );
    assert!(
        c.as_array()
            .unwrap()
            .iter()
            .any(|i| i["label"] == "default_vpc_in_use")
    );
    // Incremental change: put `vpc` back by range.
    let at = pos(&typed, "aws.ec2. in", 8);
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 4},
        "contentChanges": [{"range": {"start": at, "end": at}, "text": "vpc"}]}),
    );
    assert_eq!(lsp.diagnostics(&a, Some(4)), Vec::<Value>::new());

    // Formatting: the same formatter as `pacc fmt`.
    let messy = net.replace("  severity medium", "severity    medium");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 5},
        "contentChanges": [{"text": messy}]}),
    );
    let edits = lsp.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": a},
        "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["newText"].as_str().unwrap(),
        pac_lang::fmt::format(&messy).unwrap()
    );
    assert_eq!(edits[0]["newText"].as_str().unwrap(), net);
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 6},
        "contentChanges": [{"text": net}]}),
    );

    // Document symbols: the policy with its rules, the group.
    let syms = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": a}}),
    );
    let names: Vec<&str> = syms
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["core_vpcs", "default_vpc_in_use"]);
    // Workspace symbols, stdlib schemas included.
    let ws = lsp.request("workspace/symbol", json!({"query": "vpc"}));
    let names: Vec<&str> = ws
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"core_vpcs") && names.contains(&"aws.ec2.vpc"),
        "{names:?}"
    );

    // Semantic tokens: well-formed deltas, keywords and properties present.
    let legend = caps["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .unwrap()
        .clone();
    let toks = lsp.request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": a}}),
    );
    let data: Vec<u64> = toks["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(data.len() % 5, 0);
    let types: Vec<&str> = data
        .chunks(5)
        .map(|c| legend[c[3] as usize].as_str().unwrap())
        .collect();
    for t in [
        "keyword", "property", "function", "string", "comment", "class", "enum",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    // Folding: the group, the policy and its rule.
    let folds = lsp.request(
        "textDocument/foldingRange",
        json!({"textDocument": {"uri": a}}),
    );
    assert!(folds.as_array().unwrap().len() >= 3, "{folds}");

    // Code lens and the run-tests command.
    let lenses = lsp.request("textDocument/codeLens", json!({"textDocument": {"uri": b}}));
    let lenses = lenses.as_array().unwrap();
    assert_eq!(lenses.len(), 2, "{lenses:?}");
    let cmd = &lenses[0]["command"];
    assert_eq!(cmd["command"], "pac.runTests");
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "pac.runTests",
        "arguments": cmd["arguments"]}),
    );
    assert_eq!(r["passed"], 1, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    assert!(lsp.notes.iter().any(|n| n["method"] == "window/showMessage"
        && n["params"]["message"] == "Pac tests: 1 passed, 0 failed"));

    lsp.shutdown();
}

#[test]
fn a_file_with_several_errors_gets_the_diagnostics_of_pacc_check() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("tests/lsp_ws/errors.pac.txt")).unwrap();
    let path = dir.path().join("errors.pac");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let cli: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(cli.len() >= 4, "{cli:?}");

    let mut lsp = Lsp::start();
    lsp.initialize(Some(dir.path()), json!({}));
    let u = uri(&path);
    lsp.open(&u, &text);
    let diags = lsp.diagnostics(&u, Some(1));
    assert_eq!(diags.len(), cli.len(), "{diags:?}");
    for (d, c) in diags.iter().zip(&cli) {
        assert_eq!(d["code"], c["code"]);
        assert_eq!(d["source"], "pac");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .starts_with(c["message"].as_str().unwrap())
        );
        assert_eq!(
            d["range"]["start"]["line"].as_u64().unwrap() + 1,
            c["line"].as_u64().unwrap()
        );
        assert_eq!(
            d["range"]["start"]["character"].as_u64().unwrap() + 1,
            c["column"].as_u64().unwrap()
        );
        assert_eq!(
            d["range"]["end"]["line"].as_u64().unwrap() + 1,
            c["end_line"].as_u64().unwrap()
        );
        if let Some(s) = c["suggestion"].as_object() {
            assert_eq!(d["data"]["suggestion"]["replacement"], s["replacement"]);
        }
    }
    // Related information points into the stdlib schema (a real file).
    assert!(diags.iter().any(|d| {
        d["relatedInformation"][0]["location"]["uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("aws/ec2.pac"))
    }));

    // Code actions: the "did you mean" fix.
    let stat = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("`stat`"))
        .unwrap();
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": u},
        "range": stat["range"], "context": {"diagnostics": [stat]}}),
    );
    let fix = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "quickfix")
        .unwrap();
    assert_eq!(fix["isPreferred"], true);
    let edit = &fix["edit"]["changes"][&u][0];
    assert_eq!(edit["newText"], "state");
    assert_eq!(edit["range"], stat["range"]);
    // Add the missing `title`.
    let missing = diags.iter().find(|d| d["code"] == "E0401").unwrap();
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": u},
        "range": missing["range"], "context": {"diagnostics": [missing]}}),
    );
    let add = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("Add `title"))
        .unwrap();
    let edit = &add["edit"]["changes"][&u][0];
    assert_eq!(edit["range"]["start"], pos(&text, "missing_title {", 15));
    assert!(edit["newText"].as_str().unwrap().contains("title \""));
    // A test skeleton for the rule under the cursor.
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": u},
        "range": {"start": pos(&text, "is_default ??", 0), "end": pos(&text, "is_default ??", 0)},
        "context": {"diagnostics": []}}),
    );
    let skel = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Create a test for `bad_severity`")
        .unwrap();
    let new = skel["edit"]["changes"][&u][0]["newText"].as_str().unwrap();
    assert!(
        new.contains("given aws.ec2.vpc r {") && new.contains("expect bad_severity fails r"),
        "{new}"
    );

    // Fix everything: the diagnostics go away.
    let fixed = text
        .replace(
            "policy missing_title {",
            "policy missing_title {\n  title \"t\"",
        )
        .replace("(stat ??", "(state ??")
        .replace("cidr_blok ??", "cidr_block ??")
        .replace("hgh", "high")
        .replace("== \"yes\"", "== true");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2},
        "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(lsp.diagnostics(&u, Some(2)), Vec::<Value>::new());
    lsp.shutdown();
}

const NON_ASCII: &str = "package demo.utf\n\n// Ünïcödé 🎉 comment\npolicy p {\n  title \"naïve — 🎉\" severity hgh category security\n  rule on aws.ec2.vpc { violation when is_default }\n}\n";

#[test]
fn positions_follow_the_negotiated_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utf.pac");
    std::fs::write(&path, NON_ASCII).unwrap();
    let u = uri(&path);
    let line = NON_ASCII.lines().nth(4).unwrap();
    let byte_col = line.find("hgh").unwrap() as u64;
    let utf16_col = line[..byte_col as usize].encode_utf16().count() as u64;
    assert_ne!(byte_col, utf16_col);
    for (offered, col, enc) in [
        (json!(null), utf16_col, "utf-16"),
        (json!(["utf-16"]), utf16_col, "utf-16"),
        (json!(["utf-8", "utf-16"]), byte_col, "utf-8"),
    ] {
        let mut lsp = Lsp::start();
        let init = lsp.initialize(
            Some(dir.path()),
            json!({"general": {"positionEncodings": offered}}),
        );
        assert_eq!(init["capabilities"]["positionEncoding"], enc);
        lsp.open(&u, NON_ASCII);
        let diags = lsp.diagnostics(&u, Some(1));
        let d = diags
            .iter()
            .find(|d| d["code"] == "E0402")
            .expect("unknown severity");
        assert_eq!(d["range"]["start"], json!({"line": 4, "character": col}));
        assert_eq!(d["range"]["end"], json!({"line": 4, "character": col + 3}));
        // And back: a hover at a position in this encoding lands on the field.
        let line6 = NON_ASCII.lines().nth(5).unwrap();
        let c = line6.find("is_default").unwrap() + 2;
        let h = lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": u},
            "position": {"line": 5, "character": c}}),
        );
        assert!(
            h["contents"]["value"]
                .as_str()
                .unwrap()
                .contains("is_default: bool")
        );
        // An edit after the emoji, by range in this encoding.
        let at = json!({"line": 4, "character": col});
        lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": u, "version": 2},
            "contentChanges": [{"range": {"start": at, "end": {"line": 4, "character": col + 3}}, "text": "high"}]}));
        let diags = lsp.diagnostics(&u, Some(2));
        assert!(diags.iter().all(|d| d["code"] != "E0402"), "{diags:?}");
        lsp.shutdown();
    }
}

#[test]
fn empty_configuration_never_turns_features_off() {
    let (dir, a, net, _, _) = workspace();
    let mut lsp = Lsp::start();
    lsp.initialize(Some(dir.path()), json!({}));
    lsp.open(&a, &net);
    assert_eq!(lsp.diagnostics(&a, Some(1)), Vec::<Value>::new());
    // Eglot sends an empty object; others send null or an empty `pac`.
    for settings in [
        json!({}),
        json!(null),
        json!({"pac": {}}),
        json!({"pac": null}),
    ] {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": settings}),
        );
    }
    let broken = net.replace("severity medium", "severity hgh");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 2},
        "contentChanges": [{"text": broken}]}),
    );
    let diags = lsp.diagnostics(&a, Some(2));
    assert_eq!(diags.len(), 1, "{diags:?}");
    let h = lsp.request("textDocument/hover", tdp(&a, &broken, "cidr_block}", 1));
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("cidr_block")
    );
    let c = lsp.request("textDocument/completion", tdp(&a, &broken, "state ??", 2));
    assert!(!c.as_array().unwrap().is_empty());
    lsp.shutdown();
}

/// Pieces of Pac that mutations insert, so that edits reach odd states.
const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ".",
    "?.",
    "??",
    "\"",
    "\"{",
    "}\"",
    "policy ",
    "rule ",
    "on ",
    "any x in ",
    ": ",
    "when ",
    "é",
    "🎉",
    "\n",
    "/*",
    "*/",
    "///",
    "2026-01-01",
    "10.0.0.0/8",
    "self.",
    "has(",
    "let ",
    " = ",
    "exception \"",
    "test \"",
    "given ",
    "expect ",
    "\u{0}",
];

#[test]
fn mutated_documents_never_crash_the_server() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;

    let mut corpus: Vec<String> = Vec::new();
    for dir in ["policies/aws", "tests/lsp_ws"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                corpus.push(t);
            }
        }
    }
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let dir = tempfile::tempdir().unwrap();
    let lsp = RefCell::new(Lsp::start());
    lsp.borrow_mut().initialize(Some(dir.path()), json!({}));
    let u = uri(&dir.path().join("fuzz.pac"));
    lsp.borrow_mut().open(&u, "");
    let version = RefCell::new(1i64);

    let strategy = (
        0..corpus.len(),
        proptest::collection::vec((any_usize(), 0usize..40, 0..PIECES.len()), 1..6),
        proptest::collection::vec(any_usize(), 4),
    );
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner
        .run(&strategy, |(doc, edits, probes)| {
            let mut text = corpus[doc].clone();
            for (at, del, piece) in edits {
                let mut a = at % (text.len() + 1);
                while !text.is_char_boundary(a) {
                    a -= 1;
                }
                let mut b = (a + del).min(text.len());
                while !text.is_char_boundary(b) {
                    b -= 1;
                }
                text.replace_range(a..b, PIECES[piece]);
            }
            let mut lsp = lsp.borrow_mut();
            let mut v = version.borrow_mut();
            *v += 1;
            lsp.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": u, "version": *v},
                "contentChanges": [{"text": text}]}),
            );
            let lines = text.lines().count().max(1);
            for p in probes {
                let position = json!({"line": p % (lines + 1), "character": (p / 7) % 90});
                let at = json!({"textDocument": {"uri": u}, "position": position});
                for m in [
                    "textDocument/hover",
                    "textDocument/completion",
                    "textDocument/definition",
                ] {
                    let r = lsp.request_raw(m, at.clone());
                    assert!(r.get("error").is_none(), "{m}: {r}");
                }
                let mut refs = at.clone();
                refs["context"] = json!({"includeDeclaration": true});
                lsp.request_raw("textDocument/references", refs);
                let range = json!({"start": position, "end": position});
                lsp.request(
                    "textDocument/codeAction",
                    json!({"textDocument": {"uri": u},
                    "range": range, "context": {"diagnostics": []}}),
                );
            }
            let doc = json!({"textDocument": {"uri": u}});
            for m in [
                "textDocument/semanticTokens/full",
                "textDocument/documentSymbol",
                "textDocument/foldingRange",
                "textDocument/codeLens",
            ] {
                lsp.request(m, doc.clone());
            }
            lsp.request(
                "textDocument/formatting",
                json!({"textDocument": {"uri": u},
                "options": {"tabSize": 2, "insertSpaces": true}}),
            );
            lsp.diagnostics(&u, Some(*v));
            Ok(())
        })
        .unwrap();
    lsp.into_inner().shutdown();
}

fn any_usize() -> impl proptest::strategy::Strategy<Value = usize> {
    proptest::num::usize::ANY
}

#[test]
fn the_repositorys_stdlib_sources_replace_the_built_in_copy() {
    let (dir, a, net, _, _) = workspace();
    let (virt, text) = pac_stdlib::schemas::FILES
        .iter()
        .find(|(p, _)| p.ends_with("aws/ec2.pac"))
        .unwrap();
    let rel = virt.trim_start_matches("<stdlib>/");
    let src = dir.path().join("stdlib/schemas").join(rel);
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, text).unwrap();
    let mut lsp = Lsp::start();
    lsp.initialize(Some(dir.path()), json!({}));
    // No "declared twice": the file on disk is the stdlib's ec2.pac.
    lsp.open(&a, &net);
    assert_eq!(lsp.diagnostics(&a, Some(1)), Vec::<Value>::new());
    let d = lsp.request(
        "textDocument/definition",
        tdp(&a, &net, "vpc_id, \"vpc-0\"", 1),
    );
    assert_eq!(d["uri"], uri(&src));
    // Editing it edits the stdlib: remove `cidr_block` from the VPC schema.
    let s = uri(&src);
    lsp.open(&s, text);
    let vpc = text.find("schema aws.ec2.vpc").unwrap();
    let field = vpc + text[vpc..].find("\n  cidr_block:").unwrap();
    let end = field + 1 + text[field + 1..].find('\n').unwrap();
    let edited = format!("{}{}", &text[..field], &text[end..]);
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": s, "version": 2},
        "contentChanges": [{"text": edited}]}),
    );
    let diags = lsp.diagnostics(&a, None);
    assert!(
        diags
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("cidr_block")),
        "{diags:?}"
    );
    lsp.shutdown();
}

/// vscode-languageclient (`TransportKind.stdio`) and other clients run
/// `pacc lsp --stdio`; it must serve, not exit with a usage error.
#[test]
fn the_stdio_flag_that_clients_pass_is_accepted() {
    let (dir, a, net, _, _) = workspace();
    let mut lsp = Lsp::start_with(&["lsp", "--stdio"]);
    let init = lsp.initialize(Some(dir.path()), json!({}));
    assert!(!init["capabilities"]["hoverProvider"].is_null(), "{init}");
    lsp.open(&a, &net);
    assert_eq!(lsp.diagnostics(&a, Some(1)), Vec::<Value>::new());
    lsp.shutdown();
}

/// `pac.runTests` answers with a `tests` list even when the workspace has
/// errors and no test can run, so a client can always read it.
#[test]
fn run_tests_answers_with_tests_while_the_workspace_has_errors() {
    let (dir, _, _, b, exc) = workspace();
    let broken = std::fs::read_to_string(root().join("tests/lsp_ws/errors.pac.txt")).unwrap();
    std::fs::write(dir.path().join("errors.pac"), broken).unwrap();
    let mut lsp = Lsp::start();
    lsp.initialize(Some(dir.path()), json!({}));
    lsp.open(&b, &exc);
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "pac.runTests", "arguments": [b]}),
    );
    assert_eq!(r["tests"], json!([]), "{r}");
    assert_eq!(r["passed"], 0, "{r}");
    assert!(r["errors"].as_u64().unwrap() >= 1, "{r}");
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("error(s) in the workspace"),
        "{r}"
    );

    // With the errors gone the same request runs the file's test.
    let errors = uri(&dir.path().join("errors.pac"));
    lsp.open(&errors, "package demo.empty\n");
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "pac.runTests", "arguments": [b]}),
    );
    assert_eq!(r["passed"], 1, "{r}");
    assert_eq!(r["tests"].as_array().unwrap().len(), 1, "{r}");
    lsp.shutdown();
}
