//! Answers to editor questions over one compiled snapshot of the workspace:
//! hover, completion, definition, references, rename, symbols, semantic
//! tokens, folding ranges, code actions and code lenses. Everything here is
//! synchronous and pure (no I/O); the server converts to and from the wire.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use pac_compiler::index::{Ref, RefKind};
use pac_compiler::types::{RecordId, Ty};
use pac_compiler::{Compiled, Diagnostic, Severity};
use pac_lang::Span;
use pac_lang::ast::{self, Item, PolicyMember};
use pac_lang::lexer::{self, CommentKind, Token};

use crate::line_index::{Encoding, LineIndex};
use crate::symbols::{Decl, DeclKind, Key, Symbols};

/// One file of the snapshot.
pub struct FileData {
    pub path: String,
    pub text: Arc<str>,
    pub ast: Arc<pac_lang::Parsed>,
    lines: OnceLock<LineIndex>,
}

impl FileData {
    pub fn new(path: String, text: Arc<str>, ast: Arc<pac_lang::Parsed>) -> FileData {
        FileData {
            path,
            text,
            ast,
            lines: OnceLock::new(),
        }
    }
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }
}

/// The workspace as of one revision: files, the compiler's result, the
/// declarations and the resolved names.
pub struct Snapshot {
    pub files: Vec<FileData>,
    pub compiled: Compiled,
    /// Compile diagnostics plus the clock-dependent ones, as `pacc check`.
    pub diagnostics: Vec<Diagnostic>,
    pub symbols: Symbols,
    /// The checker's index, sorted by (file, span start), deduplicated.
    pub refs: Vec<Ref>,
    pub enc: Encoding,
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
    pub fn new(files: Vec<FileData>, compiled: Compiled, now: i64, enc: Encoding) -> Snapshot {
        let mut diagnostics: Vec<Diagnostic> = compiled.diagnostics.iter().cloned().collect();
        diagnostics.extend(pac_compiler::expiry_diagnostics(&compiled.program, now));
        diagnostics.sort_by_key(|d| (d.file, d.span.start));
        let asts: Vec<&ast::File> = files.iter().map(|f| &f.ast.file).collect();
        let symbols = Symbols::build(&asts);
        let mut refs: Vec<Ref> = compiled.index.iter().cloned().collect();
        refs.sort_by_key(|r| (r.file, r.span.start, r.span.end));
        refs.dedup_by(|a, b| a.file == b.file && a.span == b.span && a.kind == b.kind);
        Snapshot {
            files,
            compiled,
            diagnostics,
            symbols,
            refs,
            enc,
        }
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
        &self.compiled.program.schemas
    }

    fn show(&self, t: &Ty) -> String {
        self.schemas().display(t)
    }

