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
    let src = format!("fn f(x: int) -> int = {}", nested_int(12));
    assert_eq!(codes(&src), Vec::<&str>::new());
}

#[test]
fn nesting_past_the_limit_is_e0002() {
    let src = format!("fn f(x: int) -> int = {}", nested_int(14));
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

/// The `check` fuzz target's body over its seeds (deep and long shapes), on
/// this 2 MiB thread, with the formatter too: no overflow, every diagnostic
/// inside the file, the deep ones refused with E0002.
#[test]
fn the_fuzz_seeds_check_and_format() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../fuzz/seeds/pac");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let c = compile_sources(vec![("fuzz.pac".into(), src.clone())]);
        let user = pac_compiler::stdlib_file_count() as u32;
        let mine: Vec<_> = c.diagnostics.iter().filter(|d| d.file == user).collect();
        for d in &mine {
            assert!(d.span.end <= src.len(), "{name}: {d:?}");
        }
        let deep = ["nots", "lists", "parens", "list_type", "deep_then_error"];
        if deep.contains(&name.as_str()) {
            assert!(mine.iter().any(|d| d.code == "E0002"), "{name}");
            assert!(pac_lang::format(&src).is_err(), "{name}");
        }
        if name.ends_with("_chain") {
            assert!(!mine.iter().any(|d| d.is_error()), "{name}: {mine:?}");
            let formatted = pac_lang::format(&src).expect(&name);
            assert_eq!(pac_lang::format(&formatted).expect(&name), formatted);
        }
        seen += 1;
    }
    assert!(seen >= 12, "{seen} seeds in {}", dir.display());
}

/// Every kind of node, nested just under the limit, checks and formats on
/// this 2 MiB thread (each kind recurses through its own methods of the
/// checker and the formatter); and the same shape one level deeper is E0002.
#[test]
fn every_kind_of_node_nests_to_the_limit() {
    let n = pac_lang::MAX_NESTING - 4;
    let rep = |s: &str, k: usize| s.repeat(k);
    let shapes: Vec<(&str, String)> = vec![
        ("sum", format!("fn f() -> int = 1{}", rep(" + 1", n))),
        (
            "concat",
            format!("fn f() -> string = \"a\"{}", rep(" + \"a\"", n)),
        ),
        ("nots", format!("fn f() -> bool = {}true", rep("not ", n))),
        (
            "negs",
            format!("fn f() -> int = {}1{}", rep("-(", n / 2), rep(")", n / 2)),
        ),
        (
            "parens",
            format!("fn f() -> int = {}1{}", rep("(", n), rep(")", n)),
        ),
        (
            "lists",
            format!(
                "fn f() -> int = len({}1{})",
                rep("[", n - 1),
                rep("]", n - 1)
            ),
        ),
        (
            "builtins",
            format!("fn f() -> int = {}1{}", rep("abs(", n), rep(")", n)),
        ),
        (
            "methods",
            format!("fn f() -> string = \"A\"{}", rep(".lower()", n / 2)),
        ),
        (
            "user calls",
            format!(
                "fn g(x: int) -> int = x\nfn f() -> int = {}1{}",
                rep("g(", n / 2),
                rep(")", n / 2)
            ),
        ),
        (
            "ifs",
            format!(
                "fn f(x: int) -> int = {}0",
                rep("if x == 1 then 1 else ", n)
            ),
        ),
        (
            "lets",
            format!(
                "fn f() -> int = {}1",
                (0..n)
                    .map(|i| format!("let v{i} = 1; "))
                    .collect::<String>()
            ),
        ),
        (
            "quantifiers",
            format!(
                "fn f() -> bool = {}true",
                (0..n / 2)
                    .map(|i| format!("any v{i} in [1]: "))
                    .collect::<String>()
            ),
        ),
        (
            "coalesce",
            format!("fn f(xs: list<int>) -> int = {}0", rep("xs[0] ?? ", n / 2)),
        ),
        (
            "index",
            format!(
                "fn f() -> int = {}1{} ?? 0",
                rep("[", n / 2),
                rep("][0]", n / 2).replacen("][0]", "]", 1)
            ),
        ),
        ("fields", format!("fn f(x: int) -> int = x{}", rep(".a", n))),
        (
            "or",
            format!(
                "fn f(x: int) -> bool = {}",
                vec!["x == 1"; 5 * n].join(" or ")
            ),
        ),
    ];
    for (name, src) in shapes {
        // Errors of other kinds are fine (unknown fields, types); nesting
        // ones are not, and nothing may overflow.
        let c = codes(&src);
        assert!(!c.contains(&"E0002"), "{name}: {c:?}");
        let _ = pac_lang::format(&src);
    }
    // One level past: E0002.
    let over = pac_lang::MAX_NESTING;
    let c = codes(&format!("fn f() -> bool = {}true", rep("not ", over)));
    assert_eq!(c, vec!["E0002"]);
}
