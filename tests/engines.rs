//! `--engine jit` (the default) and `--engine interp` give the same output,
//! byte for byte, on every command that evaluates; `-v` says which rules
//! the native engine leaves to the interpreter (none of the library's).

use std::path::PathBuf;
use std::process::{Command, Output};

fn pacc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(args)
        .current_dir(PathBuf::from(
            &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        ))
        .output()
        .expect("pacc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const NOW: &str = "2026-11-01";

/// Runs `args` with each engine; asserts equal exit codes and stdout.
fn same_under_both(args: &[&str]) -> Output {
    let mut jit_args = args.to_vec();
    jit_args.extend(["--engine", "jit"]);
    let mut interp_args = args.to_vec();
    interp_args.extend(["--engine", "interp"]);
    let jit = pacc(&jit_args);
    let interp = pacc(&interp_args);
    assert_eq!(
        jit.status.code(),
        interp.status.code(),
        "{args:?}: {}",
        text(&jit.stderr)
    );
    assert!(
        jit.stdout == interp.stdout,
        "{args:?}: outputs differ\n--- jit\n{}\n--- interp\n{}",
        text(&jit.stdout),
        text(&interp.stdout)
    );
    jit
}

#[test]
fn eval_output_is_identical() {
    let out = same_under_both(&["eval", "--now", NOW]);
    assert_eq!(out.status.code(), Some(1), "the demo has violations");
    same_under_both(&["eval", "--now", NOW, "--format", "json", "--explain"]);
    same_under_both(&["eval", "--now", "2028-06-01", "--format", "json"]);
}

#[test]
fn the_native_engine_compiles_every_shipped_rule() {
    let out = pacc(&["eval", "--now", NOW, "-v", "--engine", "jit"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("engine: jit"), "{err}");
    assert!(!err.contains("interpreted ("), "a rule fell back: {err}");
    let (done, total) = err
        .split_once(" rules compiled")
        .and_then(|(head, _)| head.rsplit_once("engine: jit, "))
        .and_then(|(_, n)| n.split_once(" of "))
        .expect("the count of compiled rules");
    assert_eq!(done, total, "{err}");
    assert!(err.contains("layout: "), "{err}");
    let out = pacc(&["eval", "--now", NOW, "-v", "--engine", "interp"]);
    assert!(text(&out.stderr).contains("engine: interpreter"));
}

/// `auto`, the default: the interpreter for a small inventory (compiling
/// the library would cost more than it saves), native code from 24 MiB.
#[test]
fn the_default_engine_follows_the_inventory_size() {
    let out = pacc(&["eval", "--now", NOW, "-v"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("engine: auto chose the interpreter for an inventory of 0."),
        "{err}"
    );
    assert!(err.contains("engine: interpreter"), "{err}");
    assert!(!err.contains("engine: jit"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("estate.ndjson");
    let out = pacc(&[
        "gen-inventory",
        "--count",
        "32000",
        "--out",
        big.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bytes = std::fs::metadata(&big).unwrap().len();
    assert!(
        bytes >= 24 << 20,
        "the estate should pass the threshold: {bytes} bytes"
    );
    let out = pacc(&[
        "eval",
        "--now",
        NOW,
        "-v",
        "--inventory",
        big.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("engine: auto chose jit for an inventory of 2"),
        "{err}"
    );
    assert!(err.contains("rules compiled to native code"), "{err}");
    assert!(err.contains("phase layout: "), "{err}");
}

#[test]
fn policy_tests_pass_under_both_engines() {
    let out = same_under_both(&["test", "policies", "--coverage"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    same_under_both(&["test", "policies", "--format", "json"]);
}

#[test]
fn explain_decides_with_the_engine_and_explains_with_the_interpreter() {
    let out = pacc(&["eval", "--now", NOW, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "ebs_volume_unencrypted")
        .map(|x| x["resource"]["id"].as_str().unwrap().to_string())
        .expect("an unencrypted volume in the demo");
    let out = same_under_both(&["explain", "ebs_volume_unencrypted", &id, "--now", NOW]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL"));
}

#[test]
fn an_unknown_engine_is_a_usage_error() {
    let out = pacc(&["eval", "--engine", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("jit"), "{}", text(&out.stderr));
}