    /// The innermost checker reference at `offset`.
    fn ref_at(&self, file: u32, offset: usize) -> Option<&Ref> {
        self.refs
            .iter()
            .filter(|r| r.file == file && r.span.contains(offset))
            .min_by_key(|r| r.span.end - r.span.start)
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
            };
            // A field access `a.b` is recorded on `b`; a bare field name on
            // itself: either way the span is the name.
            return Some((t, r.span));
        }
        if let Some(n) = self
            .symbols
            .refs
            .iter()
            .find(|n| n.file == file && n.span.contains(offset))
        {
            return Some((Target::Decl(n.key.clone()), n.span));
        }
        let d = self
            .symbols
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
            Target::Decl(k) => self.symbols.decl(k).map(|d| (d.file, d.name_span)),
            Target::Field(rid, idx) => {
                let rec = self.schemas().records.get(rid.0 as usize)?;
                let f = rec.fields.get(*idx as usize)?;
                // Implicit fields point at the schema's name.
                let key = Key {
                    kind: DeclKind::Field,
                    name: format!("{}.{}", rec.name, f.name),
                };
                match self.symbols.decl(&key) {
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
                for n in &self.symbols.refs {
                    if &n.key == k {
                        out.push((n.file, n.span));
                    }
                }
                if k.kind == DeclKind::Fn {
                    for r in &self.refs {
                        if matches!(&r.kind, RefKind::Fn(q) if q == &k.name) {
                            out.push((r.file, r.span));
                        }
                    }
                }
            }
            Target::Field(rid, idx) => {
                for r in &self.refs {
                    if matches!(r.kind, RefKind::Field { record, field } if record == *rid && field == *idx)
                    {
                        out.push((r.file, r.span));
                    }
                }
            }
            Target::Local { file, decl } => {
                for r in &self.refs {
                    if r.file == *file && matches!(r.kind, RefKind::Local { decl: d } if d == *decl)
                    {
                        out.push((r.file, r.span));
                    }
                }
            }
            Target::Builtin(b) => {
                for r in &self.refs {
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
        let d = self.symbols.decl(k);
        let doc = d.and_then(|d| d.doc.clone());
        let p = &self.compiled.program;
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
        for d in self.symbols.decls.iter().filter(|d| d.file == file) {
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
            .ast
            .file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Test(t) => Some(t),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        if let Some(first) = f.ast.file.items.first()
            && !tests.is_empty()
        {
            let at = f
                .ast
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
        let mut program = (*self.compiled.program).clone();
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
}

impl Completion {
    fn new(label: impl Into<String>, kind: ItemKind) -> Completion {
        Completion {
            label: label.into(),
            kind,
            detail: None,
            doc: None,
            replace: None,
        }
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

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Snapshot {
    /// Completions at `offset` in `file`, from the text before the cursor.
    pub fn completions(&self, file: u32, offset: usize) -> Vec<Completion> {
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
        if in_comment_or_string(text, offset) {
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
            "in" if line.starts_with("rule") => {
                return self.groups();
            }
            _ => {}
        }

        if let Some((base, _)) = dotted.rsplit_once('.') {
            if self.is_type_prefix(dotted) {
                return self.resource_types(Span::new(word_start, offset));
            }
            let base_end = word_start + base.len();
            let mut out = match self.type_before(file, word_start, base_end, base) {
                Some(Ty::Record(rid)) => self.fields_of(rid),
                _ => Vec::new(),
            };
            // `x.f(…)` calls `f` with `x` first.
            out.extend(self.builtins());
            for c in &mut out {
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
        for r in &self.refs {
            if r.file == file
                && r.kind == RefKind::LocalDecl
                && r.span.end <= offset
                && item.is_some_and(|i| i.contains(r.span.start))
                && let Some(name) = text.get(r.span.start..r.span.end)
                && seen.insert(name.to_string())
            {
                out.push(Completion::new(name, ItemKind::Variable).detail(self.show(&r.ty)));
            }
        }
        out.extend(self.builtins());
        for d in self
            .symbols
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
        for k in lexer::KEYWORDS {
            out.push(Completion::new(*k, ItemKind::Keyword));
        }
        for k in [
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
        for d in &self.symbols.decls {
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
        self.compiled
            .program
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
        self.symbols
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
            .map(|b| {
                Completion::new(b.name, ItemKind::Function)
                    .detail(format!(
                        "{}{}",
                        b.name,
                        b.sigs.first().copied().unwrap_or("")
                    ))
                    .doc(Some(builtin_doc(b)))
            })
            .collect()
    }

    fn fields_of(&self, rid: RecordId) -> Vec<Completion> {
        let rec = self.schemas().record(rid);
        rec.fields
            .iter()
            .map(|f| {
                Completion::new(&f.name, ItemKind::Field)
                    .detail(self.show(&f.ty))
                    .doc(f.doc.clone())
            })
            .collect()
    }

    /// The type of the expression `base` that ends at `base_end`: from the
    /// checker's index when it saw it, else by resolving the dotted text
    /// from its head (a local or a field of the resource in scope).
    fn type_before(&self, file: u32, start: usize, base_end: usize, base: &str) -> Option<Ty> {
        if let Some(r) = self
            .refs
            .iter()
            .find(|r| r.file == file && r.span.end == base_end && !r.ty.is_error())
        {
            return Some(r.ty.unopt().clone());
        }
        let mut parts = base.split('.');
        let head = parts.next()?;
        let text = self.text(file);
        // The nearest declaration or use of a local with this name before.
        let local = self
            .refs
            .iter()
            .filter(|r| {
                r.file == file
                    && r.span.start < start
                    && matches!(r.kind, RefKind::LocalDecl | RefKind::Local { .. })
                    && text.get(r.span.start..r.span.end) == Some(head)
            })
            .max_by_key(|r| r.span.start)
            .map(|r| r.ty.clone());
        let mut ty = match local {
            Some(t) => t,
            None if head == "self" => Ty::Record(self.resource_in_scope(file, start)?),
            None => {
                let rid = self.resource_in_scope(file, start)?;
                self.schemas().record(rid).field(head)?.1.ty.clone()
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

    fn item_span(&self, file: u32, offset: usize) -> Option<Span> {
        let f = self.files.get(file as usize)?;
        f.ast
            .file
            .items
            .iter()
            .map(|i| i.span())
            .find(|s| s.contains(offset))
    }

    /// The resource type of the rule (or group member) around `offset`.
    fn resource_in_scope(&self, file: u32, offset: usize) -> Option<RecordId> {
        let f = self.files.get(file as usize)?;
        for item in &f.ast.file.items {
            match item {
                Item::Policy(p) if p.span.contains(offset) => {
                    for m in &p.members {
                        if let PolicyMember::Rule(r) = m
                            && r.span.contains(offset)
                        {
                            return self.schemas().resource(&r.on.text());
                        }
                    }
                }
                Item::Group(g) if g.span.contains(offset) => {
                    for m in &g.members {
                        if let ast::GroupMember::Type { ty, span, .. } = m
                            && span.start <= offset
                        {
                            return self.schemas().resource(&ty.text());
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }
}

fn in_comment_or_string(text: &str, offset: usize) -> bool {
    let (tokens, comments) = lexer::lex(text, 0);
    comments
        .iter()
        .any(|c| c.start < offset && offset <= c.end && !text[c.start..c.end].ends_with("*/"))
        || comments.iter().any(|c| c.start < offset && offset < c.end)
        || tokens
            .iter()
            .any(|(s, t, e)| matches!(t, Token::Str(_)) && *s < offset && offset < *e)
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
    for r in snap.refs.iter().filter(|r| r.file == file) {
        let k = match &r.kind {
            RefKind::Field { .. } => (ty_index("property"), 0),
            RefKind::Local { .. } => (ty_index("variable"), 0),
            RefKind::LocalDecl => (ty_index("variable"), 1),
            RefKind::Builtin(_) => (ty_index("function"), 4),
            RefKind::Fn(_) => (ty_index("function"), 0),
        };
        kinds.insert(r.span.start, k);
    }
    let decl_type = |k: DeclKind| match k {
        DeclKind::Policy => "class",
        DeclKind::Rule => "method",
        DeclKind::Group => "enum",
        DeclKind::Exception => "event",
        DeclKind::Schema | DeclKind::Record => "type",
        DeclKind::Field => "property",
        DeclKind::Fn | DeclKind::Action => "function",
        DeclKind::Test => "string",
    };
    for d in snap.symbols.decls.iter().filter(|d| d.file == file) {
        kinds.insert(d.name_span.start, (ty_index(decl_type(d.key.kind)), 1));
    }
    for n in snap.symbols.refs.iter().filter(|n| n.file == file) {
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

/// Folding ranges: (start, end, is_comment) as byte spans.
pub fn folding_spans(snap: &Snapshot, file: u32) -> Vec<(usize, usize, bool)> {
    let Some(f) = snap.files.get(file as usize) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in &f.ast.file.items {
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
    for c in &f.ast.file.comments {
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
            if let Some(s) = &d.suggestion {
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

    /// "Create a test for this rule": a test block at the end of the file.
    fn test_skeleton(&self, file: u32, offset: usize) -> Option<Fix> {
        let f = self.files.get(file as usize)?;
        for item in &f.ast.file.items {
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
                for fd in &self.schemas().record(rid).fields
                    [3.min(self.schemas().record(rid).fields.len())..]
                {
                    if !fd.ty.is_opt()
                        && let Some(v) = default_literal(&fd.ty)
                    {
                        fields.push(format!("{}: {v}", fd.name));
                    }
                }
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

fn default_literal(t: &Ty) -> Option<&'static str> {
    Some(match t {
        Ty::Bool => "false",
        Ty::Int => "0",
        Ty::Float => "0.0",
        Ty::Str => "\"\"",
        Ty::List(_) => "[]",
        _ => return None,
    })
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
