//! The shipped policy library over the demo inventory: the native engine
//! and the interpreter give the same outcome for every (rule, resource),
//! and no rule of the library falls back to the interpreter.

mod common;

use std::path::{Path, PathBuf};

use pac_compiler::{Severity, compile_sources};
use pac_jit::{CompileOptions, Engine};
use pac_runtime::{EvalOptions, Inventory, evaluate, evaluate_with, run_tests_with};

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("..")
}

fn pac_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("policies dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            pac_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "pac") {
            let text = std::fs::read_to_string(&p).expect("policy file");
            out.push((p.display().to_string(), text));
        }
    }
}

fn library() -> pac_compiler::Compiled {
    let mut files = Vec::new();
    pac_files(&root().join("policies"), &mut files);
    let c = compile_sources(files);
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    c
}

/// The demo inventory, read without an error.
fn demo(p: &pac_compiler::Program) -> Inventory {
    let (inv, errors) =
        Inventory::read_path(&p.schemas, &root().join("examples/demo/inventory.json"));
    assert!(errors.is_empty(), "{errors:?}");
    inv
}

/// 2026-11-01, as the demo's README uses.
const NOW: i64 = 1_793_491_200;

#[test]
fn no_shipped_rule_falls_back() {
    let c = library();
    let engine = Engine::compile(&c.program);
    let fallbacks = pac_jit::fallback_report(&c.program, &engine);
    assert!(
        fallbacks.is_empty(),
        "rules left to the interpreter: {fallbacks:#?}"
    );
    let engine = Engine::compile_with(
        &c.program,
        CompileOptions {
            coverage: true,
            ..Default::default()
        },
    );
    let fallbacks = pac_jit::fallback_report(&c.program, &engine);
    assert!(fallbacks.is_empty(), "with coverage: {fallbacks:#?}");
}

#[test]
fn demo_inventory_outcomes_agree() {
    let c = library();
    let p = &c.program;
    let inv = demo(p);
    let engine = Engine::compile(p);
    let prepared = engine.prepare(&inv);
    for now in [NOW, NOW + 400 * 86_400] {
        let opts = EvalOptions {
            now,
            explain: false,
            coverage: None,
        };
        let interp = evaluate(p, &inv, &opts);
        let jit = evaluate_with(p, &inv, &opts, Some(&prepared));
        assert_eq!(interp.results.len(), jit.results.len());
        for (a, b) in interp.groups.iter().zip(&jit.groups) {
            assert_eq!(a.members, b.members, "group {}", p.groups[a.group].name);
            assert_eq!(a.errors, b.errors, "group {}", p.groups[a.group].name);
        }
        let mut fails = 0;
        for (a, b) in interp.results.iter().zip(&jit.results) {
            assert_eq!((a.rule, a.resource), (b.rule, b.resource));
            assert_eq!(
                a.outcome, b.outcome,
                "rule {} on {}",
                p.rules[a.rule].id, inv.resources[a.resource].id
            );
            assert_eq!(a.message, b.message);
            assert_eq!(a.exempted_by, b.exempted_by);
            fails += usize::from(a.outcome == pac_runtime::Outcome::Fail);
        }
        assert!(fails > 0, "the demo inventory has violations by design");
        // And directly, without the runtime: every rule's raw outcomes.
        common::assert_raw_outcomes(p, &inv, &prepared, &interp, now);
    }
}

/// Rescans on a layout carried over (`Engine::relayout`): each round
/// rotates the inventory and writes a tenth of its resources again, and
/// the native report, messages included, stays the interpreter's; once
/// the records left behind are as many as the live ones, the layout is
/// built anew.
#[test]
fn a_layout_carried_over_rescans_gives_the_interpreters_report() {
    let c = library();
    let p = &c.program;
    let mut inv = demo(p);
    let n = inv.len();
    let engine = Engine::compile(p);
    let opts = EvalOptions {
        now: NOW,
        explain: false,
        coverage: None,
    };
    let mut layout = engine.prepare(&inv).into_layout();
    let mut rebuilt = false;
    for round in 0..12 {
        // Resource i of the new inventory was i + 7 of the earlier one.
        inv.resources.rotate_left(7 % n);
        let same_as: Vec<Option<usize>> = (0..n)
            .map(|i| ((i + round) % 10 != 0).then_some((i + 7) % n))
            .collect();
        let before = layout.written;
        layout = engine.relayout(layout, &inv, &same_as);
        rebuilt |= layout.written < before;
        assert!(layout.written <= 2 * n, "round {round}: {}", layout.written);
        let prepared = engine.prepare_with(&inv, layout);
        let interp = evaluate(p, &inv, &opts);
        let jit = evaluate_with(p, &inv, &opts, Some(&prepared));
        assert_eq!(interp.results.len(), jit.results.len());
        for (a, b) in interp.results.iter().zip(&jit.results) {
            assert_eq!(
                (a.rule, a.resource, &a.outcome, &a.message),
                (b.rule, b.resource, &b.outcome, &b.message),
                "round {round}: rule {} on {}",
                p.rules[a.rule].id,
                inv.resources[a.resource].id
            );
        }
        for (a, b) in interp.groups.iter().zip(&jit.groups) {
            assert_eq!(a.members, b.members, "round {round}");
        }
        common::assert_raw_outcomes(p, &inv, &prepared, &interp, NOW);
        layout = prepared.into_layout();
    }
    assert!(
        rebuilt,
        "12 rounds of a tenth written again reach the rebuild"
    );
}

