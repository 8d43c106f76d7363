//! The salsa database: source files are inputs; a file is cut into chunks
//! (its top-level items, `pac_lang::chunks`), and each chunk's parse is
//! memoised by its text. Declarations (schemas, records, `fn`s, actions,
//! groups, and the heads of policies and exceptions) are checked once for
//! the workspace; each chunk's policies, exceptions and tests are checked
//! and lowered on their own, in the chunk's coordinates, so an edit inside
//! an item re-checks that item only; `compile` moves every chunk's output
//! into place. The CLI uses it once; the LSP keeps it.

use std::collections::HashMap;
use std::sync::Arc;

use salsa::Setter;

use pac_lang::chunks::Shift;
use pac_lang::{Parsed, Span, ast};

use crate::assemble::Place;
use crate::diag::Diagnostic;
use crate::ir::{Program, SourceFile as IrFile};
use crate::items::{ChunkOut, Decls, FileHeads, PolicyHead};
use crate::resolve::{Chunk, Env};

/// One source file.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    /// Set with [`set_text`] (or [`Source::edited`]), which keeps the
    /// file's cut into chunks in step with its text.
    #[returns(ref)]
    pub source: Source,
}

impl SourceFile {
    /// A file of the workspace (its text cut into chunks once).
    pub fn create(db: &Database, path: String, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile::new(db, path, Source::new(text))
    }

    pub fn text(self, db: &dyn salsa::Database) -> &str {
        &self.source(db).text
    }
}

/// A file's text and where it is cut into chunks, kept together: an edit
/// re-cuts only around the bytes it changed ([`pac_lang::chunks::Cut`]),
/// and no one can set one without the other.
#[derive(Debug)]
pub struct Source {
    text: Arc<str>,
    cut: pac_lang::chunks::Cut,
}

impl Source {
    pub fn new(text: impl Into<Arc<str>>) -> Source {
        let text = text.into();
        let cut = pac_lang::chunks::Cut::new(&text);
        Source { text, cut }
    }

    /// `text` as the next version of this source.
    pub fn edited(&self, text: impl Into<Arc<str>>) -> Source {
        let text = text.into();
        let cut = self.cut.edited(&self.text, &text);
        Source { text, cut }
    }

    pub fn text(&self) -> &Arc<str> {
        &self.text
    }
}

/// Replaces a file's text (nothing changes when it is the same); false
/// when it was the same.
pub fn set_text(
    db: &mut Database,
    file: SourceFile,
    text: impl AsRef<str> + Into<Arc<str>>,
) -> bool {
    if file.text(db) == text.as_ref() {
        return false;
    }
    let source = file.source(db).edited(text);
    file.set_source(db).to(source);
    true
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

/// A file's text, shared (never copied per reader).
pub fn shared_text(db: &dyn salsa::Database, file: SourceFile) -> &Arc<str> {
    &file.source(db).text
}

/// A file cut into its chunks: the offset and text of each.
#[salsa::tracked(returns(ref))]
pub fn file_chunks<'db>(
    db: &'db dyn salsa::Database,
    file: SourceFile,
) -> Vec<(usize, ChunkText<'db>)> {
    let source = file.source(db);
    source
        .cut
        .chunks(&source.text)
        .into_iter()
        .map(|(at, text)| (at, ChunkText::new(db, text)))
        .collect()
}

/// The syntax tree and syntax errors of one file: its chunks' parses,
/// shifted to where each chunk starts. (Not compared with the previous
/// tree when it re-runs: a deep comparison of a large file on every edit
/// cost more than it could save.)
#[salsa::tracked(returns(ref), no_eq)]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Arc<Parsed> {
    let parts: Vec<(usize, &Arc<Parsed>)> = file_chunks(db, file)
        .iter()
        .map(|(at, text)| (*at, parse_chunk(db, *text)))
        .collect();
    if let [(0, only)] = parts.as_slice() {
        return (*only).clone();
    }
    Arc::new(pac_lang::chunks::join(
        parts.iter().map(|(at, p)| (*at, p.as_ref())),
    ))
}

