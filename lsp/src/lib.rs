//! The Pac language server: `pacc lsp` speaks the Language Server Protocol
//! on stdio, on the compiler's salsa database (edits update inputs; parsing
//! is memoised per file, so an edit re-parses only that file).
//!
//! Architecture invariants: the server never panics on any document
//! (answers degrade to "nothing here"); positions are converted in the
//! encoding negotiated at `initialize`; diagnostics are pushed
//! (`textDocument/publishDiagnostics`), worded and coded as `pacc check`.

pub mod analysis;
pub mod framing;
pub mod line_index;
mod server;
pub mod symbols;

pub use server::{Backend, RUN_TESTS};

/// Serves LSP on stdin/stdout until the client says `exit`. Returns the
/// process exit code.
///
/// Between stdin and tower-lsp-server sits [`framing`]: a thread reads the
/// frames, answers undecodable ones itself and forwards the rest; one task
/// writes both the server's frames and those answers to stdout, frame by
/// frame.
pub fn run_stdio() -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the language server's runtime: {e}");
            return 2;
        }
    };
    let (good_tx, mut good_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let (reply_tx, mut reply_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    // A plain thread: a blocked read of stdin must not hold the runtime open
    // after `exit`.
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin().lock();
        let mut reader = framing::FrameReader::default();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for v in framing::process(&mut reader, &buf[..n]) {
                let sent = match v {
                    framing::Verdict::Forward(body) => good_tx.blocking_send(framing::frame(&body)),
                    framing::Verdict::Reply(r) => {
                        reply_tx.blocking_send(framing::frame(r.to_string().as_bytes()))
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        }
    });
    rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut to_server, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, mut from_server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            while let Some(frame) = good_rx.recv().await {
                if to_server.write_all(&frame).await.is_err() {
                    break;
                }
            }
            // Dropping `to_server` is the end of input for the server.
        });
        let write_out = async move {
            let mut stdout = tokio::io::stdout();
            let mut frames = framing::FrameReader::default();
            let mut buf = vec![0u8; 1 << 16];
            let mut replies_open = true;
            loop {
                let mut out: Vec<u8> = Vec::new();
                tokio::select! {
                    n = from_server.read(&mut buf) => {
                        let n = n.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        frames.push(&buf[..n]);
                        while let Some(framing::Frame::Body(body)) = frames.next_frame() {
                            out.extend(framing::frame(&body));
                        }
                    }
                    reply = reply_rx.recv(), if replies_open => match reply {
                        Some(r) => out = r,
                        None => replies_open = false,
                    },
                }
                if !out.is_empty()
                    && (stdout.write_all(&out).await.is_err() || stdout.flush().await.is_err())
                {
                    break;
                }
            }
            while let Ok(r) = reply_rx.try_recv() {
                let _ = stdout.write_all(&r).await;
            }
            let _ = stdout.flush().await;
        };
        let (service, socket) = tower_lsp_server::LspService::new(Backend::new);
        let serve = tower_lsp_server::Server::new(server_in, server_out, socket).serve(service);
        tokio::join!(serve, write_out);
    });
    rt.shutdown_background();
    0
}
