//! The guard between stdin and tower-lsp-server: it reads the protocol's
//! `Content-Length` frames itself, answers every message the server could not
//! decode with a JSON-RPC error, and forwards only messages that decode.
//!
//! Why: tower-lsp-server's reader stops for good at the first frame it cannot
//! decode (invalid UTF-8, invalid JSON, a JSON array, a missing `jsonrpc`
//! field, a lone surrogate such as `\ud800`), and the server then exits
//! silently. Here such a frame gets `-32700` (parse error) or `-32600`
//! (invalid request) with the request's id when it can be read, else `null`,
//! and the server goes on. Lone surrogates in strings are replaced by U+FFFD
//! first, so that an editor's text with one still reaches the server (the
//! protocol carries Unicode text; a lone surrogate is not one).
//!
//! Everything here is synchronous and allocation-bounded (frames larger than
//! [`MAX_FRAME`] are skipped unread), so that a fuzz target can drive it.

use serde::Deserialize;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Request, Response};

/// The largest message accepted (64 MiB): larger frames are skipped.
pub const MAX_FRAME: usize = 64 << 20;
/// The longest header block: past this without a blank line, the bytes are
/// garbage to skip.
const MAX_HEADER: usize = 8 << 10;

/// One frame read from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete message body.
    Body(Vec<u8>),
    /// Bytes that are not a frame (a bad header, an oversized body): why.
    Garbage(String),
}

#[derive(Debug)]
enum State {
    Header,
    Body(usize),
    Skip(usize),
}

/// Splits a byte stream into frames; feed it with [`FrameReader::push`] and
/// take frames with [`FrameReader::next_frame`].
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// How far `buf` was searched for the end of the header block.
    scanned: usize,
    state: State,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            buf: Vec::new(),
            scanned: 0,
            state: State::Header,
        }
    }
}

