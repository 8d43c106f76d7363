//! The salsa database: source files are inputs; parsing is memoised per
//! top-level item (a file is cut into chunks by `pac_lang::chunks`, and
//! each chunk's parse is memoised by its text), so an edit re-parses the
//! item it touches; checking and lowering the workspace is a query over all
//! files. The CLI uses it once; the LSP keeps it.

use std::sync::Arc;

use pac_lang::Parsed;

use crate::diag::Diagnostic;
use crate::ir::{Program, SourceFile as IrFile};
use crate::resolve::Env;

/// One source file.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

/// The set of files that make up a workspace (the stdlib first).
#[salsa::input(debug)]
pub struct Workspace {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

/// The text of one chunk of a file (one top-level item with its doc).
/// Interned, so that an item whose text did not change, wherever it now
/// starts, finds its parse memoised; unused chunks are reclaimed after a few
/// revisions (salsa's default), so memory stays flat while typing.
#[salsa::interned(debug)]
pub struct ChunkText<'db> {
    #[returns(ref)]
    pub text: String,
}

/// The parse of one chunk, its spans relative to the chunk's start.
#[salsa::tracked(returns(ref))]
pub fn parse_chunk<'db>(db: &'db dyn salsa::Database, chunk: ChunkText<'db>) -> Arc<Parsed> {
    Arc::new(pac_lang::parse_file(chunk.text(db)))
}

/// The syntax tree and syntax errors of one file: its chunks' parses,
/// shifted to where each chunk starts.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Arc<Parsed> {
    let parts: Vec<(usize, &Arc<Parsed>)> = pac_lang::chunks::chunks(file.text(db))
        .into_iter()
        .map(|(at, text)| (at, parse_chunk(db, ChunkText::new(db, text.to_string()))))
        .collect();
    if let [(0, only)] = parts.as_slice() {
        return (*only).clone();
    }
    Arc::new(pac_lang::chunks::join(
        parts.iter().map(|(at, p)| (*at, p.as_ref())),
    ))
}

/// A checked workspace: the lowered program and every diagnostic.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub program: Arc<Program>,
    pub diagnostics: Arc<Vec<Diagnostic>>,
    /// Resolved names by position, for the language server.
    pub index: Arc<Vec<crate::index::Ref>>,
}

impl Compiled {
    /// The error diagnostics (warnings left out), in order.
    pub fn errors(&self) -> Vec<Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect()
    }
}

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.program, &other.program) && self.diagnostics == other.diagnostics
    }
}

#[salsa::tracked(returns(ref))]
pub fn compile(db: &dyn salsa::Database, ws: Workspace) -> Compiled {
    let files = ws.files(db);
    let mut diags = Vec::new();
    let mut asts = Vec::new();
    let mut ir_files = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let parsed = parse(db, *f);
        for e in &parsed.errors {
            let message = if e.code == "E0001" {
                format!("syntax error: {}", e.message)
            } else {
                e.message.clone()
            };
            let mut d = Diagnostic::error(e.code, i as u32, e.span, message).with_label("here");
            if !e.expected.is_empty() {
                let mut exp = e.expected.clone();
                exp.truncate(8);
                d = d.with_note(format!("expected {}", exp.join(", ")));
            }
            diags.push(d);
        }
        asts.push(parsed.clone());
        ir_files.push(IrFile {
            path: f.path(db).clone(),
            text: Arc::from(f.text(db).as_str()),
        });
    }
    let mut env = Env::new(ir_files, asts);
    env.collect_schemas();
    env.collect_fns();
    let program = crate::items::lower_program(&mut env);
    diags.append(&mut env.diags);
    let index = Arc::new(std::mem::take(&mut env.refs));
    diags.sort_by(|a, b| (a.file, a.span.start, a.code).cmp(&(b.file, b.span.start, b.code)));
    diags.dedup();
    Compiled {
        program: Arc::new(program),
        diagnostics: Arc::new(diags),
        index,
    }
}
