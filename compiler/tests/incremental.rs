//! Per-item checking must give what a fresh compile gives: random edits
//! applied one after another to the shipped library in one database (each
//! compiled, so the memo is exercised at every step) end in exactly the
//! diagnostics, index and program that a new database computes from the
//! final texts. Node ids included: chunks number their nodes from 0 and
//! are moved into place, so a stale chunk would show here.

use pac_compiler::{Database, db};
use proptest::prelude::*;

fn library() -> Vec<(String, String)> {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../policies/aws");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pac"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), text)
        })
        .collect();
    files.sort();
    files
}

/// Text an editor might insert: inside a rule, whole items, broken items,
/// names that collide, declarations that move everything after them.
const INSERTS: &[&str] = &[
    "x",
    " ",
    "\n",
    "}",
    "{",
    "\"",
    " and true",
    "violation when false\n",
    "\nfn extra_fn(x: int) -> bool = x > 1\n",
    "\npolicy sg_ssh_open_to_world { title \"dup\" severity low category security rule on aws.ec2.instance { violation when true } }\n",
    "\npolicy fresh_policy { title \"t\" severity low category security rule a on aws.ec2.instance { violation when true } rule b on aws.ec2.volume { } }\n",
    "\nexception \"X-1\" for fresh_policy { resources [\"i-1\"] expires 2030-01-01 reason \"r\" }\n",
    "\ntest \"t\" { given aws.ec2.instance i = { } expect fresh_policy.a fails i }\n",
    "\ngroup extra_group { aws.ec2.instance where true }\n",
    "rule",
    "policy ",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert { file: usize, at: f64, text: usize },
    Delete { file: usize, at: f64, len: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..8usize, 0.0..1.0f64, 0..INSERTS.len()).prop_map(|(file, at, text)| Edit::Insert {
            file,
            at,
            text
        }),
        (0..8usize, 0.0..1.0f64, 1..40usize).prop_map(|(file, at, len)| Edit::Delete {
            file,
            at,
            len
        }),
    ]
}

fn boundary(s: &str, at: f64) -> usize {
    let mut i = ((s.len() as f64) * at) as usize;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(texts: &mut [(String, String)], e: &Edit) -> usize {
    match *e {
        Edit::Insert { file, at, text } => {
            let f = file % texts.len();
            let s = &mut texts[f].1;
            let i = boundary(s, at);
            s.insert_str(i, INSERTS[text]);
            f
        }
        Edit::Delete { file, at, len } => {
            let f = file % texts.len();
            let s = &mut texts[f].1;
            let i = boundary(s, at);
            let mut j = (i + len).min(s.len());
            while !s.is_char_boundary(j) {
                j -= 1;
            }
            s.replace_range(i..j, "");
            f
        }
    }
}

fn fingerprint(c: &pac_compiler::Compiled) -> (String, String, String) {
    (
        format!("{:?}", c.diagnostics),
        format!("{:?}", c.index),
        format!("{:?}", c.program),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn edits_in_one_database_match_a_fresh_compile(edits in prop::collection::vec(edit(), 1..8)) {
        let mut texts = library();
        let mut database = Database::default();
        let ws = pac_compiler::workspace(&database, texts.clone());
        let user = pac_compiler::stdlib_file_count();
        let _ = db::compile(&database, ws);
        for e in &edits {
            let f = apply(&mut texts, e);
            let file = ws.files(&database)[user + f];
            db::set_text(&mut database, file, texts[f].1.clone());
            let _ = db::compile(&database, ws);
        }
        let incremental = fingerprint(db::compile(&database, ws));
        let fresh = fingerprint(&pac_compiler::compile_sources(texts));
        prop_assert!(incremental.0 == fresh.0, "diagnostics differ:\n{}\n---\n{}", incremental.0, fresh.0);
        prop_assert!(incremental.1 == fresh.1, "index differs");
        prop_assert!(incremental.2 == fresh.2, "program differs");
    }
}

/// The library compiles without an error, and a one-character edit inside
/// a rule's message re-lowers that chunk only: the declarations are reused
/// (same `Arc`), so is every other chunk's output.
#[test]
fn an_edit_inside_a_rule_reuses_the_declarations_and_other_chunks() {
    let mut texts = library();
    let mut database = Database::default();
    let ws = pac_compiler::workspace(&database, texts.clone());
    let c = db::compile(&database, ws).clone();
    assert!(c.errors().is_empty(), "{:?}", c.errors());
    let decls_before = db::declarations(&database, ws).0.clone();
    let user = pac_compiler::stdlib_file_count();
    let (f, at) = texts
        .iter()
        .enumerate()
        .find_map(|(i, (_, t))| t.find("message \"").map(|at| (i, at + 9)))
        .unwrap();
    texts[f].1.insert(at, 'x');
    let file = ws.files(&database)[user + f];
    db::set_text(&mut database, file, texts[f].1.clone());
    let after = db::compile(&database, ws).clone();
    assert!(after.errors().is_empty());
    let decls_after = db::declarations(&database, ws).0.clone();
    assert!(
        std::sync::Arc::ptr_eq(&decls_before, &decls_after),
        "an edit inside a rule re-checked the declarations"
    );
    assert_eq!(c.program.rules.len(), after.program.rules.len());
}