/// A record is carried over only to a resource of its type, whatever
/// `same_as` says: told that every resource was one of another type, the
/// layout writes every record again (a record of another type has other
/// fields and size, and the generated code would read past it).
#[test]
fn a_layout_carries_no_record_over_to_another_type() {
    let c = library();
    let p = &c.program;
    let inv = demo(p);
    let n = inv.len();
    let engine = Engine::compile(p);
    let layout = engine.prepare(&inv).into_layout();
    let before = layout.written;
    let same_as: Vec<Option<usize>> = (0..n)
        .map(|i| {
            let t = inv.resources[i].rtype;
            (0..n).find(|&j| inv.resources[j].rtype != t)
        })
        .collect();
    let layout = engine.relayout(layout, &inv, &same_as);
    assert_eq!(layout.written, before + n, "every record written again");
    let prepared = engine.prepare_with(&inv, layout);
    let opts = EvalOptions {
        now: NOW,
        explain: false,
        coverage: None,
    };
    common::assert_raw_outcomes(p, &inv, &prepared, &evaluate(p, &inv, &opts), NOW);
}

#[test]
fn library_tests_pass_under_both_engines() {
    let c = library();
    let p = &c.program;
    // The tests' own resources fit their schemas, so the native engine
    // evaluates them (rather than leaving irregular types to the
    // interpreter).
    let plain = Engine::compile(p);
    for t in &p.tests {
        let inv = Inventory::from_values(
            &p.schemas,
            t.resources.iter().map(|r| (r.resource, r.value.clone())),
        );
        let prepared = plain.prepare(&inv);
        for r in &inv.resources {
            assert!(
                prepared.layout().is_regular(r.rtype),
                "test `{}`: {} does not fit its schema",
                t.name,
                r.type_name
            );
        }
    }
    let interp = run_tests_with(p, None, NOW, None);
    let engine = Engine::compile_with(
        p,
        CompileOptions {
            coverage: true,
            ..Default::default()
        },
    );
    let jit = run_tests_with(p, None, NOW, Some(&engine));
    assert!(interp.ok(), "interpreter: {} failed", interp.failed());
    assert!(
        jit.ok(),
        "jit: {:#?}",
        jit.tests.iter().filter(|t| !t.passed).collect::<Vec<_>>()
    );
    assert_eq!(
        serde_json::to_string(&interp).unwrap(),
        serde_json::to_string(&jit).unwrap(),
        "test reports (with coverage) differ"
    );
}

