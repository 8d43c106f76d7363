//! The lexer and parser never panic, and every error span lies in the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let parsed = pac_lang::parse_file(src);
        for e in &parsed.errors {
            assert!(e.span.start <= e.span.end && e.span.end <= src.len());
        }
    }
});
