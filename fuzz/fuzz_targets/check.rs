//! The checker never panics on any file, and every diagnostic points into it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let c = pac_compiler::compile_sources(vec![("fuzz.pac".into(), src.to_string())]);
        let user = pac_compiler::stdlib_file_count() as u32;
        for d in c.diagnostics.iter().filter(|d| d.file == user) {
            assert!(d.span.end <= src.len(), "{d:?}");
        }
    }
});
