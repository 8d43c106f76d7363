//! Deep input on a small stack: cargo runs each test on a thread with a
//! 2 MiB stack, like rayon's workers and tokio's blocking threads (where the
//! server compiles). Right under the limits everything checks; past them,
//! E0002 or E0314, never a stack overflow.

use pac_compiler::compile_sources;

fn codes(src: &str) -> Vec<&'static str> {
    let c = compile_sources(vec![("t.pac".into(), src.to_string())]);
    let user = pac_compiler::stdlib_file_count() as u32;
    c.diagnostics
        .iter()
        .filter(|d| d.file == user && d.is_error())
        .map(|d| d.code)
        .collect()
}

/// `cycles` × 12 levels of nodes that wrap another.
fn nested_int(cycles: usize) -> String {
    let mut e = String::from("x");
    for _ in 0..cycles {
        e = format!("([let y = 1; (if true then (1 + (-({e}))) else 0)][0] ?? 0)");
    }
    e
}

#[test]
fn nesting_right_under_the_limit_checks() {
    let src = format!("fn f(x: int) -> int = {}", nested_int(16));
    assert_eq!(codes(&src), Vec::<&str>::new());
}

#[test]
fn nesting_past_the_limit_is_e0002() {
    let src = format!("fn f(x: int) -> int = {}", nested_int(20));
    assert_eq!(codes(&src), vec!["E0002"]);
}

#[test]
fn calls_right_under_the_ir_limit_check_in_any_order() {
    // Declared last-first, so that checking the outermost body first goes
    // through every other one.
    let mut src = String::new();
    for i in (1..20).rev() {
        src.push_str(&format!("fn h{i}(x: int) -> int = h{}(x) + 1\n", i - 1));
    }
    src.push_str("fn h0(x: int) -> int = x + 1\n");
    assert_eq!(codes(&src), Vec::<&str>::new());
}

#[test]
fn calls_past_the_ir_limit_are_e0002() {
    let mut src = String::new();
    for i in (1..1_000).rev() {
        src.push_str(&format!(
            "fn h{i}(x: int) -> int = {}\n",
            nested_int(3).replace("x", &format!("h{}(x)", i - 1))
        ));
    }
    src.push_str("fn h0(x: int) -> int = x + 1\n");
    let c = codes(&src);
    assert!(c.contains(&"E0002"), "{c:?}");
}

#[test]
fn inlining_that_doubles_is_e0314() {
    let mut src = String::from("fn g0(x: int) -> int = x\n");
    for i in 1..40 {
        src.push_str(&format!(
            "fn g{i}(x: int) -> int = g{p}(x) + g{p}(x)\n",
            p = i - 1
        ));
    }
    let c = codes(&src);
    assert!(c.contains(&"E0314"), "{c:?}");
}

#[test]
fn long_chains_check() {
    let chain: Vec<String> = (0..20_000).map(|i| format!("x == {i}")).collect();
    let src = format!("fn f(x: int) -> bool = {}", chain.join(" or "));
    assert_eq!(codes(&src), Vec::<&str>::new());
}
