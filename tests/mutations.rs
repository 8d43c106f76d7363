//! Bad input never panics: mutated policy files go through the checker
//! in-process (many cases) and through the real `pacc check` binary (fewer
//! cases, since each spawns a process), and must always end in clean
//! diagnostics: exit code 0 or 2, never a crash, every span inside the file.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

fn corpus() -> Vec<String> {
    let mut out: Vec<String> = pac_stdlib::schemas::FILES
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    let root = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    for dir in ["policies", "examples"] {
        collect(&root.join(dir), &mut out);
    }
    out.push(include_str!("../lang/tests/parse.rs").to_string());
    out
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "pac")
            && let Ok(t) = std::fs::read_to_string(&p)
        {
            out.push(t);
        }
    }
}

/// Pieces of Pac that make mutations land on interesting parser states.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "?.",
    "??",
    "?",
    "==",
    "and",
    "or",
    "not",
    "any x in ",
    "count",
    "has(",
    "\"",
    "\"{",
    "}\"",
    "0.0.0.0/0",
    "2027-13-45",
    "99999999999999999999",
    "rule on ",
    "policy p {",
    "test \"t\" {",
    "expect",
    "given aws.ec2.instance i {",
    "let",
    "if",
    "then",
    "else",
    "self",
    "now",
    "/*",
    "///",
    "\n",
    "é",
    "🙂",
    "-",
    "/",
    "%",
    "1d",
    "group",
    "sticky exception x for p {",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(a, f)| Edit::Insert(a, f)),
        (any::<usize>(), 0usize..80).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..6)
}

fn char_boundary(s: &str, at: usize) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(src: &str, edits: &[Edit]) -> String {
    let mut s = src.to_string();
    for e in edits {
        match *e {
            Edit::Delete(at, n) => {
                let a = char_boundary(&s, at);
                let b = char_boundary(&s, (a + n).min(s.len()));
                if b >= a {
                    s.replace_range(a..b, "");
                }
            }
            Edit::Insert(at, f) => {
                let a = char_boundary(&s, at);
                s.insert_str(a, FRAGMENTS[f]);
            }
            Edit::Duplicate(at, n) => {
                let a = char_boundary(&s, at);
                let b = char_boundary(&s, (a + n).min(s.len()));
                if b >= a {
                    let piece = s[a..b].to_string();
                    s.insert_str(b, &piece);
                }
            }
            Edit::Truncate(at) => {
                let a = char_boundary(&s, at);
                s.truncate(a);
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn checker_never_panics_on_mutated_files(pick in any::<usize>(), edits in edits()) {
        let corpus = corpus();
        let src = mutate(&corpus[pick % corpus.len()], &edits);
        let c = pac_compiler::compile_sources(vec![("m.pac".into(), src.clone())]);
        let user = pac_compiler::stdlib_file_count() as u32;
        for d in c.diagnostics.iter().filter(|d| d.file == user) {
            prop_assert!(d.span.start <= d.span.end && d.span.end <= src.len(), "{:?}", d);
            prop_assert!(d.code.len() == 5);
            let mut out = Vec::new();
            prop_assert!(pac_compiler::render::render(d, &c.program.files, false, &mut out).is_ok());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pacc_check_reports_cleanly_on_mutated_files(pick in any::<usize>(), edits in edits()) {
        let corpus = corpus();
        let src = mutate(&corpus[pick % corpus.len()], &edits);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mutated.pac");
        std::fs::write(&file, &src).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pacc")).arg("check").arg(&file).output().unwrap();
        let code = out.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "exit {:?}\n{}", code, String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
        if code == Some(2) {
            prop_assert!(stderr.contains("Error"), "exit 2 explains itself: {}", stderr);
        }
    }
}
