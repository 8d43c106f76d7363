//! The Pac compiler: a salsa database over source files; name resolution
//! across files and packages; type checking against resource schemas;
//! diagnostics with stable codes; lowering to a typed IR.
//!
//! Architecture invariants: the compiler does no I/O (files come in as
//! salsa inputs); it never panics on any input, and every diagnostic has a
//! code and a primary span; the IR it produces is well typed.

pub mod assemble;
pub mod check;
pub mod db;
pub mod diag;
pub mod files;
pub mod index;
pub mod ir;
mod items;
pub mod reads;
pub mod render;
pub mod resolve;
pub mod sig;
pub mod suggest;
pub mod types;

pub use db::{Checked, Compiled, Database, SourceFile, Workspace};
pub use diag::{Diagnostic, Severity};
pub use ir::Program;

/// Compiles the given files with the stdlib in front of them: the one-shot
/// entry point for the CLI and tests (the LSP keeps a [`Database`]).
pub fn compile_sources(files: Vec<(String, String)>) -> Compiled {
    let db = Database::default();
    let ws = workspace(&db, files);
    db::compile(&db, ws).clone()
}

/// Creates the workspace input: stdlib files, then the given ones.
pub fn workspace(db: &Database, files: Vec<(String, String)>) -> Workspace {
    let mut inputs: Vec<SourceFile> = pac_stdlib::schemas::FILES
        .iter()
        .map(|(p, t)| SourceFile::create(db, p.to_string(), *t))
        .collect();
    inputs.extend(files.into_iter().map(|(p, t)| SourceFile::create(db, p, t)));
    Workspace::new(db, inputs)
}

/// How many stdlib files precede the user's in every workspace.
pub fn stdlib_file_count() -> usize {
    pac_stdlib::schemas::FILES.len()
}

/// Warnings that depend on the clock, kept out of the (memoised) compile
/// query: exceptions that have expired no longer exempt anything (W0503).
pub fn expiry_diagnostics(program: &Program, now: i64) -> Vec<Diagnostic> {
    expiry_of(&program.exceptions, now)
}

/// [`expiry_diagnostics`] of these exceptions.
pub fn expiry_of(exceptions: &[ir::Exception], now: i64) -> Vec<Diagnostic> {
    exceptions
        .iter()
        .filter(|e| e.expires != i64::MIN && e.expires <= now)
        .map(|e| {
            let date = pac_stdlib::Value::Time(e.expires).to_string();
            let day = date.get(..10).unwrap_or(&date).to_string();
            Diagnostic::warning(
                "W0503",
                e.file,
                e.span,
                format!("exception `{}` expired on {day}", e.name),
            )
            .with_label("expired: it no longer exempts anything")
            .with_note("renew it with a new `expires` date and a reason, or delete it")
        })
        .collect()
}