impl FrameReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` until more bytes are pushed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            match self.state {
                State::Skip(n) => {
                    let k = n.min(self.buf.len());
                    self.buf.drain(..k);
                    if k < n {
                        self.state = State::Skip(n - k);
                        return None;
                    }
                    self.state = State::Header;
                }
                State::Body(n) => {
                    if self.buf.len() < n {
                        return None;
                    }
                    let body: Vec<u8> = self.buf.drain(..n).collect();
                    self.state = State::Header;
                    return Some(Frame::Body(body));
                }
                State::Header => {
                    let from = self.scanned.saturating_sub(3);
                    let Some(end) = find(&self.buf[from..], b"\r\n\r\n").map(|i| from + i) else {
                        self.scanned = self.buf.len();
                        if self.buf.len() > MAX_HEADER {
                            // Keep a possible start of the next header.
                            let keep = find(&self.buf[1..], b"Content-Length")
                                .map(|i| i + 1)
                                .unwrap_or(self.buf.len());
                            self.buf.drain(..keep);
                            self.scanned = 0;
                            return Some(Frame::Garbage(
                                "a header block without an end (no blank line)".into(),
                            ));
                        }
                        return None;
                    };
                    let header: Vec<u8> = self.buf.drain(..end + 4).collect();
                    self.scanned = 0;
                    match content_length(&header[..end]) {
                        Ok(n) if n > MAX_FRAME => {
                            self.state = State::Skip(n);
                            return Some(Frame::Garbage(format!(
                                "a message of {n} bytes (the limit is {MAX_FRAME})"
                            )));
                        }
                        Ok(n) => self.state = State::Body(n),
                        Err(why) => return Some(Frame::Garbage(why)),
                    }
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(header: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(header);
    let mut len = None;
    for line in text.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            len = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("a bad Content-Length header: {:?}", value.trim()))?,
            );
        }
    }
    len.ok_or_else(|| "a header block without Content-Length".to_string())
}

/// What to do with one message body.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Forward this body (possibly repaired) to the server.
    Forward(Vec<u8>),
    /// Do not forward; write this response (a JSON-RPC error) to the client.
    Reply(Value),
}

/// The two message shapes tower-lsp-server decodes, tried in its order: a
/// body that deserializes as this is one it will accept.
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Message {
    Response(Response),
    Request(Request),
}

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

fn error(code: i64, message: String, id: Value) -> Verdict {
    Verdict::Reply(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    }))
}

/// Checks one message body.
pub fn check(body: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(body) else {
        return error(
            PARSE_ERROR,
            "Parse error: the message is not valid UTF-8".into(),
            Value::Null,
        );
    };
    let repaired = repair_surrogates(text);
    let text = repaired.as_deref().unwrap_or(text);
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return error(
                PARSE_ERROR,
                format!("Parse error: the message is not valid JSON ({e})"),
                Value::Null,
            );
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    let invalid = |why: &str| {
        error(
            INVALID_REQUEST,
            format!("Invalid request: {why}"),
            id.clone(),
        )
    };
    let Some(obj) = value.as_object() else {
        return if value.is_array() {
            invalid("batches (JSON arrays) are not part of the language server protocol")
        } else {
            invalid("a message must be a JSON object")
        };
    };
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return invalid("the `jsonrpc` field must be \"2.0\"");
    }
    if serde_json::from_str::<Message>(text).is_err() {
        return invalid(
            "not a request, notification or response (check `method`, `id` and `params`)",
        );
    }
    Verdict::Forward(text.as_bytes().to_vec())
}

/// Replaces `\uXXXX` escapes of lone UTF-16 surrogates in JSON strings by
/// `\uFFFD` (same length); `None` when there is none.
pub fn repair_surrogates(text: &str) -> Option<String> {
    if !text.contains("\\u") && !text.contains("\\U") {
        return None;
    }
    let b = text.as_bytes();
    let hex = |i: usize| -> Option<u16> {
        let s = text.get(i..i + 4)?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(s, 16).ok()
    };
    // A `\u` escape at byte i (pointing at the backslash) with its unit.
    let unit_at = |i: usize| -> Option<u16> {
        if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
            hex(i + 2)
        } else {
            None
        }
    };
    let mut out: Option<Vec<u8>> = None;
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                in_str = !in_str;
                i += 1;
            }
            b'\\' if in_str => match unit_at(i) {
                Some(0xD800..=0xDBFF) => {
                    if matches!(unit_at(i + 6), Some(0xDC00..=0xDFFF)) {
                        i += 12;
                    } else {
                        out.get_or_insert_with(|| b.to_vec())[i..i + 6].copy_from_slice(b"\\uFFFD");
                        i += 6;
                    }
                }
                Some(0xDC00..=0xDFFF) => {
                    out.get_or_insert_with(|| b.to_vec())[i..i + 6].copy_from_slice(b"\\uFFFD");
                    i += 6;
                }
                Some(_) => i += 6,
                // `\"`, `\\` and the other one-character escapes.
                None => i += 2,
            },
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes of the same length.
    out.map(|v| String::from_utf8(v).unwrap_or_default())
}

/// A message framed for the wire.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Runs bytes through the reader and the checks: the frames to forward to
/// the server and the replies to write to the client, in order. (The fuzz
/// target's entry point; the server does the same incrementally.)
pub fn process(reader: &mut FrameReader, bytes: &[u8]) -> Vec<Verdict> {
    reader.push(bytes);
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame() {
        out.push(match f {
            Frame::Body(body) => check(&body),
            Frame::Garbage(why) => error(PARSE_ERROR, format!("Parse error: {why}"), Value::Null),
        });
    }
    out
}

