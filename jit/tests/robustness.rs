//! The engine's edges: rules it cannot compile, data that does not fit its
//! schema, an inventory it was not prepared for, coverage it was not
//! compiled for. In each case the interpreter decides, so results stay
//! identical.

mod common;

use std::sync::Arc;

use common::*;
use pac_compiler::ir::{CmpOp, Expr, ExprKind};
use pac_compiler::types::Ty;
use pac_jit::{CompileOptions, Engine};
use pac_runtime::{EvalOptions, Inventory, evaluate, evaluate_with};
use pac_stdlib::Value;

fn opts() -> EvalOptions<'static> {
    EvalOptions {
        now: NOW,
        explain: false,
        coverage: None,
    }
}

fn same(p: &pac_compiler::Program, inv: &Inventory, engine: &Engine) {
    let prepared = engine.prepare(inv);
    let a = evaluate(p, inv, &opts());
    let b = evaluate_with(p, inv, &opts(), Some(&prepared));
    assert_eq!(a.results.len(), b.results.len());
    for (x, y) in a.results.iter().zip(&b.results) {
        assert_eq!(x.outcome, y.outcome);
        assert_eq!(x.message, y.message);
    }
}

#[test]
fn an_uncompilable_rule_falls_back_with_a_reason() {
    let src = policy("big", "fixture.volume", "size > 100")
        + &policy("small", "fixture.volume", "size < 5");
    let mut c = compile(&src);
    let p = Arc::make_mut(&mut c.program);
    // A pattern compared as a value: no checker produces it, the
    // interpreter evaluates it, the code generator declines it.
    let re = Value::Regex(Arc::new(regex::Regex::new("^a").unwrap()));
    let cond = &p.rules[0].cond;
    let node = |kind, ty| Expr {
        kind,
        ty,
        id: 9_000,
        file: cond.file,
        span: cond.span,
    };
    p.rules[0].cond = node(
        ExprKind::Cmp(
            CmpOp::Eq,
            Box::new(node(ExprKind::Const(re.clone()), Ty::Regex)),
            Box::new(node(ExprKind::Const(re), Ty::Regex)),
        ),
        Ty::Bool,
    );
    let engine = Engine::compile(p);
    let fallbacks = engine.fallbacks();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert_eq!(fallbacks[0].0, 0);
    assert!(fallbacks[0].1.contains("pattern"), "{}", fallbacks[0].1);
    assert!(!engine.is_compiled(0) && engine.is_compiled(1));
    let docs = [volume("vol-1", 500, ""), volume("vol-2", 1, "")];
    let (inv, _) = Inventory::read_str(&p.schemas, "t", &docs.join("\n"));
    same(p, &inv, &engine);
    let prepared = engine.prepare(&inv);
    assert!(prepared.run_rule(0, &[0, 1], NOW, None).is_none());
    assert_eq!(prepared.run_rule(1, &[0, 1], NOW, None), Some(vec![0, 1]));
}

#[test]
fn resources_that_do_not_fit_their_schema_are_interpreted() {
    let src = policy(
        "big",
        "fixture.volume",
        r#"size > 100 and volume_type == "gp3""#,
    ) + &policy(
        "joined",
        "vuln.finding",
        "exists v in fixture.volume where v.volume_id == resource_id",
    );
    let c = compile(&src);
    let p = &c.program;
    let docs = [
        volume("vol-1", 500, ""),
        volume("vol-2", 1, ""),
        finding("f-1", "vol-1", 5.0, ""),
    ];
    let (good, _) = Inventory::read_str(&p.schemas, "t", &docs.join("\n"));
    // vol-2 with a string where the schema says int.
    let mut bad = good.clone();
    let Value::Record(fs) = &bad.resources[1].value else {
        panic!("a record")
    };
    let mut fs = fs.to_vec();
    let size = p
        .schemas
        .record(bad.resources[1].rtype)
        .field("size")
        .unwrap()
        .0;
    fs[size as usize] = Value::str("huge");
    bad.resources[1].value = Value::Record(Arc::from(fs));
    let engine = Engine::compile(p);
    let prepared = engine.prepare(&bad);
    assert!(!prepared.layout().is_regular(bad.resources[1].rtype));
    // Both rules read volumes: both are interpreted for this inventory.
    assert!(prepared.run_rule(0, &[0, 1], NOW, None).is_none());
    assert!(prepared.run_rule(1, &[2], NOW, None).is_none());
    same(p, &bad, &engine);
    // A record with a field too few: the same.
    let mut short = good.clone();
    let Value::Record(fs) = &short.resources[0].value else {
        panic!("a record")
    };
    short.resources[0].value = Value::Record(Arc::from(&fs[..fs.len() - 1]));
    same(p, &short, &engine);
    // The regular inventory runs natively.
    assert!(
        engine
            .prepare(&good)
            .run_rule(0, &[0, 1], NOW, None)
            .is_some()
    );
}

