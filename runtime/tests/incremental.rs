//! A rescan that takes results from the earlier evaluation gives the
//! report a full evaluation gives: the shipped library on the demo
//! inventory, with random documents changed, removed and added, and the
//! clock moved (so that time-dependent rules and exception expiry change).

use std::collections::HashMap;

use pac_compiler::compile_sources;
use pac_runtime::{Earlier, Env, Incoming, Inventory, evaluate_from};
use proptest::prelude::*;
use serde_json::Value as Json;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("..")
}

fn library() -> pac_compiler::Compiled {
    let mut files = Vec::new();
    for e in std::fs::read_dir(root().join("policies/aws")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pac") {
            files.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    files.sort();
    let c = compile_sources(files);
    assert!(
        c.diagnostics
            .iter()
            .all(|d| d.severity != pac_compiler::diag::Severity::Error),
        "the library compiles"
    );
    c
}

fn demo() -> Vec<Json> {
    let text = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn identity(d: &Json) -> String {
    format!("{}|{}|{}|{}", d["type"], d["account"], d["region"], d["id"])
}

/// One change to the document list.
#[derive(Clone, Debug)]
enum Change {
    Tag(usize),
    Remove(usize),
    Duplicate(usize),
    Attribute(usize),
}

fn apply(docs: &mut Vec<Json>, changes: &[Change]) {
    for c in changes {
        let n = docs.len();
        if n == 0 {
            return;
        }
        match *c {
            Change::Tag(i) => {
                if let Some(tags) = docs[i % n]["attributes"]["tags"].as_array_mut() {
                    tags.push(serde_json::json!({"key": "env", "value": "sandbox"}));
                }
            }
            Change::Remove(i) => {
                docs.remove(i % n);
            }
            Change::Duplicate(i) => {
                let d = docs[i % n].clone();
                docs.push(d);
            }
            Change::Attribute(i) => {
                // Drop one attribute: a rule may now fail, or the document
                // may no longer validate.
                if let Some(a) = docs[i % n]["attributes"].as_object_mut()
                    && let Some(k) = a.keys().nth(i % 7).cloned()
                {
                    a.remove(&k);
                }
            }
        }
    }
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0usize..10_000).prop_map(Change::Tag),
        (0usize..10_000).prop_map(Change::Remove),
        (0usize..10_000).prop_map(Change::Duplicate),
        (0usize..10_000).prop_map(Change::Attribute),
    ]
}

fn items(texts: &[String]) -> Vec<Incoming> {
    texts
        .iter()
        .enumerate()
        .map(|(k, t)| Incoming::Text(k + 1, t.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_rescan_agrees_with_a_full_evaluation(
        changes in proptest::collection::vec(change(), 0..12),
        days in 0i64..400,
    ) {
        let c = library();
        let p = &c.program;
        let schemas = &p.schemas;
        let docs0 = demo();
        let texts0: Vec<String> = docs0.iter().map(Json::to_string).collect();
        let (inv0, _) = Inventory::from_incoming(schemas, "s", items(&texts0));
        // The reader and this path agree.
        let (by_text, _) = Inventory::read_str(schemas, "s", &(texts0.join("\n") + "\n"));
        prop_assert_eq!(inv0.len(), by_text.len());
        let now0 = 1_790_000_000;
        let env0 = Env::for_program(p, &inv0, now0);
        let report0 = evaluate_from(p, &env0, false, None, None);

        let mut docs1 = docs0.clone();
        apply(&mut docs1, &changes);
        let texts1: Vec<String> = docs1.iter().map(Json::to_string).collect();
        // Unchanged documents are known resources of the first read.
        let mut first: HashMap<String, (usize, &str)> = HashMap::new();
        for (i, r) in inv0.resources.iter().enumerate() {
            let k = format!("\"{}\"|\"{}\"|\"{}\"|\"{}\"", r.type_name, r.account, r.region, r.id);
            first.insert(k, (i, texts0[r.line - 1].as_str()));
        }
        let incoming: Vec<Incoming> = docs1
            .iter()
            .zip(&texts1)
            .enumerate()
            .map(|(k, (d, t))| match first.get(&identity(d)) {
                Some(&(i, old)) if old == t => Incoming::Known(k + 1, inv0.resources[i].clone()),
                _ => Incoming::Text(k + 1, t.clone()),
            })
            .collect();
        let (inv1, errs1) = Inventory::from_incoming(schemas, "s", incoming);
        let (full_inv, full_errs) = Inventory::from_incoming(schemas, "s", items(&texts1));
        prop_assert_eq!(inv1.len(), full_inv.len());
        prop_assert_eq!(errs1, full_errs);
        let same_as: Vec<Option<usize>> = inv1
            .resources
            .iter()
            .map(|r| {
                let k = format!("\"{}\"|\"{}\"|\"{}\"|\"{}\"", r.type_name, r.account, r.region, r.id);
                first.get(&k).and_then(|&(i, old)| (old == texts1[r.line - 1]).then_some(i))
            })
            .collect();

        let now1 = now0 + days * 86_400;
        let env1 = Env::for_program(p, &inv1, now1);
        let earlier = Earlier { report: &report0, same_as: &same_as };
        let warm = evaluate_from(p, &env1, false, None, Some(&earlier));
        let full_env = Env::for_program(p, &full_inv, now1);
        let full = evaluate_from(p, &full_env, false, None, None);
        let key = |r: &pac_runtime::RuleResult| {
            (r.rule, r.resource, format!("{:?}", r.outcome), r.message.clone(), r.exempted_by)
        };
        prop_assert_eq!(warm.results.len(), full.results.len());
        for (a, b) in warm.results.iter().zip(&full.results) {
            prop_assert_eq!(key(a), key(b));
        }
        for (a, b) in warm.groups.iter().zip(&full.groups) {
            prop_assert_eq!(&a.members, &b.members);
            prop_assert_eq!(&a.errors, &b.errors);
        }
        let reused = same_as.iter().filter(|s| s.is_some()).count();
        prop_assert!(changes.len() > 3 || reused > inv1.len() / 2);
    }
}