/// Whether tower-lsp-server decodes this body (what [`check`] guarantees
/// for every body it forwards).
pub fn server_decodes(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .ok()
        .is_some_and(|t| serde_json::from_str::<Message>(t).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(v: &Verdict) -> i64 {
        match v {
            Verdict::Reply(r) => r["error"]["code"].as_i64().unwrap(),
            Verdict::Forward(_) => 0,
        }
    }

    #[test]
    fn good_messages_are_forwarded() {
        let m = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        assert_eq!(check(m), Verdict::Forward(m.to_vec()));
        let n = br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        assert_eq!(check(n), Verdict::Forward(n.to_vec()));
        let r = br#"{"jsonrpc":"2.0","id":3,"result":null}"#;
        assert_eq!(check(r), Verdict::Forward(r.to_vec()));
    }

    #[test]
    fn undecodable_messages_get_errors() {
        assert_eq!(code(&check(b"{not json")), PARSE_ERROR);
        assert_eq!(code(&check(b"\xff\xfe{}")), PARSE_ERROR);
        assert_eq!(code(&check(b"[1,2]")), INVALID_REQUEST);
        assert_eq!(code(&check(b"42")), INVALID_REQUEST);
        let v = check(br#"{"id":7,"method":"shutdown"}"#);
        assert_eq!(code(&v), INVALID_REQUEST);
        let Verdict::Reply(r) = v else { unreachable!() };
        assert_eq!(r["id"], 7);
        // No method: tower-lsp-server decodes a notification with an empty
        // method (and ignores it), so it is forwarded.
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0"}"#),
            Verdict::Forward(_)
        ));
        assert_eq!(
            code(&check(br#"{"jsonrpc":"1.0","id":3,"method":"x"}"#)),
            INVALID_REQUEST
        );
        assert_eq!(
            code(&check(br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#)),
            INVALID_REQUEST
        );
        assert_eq!(
            code(&check(br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#)),
            INVALID_REQUEST
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(code(&check(deep.as_bytes())), PARSE_ERROR);
    }

    #[test]
    fn lone_surrogates_are_replaced() {
        let m = br#"{"jsonrpc":"2.0","method":"x","params":{"t":"a\ud800b \udc00 \\ud800 \ud83d\ude00"}}"#;
        let Verdict::Forward(out) = check(m) else {
            panic!("{:?}", check(m))
        };
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["params"]["t"], "a\u{fffd}b \u{fffd} \\ud800 \u{1f600}");
    }

    #[test]
    fn frames_split_anywhere_and_garbage_is_skipped() {
        let good = frame(br#"{"jsonrpc":"2.0","method":"exit"}"#);
        let mut stream = b"Content-Type: x\r\n\r\n".to_vec();
        stream.extend(frame(b"[]"));
        stream.extend(b"Content-Length: 99999999999\r\n\r\n");
        let mut r = FrameReader::default();
        let mut verdicts = Vec::new();
        for chunk in stream.chunks(3) {
            verdicts.extend(process(&mut r, chunk));
        }
        // The huge frame swallows what follows until its length is reached;
        // a fresh reader shows the good frame parses after garbage.
        assert_eq!(verdicts.len(), 3, "{verdicts:?}");
        let mut r = FrameReader::default();
        let mut v = process(&mut r, b"Content-Length: x\r\n\r\n");
        for chunk in good.chunks(5) {
            v.extend(process(&mut r, chunk));
        }
        assert_eq!(code(&v[0]), PARSE_ERROR);
        assert!(matches!(v[1], Verdict::Forward(_)));
    }

    /// The fuzz target's body (`fuzz/fuzz_targets/lsp_messages.rs`) over
    /// its seeds: each is a read size, then a bad frame and a good request.
    #[test]
    fn the_fuzz_seeds_keep_the_invariants() {
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../fuzz/seeds/lsp_messages");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let data = std::fs::read(&path).unwrap();
            let (size, rest) = data.split_first().unwrap();
            let mut reader = FrameReader::default();
            let mut verdicts = Vec::new();
            for chunk in rest.chunks(usize::from(*size).max(1)) {
                verdicts.extend(process(&mut reader, chunk));
            }
            for v in &verdicts {
                match v {
                    Verdict::Forward(body) => assert!(server_decodes(body), "{name}"),
                    Verdict::Reply(r) => {
                        assert!(
                            matches!(code(v), PARSE_ERROR | INVALID_REQUEST),
                            "{name}: {r}"
                        );
                        assert_eq!(r["jsonrpc"], "2.0");
                    }
                }
            }
            // A huge length swallows what follows; so does a header that
            // never ends. Everywhere else the good request gets through.
            if !matches!(name.as_str(), "huge_length" | "header_without_end") {
                let last = verdicts.last();
                assert!(
                    matches!(last, Some(Verdict::Forward(b)) if b.ends_with(b"\"shutdown\"}")),
                    "{name}: {verdicts:?}"
                );
            }
            if name != "good" && name != "response" && name != "lone_surrogate" {
                assert!(
                    verdicts.iter().any(|v| code(v) != 0),
                    "{name}: no error reply"
                );
            }
            seen += 1;
        }
        assert!(seen >= 12, "{seen} seeds in {}", dir.display());
    }

    #[test]
    fn a_header_without_end_is_garbage_not_memory() {
        let mut r = FrameReader::default();
        let v = process(&mut r, &vec![b'x'; 3 * MAX_HEADER]);
        assert!(!v.is_empty());
        assert!(r.buf.len() <= MAX_HEADER);
    }
}
