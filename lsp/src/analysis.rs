//! Answers to editor questions over one compiled snapshot of the workspace:
//! hover, completion, definition, references, rename, symbols, semantic
//! tokens, folding ranges, code actions and code lenses. Everything here is
//! synchronous and pure (no I/O); the server converts to and from the wire.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use pac_compiler::index::{Ref, RefKind};
use pac_compiler::types::{RecordId, Ty};
use pac_compiler::{Checked, Diagnostic, Program, Severity};
use pac_lang::Span;
use pac_lang::ast::{self, Item, PolicyMember};
use pac_lang::lexer::{self, CommentKind, Token};

use crate::line_index::{Encoding, LineIndex};
use crate::symbols::{Decl, DeclKind, Key, Symbols};

/// One file of the snapshot. Its syntax tree is joined from the chunks'
/// parses on first use, and a file whose text did not change is carried
/// from one snapshot to the next, so an edit joins at most the edited file,
/// and only when a request needs its whole tree.
pub struct FileData {
    pub path: String,
    pub text: Arc<str>,
    chunks: Vec<(usize, Arc<pac_lang::Parsed>)>,
    ast: OnceLock<Arc<pac_lang::Parsed>>,
    lines: OnceLock<LineIndex>,
}

impl FileData {
    pub fn new(path: String, text: Arc<str>, ast: Arc<pac_lang::Parsed>) -> FileData {
        FileData {
            path,
            text,
            chunks: Vec::new(),
            ast: OnceLock::from(ast),
            lines: OnceLock::new(),
        }
    }

    /// A file given as its chunks' parses (offset, parse).
    pub fn chunked(
        path: String,
        text: Arc<str>,
        chunks: Vec<(usize, Arc<pac_lang::Parsed>)>,
    ) -> FileData {
        FileData {
            path,
            text,
            chunks,
            ast: OnceLock::new(),
            lines: OnceLock::new(),
        }
    }

    pub fn ast(&self) -> &Arc<pac_lang::Parsed> {
        self.ast.get_or_init(|| match self.chunks.as_slice() {
            [(0, only)] => only.clone(),
            parts => Arc::new(pac_lang::chunks::join(
                parts.iter().map(|(at, p)| (*at, p.as_ref())),
            )),
        })
    }

    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The bytes of the chunk holding `offset` (the whole file when it is
    /// not given as chunks). No comment or string crosses a chunk's edge.
    pub fn chunk_range(&self, offset: usize) -> std::ops::Range<usize> {
        let i = self.chunks.partition_point(|(at, _)| *at <= offset);
        let start = i
            .checked_sub(1)
            .and_then(|i| self.chunks.get(i))
            .map_or(0, |(at, _)| *at);
        let end = self.chunks.get(i).map_or(self.text.len(), |(at, _)| *at);
        start..end
    }

    /// The top-level items that may hold `offset`, with the offset their
    /// spans are relative to: one chunk's (no join needed), or the tree's.
    pub fn items_near(&self, offset: usize) -> (usize, &[ast::Item]) {
        if self.ast.get().is_none() && !self.chunks.is_empty() {
            let i = self.chunks.partition_point(|(at, _)| *at <= offset);
            if let Some((at, p)) = i.checked_sub(1).and_then(|i| self.chunks.get(i)) {
                return (*at, &p.file.items);
            }
        }
        (0, &self.ast().file.items)
    }
}

/// The workspace as of one revision: files, the checker's result (per
/// chunk: nothing is assembled for the whole workspace on an edit), the
/// declarations and the resolved names. What only some requests need (the
/// assembled program, a file's sorted names) is built on first use.
pub struct Snapshot {
    pub files: Vec<Arc<FileData>>,
    pub checked: Checked,
    program: OnceLock<Arc<Program>>,
    /// Compile diagnostics plus the clock-dependent ones, as `pacc check`.
    pub diagnostics: Vec<Diagnostic>,
    symbols: OnceLock<Symbols>,
    /// The checker's index per file, sorted by span start, deduplicated.
    refs: Vec<OnceLock<Vec<Ref>>>,
    pub enc: Encoding,
}

/// A snapshot of the stdlib plus `files`, compiled once (tests, tools).
pub fn snapshot_of(files: Vec<(String, String)>, now: i64, enc: Encoding) -> Snapshot {
    let db = pac_compiler::Database::default();
    let ws = pac_compiler::workspace(&db, files);
    let checked = pac_compiler::db::check(&db, ws).clone();
    let data = ws
        .files(&db)
        .iter()
        .map(|f| {
            let text = pac_compiler::db::shared_text(&db, *f).clone();
            let parsed = pac_compiler::db::parse(&db, *f).clone();
            Arc::new(FileData::new(f.path(&db).clone(), text, parsed))
        })
        .collect();
    Snapshot::new(data, checked, now, enc)
}

/// What a position denotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Decl(Key),
    Field(RecordId, u32),
    Local { file: u32, decl: Span },
    Builtin(&'static str),
}

impl Snapshot {
    pub fn new(files: Vec<Arc<FileData>>, checked: Checked, now: i64, enc: Encoding) -> Snapshot {
        let mut diagnostics: Vec<Diagnostic> = checked.diagnostics.iter().cloned().collect();
        diagnostics.extend(pac_compiler::expiry_of(&checked.exceptions(), now));
        diagnostics.sort_by_key(|d| (d.file, d.span.start));
        let refs = files.iter().map(|_| OnceLock::new()).collect();
        Snapshot {
            files,
            checked,
            program: OnceLock::new(),
            diagnostics,
            symbols: OnceLock::new(),
            refs,
            enc,
        }
    }

    /// The whole program, assembled on first use (hover on a declaration,
    /// running tests).
    pub fn program(&self) -> &Program {
        self.program.get_or_init(|| {
            let files = self
                .files
                .iter()
                .map(|f| pac_compiler::ir::SourceFile {
                    path: f.path.clone(),
                    text: f.text.clone(),
                })
                .collect();
            Arc::new(self.checked.assemble(files).0)
        })
    }

    /// Declarations and the names that refer to them, from every file's
    /// syntax tree: built on first use (publishing diagnostics needs none).
    pub fn symbols(&self) -> &Symbols {
        self.symbols.get_or_init(|| {
            let asts: Vec<&ast::File> = self.files.iter().map(|f| &f.ast().file).collect();
            Symbols::build(&asts)
        })
    }

    /// The checker's names in `file`, sorted by position.
    pub fn refs_of(&self, file: u32) -> &[Ref] {
        let Some(cell) = self.refs.get(file as usize) else {
            return &[];
        };
        cell.get_or_init(|| {
            let mut refs = self.checked.refs_in(file);
            refs.sort_by_key(|r| (r.span.start, r.span.end));
            refs.dedup_by(|a, b| a.span == b.span && a.kind == b.kind);
            refs
        })
    }

    /// The checker's names in every file (each file's sorted on first use).
    pub fn all_refs(&self) -> impl Iterator<Item = &Ref> {
        (0..self.files.len() as u32).flat_map(|f| self.refs_of(f).iter())
    }

    pub fn text(&self, file: u32) -> &str {
        self.files
            .get(file as usize)
            .map(|f| &*f.text)
            .unwrap_or("")
    }

    pub fn range(&self, file: u32, span: Span) -> tower_lsp_server::ls_types::Range {
        match self.files.get(file as usize) {
            Some(f) => f.lines().range(&f.text, span.start, span.end, self.enc),
            None => Default::default(),
        }
    }

    pub fn offset(&self, file: u32, pos: tower_lsp_server::ls_types::Position) -> usize {
        match self.files.get(file as usize) {
            Some(f) => f.lines().offset(&f.text, pos, self.enc),
            None => 0,
        }
    }

    fn schemas(&self) -> &pac_compiler::types::Schemas {
        &self.checked.decls.env.schemas
    }

    fn show(&self, t: &Ty) -> String {
        self.schemas().display(t)
    }

    /// The innermost checker reference at `offset`.
    fn ref_at(&self, file: u32, offset: usize) -> Option<Ref> {
        self.checked
            .refs_near(file, offset)
            .into_iter()
            .filter(|r| r.span.contains(offset))
            .min_by_key(|r| r.span.end - r.span.start)
    }

    /// The declaration a name the compiler resolved refers to: the
    /// compiler's resolution, so definition, references and rename follow
    /// the checker wherever it resolved the name.
    fn item_key(&self, kind: &RefKind) -> Option<Key> {
        use pac_compiler::index::ItemKind;
        Some(match kind {
            RefKind::Type(rid) => {
                let rec = self.schemas().records.get(rid.0 as usize)?;
                let kind = match rec.resource_type {
                    Some(_) => DeclKind::Schema,
                    None => DeclKind::Record,
                };
                Key {
                    kind,
                    name: rec.name.clone(),
                }
            }
            RefKind::Item(k, name) => Key {
                kind: match k {
                    ItemKind::Policy => DeclKind::Policy,
                    ItemKind::Rule => DeclKind::Rule,
                    ItemKind::Group => DeclKind::Group,
                    ItemKind::Exception => DeclKind::Exception,
                    ItemKind::Action => DeclKind::Action,
                },
                name: name.clone(),
            },
            RefKind::Fn(q) => Key {
                kind: DeclKind::Fn,
                name: q.clone(),
            },
            _ => return None,
        })
    }

