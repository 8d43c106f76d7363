//! Subcommands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use pac_compiler::{Compiled, Severity, compile_sources, render};

use crate::files;

#[derive(Parser)]
#[command(name = "pacc", version, about = "Pac: typed compliance policies for cloud estates")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check policies; print diagnostics.
    Check {
        /// Files or directories of `.pac` files.
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { paths, format, deny_warnings } => check(&paths, format, deny_warnings),
    }
}

/// Loads and compiles; on an I/O problem prints it and returns None.
pub fn load(paths: &[PathBuf]) -> Option<Compiled> {
    let files = match files::pac_files(paths).and_then(|f| files::read_sources(&f)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    Some(compile_sources(files))
}

/// Prints diagnostics; returns (errors, warnings).
pub fn print_diagnostics(c: &Compiled, format: Format) -> (usize, usize) {
    let errors = c.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = c.diagnostics.len() - errors;
    match format {
        Format::Json => {
            let v: Vec<_> = c.diagnostics.iter().map(|d| render::to_json(d, &c.program.files)).collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into()));
        }
        Format::Text => {
            let color = std::io::stderr().is_terminal();
            let mut err = std::io::stderr().lock();
            for d in c.diagnostics.iter() {
                let _ = render::render(d, &c.program.files, color, &mut err);
            }
            let _ = err.flush();
        }
    }
    (errors, warnings)
}

fn check(paths: &[PathBuf], format: Format, deny_warnings: bool) -> i32 {
    let Some(c) = load(paths) else { return 2 };
    let (errors, warnings) = print_diagnostics(&c, format);
    if format == Format::Text {
        let p = &c.program;
        let user_files = p.files.len() - pac_compiler::stdlib_file_count();
        eprintln!(
            "checked {user_files} file(s): {} policies, {} rules, {} groups, {} exceptions, {} tests; {errors} error(s), {warnings} warning(s)",
            p.policies.len(),
            p.rules.len(),
            p.groups.len(),
            p.exceptions.len(),
            p.tests.len(),
        );
    }
    if errors > 0 || (deny_warnings && warnings > 0) { 2 } else { 0 }
}

