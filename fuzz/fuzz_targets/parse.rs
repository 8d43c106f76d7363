//! The lexer and parser never panic, and every error span lies in the input;
//! parsing a file item by item (as the compiler's memoised parse does) gives
//! the same tree as parsing it whole whenever the file parses.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let parsed = pac_lang::parse_file(src);
        for e in &parsed.errors {
            assert!(e.span.start <= e.span.end && e.span.end <= src.len());
        }
        let parts: Vec<(usize, pac_lang::Parsed)> = pac_lang::chunks::chunks(src)
            .into_iter()
            .map(|(at, text)| (at, pac_lang::parse_file(text)))
            .collect();
        let joined = pac_lang::chunks::join(parts.iter().map(|(at, p)| (*at, p)));
        for e in &joined.errors {
            assert!(e.span.start <= e.span.end && e.span.end <= src.len());
        }
        if parsed.errors.is_empty() {
            assert_eq!(joined, parsed);
        }
    }
});