/// What one file declares for the rest of the workspace: its package, its
/// declaration items (schemas, records, `fn`s, actions, groups; spans
/// absolute) with their source text, and the heads of its policies and
/// exceptions. It is compared by value, so an edit inside a policy,
/// exception or test leaves it equal and nothing that reads it re-runs.
#[derive(Clone, Debug, PartialEq)]
pub struct FileDecls {
    pub package: String,
    pub items: Vec<ast::Item>,
    /// (offset, text) of the chunks that hold `items`.
    pub sources: Vec<(usize, Arc<str>)>,
    pub policies: Vec<PolicyHead>,
    /// (chunk, item) and name of each exception.
    pub exceptions: Vec<((u32, u32), String)>,
}

#[salsa::tracked(returns(ref))]
pub fn file_decls(db: &dyn salsa::Database, file: SourceFile) -> FileDecls {
    let mut out = FileDecls {
        package: String::new(),
        items: Vec::new(),
        sources: Vec::new(),
        policies: Vec::new(),
        exceptions: Vec::new(),
    };
    let mut package = None;
    for (ci, (at, text)) in file_chunks(db, file).iter().enumerate() {
        let parsed = parse_chunk(db, *text);
        if package.is_none() {
            package = parsed.file.package.as_ref().map(|p| p.text());
        }
        let mut has_decl = false;
        for (ii, item) in parsed.file.items.iter().enumerate() {
            let key = (ci as u32, ii as u32);
            match item {
                ast::Item::Schema(_)
                | ast::Item::Record(_)
                | ast::Item::Fn(_)
                | ast::Item::Action(_)
                | ast::Item::Group(_)
                | ast::Item::Domain(_) => {
                    let mut item = item.clone();
                    item.shift(*at);
                    out.items.push(item);
                    has_decl = true;
                }
                ast::Item::Policy(p) => out.policies.push(PolicyHead::new(key, p)),
                ast::Item::Exception(x) => out.exceptions.push((key, x.name.text.clone())),
                ast::Item::Test(_) | ast::Item::Error(_) => {}
            }
        }
        if has_decl {
            out.sources.push((*at, Arc::from(text.text(db).as_str())));
        }
    }
    out.package = package.unwrap_or_default();
    out
}

/// The checked declarations of a workspace, shared by every chunk.
#[derive(Clone)]
pub struct Declarations(pub Arc<Decls>);

impl PartialEq for Declarations {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Declarations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Declarations")
    }
}

/// Reads only the files' paths and [`file_decls`], so it re-runs only when
/// a declaration or a head changes, not on an edit inside an item.
#[salsa::tracked(returns(ref))]
pub fn declarations(db: &dyn salsa::Database, ws: Workspace) -> Declarations {
    let files = ws.files(db);
    let fds: Vec<&FileDecls> = files.iter().map(|f| file_decls(db, *f)).collect();
    let env = Env::new(
        files.iter().map(|f| f.path(db).clone()).collect(),
        fds.iter().map(|d| d.package.clone()).collect(),
        fds.iter()
            .map(|d| {
                Arc::new(Parsed {
                    file: ast::File {
                        package: None,
                        items: d.items.clone(),
                        comments: Vec::new(),
                    },
                    errors: Vec::new(),
                })
            })
            .collect(),
        fds.iter().map(|d| d.sources.clone()).collect(),
    );
    let heads: Vec<FileHeads> = fds
        .iter()
        .map(|d| FileHeads {
            policies: &d.policies,
            exceptions: &d.exceptions,
        })
        .collect();
    Declarations(Arc::new(crate::items::lower_decls(env, &heads)))
}

/// One chunk of one file of a workspace, for [`lower_chunk`].
#[salsa::interned(debug)]
pub struct ChunkKey<'db> {
    pub ws: Workspace,
    pub file: SourceFile,
    /// The file's index in the workspace.
    pub index: u32,
    /// The chunk's ordinal in its file.
    pub ordinal: u32,
    pub text: ChunkText<'db>,
}

/// A chunk's lowered items (see [`crate::items::ChunkOut`]).
#[derive(Clone)]
pub struct Lowered(pub Arc<ChunkOut>);

impl PartialEq for Lowered {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Lowered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lowered")
    }
}