    /// What the name at `offset` denotes, and the span of that name.
    pub fn target_at(&self, file: u32, offset: usize) -> Option<(Target, Span)> {
        if let Some(r) = self.ref_at(file, offset) {
            let t = match &r.kind {
                RefKind::Field { record, field } => Target::Field(*record, *field),
                RefKind::Local { decl } => Target::Local { file, decl: *decl },
                RefKind::LocalDecl => Target::Local { file, decl: r.span },
                RefKind::Builtin(b) => Target::Builtin(b),
                RefKind::Fn(q) => Target::Decl(Key {
                    kind: DeclKind::Fn,
                    name: q.clone(),
                }),
                RefKind::Type(_) | RefKind::Item(..) => Target::Decl(self.item_key(&r.kind)?),
            };
            // A field access `a.b` is recorded on `b`; a bare field name on
            // itself: either way the span is the name.
            return Some((t, r.span));
        }
        if let Some(n) = self
            .symbols()
            .refs
            .iter()
            .find(|n| n.file == file && n.span.contains(offset))
        {
            return Some((Target::Decl(n.key.clone()), n.span));
        }
        let d = self
            .symbols()
            .decls
            .iter()
            .filter(|d| d.file == file && d.name_span.contains(offset))
            .min_by_key(|d| d.name_span.end - d.name_span.start)?;
        Some((self.decl_target(d), d.name_span))
    }

    /// Fields are one target whether named in a schema or used in a rule.
    fn decl_target(&self, d: &Decl) -> Target {
        if d.key.kind == DeclKind::Field
            && let Some((rec, field)) = d.key.name.rsplit_once('.')
            && let Some(rid) = self.record_id(rec)
            && let Some((idx, _)) = self.schemas().record(rid).field(field)
        {
            return Target::Field(rid, idx);
        }
        Target::Decl(d.key.clone())
    }

    fn record_id(&self, name: &str) -> Option<RecordId> {
        self.schemas()
            .records
            .iter()
            .position(|r| r.name == name)
            .map(|i| RecordId(i as u32))
    }

    /// Where a target is declared: (file, name span).
    pub fn definition(&self, t: &Target) -> Option<(u32, Span)> {
        match t {
            Target::Decl(k) => self.symbols().decl(k).map(|d| (d.file, d.name_span)),
            Target::Field(rid, idx) => {
                let rec = self.schemas().records.get(rid.0 as usize)?;
                let f = rec.fields.get(*idx as usize)?;
                // Implicit fields point at the schema's name.
                let key = Key {
                    kind: DeclKind::Field,
                    name: format!("{}.{}", rec.name, f.name),
                };
                match self.symbols().decl(&key) {
                    Some(d) => Some((d.file, d.name_span)),
                    None => Some((f.file, f.span)),
                }
            }
            Target::Local { file, decl } => Some((*file, *decl)),
            Target::Builtin(_) => None,
        }
    }