/// `pacc eval`'s path: the layout built block by block as the inventory is
/// read, each resource keeping only its identity, the records the
/// interpreter needs (messages, exceptions, explanations) read back from
/// the layout. Every resource reads back as the reader gave it (the fields
/// the library reads), and the report is the one of the inventory kept
/// whole, on the demo inventory and on a generated estate.
#[test]
fn a_layout_built_while_reading_gives_the_whole_inventorys_report() {
    let c = library();
    // Messages compiled too: the text report asks the engine for them.
    let engine = Engine::compile_with(
        &c.program,
        CompileOptions {
            messages: true,
            ..Default::default()
        },
    );
    let mask = pac_compiler::reads::ReadMask::of(&c.program);
    let demo = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    let mut estate = Vec::new();
    pac_estate::generate(3_000, 7, &mut estate).unwrap();
    let estate = String::from_utf8(estate).unwrap();
    for (name, text, now) in [
        ("demo", demo.as_str(), NOW),
        ("estate", estate.as_str(), pac_estate::NOW),
    ] {
        let read =
            || Inventory::read_text(&c.program.schemas, Some(&mask), name, text, &mut |_| {});
        let (whole, errors) = read();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let (mut slim, _) = read();
        // Blocks of an odd size, as the reader's would be.
        let mut builder = engine.layout_builder(slim.len());
        for (k, block) in slim.resources.chunks_mut(37).enumerate() {
            builder.add_and_strip(k * 37, block);
        }
        assert!(
            slim.resources
                .iter()
                .all(|r| r.value == pac_stdlib::Value::Missing),
            "{name}: every record stripped"
        );
        let slim_engine = engine.prepare_with(&slim, builder.finish());
        let e: &dyn pac_runtime::RuleEngine = &slim_engine;
        for (i, r) in whole.resources.iter().enumerate() {
            let back = e.resource_value(i, r.rtype, None);
            assert_eq!(
                back.as_ref(),
                Some(&r.value),
                "{name}: {} {}",
                r.type_name,
                r.id
            );
        }
        let whole_engine = engine.prepare(&whole);
        for explain in [false, true] {
            let opts = EvalOptions {
                now,
                explain,
                coverage: None,
            };
            let shown = |r: &pac_runtime::EvalReport| {
                let results: Vec<String> = r
                    .results
                    .iter()
                    .map(|x| serde_json::to_string(x).unwrap())
                    .collect();
                let groups: Vec<&Vec<usize>> = r.groups.iter().map(|g| &g.members).collect();
                (
                    results,
                    format!("{groups:?}"),
                    serde_json::to_string(&r.summary).unwrap(),
                )
            };
            let a = pac_runtime::evaluate_failures_with(
                &c.program,
                &whole,
                &opts,
                Some(&whole_engine),
                &[],
            );
            let b = pac_runtime::evaluate_failures_with(&c.program, &slim, &opts, Some(e), &[]);
            assert!(!a.results.is_empty(), "{name}: something fails");
            assert_eq!(shown(&a), shown(&b), "{name}, explain: {explain}");
            // Messages left to the report render as the evaluation's own,
            // in the text and the JSON report.
            let d = pac_runtime::evaluate_failures_deferred(&c.program, &slim, &opts, Some(e), &[]);
            assert!(
                d.results
                    .iter()
                    .any(|r| r.outcome == pac_runtime::Outcome::Fail && r.message.is_none()),
                "{name}: some message deferred"
            );
            let late = pac_runtime::Messages::new(&c.program, &slim, now, Some(e));
            let written = |late: Option<&pac_runtime::Messages>, r: &pac_runtime::EvalReport| {
                let mut text = Vec::new();
                pac_runtime::report::write_text_with(&mut text, &c.program, &slim, r, false, late)
                    .unwrap();
                let mut json = Vec::new();
                pac_runtime::report::write_json_with(&mut json, &c.program, &slim, r, late)
                    .unwrap();
                (
                    String::from_utf8(text).unwrap(),
                    String::from_utf8(json).unwrap(),
                )
            };
            assert_eq!(
                written(Some(&late), &d),
                written(None, &b),
                "{name}, explain: {explain}"
            );
            // Passes counted, not kept, sum up as the full report's
            // (the overall figure's tagging part included).
            let full = pac_runtime::evaluate_with(&c.program, &whole, &opts, Some(&whole_engine));
            assert_eq!(
                serde_json::to_string(&full.summary).unwrap(),
                serde_json::to_string(&a.summary).unwrap(),
                "{name}"
            );
        }
    }
}