/// Checks and lowers the policies, exceptions and tests of one chunk, in
/// the chunk's own coordinates: it re-runs when the chunk's text or the
/// declarations change, not when another item is edited or moves.
#[salsa::tracked(returns(ref))]
pub fn lower_chunk<'db>(db: &'db dyn salsa::Database, key: ChunkKey<'db>) -> Lowered {
    let decls = &declarations(db, *key.ws(db)).0;
    let text = *key.text(db);
    let parsed = parse_chunk(db, text);
    let chunk = Chunk {
        file: *key.index(db),
        package: file_decls(db, *key.file(db)).package.clone(),
        text: Arc::from(text.text(db).as_str()),
    };
    let mut env = decls.env.for_chunk(chunk);
    Lowered(Arc::new(crate::items::lower_chunk(
        &mut env,
        decls,
        parsed,
        *key.index(db),
        *key.ordinal(db),
    )))
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

/// A checked workspace in pieces: the declarations, each chunk's output
/// with the place it goes, and every diagnostic (moved into place). The
/// language server reads this after each edit; the program is assembled
/// from it only when something needs it ([`Checked::assemble`]).
#[derive(Clone)]
pub struct Checked {
    pub decls: Arc<Decls>,
    pub chunks: Arc<Vec<(Place, Arc<ChunkOut>)>>,
    pub diagnostics: Arc<Vec<Diagnostic>>,
}

impl PartialEq for Checked {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chunks, &other.chunks) && self.diagnostics == other.diagnostics
    }
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checked")
    }
}

impl Checked {
    /// The resolved names in `file`, in place (unsorted).
    pub fn refs_in(&self, file: u32) -> Vec<crate::index::Ref> {
        let mut out: Vec<crate::index::Ref> = self
            .decls
            .refs
            .iter()
            .filter(|r| r.file == file)
            .cloned()
            .collect();
        for (place, c) in self.chunks.iter().filter(|(p, _)| p.file == file) {
            out.extend(c.refs.iter().map(|r| {
                let mut r = r.clone();
                place.reference(&mut r);
                r
            }));
        }
        out
    }

    /// The resolved names of the chunk of `file` that holds `offset`, and
    /// of the declarations of `file`, in place: what a request about one
    /// position needs, without sorting the whole file's names.
    pub fn refs_near(&self, file: u32, offset: usize) -> Vec<crate::index::Ref> {
        let mut out: Vec<crate::index::Ref> = self
            .decls
            .refs
            .iter()
            .filter(|r| r.file == file)
            .cloned()
            .collect();
        let i = self
            .chunks
            .partition_point(|(p, _)| (p.file, p.offset) <= (file, offset));
        if let Some((place, c)) = i.checked_sub(1).and_then(|i| self.chunks.get(i))
            && place.file == file
        {
            out.extend(c.refs.iter().map(|r| {
                let mut r = r.clone();
                place.reference(&mut r);
                r
            }));
        }
        out
    }

    /// Every exception, in place.
    pub fn exceptions(&self) -> Vec<crate::ir::Exception> {
        let mut out = Vec::new();
        for (place, c) in self.chunks.iter() {
            out.extend(c.exceptions.iter().map(|x| {
                let mut x = x.clone();
                place.exception(&mut x);
                x
            }));
        }
        out
    }

    /// The program and the whole index, every chunk's output moved into
    /// place (spans to their files, node ids one after the other).
    pub fn assemble(&self, files: Vec<IrFile>) -> (Program, Vec<crate::index::Ref>) {
        let decls = &self.decls;
        let mut index = decls.refs.clone();
        let mut prog = Program {
            files,
            schemas: decls.env.schemas.clone(),
            actions: decls.actions.clone(),
            groups: decls.groups.clone(),
            domains: decls.domains.clone(),
            ..Default::default()
        };
        for (place, out) in self.chunks.iter() {
            debug_assert!(out.rules.is_empty() || out.rule_base == prog.rules.len());
            index.extend(out.refs.iter().map(|r| {
                let mut r = r.clone();
                place.reference(&mut r);
                r
            }));
            prog.policies.extend(out.policies.iter().map(|p| {
                let mut p = p.clone();
                place.policy(&mut p);
                p
            }));
            prog.rules.extend(out.rules.iter().map(|r| {
                let mut r = r.clone();
                place.rule(&mut r);
                r
            }));
            prog.exceptions.extend(out.exceptions.iter().map(|x| {
                let mut x = x.clone();
                place.exception(&mut x);
                x
            }));
            prog.tests.extend(out.tests.iter().map(|t| {
                let mut t = t.clone();
                place.test(&mut t);
                t
            }));
        }
        (prog, index)
    }
}

