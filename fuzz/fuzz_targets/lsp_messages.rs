//! The language server's message guard (`pac_lsp::framing`) never panics,
//! forwards only bodies tower-lsp-server decodes, and answers everything else
//! with a JSON-RPC error object; however the bytes are split into reads.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pac_lsp::framing::{FrameReader, Verdict, process, server_decodes};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the read size, so that frames split anywhere.
    let (size, rest) = match data.split_first() {
        Some((s, r)) => (usize::from(*s).max(1), r),
        None => return,
    };
    let mut reader = FrameReader::default();
    for chunk in rest.chunks(size) {
        for v in process(&mut reader, chunk) {
            match v {
                Verdict::Forward(body) => assert!(server_decodes(&body)),
                Verdict::Reply(r) => {
                    let code = r["error"]["code"].as_i64();
                    assert!(matches!(code, Some(-32700 | -32600)), "{r}");
                    assert_eq!(r["jsonrpc"], "2.0");
                }
            }
        }
    }
});