/// Every message the native engine renders from its compiled values is
/// the one the interpreter renders from the record, on the demo inventory
/// and generated estates (at two dates: ages, expiries), and the engine
/// renders most of those it compiled.
#[test]
fn compiled_messages_read_as_the_interpreters() {
    let c = library();
    let p = &c.program;
    let engine = Engine::compile_with(
        p,
        CompileOptions {
            messages: true,
            ..Default::default()
        },
    );
    assert!(
        engine.compiled_messages() >= 50,
        "{}",
        engine.compiled_messages()
    );
    let mask = pac_compiler::reads::ReadMask::of(p);
    let demo = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    let estate = |n, seed| {
        let mut out = Vec::new();
        pac_estate::generate(n, seed, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let (a, b) = (estate(4_000, 7), estate(2_500, 20261101));
    let mut rendered = 0;
    for (name, text, now) in [
        ("demo", demo.as_str(), NOW),
        ("estate 7", a.as_str(), pac_estate::NOW),
        ("estate 20261101", b.as_str(), pac_estate::NOW),
        (
            "estate 7, a year on",
            a.as_str(),
            pac_estate::NOW + 365 * 86_400,
        ),
    ] {
        let (inv, errors) = Inventory::read_text(&p.schemas, Some(&mask), name, text, &mut |_| {});
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let opts = EvalOptions {
            now,
            explain: false,
            coverage: None,
        };
        // The interpreter's messages, from the records.
        let interp = pac_runtime::evaluate_failures_with(p, &inv, &opts, None, &[]);
        let prepared = engine.prepare(&inv);
        let e: &dyn pac_runtime::RuleEngine = &prepared;
        let env = pac_runtime::Env::for_program(p, &inv, now);
        let mut by_rule: std::collections::BTreeMap<usize, Vec<(usize, &str)>> = Default::default();
        for r in &interp.results {
            if r.outcome == pac_runtime::Outcome::Fail {
                by_rule
                    .entry(r.rule)
                    .or_default()
                    .push((r.resource, r.message.as_deref().unwrap_or("")));
            }
        }
        for (rule, fails) in by_rule {
            let resources: Vec<usize> = fails.iter().map(|(i, _)| *i).collect();
            let Some(texts) = e.messages(rule, &resources, &env) else {
                continue;
            };
            assert_eq!(
                texts.len(),
                fails.len(),
                "{name}: rule {}",
                p.rules[rule].id
            );
            for (text, (i, want)) in texts.iter().zip(&fails) {
                if let Some(text) = text {
                    rendered += 1;
                    assert_eq!(
                        text, want,
                        "{name}: rule {} on {}",
                        p.rules[rule].id, inv.resources[*i].id
                    );
                }
            }
        }
    }
    assert!(
        rendered > 5_000,
        "{rendered} messages rendered by native code"
    );
}

/// The layout as `pacc eval` builds it, documents read straight into
/// cells (`Inventory::read_text_built`), and the layout written from the
/// values the reader gives (`LayoutBuilder::add_and_strip`).
fn both_layouts(
    engine: &Engine,
    mask: &pac_compiler::reads::ReadMask,
    schemas: &pac_compiler::types::Schemas,
    text: &str,
) -> [(Inventory, Vec<pac_runtime::IngestError>, pac_jit::Layout); 2] {
    let (mut inv, errors) = Inventory::read_text(schemas, Some(mask), "t", text, &mut |_| {});
    let mut b = engine.layout_builder(inv.len());
    b.add_and_strip(0, &mut inv.resources);
    let written = (inv, errors, b.finish());
    let mut b = engine.layout_builder(0);
    let pieces = b.pieces();
    let (inv, errors) =
        Inventory::read_text_built(schemas, Some(mask), "t", text, &pieces, &mut |block| {
            b.add_built(block)
        });
    [written, (inv, errors, b.finish())]
}

/// Both readings give the same resources and errors, the same rows, every
/// resource reads back from either layout as the same value, and the
/// library's evaluation over either is the same.
fn assert_same_layouts(
    c: &pac_compiler::Compiled,
    engine: &Engine,
    name: &str,
    [w, r]: [(Inventory, Vec<pac_runtime::IngestError>, pac_jit::Layout); 2],
) {
    assert_eq!(w.1, r.1, "{name}: errors");
    let ids = |inv: &Inventory| -> Vec<_> {
        inv.resources
            .iter()
            .map(|x| {
                (
                    x.rtype,
                    x.id.clone(),
                    x.account.clone(),
                    x.region.clone(),
                    x.line,
                    x.value.clone(),
                )
            })
            .collect()
    };
    assert_eq!(ids(&w.0), ids(&r.0), "{name}: resources");
    assert_eq!(w.2.type_rows, r.2.type_rows, "{name}: rows by type");
    assert_eq!(w.2.irregular, r.2.irregular, "{name}: irregular types");
    let laid_out =
        |l: &pac_jit::Layout| -> Vec<bool> { l.row_off.iter().map(|&o| o != 0).collect() };
    assert_eq!(laid_out(&w.2), laid_out(&r.2), "{name}: resources laid out");
    let (wi, ri) = (&w.0, &r.0);
    let (we, re) = (engine.prepare_with(wi, w.2), engine.prepare_with(ri, r.2));
    let (we, re): (&dyn pac_runtime::RuleEngine, &dyn pac_runtime::RuleEngine) = (&we, &re);
    for (i, x) in wi.resources.iter().enumerate() {
        assert_eq!(
            we.resource_value(i, x.rtype, None),
            re.resource_value(i, x.rtype, None),
            "{name}: {} {} reads back differently",
            x.type_name,
            x.id
        );
    }
    let opts = EvalOptions {
        now: pac_estate::NOW,
        explain: true,
        coverage: None,
    };
    let report = |inv: &Inventory, e: &dyn pac_runtime::RuleEngine| {
        let r = pac_runtime::evaluate_failures_with(&c.program, inv, &opts, Some(e), &[]);
        let mut text = Vec::new();
        pac_runtime::report::write_text_with(&mut text, &c.program, inv, &r, false, None).unwrap();
        String::from_utf8(text).unwrap()
    };
    let (a, b) = (report(wi, we), report(ri, re));
    assert!(a.contains("FAIL"), "{name}: something fails");
    assert!(a == b, "{name}: the reports differ");
}

/// Reading documents straight into cells gives the layout that writing
/// the reader's values gives (the same values read back, the same report): on generated estates, on the
/// demo inventory as NDJSON, and on documents that exercise what the fast
/// path decides and what it leaves to the reference path (escapes, tag
/// lists with a key given twice, `attributes` before `type`, duplicates,
/// bad documents), for the library's read set.
#[test]
fn documents_read_into_cells_give_the_layout_their_values_give() {
    let c = library();
    let engine = Engine::compile(&c.program);
    let mask = pac_compiler::reads::ReadMask::of(&c.program);
    let schemas = &c.program.schemas;
    for seed in [1, 7, 42] {
        let mut estate = Vec::new();
        pac_estate::generate(2_000, seed, &mut estate).unwrap();
        let estate = String::from_utf8(estate).unwrap();
        let both = both_layouts(&engine, &mask, schemas, &estate);
        assert_eq!(both[1].0.len(), 2_000);
        assert!(
            both[1]
                .0
                .resources
                .iter()
                .all(|r| r.value == pac_stdlib::Value::Missing)
        );
        assert_same_layouts(&c, &engine, &format!("estate {seed}"), both);
    }
    let demo = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    let docs: Vec<serde_json::Value> = serde_json::from_str(&demo).unwrap();
    let mut ndjson: String = docs.iter().map(|d| format!("{d}\n")).collect();
    let both = both_layouts(&engine, &mask, schemas, &ndjson);
    assert_eq!(both[1].0.len(), docs.len());
    assert_same_layouts(&c, &engine, "demo", both);
    // A JSON array is read by the reference path: its values are written.
    assert_same_layouts(
        &c,
        &engine,
        "demo array",
        both_layouts(&engine, &mask, schemas, &demo),
    );
    let head = r#""type":"aws.ec2.security_group","account":"1","region":"eu-west-1""#;
    let sg = |id: &str, attrs: &str| {
        format!(
            "{{{head},\"id\":\"{id}\",\"attributes\":{{\"group_id\":\"{id}\",\"group_name\":\"n\",\"vpc_id\":\"v\"{attrs}}}}}\n"
        )
    };
    for extra in [
        sg(
            "sg-1",
            r#","tags":[{"Key":"env","Value":"prod"},{"Key":"env","Value":"dev"},{"key":"a\"b","value":"x"}]"#,
        ),
        sg(
            "sg-2",
            r#","Tags":{"Owner":"\u00e9t\u00e9","env":"prod"},"IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22.0,"IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}]}]"#,
        ),
        format!(
            "{{\"attributes\":{{\"group_id\":\"sg-3\",\"group_name\":\"n\",\"vpc_id\":\"v\"}},\"id\":\"sg-3\",{head}}}\n"
        ),
        sg("sg-1", ""),
        sg("sg-4", r#","tags":{"a":"1","a":"2"}"#),
        sg(
            "sg-5",
            r#","ip_permissions":[{"ip_protocol":"tcp","from_port":"x"}]"#,
        ),
        "not json\n".to_string(),
        sg("sg-6", r#","tags":{"b":"2","a":"1"}"#),
    ] {
        ndjson.push_str(&extra);
    }
    let both = both_layouts(&engine, &mask, schemas, &ndjson);
    let lines: Vec<usize> = both[1].1.iter().map(|e| e.line).collect();
    let n = docs.len();
    assert_eq!(lines, [n + 4, n + 6, n + 7], "{:?}", both[1].1);
    let ids: Vec<&str> = both[1].0.resources[n..].iter().map(|r| &*r.id).collect();
    // `sg-4`'s key given twice: the reference path reads it (the last
    // value wins), so its value is written among the built ones.
    assert_eq!(ids, ["sg-1", "sg-2", "sg-3", "sg-4", "sg-6"]);
    assert_same_layouts(&c, &engine, "demo and more", both);
}
