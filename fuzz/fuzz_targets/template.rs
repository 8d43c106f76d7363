//! Message templates (`"{expr} text"`) never panic, whatever the braces.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let src = format!("{:?}", text);
        let lit = pac_lang::ast::StrLit { value: text.to_string(), span: pac_lang::Span::new(0, src.len()) };
        let _ = pac_lang::parse_template(&src, &lit);
    }
});
