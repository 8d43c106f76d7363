//! The review's facts, diff and check findings never panic on any pair of
//! files (base, head: the input split at its first NUL byte), and SARIF
//! and GitHub annotations render for whatever the checker reports.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (base, head) = src.split_once('\0').unwrap_or((src, ""));
    let compile = |s: &str| pac_compiler::compile_sources(vec![("fuzz.pac".into(), s.to_string())]);
    let (b, h) = (compile(base), compile(head));
    let fb = pac_review::facts::Facts::of(&b.program);
    let fh = pac_review::facts::Facts::of(&h.program);
    let d = pac_review::diff::diff(&fb, &fh);
    assert_eq!(
        d.pairs.iter().filter(|p| p.base.is_some()).count(),
        b.program.rules.len()
    );
    assert_eq!(
        d.pairs.iter().filter(|p| p.head.is_some()).count(),
        h.program.rules.len()
    );
    let (kinds, findings) = pac_review::findings::check_findings(&h.program.files, &h.diagnostics);
    let _ = pac_review::sarif::render("fuzz/", &kinds, &findings);
    let _ = pac_review::github::render(&findings);
});