/// Checks the workspace: the declarations and every chunk, with syntax
/// errors and duplicate names. Cheap after an edit inside an item: one
/// chunk is lowered, the others' outputs are shared, not copied.
#[salsa::tracked(returns(ref))]
pub fn check(db: &dyn salsa::Database, ws: Workspace) -> Checked {
    let files = ws.files(db);
    let decls = declarations(db, ws).0.clone();
    let mut diags = decls.diags.clone();
    let mut chunks = Vec::new();
    let mut node_base = decls.nodes;
    let mut first: HashMap<(&'static str, &str), (u32, Span)> = HashMap::new();
    'files: for (fi, f) in files.iter().enumerate() {
        let fi = fi as u32;
        for (ordinal, (at, text)) in file_chunks(db, *f).iter().enumerate() {
            let place = Place {
                file: fi,
                offset: *at,
                node_base,
            };
            let parsed = parse_chunk(db, *text);
            for e in &parsed.errors {
                diags.push(syntax_error(e, fi, place));
            }
            for item in &parsed.file.items {
                let (kind, name, span) = match item {
                    ast::Item::Policy(p) => ("policy", p.name.name.as_str(), p.name.span),
                    ast::Item::Exception(x) => ("exception", x.name.text.as_str(), x.name.span),
                    _ => continue,
                };
                let span = Span::new(span.start + at, span.end + at);
                match first.get(&(kind, name)) {
                    Some(&(pf, ps)) => diags.push(
                        crate::items::duplicate(fi, span, kind, name).with_secondary(
                            pf,
                            ps,
                            "first declared here",
                        ),
                    ),
                    None => {
                        first.insert((kind, name), (fi, span));
                    }
                }
            }
            let key = ChunkKey::new(db, ws, *f, fi, ordinal as u32, *text);
            let out = lower_chunk(db, key).0.clone();
            node_base = node_base.saturating_add(out.nodes);
            if node_base as usize > crate::check::MAX_PROGRAM_NODES {
                if let Some(item) = parsed.file.items.first() {
                    let at = item.span().start + at;
                    diags.push(
                        Diagnostic::error(
                            "E0314",
                            fi,
                            Span::new(at, at),
                            format!(
                                "the workspace expands to more than {} IR nodes",
                                crate::check::MAX_PROGRAM_NODES
                            ),
                        )
                        .with_label("the limit is reached here")
                        .with_note(
                            "functions are inlined at each call: call large ones less often",
                        ),
                    );
                }
                break 'files;
            }
            diags.extend(out.diags.iter().map(|d| {
                let mut d = d.clone();
                place.diagnostic(&mut d);
                d
            }));
            chunks.push((place, out));
        }
    }
    diags.sort_by(|a, b| (a.file, a.span.start, a.code).cmp(&(b.file, b.span.start, b.code)));
    diags.dedup();
    Checked {
        decls,
        chunks: Arc::new(chunks),
        diagnostics: Arc::new(diags),
    }
}

/// The whole workspace checked and lowered: [`check`], assembled.
#[salsa::tracked(returns(ref))]
pub fn compile(db: &dyn salsa::Database, ws: Workspace) -> Compiled {
    let checked = check(db, ws);
    let files = ws
        .files(db)
        .iter()
        .map(|f| IrFile {
            path: f.path(db).clone(),
            text: shared_text(db, *f).clone(),
        })
        .collect();
    let (program, index) = checked.assemble(files);
    Compiled {
        program: Arc::new(program),
        diagnostics: checked.diagnostics.clone(),
        index: Arc::new(index),
    }
}

/// A syntax error of a chunk, as a diagnostic of its file.
fn syntax_error(e: &pac_lang::SyntaxError, file: u32, place: Place) -> Diagnostic {
    let message = if e.code == "E0001" {
        format!("syntax error: {}", e.message)
    } else {
        e.message.clone()
    };
    let span = Span::new(e.span.start + place.offset, e.span.end + place.offset);
    let mut d = Diagnostic::error(e.code, file, span, message).with_label("here");
    if !e.expected.is_empty() {
        let mut exp = e.expected.clone();
        exp.truncate(8);
        d = d.with_note(format!("expected {}", exp.join(", ")));
    }
    d
}
