//! The Pac language server: `pacc lsp` speaks the Language Server Protocol
//! on stdio, on the compiler's salsa database (edits update inputs; parsing
//! is memoised per file, so an edit re-parses only that file).
//!
//! Architecture invariants: the server never panics on any document
//! (answers degrade to "nothing here"); positions are converted in the
//! encoding negotiated at `initialize`; diagnostics are pushed
//! (`textDocument/publishDiagnostics`), worded and coded as `pacc check`.

pub mod analysis;
pub mod line_index;
mod server;
pub mod symbols;

pub use server::{Backend, RUN_TESTS};

/// Serves LSP on stdin/stdout until the client says `exit`. Returns the
/// process exit code.
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
    rt.block_on(async {
        let (service, socket) = tower_lsp_server::LspService::new(Backend::new);
        tower_lsp_server::Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    0
}