    /// Every place that names `t` (the declaration included when asked).
    pub fn references(&self, t: &Target, include_decl: bool) -> Vec<(u32, Span)> {
        let mut out = Vec::new();
        if include_decl && let Some(d) = self.definition(t) {
            out.push(d);
        }
        match t {
            Target::Decl(k) => {
                for n in &self.symbols().refs {
                    if &n.key == k {
                        out.push((n.file, n.span));
                    }
                }
                // The compiler's resolution of the same names (`fn`
                // calls, types, item names in targets, scopes, fixes and
                // tests); the syntax table's are kept for text the
                // checker did not resolve, and duplicates dropped below.
                for r in self.all_refs() {
                    if matches!(
                        r.kind,
                        RefKind::Fn(_) | RefKind::Type(_) | RefKind::Item(..)
                    ) && self.item_key(&r.kind).as_ref() == Some(k)
                    {
                        out.push((r.file, r.span));
                    }
                }
            }
            Target::Field(rid, idx) => {
                for r in self.all_refs() {
                    if matches!(r.kind, RefKind::Field { record, field } if record == *rid && field == *idx)
                    {
                        out.push((r.file, r.span));
                    }
                }
            }
            Target::Local { file, decl } => {
                for r in self.refs_of(*file) {
                    if matches!(r.kind, RefKind::Local { decl: d } if d == *decl) {
                        out.push((r.file, r.span));
                    }
                }
            }
            Target::Builtin(b) => {
                for r in self.all_refs() {
                    if matches!(r.kind, RefKind::Builtin(x) if x == *b) {
                        out.push((r.file, r.span));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Markdown for the name at `offset`.
    pub fn hover(&self, file: u32, offset: usize) -> Option<(String, Span)> {
        let (t, span) = self.target_at(file, offset)?;
        let ty = self
            .ref_at(file, offset)
            .map(|r| r.ty.clone())
            .filter(|t| !t.is_error());
        let md = match &t {
            Target::Field(rid, idx) => {
                let rec = self.schemas().records.get(rid.0 as usize)?;
                let f = rec.fields.get(*idx as usize)?;
                let shown = ty.unwrap_or_else(|| f.ty.clone());
                let mut s = format!(
                    "```pac\n{}: {}\n```\nfield of `{}`",
                    f.name,
                    self.show(&shown),
                    rec.display_name()
                );
                if let Some(d) = &f.doc {
                    s.push_str("\n\n---\n\n");
                    s.push_str(d);
                }
                s
            }
            Target::Local { .. } => {
                let name = self.text(file).get(span.start..span.end).unwrap_or("");
                match ty {
                    Some(t) => format!("```pac\n{name}: {}\n```\nlocal variable", self.show(&t)),
                    None => format!("```pac\n{name}\n```\nlocal variable"),
                }
            }
            Target::Builtin(name) => builtin_doc(pac_stdlib::lookup(name)?),
            Target::Decl(k) => self.decl_hover(k)?,
        };
        Some((md, span))
    }

    fn decl_hover(&self, k: &Key) -> Option<String> {
        let d = self.symbols().decl(k);
        let doc = d.and_then(|d| d.doc.clone());
        let p = self.program();
        let mut s = match k.kind {
            DeclKind::Policy => {
                let mut s = format!("```pac\npolicy {}\n```", k.name);
                if let Some(pol) = p.policies.iter().find(|x| x.name == k.name) {
                    s.push_str(&format!(
                        "\n**{}** · severity `{}` · category `{}`",
                        pol.title,
                        pol.severity.name(),
                        pol.category
                    ));
                    if let Some(desc) = &pol.description {
                        s.push_str(&format!("\n\n{desc}"));
                    }
                    let rules: Vec<String> = pol
                        .rules
                        .iter()
                        .filter_map(|&i| p.rules.get(i))
                        .map(|r| format!("`{}` on `{}`", r.id, r.resource_type))
                        .collect();
                    if !rules.is_empty() {
                        s.push_str(&format!("\n\nrules: {}", rules.join(", ")));
                    }
                }
                s
            }
            DeclKind::Rule => {
                let mut s = format!("```pac\nrule {}\n```", k.name);
                if let Some(r) = p.rules.iter().find(|r| r.id == k.name) {
                    let pol = p.policy_of(p.rule(&r.id).unwrap_or(0));
                    s.push_str(&format!(
                        "\non `{}` · policy `{}`: **{}** · severity `{}`",
                        r.resource_type,
                        pol.name,
                        pol.title,
                        pol.severity.name()
                    ));
                }
                s
            }
            DeclKind::Group => {
                let mut s = format!("```pac\ngroup {}\n```", k.name);
                if let Some(g) = p.groups.iter().find(|g| g.name == k.name) {
                    if let Some(t) = &g.title {
                        s.push_str(&format!("\n**{t}**"));
                    }
                    let types: Vec<String> = g
                        .members
                        .iter()
                        .map(|m| format!("`{}`", self.schemas().record(m.resource).display_name()))
                        .collect();
                    s.push_str(&format!("\n\nmembers: {}", types.join(", ")));
                }
                s
            }
            DeclKind::Domain => {
                let mut s = format!("```pac\ndomain {}\n```", k.name);
                if let Some(dm) = p.domain(&k.name) {
                    if let Some(t) = &dm.title {
                        s.push_str(&format!("\n**{t}**"));
                    }
                    let n = p.domain_policies(dm).len();
                    s.push_str(&format!("\n\n{n} policies"));
                }
                s
            }
            DeclKind::Exception => {
                let mut s = format!("```pac\nexception {}\n```", k.name);
                if let Some(x) = p.exceptions.iter().find(|x| x.name == k.name) {
                    let expires = if x.expires == i64::MIN {
                        "never".to_string()
                    } else {
                        pac_stdlib::Value::Time(x.expires).to_string()
                    };
                    s.push_str(&format!(
                        "\n{}expires {expires} · reason: {}",
                        if x.sticky { "sticky · " } else { "" },
                        x.reason
                    ));
                }
                s
            }
            DeclKind::Schema | DeclKind::Record => {
                let what = if k.kind == DeclKind::Schema {
                    "schema"
                } else {
                    "record"
                };
                let mut s = format!("```pac\n{what} {}\n```", k.name);
                if let Some(rid) = self.record_id(&k.name) {
                    let n = self.schemas().record(rid).fields.len();
                    s.push_str(&format!("\n{n} fields"));
                }
                s
            }
            DeclKind::Field => {
                let (rec, field) = k.name.rsplit_once('.')?;
                let rid = self.record_id(rec)?;
                let (_, f) = self.schemas().record(rid).field(field)?;
                format!(
                    "```pac\n{field}: {}\n```\nfield of `{rec}`",
                    self.show(&f.ty)
                )
            }
            DeclKind::Fn | DeclKind::Action => {
                let d = d?;
                let head = self
                    .text(d.file)
                    .get(d.span.start..d.span.end)
                    .and_then(|t| t.split('{').next())
                    .and_then(|t| t.split(" = ").next())
                    .unwrap_or("")
                    .trim();
                format!("```pac\n{head}\n```")
            }
            DeclKind::Test => format!("```pac\ntest \"{}\"\n```", k.name),
        };
        if let Some(doc) = doc {
            s.push_str("\n\n---\n\n");
            s.push_str(&doc);
        }
        Some(s)
    }

    /// The file's declarations as an outline: (decl, children).
    pub fn outline(&self, file: u32) -> Vec<(&Decl, Vec<&Decl>)> {
        let mut out: Vec<(&Decl, Vec<&Decl>)> = Vec::new();
        for d in self.symbols().decls.iter().filter(|d| d.file == file) {
            match &d.parent {
                Some(p) => {
                    if let Some(last) = out.iter_mut().rev().find(|(x, _)| &x.key == p) {
                        last.1.push(d);
                    }
                }
                None => out.push((d, Vec::new())),
            }
        }
        out
    }

    /// Code lenses: (span, title, test name filter or None for the file).
    pub fn test_lenses(&self, file: u32) -> Vec<(Span, String, Option<String>)> {
        let Some(f) = self.files.get(file as usize) else {
            return Vec::new();
        };
        let tests: Vec<&ast::Test> = f
            .ast()
            .file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Test(t) => Some(t),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        if let Some(first) = f.ast().file.items.first()
            && !tests.is_empty()
        {
            let at = f
                .ast()
                .file
                .package
                .as_ref()
                .map(|p| p.span)
                .unwrap_or(first.span());
            out.push((
                at,
                format!("▶ Run the {} test(s) of this file", tests.len()),
                None,
            ));
        }
        for t in tests {
            out.push((
                t.name.span,
                "▶ Run test".to_string(),
                Some(t.name.value.clone()),
            ));
        }
        out
    }

    /// Runs the tests of `file` (one of them when `name` is given).
    pub fn run_tests(&self, file: u32, name: Option<&str>) -> pac_runtime::testing::TestReport {
        let mut program = self.program().clone();
        program
            .tests
            .retain(|t| t.file == file && name.is_none_or(|n| t.name == n));
        pac_runtime::testing::run_tests(&program, None)
    }
}

pub fn builtin_doc(b: &pac_stdlib::Builtin) -> String {
    let sigs: Vec<String> = b.sigs.iter().map(|s| format!("{}{s}", b.name)).collect();
    format!(
        "```pac\n{}\n```\n{}\n\nexample: `{}`",
        sigs.join("\n"),
        b.doc,
        b.example
    )
}

// ---------------------------------------------------------------- completion

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Field,
    Function,
    Keyword,
    Type,
    Policy,
    Rule,
    Group,
    Exception,
    Action,
    Value,
    Variable,
}

#[derive(Clone, Debug)]
pub struct Completion {
    pub label: String,
    pub kind: ItemKind,
    pub detail: Option<String>,
    pub doc: Option<String>,
    /// Replace this span (the partial word) instead of the client's guess.
    pub replace: Option<Span>,
    /// The value's type, when it is a value (a field, a local, a call's
    /// result): what ranking by expected type compares.
    pub ty: Option<Ty>,
    /// Lower first (the client's `sortText`): see [`rank`].
    pub rank: u8,
}

/// The order completions are offered in: the resource's fields, then
/// locals, functions, other names, keywords; within each, what fits the
/// expected type first.
fn rank(c: &Completion, expected: Option<&Ty>) -> u8 {
    let by_kind = match c.kind {
        ItemKind::Field => 0,
        ItemKind::Variable => 1,
        ItemKind::Function => 2,
        ItemKind::Keyword => 4,
        _ => 3,
    };
    let fits = match (expected, &c.ty) {
        (Some(want), Some(ty)) => ty.unopt() == want,
        // A value of an unknown type, or a keyword where a value is
        // expected, ranks after the values that fit.
        (Some(_), None) => false,
        (None, _) => true,
    };
    by_kind * 2 + u8::from(!fits)
}

impl Completion {
    fn new(label: impl Into<String>, kind: ItemKind) -> Completion {
        Completion {
            label: label.into(),
            kind,
            detail: None,
            doc: None,
            replace: None,
            ty: None,
            rank: 0,
        }
    }
    fn ty(mut self, t: Ty) -> Completion {
        self.ty = Some(t);
        self
    }
    fn detail(mut self, d: impl Into<String>) -> Completion {
        self.detail = Some(d.into());
        self
    }
    fn doc(mut self, d: Option<String>) -> Completion {
        self.doc = d;
        self
    }
}

/// `offset`, moved back to a character boundary of `text`.
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Snapshot {
    /// Completions at `offset` in `file`, from the text before the cursor,
    /// ranked by the type expected there (a condition wants a `bool`).
    pub fn completions(&self, file: u32, offset: usize) -> Vec<Completion> {
        let text = self.text(file);
        let before = &text[..floor_boundary(text, offset)];
        // The word before the partial one decides what is expected.
        let partial = before.trim_end_matches(|c: char| is_word(c) || c == '.');
        let prev = partial
            .trim_end()
            .rsplit(|c: char| !is_word(c))
            .next()
            .unwrap_or("");
        let expected = if matches!(prev, "when" | "where" | "and" | "or" | "not") {
            Some(Ty::Bool)
        } else {
            self.operand_type(file, partial.trim_end())
        };
        let mut out = self.completions_unranked(file, offset);
        for c in &mut out {
            c.rank = rank(c, expected.as_ref());
        }
        // Stable: within a rank, the order the kinds were gathered in.
        out.sort_by_key(|c| c.rank);
        out
    }

    /// After `x ==` (or `!=`, `<`, `<=`, `>`, `>=`, `??`): the type of `x`,
    /// which the right operand should have; after `x in` (or `not in`) a
    /// list of it. `head` is the text before the partial word, trailing
    /// spaces removed.
    fn operand_type(&self, file: u32, head: &str) -> Option<Ty> {
        // `x in …` / `x not in …`: a list of `x`'s type.
        if let Some(rest) = head.strip_suffix("in")
            && rest.ends_with(char::is_whitespace)
        {
            let mut left = rest.trim_end();
            if let Some(l) = left.strip_suffix("not")
                && l.ends_with(char::is_whitespace)
            {
                left = l.trim_end();
            }
            return self
                .operand_type(file, &format!("{left} =="))
                .map(|t| Ty::List(Box::new(t)));
        }
        let left = ["==", "!=", "<=", ">=", "??", "<", ">"]
            .iter()
            .find_map(|op| head.strip_suffix(op))?
            .trim_end();
        // `->` is a signature's arrow, not a comparison.
        if left.ends_with('-') {
            return None;
        }
        let start = left
            .rfind(|c: char| !(is_word(c) || c == '.'))
            .map_or(0, |i| i + 1);
        let base = &left[start..];
        if base.is_empty() || base.starts_with('.') {
            return None;
        }
        match self.type_before(file, start, left.len(), base)? {
            Ty::Error => None,
            t => Some(t.unopt().clone()),
        }
    }

    fn completions_unranked(&self, file: u32, offset: usize) -> Vec<Completion> {
        let text = self.text(file);
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        // The partial word (with dots: `aws.ec2.in`).
        let word_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word(*c) || *c == '.')
            .last()
            .map(|(i, _)| i)
            .unwrap_or(offset);
        let dotted = &before[word_start..];
        let prev_word = before[..word_start]
            .trim_end()
            .rsplit(|c: char| !is_word(c))
            .next()
            .unwrap_or("");
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = before[line_start..].trim_start();
        let partial_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(offset);

        // Inside a comment or a string: nothing.
        let chunk = self
            .files
            .get(file as usize)
            .map_or(0..text.len(), |f| f.chunk_range(offset));
        if in_comment_or_string(text, chunk, offset) {
            return Vec::new();
        }

        match prev_word {
            "on" | "given" if !dotted.contains('.') || self.is_type_prefix(dotted) => {
                return self.resource_types(Span::new(word_start, offset));
            }
            "severity" => {
                return pac_compiler::ir::Severity::ALL
                    .iter()
                    .map(|(n, _)| Completion::new(*n, ItemKind::Value).detail("severity"))
                    .collect();
            }
            "category" => {
                return pac_compiler::ir::CATEGORIES
                    .iter()
                    .map(|n| Completion::new(*n, ItemKind::Value).detail("category"))
                    .collect();
            }
            "for" | "expect" if !line.starts_with("any") => {
                return self.rule_names(prev_word == "expect", Span::new(word_start, offset));
            }
            "autofix" => {
                return self.actions();
            }
            // `rule on T in GROUP`, `[sticky] exception X for P in GROUP`.
            "in" if line.starts_with("rule")
                || line.starts_with("exception")
                || line.starts_with("sticky") =>
            {
                return self.groups();
            }
            _ => {}
        }

        if let Some((base, _)) = dotted.rsplit_once('.') {
            if self.is_type_prefix(dotted) {
                return self.resource_types(Span::new(word_start, offset));
            }
            let base_end = word_start + base.len();
            let receiver = self.type_before(file, word_start, base_end, base);
            let mut out = match &receiver {
                Some(Ty::Record(rid)) => self.fields_of(*rid),
                _ => Vec::new(),
            };
            // `x.f(…)` calls `f` with `x` first: only the built-ins that
            // take an `x` (all of them while its type is unknown).
            let receiver = receiver.unwrap_or(Ty::Error);
            out.extend(
                pac_stdlib::BUILTINS
                    .iter()
                    .filter(|b| pac_compiler::check::receiver_fits(b, &receiver))
                    .map(|b| {
                        let c = self.builtin(b);
                        match pac_compiler::check::returns_for(b, &receiver) {
                            Ty::Error => c,
                            t => c.ty(t),
                        }
                    }),
            );
            for c in &mut out {
                c.replace = Some(Span::new(partial_start, offset));
            }
            return out;
        }

        // The keys of a `given TYPE handle { … }` record.
        if let Some(rid) = self.given_record(file, offset) {
            let mut out = self.fields_of(rid);
            for c in &mut out {
                c.label.push_str(": ");
                c.replace = Some(Span::new(partial_start, offset));
            }
            return out;
        }

        let mut out: Vec<Completion> = Vec::new();
        if let Some(rid) = self.resource_in_scope(file, offset) {
            out.extend(self.fields_of(rid));
        }
        // Locals declared earlier in the same item.
        let item = self.item_span(file, offset);
        let mut seen = std::collections::HashSet::new();
        for r in self.checked.refs_near(file, offset) {
            if r.kind == RefKind::LocalDecl
                && r.span.end <= offset
                && item.is_some_and(|i| i.contains(r.span.start))
                && let Some(name) = text.get(r.span.start..r.span.end)
                && seen.insert(name.to_string())
            {
                out.push(
                    Completion::new(name, ItemKind::Variable)
                        .detail(self.show(&r.ty))
                        .ty(r.ty.clone()),
                );
            }
        }
        out.extend(self.builtins());
        for d in self
            .symbols()
            .decls
            .iter()
            .filter(|d| d.key.kind == DeclKind::Fn)
        {
            let short = d.key.name.rsplit('.').next().unwrap_or(&d.key.name);
            out.push(
                Completion::new(short, ItemKind::Function)
                    .detail(format!("fn {}", d.key.name))
                    .doc(d.doc.clone()),
            );
        }
        for k in lexer::KEYWORDS.iter().chain(&["domain"]) {
            out.push(Completion::new(*k, ItemKind::Keyword));
        }
        for k in [
            "categories",
            "policies",
            "title",
            "severity",
            "category",
            "description",
            "remediation",
            "tags",
            "message",
            "expires",
            "reason",
            "resources",
        ] {
            out.push(Completion::new(k, ItemKind::Keyword).detail("metadata"));
        }
        out
    }

    /// The resource type of the `given` record literal whose top level
    /// holds the cursor (keys are completed there).
    fn given_record(&self, file: u32, offset: usize) -> Option<RecordId> {
        let from = self.item_span(file, offset).map(|s| s.start).unwrap_or(0);
        let region = self.text(file).get(from..offset)?;
        let (tokens, _) = lexer::lex(region, from);
        let given = tokens.iter().rposition(|t| t.1 == Token::Given)?;
        // `given a.b.c handle {`: the path alternates names and dots.
        let mut name = String::new();
        let mut i = given + 1;
        while let Some((_, t, _)) = tokens.get(i) {
            let want_ident = (i - given - 1) % 2 == 0;
            match t {
                Token::Ident(n) if want_ident => name.push_str(n),
                Token::Dot if !want_ident => name.push('.'),
                _ => break,
            }
            i += 1;
        }
        let ty = self.schemas().resource(&name)?;
        let mut depth = 0i32;
        let mut opened = false;
        for (_, t, _) in &tokens[i..] {
            match t {
                Token::LBrace | Token::LBracket => {
                    depth += 1;
                    opened = true;
                }
                Token::RBrace | Token::RBracket => depth -= 1,
                _ => {}
            }
        }
        // At the top level of the record, right after `{` or `,`.
        let last = tokens.last().map(|t| &t.1);
        let at_key = matches!(last, Some(Token::LBrace | Token::Comma))
            || matches!(last, Some(Token::Ident(_)))
                && matches!(
                    tokens
                        .len()
                        .checked_sub(2)
                        .and_then(|k| tokens.get(k))
                        .map(|t| &t.1),
                    Some(Token::LBrace | Token::Comma)
                );
        (opened && depth == 1 && at_key).then_some(ty)
    }

    /// `aws.ec2.…`: the head of a resource type name, not a value.
    fn is_type_prefix(&self, dotted: &str) -> bool {
        let Some((head, _)) = dotted.split_once('.') else {
            return false;
        };
        let head = format!("{head}.");
        self.schemas()
            .resource_types()
            .any(|(_, t)| t.starts_with(&head))
    }

    fn resource_types(&self, replace: Span) -> Vec<Completion> {
        self.schemas()
            .resource_types()
            .map(|(rid, t)| {
                let rec = self.schemas().record(rid);
                Completion {
                    replace: Some(replace),
                    ..Completion::new(t, ItemKind::Type)
                        .detail(format!("schema ({} fields)", rec.fields.len()))
                        .doc(rec.doc.clone())
                }
            })
            .collect()
    }

    fn rule_names(&self, with_groups: bool, replace: Span) -> Vec<Completion> {
        let mut out = Vec::new();
        for d in &self.symbols().decls {
            let kind = match d.key.kind {
                DeclKind::Policy => ItemKind::Policy,
                DeclKind::Rule => ItemKind::Rule,
                DeclKind::Group if with_groups => ItemKind::Group,
                DeclKind::Exception if with_groups => ItemKind::Exception,
                _ => continue,
            };
            let detail = format!("{:?}", d.key.kind).to_lowercase();
            out.push(Completion {
                replace: Some(replace),
                ..Completion::new(&d.key.name, kind)
                    .detail(detail)
                    .doc(self.decl_hover(&d.key))
            });
        }
        out
    }

    fn actions(&self) -> Vec<Completion> {
        self.checked
            .decls
            .actions
            .iter()
            .map(|a| {
                let short = a.name.rsplit('.').next().unwrap_or(&a.name);
                let params: Vec<String> = a
                    .params
                    .iter()
                    .map(|(n, t)| format!("{n}: {}", self.show(t)))
                    .collect();
                Completion::new(short, ItemKind::Action)
                    .detail(format!("action({})", params.join(", ")))
                    .doc(a.doc.clone())
            })
            .collect()
    }

    fn groups(&self) -> Vec<Completion> {
        self.symbols()
            .decls
            .iter()
            .filter(|d| d.key.kind == DeclKind::Group)
            .map(|d| {
                Completion::new(&d.key.name, ItemKind::Group)
                    .detail("group")
                    .doc(self.decl_hover(&d.key))
            })
            .collect()
    }

    fn builtins(&self) -> Vec<Completion> {
        pac_stdlib::BUILTINS
            .iter()
            .map(|b| self.builtin(b))
            .collect()
    }

    /// A built-in, typed by what its signatures return when they all agree.
    fn builtin(&self, b: &pac_stdlib::Builtin) -> Completion {
        let c = Completion::new(b.name, ItemKind::Function)
            .detail(format!(
                "{}{}",
                b.name,
                b.sigs.first().copied().unwrap_or("")
            ))
            .doc(Some(builtin_doc(b)));
        let rets: Vec<Ty> = b
            .sigs
            .iter()
            .filter_map(|s| pac_compiler::sig::parse_sig(s))
            .map(|s| s.ret)
            .collect();
        match rets.split_first() {
            Some((first, rest)) if rest.iter().all(|r| r == first) && *first != Ty::Var => {
                c.ty(first.clone())
            }
            _ => c,
        }
    }

    fn fields_of(&self, rid: RecordId) -> Vec<Completion> {
        let rec = self.schemas().record(rid);
        rec.fields
            .iter()
            .map(|f| {
                Completion::new(&f.name, ItemKind::Field)
                    .detail(self.show(&f.ty))
                    .doc(f.doc.clone())
                    .ty(f.ty.clone())
            })
            .collect()
    }

    /// The type of the expression `base` that ends at `base_end`: from the
    /// checker's index when it saw it, else by resolving the dotted text
    /// from its head (a local or a field of the resource in scope).
    fn type_before(&self, file: u32, start: usize, base_end: usize, base: &str) -> Option<Ty> {
        if let Some(r) = self
            .checked
            .refs_near(file, base_end)
            .into_iter()
            .find(|r| r.span.end == base_end && !r.ty.is_error())
        {
            return Some(r.ty.unopt().clone());
        }
        let mut parts = base.split('.');
        let head = parts.next()?;
        let text = self.text(file);
        // The nearest declaration or use of a local with this name before.
        let local = self
            .checked
            .refs_near(file, start)
            .into_iter()
            .filter(|r| {
                r.span.start < start
                    && matches!(r.kind, RefKind::LocalDecl | RefKind::Local { .. })
                    && text.get(r.span.start..r.span.end) == Some(head)
            })
            .max_by_key(|r| r.span.start)
            .map(|r| r.ty.clone());
        let mut ty = match local {
            Some(t) => t,
            None if head == "self" => Ty::Record(self.resource_in_scope(file, start)?),
            None => {
                let field = self
                    .resource_in_scope(file, start)
                    .and_then(|rid| self.schemas().record(rid).field(head))
                    .map(|(_, f)| f.ty.clone());
                match field {
                    Some(t) => t,
                    None => self.quantifier_binding(file, start, head)?,
                }
            }
        };
        for p in parts {
            let Ty::Record(rid) = ty.unopt() else {
                return None;
            };
            ty = self.schemas().record(*rid).field(p)?.1.ty.clone();
        }
        Some(ty.unopt().clone())
    }

    /// The element type of `head` bound by `any head in COLL` (or `all`,
    /// `none`, `exists`, `count`) earlier in the same item, read from the
    /// tokens: the statement being typed does not parse yet.
    fn quantifier_binding(&self, file: u32, start: usize, head: &str) -> Option<Ty> {
        let text = self.text(file);
        let from = self.item_span(file, start).map(|s| s.start).unwrap_or(0);
        let region = text.get(from..start)?;
        let (tokens, _) = lexer::lex(region, from);
        let mut found = None;
        for (i, w) in tokens.windows(3).enumerate() {
            if matches!(
                w[0].1,
                Token::Any | Token::All | Token::None | Token::Exists | Token::Count
            ) && matches!(&w[1].1, Token::Ident(n) if n == head)
                && w[2].1 == Token::In
            {
                found = Some(i + 3);
            }
        }
        let first = found?;
        // The collection: `a.b.c` right after `in`.
        let mut end = first;
        while let Some((_, t, _)) = tokens.get(end) {
            let want_ident = (end - first) % 2 == 0;
            match t {
                Token::Ident(_) if want_ident => end += 1,
                Token::Dot if !want_ident => end += 1,
                _ => break,
            }
        }
        let (cs, ce) = (tokens.get(first)?.0, tokens.get(end.checked_sub(1)?)?.2);
        let coll = text.get(cs..ce)?;
        if let Some(rid) = self.schemas().resource(coll) {
            return Some(Ty::Record(rid));
        }
        if coll == head {
            return None;
        }
        match self.type_before(file, cs, ce, coll)? {
            Ty::List(t) => Some(t.unopt().clone()),
            _ => None,
        }
    }

    fn item_span(&self, file: u32, offset: usize) -> Option<Span> {
        let f = self.files.get(file as usize)?;
        let (at, items) = f.items_near(offset);
        let rel = offset.checked_sub(at)?;
        items
            .iter()
            .map(|i| i.span())
            .find(|s| s.contains(rel))
            .map(|s| Span::new(s.start + at, s.end + at))
    }

    /// The resource type of the rule (or group member) around `offset`.
    fn resource_in_scope(&self, file: u32, offset: usize) -> Option<RecordId> {
        let f = self.files.get(file as usize)?;
        let (at, items) = f.items_near(offset);
        // Spans of `items` are relative to `at`.
        let rel = offset.checked_sub(at)?;
        for item in items {
            match item {
                Item::Policy(p) if p.span.contains(rel) => {
                    for m in &p.members {
                        if let PolicyMember::Rule(r) = m
                            && r.span.contains(rel)
                        {
                            return self.schemas().resource(&r.on.text());
                        }
                    }
                }
                Item::Group(g) if g.span.contains(rel) => {
                    for m in &g.members {
                        if let ast::GroupMember::Type { ty, span, .. } = m
                            && span.start <= rel
                        {
                            return self.schemas().resource(&ty.text());
                        }
                    }
                }
                _ => {}
            }
        }
        // Text that does not parse: the last `on TYPE` before the cursor.
        let from = self.item_span(file, offset).map(|s| s.start).unwrap_or(0);
        let region = self.text(file).get(from..offset)?;
        let (tokens, _) = lexer::lex(region, from);
        let mut found = None;
        for (i, (_, t, _)) in tokens.iter().enumerate() {
            if *t == Token::On {
                let mut name = String::new();
                for (_, t, _) in &tokens[i + 1..] {
                    match t {
                        Token::Ident(n) => name.push_str(n),
                        Token::Dot => name.push('.'),
                        _ => break,
                    }
                }
                if let Some(rid) = self.schemas().resource(&name) {
                    found = Some(rid);
                }
            }
        }
        found
    }
}

/// Whether `offset` is inside a comment or a string; `chunk` holds it
/// (lexing the whole file on every completion cost more than the rest of
/// the completion on a large file).
fn in_comment_or_string(text: &str, chunk: std::ops::Range<usize>, offset: usize) -> bool {
    let from = chunk.start;
    let (_, comments) = lexer::lex(text.get(chunk).unwrap_or(""), from);
    if comments.iter().any(|c| c.start < offset && offset <= c.end) {
        return true;
    }
    // Strings never span lines: scan the line up to the cursor (an
    // unterminated string is a lexer error, not a string token).
    let line = &text[text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0)..offset];
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '/' if !in_str && chars.peek() == Some(&'/') => return true,
            _ => {}
        }
    }
    in_str
}

// ----------------------------------------------------------- semantic tokens

/// The legend, in index order.
pub const TOKEN_TYPES: &[&str] = &[
    "keyword", "string", "number", "comment", "operator", "property", "variable", "function",
    "type", "class", "method", "enum", "event",
];
pub const TOKEN_MODIFIERS: &[&str] = &["declaration", "documentation", "defaultLibrary"];

fn ty_index(name: &str) -> u32 {
    TOKEN_TYPES.iter().position(|t| *t == name).unwrap_or(0) as u32
}

/// (start, end, type, modifiers) of every token of a file, in order.
pub fn semantic_spans(snap: &Snapshot, file: u32) -> Vec<(usize, usize, u32, u32)> {
    let text = snap.text(file);
    let (tokens, comments) = lexer::lex(text, 0);
    let mut kinds: HashMap<usize, (u32, u32)> = HashMap::new();
    for r in snap.refs_of(file) {
        let k = match &r.kind {
            RefKind::Field { .. } => (ty_index("property"), 0),
            RefKind::Local { .. } => (ty_index("variable"), 0),
            RefKind::LocalDecl => (ty_index("variable"), 1),
            RefKind::Builtin(_) => (ty_index("function"), 4),
            RefKind::Fn(_) => (ty_index("function"), 0),
            // Item and type names: coloured from the declarations table below.
            RefKind::Type(_) | RefKind::Item(..) => continue,
        };
        kinds.insert(r.span.start, k);
    }
    let decl_type = |k: DeclKind| match k {
        DeclKind::Policy => "class",
        DeclKind::Rule => "method",
        DeclKind::Group | DeclKind::Domain => "enum",
        DeclKind::Exception => "event",
        DeclKind::Schema | DeclKind::Record => "type",
        DeclKind::Field => "property",
        DeclKind::Fn | DeclKind::Action => "function",
        DeclKind::Test => "string",
    };
    for d in snap.symbols().decls.iter().filter(|d| d.file == file) {
        kinds.insert(d.name_span.start, (ty_index(decl_type(d.key.kind)), 1));
    }
    for n in snap.symbols().refs.iter().filter(|n| n.file == file) {
        kinds.insert(n.span.start, (ty_index(decl_type(n.key.kind)), 0));
    }
    let mut out: Vec<(usize, usize, u32, u32)> = Vec::new();
    for (s, t, e) in &tokens {
        let (ty, m) = match t {
            Token::Str(_) => (ty_index("string"), 0),
            Token::Int(_)
            | Token::Float(_)
            | Token::Duration(_)
            | Token::Timestamp(_)
            | Token::Ip(_)
            | Token::Cidr(_) => (ty_index("number"), 0),
            Token::Ident(_) => match kinds.get(s) {
                Some(k) => *k,
                None => continue,
            },
            Token::Error(_) => continue,
            t => {
                let txt = lexer::token_text(t);
                if txt.chars().all(|c| c.is_ascii_alphabetic()) && !txt.is_empty() {
                    match kinds.get(s) {
                        // A keyword used as a field name (`.from`).
                        Some(k) => *k,
                        None => (ty_index("keyword"), 0),
                    }
                } else if txt.chars().any(|c| "=<>!?+-*/%".contains(c)) {
                    (ty_index("operator"), 0)
                } else {
                    continue;
                }
            }
        };
        out.push((*s, *e, ty, m));
    }
    for c in &comments {
        let m = if c.kind == CommentKind::Doc { 2 } else { 0 };
        out.push((c.start, c.end, ty_index("comment"), m));
    }
    out.sort_by_key(|x| x.0);
    out
}

/// Semantic tokens in the protocol's relative encoding: one token per line
/// piece (clients need not support multi-line ones). Positions come from a
/// cursor that moves forward through the text, so the cost is linear in the
/// text, however long its lines.
pub fn semantic_tokens(
    snap: &Snapshot,
    file: u32,
) -> Vec<tower_lsp_server::ls_types::SemanticToken> {
    use tower_lsp_server::ls_types::SemanticToken;
    let text = snap.text(file);
    let enc = snap.enc;
    let mut data = Vec::new();
    let (mut prev_line, mut prev_col) = (0u32, 0u32);
    // The cursor: byte offset, its line and its column in `enc` units.
    let (mut at, mut line, mut col) = (0usize, 0u32, 0u32);
    for (s, e, ty, m) in semantic_spans(snap, file) {
        let mut start = s.min(text.len());
        let e = e.min(text.len());
        if start < at {
            continue; // overlaps the previous token
        }
        while start < e {
            let line_end = text
                .get(start..e)
                .and_then(|t| t.find('\n'))
                .map(|i| start + i)
                .unwrap_or(e);
            let (Some(gap), Some(piece)) = (text.get(at..start), text.get(start..line_end)) else {
                break;
            };
            match gap.rfind('\n') {
                Some(i) => {
                    line += gap.matches('\n').count() as u32;
                    col = enc.len(&gap[i + 1..]);
                }
                None => col += enc.len(gap),
            }
            let len = enc.len(piece);
            if len > 0 {
                let dl = line - prev_line;
                let dc = if dl == 0 { col - prev_col } else { col };
                data.push(SemanticToken {
                    delta_line: dl,
                    delta_start: dc,
                    length: len,
                    token_type: ty,
                    token_modifiers_bitset: m,
                });
                prev_line = line;
                prev_col = col;
            }
            col += len;
            at = line_end;
            start = line_end + 1;
        }
    }
    data
}

/// Folding ranges: (start, end, is_comment) as byte spans.
pub fn folding_spans(snap: &Snapshot, file: u32) -> Vec<(usize, usize, bool)> {
    let Some(f) = snap.files.get(file as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in &f.ast().file.items {
        out.push((item.span().start, item.span().end, false));
        match item {
            Item::Policy(p) => {
                for m in &p.members {
                    if let PolicyMember::Rule(r) = m {
                        out.push((r.span.start, r.span.end, false));
                    }
                }
            }
            Item::Schema(s) => {
                for fd in &s.fields {
                    if let Some(d) = &fd.doc {
                        out.push((d.span.start, d.span.end, true));
                    }
                }
            }
            _ => {}
        }
    }
    // Runs of consecutive line comments.
    let mut run: Option<(usize, usize)> = None;
    for c in &f.ast().file.comments {
        match run {
            Some((s, e))
                if f.text
                    .get(e..c.start)
                    .is_some_and(|gap| gap.trim().is_empty() && gap.matches('\n').count() <= 1) =>
            {
                run = Some((s, c.end));
            }
            _ => {
                if let Some((s, e)) = run {
                    out.push((s, e, true));
                }
                run = Some((c.start, c.end));
            }
        }
    }
    if let Some((s, e)) = run {
        out.push((s, e, true));
    }
    out
}

// -------------------------------------------------------------- code actions

pub struct Fix {
    pub title: String,
    pub edits: Vec<(Span, String)>,
    pub preferred: bool,
    /// The diagnostic it fixes.
    pub diagnostic: Option<usize>,
}

impl Snapshot {
    /// Quick fixes for diagnostics overlapping `span`, and refactorings at it.
    pub fn code_actions(&self, file: u32, span: Span) -> Vec<Fix> {
        let text = self.text(file);
        let mut out = Vec::new();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if d.file != file || d.span.end < span.start || d.span.start > span.end {
                continue;
            }
            if d.code == "E0302" {
                out.extend(self.optional_fixes(file, d, i));
            } else if let Some(s) = &d.suggestion {
                out.push(Fix {
                    title: format!("{} (replace with `{}`)", s.message, s.replacement),
                    edits: vec![(s.span, s.replacement.clone())],
                    preferred: true,
                    diagnostic: Some(i),
                });
            }
            if d.code == "E0401"
                && let Some(example) = d.notes.iter().find_map(|n| between_backticks(n))
                && let Some(brace) = text.get(d.span.end..).and_then(|t| t.find('{'))
            {
                let at = d.span.end + brace + 1;
                out.push(Fix {
                    title: format!("Add `{example}`"),
                    edits: vec![(Span::new(at, at), format!("\n  {example}"))],
                    preferred: true,
                    diagnostic: Some(i),
                });
            }
        }
        if let Some(fix) = self.test_skeleton(file, span.start) {
            out.push(fix);
        }
        out
    }

    /// The fixes of a value that may be missing (E0302): guard the
    /// condition it is part of with `has(x) and …` (preferred: a missing
    /// value then never fails the rule), or give it a default with `??` —
    /// the default the file already gives that value elsewhere when there
    /// is one, else the checker's neutral one.
    fn optional_fixes(&self, file: u32, d: &Diagnostic, i: usize) -> Vec<Fix> {
        let text = self.text(file);
        let Some(x) = text.get(d.span.start..d.span.end) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(at) = conjunct_start(text, d.span.start) {
            out.push(Fix {
                title: format!("Guard with `has({x}) and …`"),
                edits: vec![(Span::new(at, at), format!("has({x}) and "))],
                preferred: true,
                diagnostic: Some(i),
            });
        }
        let default = users_default(text, x).or_else(|| {
            d.suggestion
                .as_ref()
                .map(|s| s.replacement.clone())
                .and_then(|r| {
                    // The checker's suggestion is `(x ?? D)`: keep D.
                    r.strip_suffix(')')
                        .and_then(|r| r.rsplit_once(" ?? "))
                        .map(|(_, def)| def.to_string())
                })
        });
        if let Some(def) = default {
            out.push(Fix {
                title: format!("Use a default: `{x} ?? {def}`"),
                edits: vec![(d.span, format!("({x} ?? {def})"))],
                preferred: false,
                diagnostic: Some(i),
            });
        }
        out
    }

    /// "Create a test for this rule": a test block at the end of the file.
    fn test_skeleton(&self, file: u32, offset: usize) -> Option<Fix> {
        let f = self.files.get(file as usize)?;
        for item in &f.ast().file.items {
            let Item::Policy(p) = item else { continue };
            if !p.span.contains(offset) {
                continue;
            }
            let rules: Vec<&ast::Rule> = p
                .members
                .iter()
                .filter_map(|m| match m {
                    PolicyMember::Rule(r) => Some(r),
                    _ => None,
                })
                .collect();
            let rule = rules
                .iter()
                .find(|r| r.span.contains(offset))
                .or(rules.first())?;
            let target = match &rule.name {
                Some(n) if rules.len() > 1 => format!("{}.{}", p.name.name, n.name),
                _ => p.name.name.clone(),
            };
            let ty = rule.on.text();
            let mut fields = vec!["id: \"r-1\"".to_string()];
            if let Some(rid) = self.schemas().resource(&ty) {
                fields.extend(required_fields(rid, self.schemas(), 0));
            }
            let text = &f.text;
            let sep = if text.ends_with('\n') { "\n" } else { "\n\n" };
            let skeleton = format!(
                "{sep}test \"{target} flags a violating resource\" {{\n  given {ty} r {{ {} }}\n  expect {target} fails r\n}}\n",
                fields.join(", ")
            );
            return Some(Fix {
                title: format!("Create a test for `{target}`"),
                edits: vec![(Span::new(text.len(), text.len()), skeleton)],
                preferred: false,
                diagnostic: None,
            });
        }
        None
    }
}

/// Where the operand of `and`/`or` (or the whole condition) that holds
/// `offset` begins: the token after the nearest `and`, `or`, `when`,
/// `where`, `:`, `,`, `then`, `else`, `=` or unmatched opening bracket to
/// the left at the same depth.
fn conjunct_start(text: &str, offset: usize) -> Option<usize> {
    // Only the current line and the ones above it up to the item matter;
    // lexing from the item's start keeps this cheap on a large file.
    let from = text[..offset].rfind("\n}").map_or(0, |i| i + 2);
    let (tokens, _) = lexer::lex(text.get(from..offset)?, from);
    let mut depth = 0usize;
    let mut start = offset;
    for (s, t, _) in tokens.iter().rev() {
        match t {
            Token::RParen | Token::RBracket | Token::RBrace => depth += 1,
            Token::LParen | Token::LBracket | Token::LBrace if depth == 0 => return Some(start),
            Token::LParen | Token::LBracket | Token::LBrace => depth -= 1,
            Token::And
            | Token::Or
            | Token::When
            | Token::Where
            | Token::Colon
            | Token::Comma
            | Token::Then
            | Token::Else
            | Token::Assign
            | Token::Semi
                if depth == 0 =>
            {
                return Some(start);
            }
            _ => {}
        }
        start = *s;
    }
    None
}

/// The default the file already gives `x` (`x ?? D` with a literal `D`).
fn users_default(text: &str, x: &str) -> Option<String> {
    let pat = format!("{x} ?? ");
    text.match_indices(&pat).find_map(|(at, _)| {
        let rest = &text[at + pat.len()..];
        let (tokens, _) = lexer::lex(&rest[..floor_boundary(rest, 200)], 0);
        let (s, t, e) = tokens.first()?;
        matches!(
            t,
            Token::Str(_) | Token::Int(_) | Token::Float(_) | Token::True | Token::False
        )
        .then(|| rest[*s..*e].to_string())
    })
}

/// A value of type `t` for a test skeleton: required record fields are
/// filled in, recursively; optional ones, lists and maps are left out.
fn default_value(t: &Ty, schemas: &pac_compiler::types::Schemas, depth: usize) -> Option<String> {
    Some(match t {
        Ty::Bool => "false".into(),
        Ty::Int => "0".into(),
        Ty::Float => "0.0".into(),
        Ty::Str => "\"\"".into(),
        Ty::Time => "2026-01-01".into(),
        Ty::Dur => "1d".into(),
        Ty::Ip => "10.0.0.1".into(),
        Ty::Cidr => "10.0.0.0/8".into(),
        Ty::Record(rid) if depth < 4 => {
            let fields = required_fields(*rid, schemas, depth + 1);
            format!("{{ {} }}", fields.join(", "))
        }
        _ => return None,
    })
}

fn required_fields(
    rid: RecordId,
    schemas: &pac_compiler::types::Schemas,
    depth: usize,
) -> Vec<String> {
    let rec = schemas.record(rid);
    let skip = if rec.resource_type.is_some() { 3 } else { 0 };
    rec.fields
        .iter()
        .skip(skip)
        .filter(|f| !f.ty.is_opt())
        .filter_map(|f| {
            Some(format!(
                "{}: {}",
                f.name,
                default_value(&f.ty, schemas, depth)?
            ))
        })
        .collect()
}

fn between_backticks(s: &str) -> Option<String> {
    let a = s.find('`')?;
    let b = s[a + 1..].find('`')?;
    Some(s[a + 1..a + 1 + b].to_string())
}

/// Is `severity` an error for the LSP's purposes.
pub fn is_error(d: &Diagnostic) -> bool {
    d.severity == Severity::Error
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"package t

policy open_ssh {
  title "SSH open"
  severity high
  category security

  rule on aws.ec2.security_group {
    violation when any p in ip_permissions: (p.ip_protocol ?? "") == "-1" and any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0
  }
}
"#;

    fn snap(src: &str) -> (Snapshot, u32) {
        let s = snapshot_of(vec![("t.pac".into(), src.into())], 0, Encoding::Utf16);
        let f = (s.files.len() - 1) as u32;
        (s, f)
    }

    /// Definition follows the checker's resolution: in package `a`, `Tag`
    /// is `a.Tag` (the file's own package first), though `b.Tag` is
    /// declared earlier; references of a policy include the compiler's
    /// resolved uses in exceptions and tests, each once.
    #[test]
    fn definition_and_references_follow_the_checker() {
        let b = "package b\nrecord Tag { v: int }\n";
        let a = "package a\nschema demo.thing { }\nrecord Tag { k: string }\nfn f(t: Tag) -> bool = t.k == \"x\"\n\
                 policy p {\n  title \"t\"\n  severity low\n  category security\n  \
                 rule on demo.thing { violation when id == \"i-1\" }\n}\n\
                 exception \"E-1\" for p { resources [\"i-1\"] expires 2030-01-01 reason \"r\" }\n\
                 test \"t\" { given demo.thing i { } expect p fails i expect \"E-1\" exempts i }\n";
        let s = snapshot_of(
            vec![("b.pac".into(), b.into()), ("a.pac".into(), a.into())],
            0,
            Encoding::Utf16,
        );
        assert!(
            s.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            s.diagnostics
        );
        let fa = (s.files.len() - 1) as u32;
        let at = a.find("t: Tag").unwrap() + 3;
        let (t, _) = s.target_at(fa, at).unwrap();
        let (file, span) = s.definition(&t).unwrap();
        assert_eq!(file, fa, "{t:?}");
        assert_eq!(&a[span.start..span.end], "Tag");
        assert_eq!(span.start, a.find("record Tag").unwrap() + 7);

        let at = a.find("policy p").unwrap() + 7;
        let (t, _) = s.target_at(fa, at).unwrap();
        let refs = s.references(&t, false);
        let uses: Vec<usize> = refs.iter().map(|(_, sp)| sp.start).collect();
        assert_eq!(
            uses,
            vec![
                a.find("for p").unwrap() + 4,
                a.find("expect p").unwrap() + 7
            ],
            "{refs:?}"
        );
        let at = a.find("\"E-1\" exempts").unwrap() + 1;
        let (t, span) = s.target_at(fa, at).unwrap();
        assert_eq!(&a[span.start..span.end], "E-1", "{t:?}");
    }

    fn labels(c: &[Completion]) -> Vec<&str> {
        c.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn locals_have_types_and_definitions() {
        let (s, f) = snap(SRC);
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        let use_at = SRC.find("p.ip_protocol").unwrap();
        let (md, _) = s.hover(f, use_at).unwrap();
        assert!(md.contains("p: IpPermission"), "{md}");
        let (t, _) = s.target_at(f, use_at).unwrap();
        let decl = SRC.find("any p").unwrap() + 4;
        assert_eq!(s.definition(&t), Some((f, Span::new(decl, decl + 1))));
        assert_eq!(s.references(&t, false).len(), 2);
    }

    #[test]
    fn completion_after_a_dot_in_text_that_does_not_parse() {
        // `p.` then the cursor: the statement is broken, the binding is
        // found in the tokens and its element type in the schema.
        let at = SRC.find("p.ip_protocol").unwrap() + 2;
        let broken = format!("{}\n  }}\n}}\n", &SRC[..at]);
        let (s, f) = snap(&broken);
        assert!(!s.diagnostics.is_empty());
        let c = s.completions(f, at);
        let l = labels(&c);
        assert!(
            l.contains(&"from_port") && l.contains(&"ip_ranges"),
            "{l:?}"
        );
        // Nested: `r.` where r ranges over `p.ip_ranges`.
        let at = SRC.find("r.cidr_ip").unwrap() + 2;
        let broken = format!("{}\n  }}\n}}\n", &SRC[..at]);
        let (s, f) = snap(&broken);
        let l: Vec<String> = s.completions(f, at).into_iter().map(|c| c.label).collect();
        assert!(l.iter().any(|x| x == "cidr_ip"), "{l:?}");
        // `self.` in a rule on S3 buckets.
        let src = "policy b {\n  rule on aws.s3.bucket {\n    violation when self.";
        let (s, f) = snap(src);
        let l: Vec<String> = s
            .completions(f, src.len())
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert!(l.iter().any(|x| x == "versioning"), "{l:?}");
    }

    #[test]
    fn completion_ranks_by_expected_type_and_offers_only_fitting_builtins() {
        // After a dot on a string: the string built-ins, not `keys` (a map's).
        let src = "policy b {\n  rule on aws.s3.bucket {\n    violation when name.";
        let (s, f) = snap(src);
        let c = s.completions(f, src.len());
        let l = labels(&c);
        assert!(l.contains(&"starts_with") && l.contains(&"len"), "{l:?}");
        assert!(
            !l.contains(&"keys") && !l.contains(&"cidr_contains"),
            "{l:?}"
        );
        // After `when` a condition is expected: the fields first, the bool
        // ones (`source_dest_check`) before the others, keywords last.
        let src = "policy b {\n  rule on aws.ec2.instance {\n    violation when ";
        let (s, f) = snap(src);
        let c = s.completions(f, src.len());
        let ranks: Vec<u8> = c.iter().map(|c| c.rank).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
        let is_bool = |c: &Completion| c.ty.as_ref().is_some_and(|t| t.unopt() == &Ty::Bool);
        let pos = |p: &dyn Fn(&Completion) -> bool| c.iter().position(p).unwrap();
        assert_eq!(c[0].label, "source_dest_check", "{:?}", labels(&c));
        let other_field = pos(&|c| c.kind == ItemKind::Field && !is_bool(c));
        let function = pos(&|c| c.kind == ItemKind::Function);
        let keyword = pos(&|c| c.kind == ItemKind::Keyword);
        assert!(0 < other_field && other_field < function && function < keyword);
        // Among the functions, those giving a bool first.
        assert!(is_bool(&c[function]), "{}", c[function].label);
    }

    #[test]
    fn after_a_comparison_values_of_the_left_operands_type_come_first() {
        let src = "policy b {\n  rule on aws.ec2.instance {\n    violation when state.name == \"running\" and instance_type == ";
        let (s, f) = snap(src);
        let c = s.completions(f, src.len());
        let ty = |c: &Completion| c.ty.as_ref().map(|t| t.unopt().clone());
        assert_eq!(c[0].kind, ItemKind::Field);
        assert_eq!(ty(&c[0]), Some(Ty::Str), "{}", c[0].label);
        let last_string_field = c
            .iter()
            .rposition(|c| c.kind == ItemKind::Field && ty(c) == Some(Ty::Str))
            .unwrap();
        let first_bool_field = c
            .iter()
            .position(|c| c.kind == ItemKind::Field && ty(c) == Some(Ty::Bool))
            .unwrap();
        assert!(last_string_field < first_bool_field);
        // A signature's `->` is not a comparison.
        assert_eq!(s.operand_type(f, "fn f(x: int) ->"), None);
    }

    #[test]
    fn after_in_on_a_rule_or_exception_head_the_groups_come() {
        let head = "group web {\n  aws.ec2.instance\n}\npolicy p {\n  title \"t\"\n  severity low\n  category security\n  rule on aws.ec2.instance { violation when false }\n}\n";
        for tail in [
            "sticky exception w for p in ",
            "exception \"X-1\" for p in ",
            "policy q {\n  rule on aws.ec2.instance in ",
        ] {
            let src = format!("{head}{tail}");
            let (s, f) = snap(&src);
            let c = s.completions(f, src.len());
            assert_eq!(labels(&c), ["web"], "{tail}");
        }
    }

    #[test]
    fn after_in_lists_of_the_left_operands_type_come_first() {
        let src = "policy b {\n  rule on aws.iam.user {\n    violation when user_name not in ";
        let (s, f) = snap(src);
        let c = s.completions(f, src.len());
        assert_eq!(c[0].label, "policy_names", "{:?}", labels(&c));
        let strings = Ty::List(Box::new(Ty::Str));
        assert_eq!(s.operand_type(f, &src[..src.len() - 1]), Some(strings));
        // A quantifier's `in` binds a new name: nothing is expected.
        let src = "policy b {\n  rule on aws.iam.user {\n    violation when any d in ";
        let (s, f) = snap(src);
        assert_eq!(s.operand_type(f, &src[..src.len() - 1]), None);
    }

    /// The text after applying `fix` to `src`.
    fn applied(src: &str, fix: &Fix) -> String {
        let mut out = src.to_string();
        let mut edits = fix.edits.clone();
        edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
        for (s, t) in edits {
            out.replace_range(s.start..s.end, &t);
        }
        out
    }

    #[test]
    fn a_value_that_may_be_missing_is_guarded_or_given_the_users_default() {
        let head = "policy p {\n  title \"t\"\n  severity low\n  category security\n  rule on aws.ec2.instance {\n";
        let src = format!(
            "{head}    violation when (state?.name ?? \"\") == \"running\" and key_name == \"prod\"\n  }}\n}}\n"
        );
        let (s, f) = snap(&src);
        let at = src.find("key_name ==").unwrap();
        let fixes = s.code_actions(f, Span::new(at, at));
        let guard = fixes
            .iter()
            .find(|x| x.title.starts_with("Guard"))
            .expect("a guard fix");
        assert!(guard.preferred && guard.diagnostic.is_some());
        assert!(
            applied(&src, guard).contains(
                "when (state?.name ?? \"\") == \"running\" and has(key_name) and key_name == \"prod\""
            ),
            "{}",
            applied(&src, guard)
        );
        let def = fixes
            .iter()
            .find(|x| x.title.starts_with("Use a default"))
            .unwrap();
        assert!(applied(&src, def).contains("(key_name ?? \"\") == \"prod\""));
        // The guarded text checks cleanly.
        let (g, _) = snap(&applied(&src, guard));
        assert!(g.diagnostics.is_empty(), "{:?}", g.diagnostics);

        let named = head.replace("rule on", "rule a on");
        // Inside parentheses the guard goes inside; the file's own default
        // is kept.
        let src = format!(
            "{named}    violation when not (key_name == \"prod\")\n  }}\n  rule b on aws.ec2.instance {{\n    violation when (key_name ?? \"none\") == \"x\"\n  }}\n}}\n"
        );
        let (s, f) = snap(&src);
        let at = src.find("key_name == \"prod").unwrap();
        let fixes = s.code_actions(f, Span::new(at, at));
        let guard = fixes.iter().find(|x| x.title.starts_with("Guard")).unwrap();
        assert!(
            applied(&src, guard).contains("when not (has(key_name) and key_name == \"prod\")"),
            "{}",
            applied(&src, guard)
        );
        let def = fixes
            .iter()
            .find(|x| x.title.starts_with("Use a default"))
            .unwrap();
        assert!(
            applied(&src, def).contains("not ((key_name ?? \"none\") == \"prod\")"),
            "{}",
            applied(&src, def)
        );
    }

    #[test]
    fn completion_by_context() {
        let src = "policy b {\n  severity \n  rule on aws.s3.";
        let (s, f) = snap(src);
        let sev = src.find("severity ").unwrap() + 9;
        assert_eq!(
            labels(&s.completions(f, sev)),
            vec!["critical", "high", "medium", "low", "info"]
        );
        let c = s.completions(f, src.len());
        assert!(labels(&c).contains(&"aws.s3.bucket"));
        let start = src.find("aws.s3.").unwrap();
        assert_eq!(c[0].replace, Some(Span::new(start, src.len())));
        // Nothing inside comments and strings.
        let src = "// any p in x: p.\npolicy b { title \"p.";
        let (s, f) = snap(src);
        assert!(s.completions(f, 17).is_empty());
        assert!(s.completions(f, src.len()).is_empty());
    }

    #[test]
    fn completion_of_given_record_keys() {
        let src = "test \"t\" {\n  given aws.ec2.vpc v {\n    vpc_id: \"vpc-1\",\n    ";
        let (s, f) = snap(src);
        let l: Vec<String> = s
            .completions(f, src.len())
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert!(l.iter().any(|x| x == "cidr_block: "), "{l:?}");
        // Not in a value position.
        let src = "test \"t\" {\n  given aws.ec2.vpc v {\n    vpc_id: ";
        let (s, f) = snap(src);
        let l: Vec<String> = s
            .completions(f, src.len())
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert!(!l.iter().any(|x| x == "cidr_block: "), "{l:?}");
    }

    #[test]
    fn did_you_mean_and_test_skeleton_actions() {
        let src = "policy b {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.s3.bucket {\n    violation when not has(versionning.status)\n  }\n}\n";
        let (s, f) = snap(src);
        let at = src.find("versionning").unwrap();
        let fixes = s.code_actions(f, Span::new(at, at));
        let fix = fixes
            .iter()
            .find(|x| x.diagnostic.is_some())
            .expect("a quick fix");
        assert_eq!(
            fix.edits,
            vec![(Span::new(at, at + 11), "versioning".to_string())]
        );
        let skel = fixes
            .iter()
            .find(|x| x.title == "Create a test for `b`")
            .unwrap();
        let mut fixed = src.replace("versionning", "versioning");
        fixed.push_str(&skel.edits[0].1);
        // The skeleton is valid Pac that checks (required fields filled).
        let (s, _) = snap(&fixed);
        assert!(s.diagnostics.is_empty(), "{fixed}\n{:?}", s.diagnostics);
    }

    #[test]
    fn semantic_tokens_and_folds_cover_the_file() {
        let (s, f) = snap(SRC);
        let toks = semantic_spans(&s, f);
        assert!(toks.windows(2).all(|w| w[0].0 <= w[1].0));
        let kind = |needle: &str| {
            let at = SRC.find(needle).unwrap();
            TOKEN_TYPES[toks.iter().find(|t| t.0 == at).unwrap().2 as usize]
        };
        assert_eq!(kind("policy"), "keyword");
        assert_eq!(kind("open_ssh"), "class");
        assert_eq!(kind("ip_permissions"), "property");
        assert_eq!(kind("\"SSH open\""), "string");
        assert_eq!(kind("aws.ec2"), "type");
        let folds = folding_spans(&s, f);
        assert!(folds.iter().any(|x| x.0 == SRC.find("policy").unwrap()));
    }

    #[test]
    fn rename_targets_are_declarations_not_fields() {
        let (s, f) = snap(SRC);
        let at = SRC.find("open_ssh").unwrap();
        let (t, _) = s.target_at(f, at).unwrap();
        assert!(matches!(
            t,
            Target::Decl(Key {
                kind: DeclKind::Policy,
                ..
            })
        ));
        let at = SRC.find("ip_permissions").unwrap();
        assert!(matches!(s.target_at(f, at).unwrap().0, Target::Field(..)));
    }
}
