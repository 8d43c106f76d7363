//! `pacc`: the Pac command line. A thin layer over the library crates:
//! argument parsing, file discovery, output formats and exit codes.
//!
//! Exit codes: 0 ok; 1 violations found or tests failed; 2 usage, input or
//! compile errors.

mod bench;
mod bench_server;
mod cli;
mod collect;
mod files;
mod fix;
mod r#gen;

fn main() {
    let code = cli::run();
    std::process::exit(code);
}
