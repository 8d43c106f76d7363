//! `pacc`: the Pac command line. A thin layer over the library crates:
//! argument parsing, file discovery, output formats and exit codes.
//!
//! Exit codes: 0 ok; 1 violations found or tests failed; 2 usage, input or
//! compile errors.

mod cli;
mod collect;
mod fix;
mod review;

/// The compiler, the language server and the scan allocate and free many
/// small nodes: under glibc's malloc half of the language server's time per
/// edit went to malloc, free and their consolidation (perf, 2026-12-03).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = cli::run();
    std::process::exit(code);
}