#[test]
fn another_inventory_or_unrecorded_coverage_is_left_to_the_interpreter() {
    use pac_runtime::RuleEngine;
    let c = compile(&policy("big", "fixture.volume", "size > 100"));
    let p = &c.program;
    let docs = [volume("vol-1", 500, "")];
    let (inv, _) = Inventory::read_str(&p.schemas, "t", &docs.join("\n"));
    let (other, _) = Inventory::read_str(&p.schemas, "t", &docs.join("\n"));
    let engine = Engine::compile(p);
    let prepared = engine.prepare(&inv);
    let env = pac_runtime::Env::for_program(p, &inv, NOW);
    assert_eq!(
        prepared.outcomes(0, &[0], &env),
        Some(vec![pac_runtime::RawOutcome::Fail])
    );
    let env_other = pac_runtime::Env::for_program(p, &other, NOW);
    assert_eq!(prepared.outcomes(0, &[0], &env_other), None);
    // Not compiled for coverage: coverage is the interpreter's to record.
    let cov = pac_runtime::Coverage::for_program(p);
    let env_cov = pac_runtime::Env::for_program(p, &inv, NOW).with_coverage(Some(&cov));
    assert_eq!(prepared.outcomes(0, &[0], &env_cov), None);
    let instrumented = Engine::compile_with(
        p,
        CompileOptions {
            coverage: true,
            ..Default::default()
        },
    );
    let prepared = instrumented.prepare(&inv);
    assert!(prepared.outcomes(0, &[0], &env_cov).is_some());
    // A resource of another type, or out of range: not this engine's job.
    assert_eq!(prepared.outcomes(0, &[7], &env), None);
}

#[test]
fn interned_constants_keep_their_ids_and_absent_ones_match_nothing() {
    let src = policy(
        "named",
        "fixture.volume",
        r#"volume_type == "io2" or volume_id in ["vol-1", "vol-404"]"#,
    );
    let c = compile(&src);
    let p = &c.program;
    let docs = [volume("vol-1", 1, ""), volume("vol-2", 1, "")];
    let (inv, _) = Inventory::read_str(&p.schemas, "t", &docs.join("\n"));
    let engine = Engine::compile(p);
    let prepared = engine.prepare(&inv);
    assert_eq!(prepared.run_rule(0, &[0, 1], NOW, None), Some(vec![1, 0]));
    // "vol-1" is one string, whether it came from the rule or the data.
    let strs = &prepared.layout().strs;
    let ids: Vec<u64> = (0..strs.base_len() as u64)
        .filter(|&i| strs.base_get(i).is_some_and(|s| &**s == "vol-1"))
        .collect();
    assert_eq!(ids.len(), 1);
    same(p, &inv, &engine);
}

#[test]
fn many_rows_in_batches_and_an_empty_inventory() {
    let src = policy(
        "tagged",
        "fixture.volume",
        r#"(split(volume_id, "-")[1] ?? "") == "7" or (tags["env"] ?? "") == "prod""#,
    );
    let c = compile(&src);
    let p = &c.program;
    let docs: Vec<String> = (0..1000)
        .map(|i| {
            let env = if i % 3 == 0 { "prod" } else { "dev" };
            volume(
                &format!("vol-{i}"),
                i,
                &format!(r#","tags":{{"env":"{env}"}}"#),
            )
        })
        .collect();
    agree(&src, &docs);
    let engine = Engine::compile(p);
    let empty = Inventory::default();
    same(p, &empty, &engine);
}
