//! The compiled policy set: the policy files plus the asset groups and
//! exceptions defined through the API, compiled together so that an API
//! exception's condition is checked and compiled exactly like a rule.
//!
//! API items are syntax, never text. Each field of a request is read on its
//! own terms — a `where` is parsed as exactly one expression, a group name
//! is an identifier, a type or target a dotted name, `expires` one
//! timestamp, everything else a string value — and the item is built as a
//! syntax tree. The synthetic file the compiler reads ([`API_FILE`]) is
//! printed from those trees by the formatter's printer and parsed back to
//! the same trees before it is used, so no field can close its item or add
//! another, whatever it contains. Problems are reported per field, with the
//! position inside the field's own text.

// A `FieldError` answers one bad request field with its position and
// notes; it is built only on the 400 path, so its size costs nothing.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;

use pac_compiler::{Compiled, Diagnostic, Program, Severity, compile_sources};
use pac_lang::ast::{
    self, Expr, ExprKind, GroupMember, Ident, Item, Meta, MetaValue, Name, Path, Span, StrLit,
};
use pac_lang::lexer::{self, Token};
use serde::Serialize;

use crate::store::{ExceptionRow, GroupRow};

/// The name of the synthetic file holding API-defined items.
pub const API_FILE: &str = "<api>/defined-through-the-api.pac";

/// The longest condition accepted from the API, in characters (the
/// documented `maxLength` of every `where`).
pub const MAX_WHERE_CHARS: usize = 16 * 1024;
/// The longest name (group, policy or rule target, resource type) accepted
/// from the API, in characters; checked after the name's grammar so that a
/// long injection attempt is answered with what is wrong with it.
pub const MAX_NAME_CHARS: usize = 128;

/// A compiled policy set and its native engine.
pub struct Loaded {
    pub compiled: Compiled,
    pub engine: pac_jit::Engine,
    /// Set when some API-defined items did not compile with the current
    /// policy files (e.g. their target policy was removed): they are left
    /// out and the scan record says so.
    pub api_problem: Option<String>,
    /// The policy files (path, text) this set was compiled from.
    pub files: Vec<(String, String)>,
    /// Set when the policy files as they are now do not compile: this is
    /// then the last good set, served meanwhile (or, when there never was
    /// one, an empty placeholder that scans refuse).
    pub policy_problem: Option<PolicyProblem>,
}

impl Loaded {
    pub fn program(&self) -> &pac_compiler::Program {
        &self.compiled.program
    }

    /// An empty set, answered by the API when the policies do not compile
    /// and no earlier set was ever stored; scans refuse it.
    pub fn is_placeholder(&self) -> bool {
        self.policy_problem.as_ref().is_some_and(|p| !p.last_good)
    }
}

/// Why the policy files on disk are not what is served.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyProblem {
    /// `file:line: message` of the first error.
    pub first_error: String,
    /// Every error, `file:line: message`.
    pub errors: Vec<String>,
    /// Whether the last good set is served (false: nothing is).
    pub last_good: bool,
    /// When the set served was stored as good (Unix seconds).
    pub saved_at: Option<i64>,
}

impl PolicyProblem {
    /// One sentence for logs, scan records and answers.
    pub fn note(&self) -> String {
        let serving = if self.last_good {
            let at = self
                .saved_at
                .map(|t| format!(" (stored {})", crate::clock::rfc3339(t)))
                .unwrap_or_default();
            format!("the last policy set that compiled is used instead{at}")
        } else {
            "no policy set ever compiled, so none is used".to_string()
        };
        format!(
            "the policy files do not compile ({} error(s), first: {}); {serving}; `pacc check` lists the errors",
            self.errors.len(),
            self.first_error
        )
    }
}

/// The policy files do not compile (or cannot be read): each error as
/// `file:line: message`, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyErrors(pub Vec<String>);

impl std::fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the policies do not compile ({} error(s)); `pacc check` lists them: {}",
            self.0.len(),
            self.0.join("; ")
        )
    }
}

/// Reads the `.pac` files under `paths` as (path, text), sorted.
pub fn read_policy_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    // The default `policies` is the embedded library outside a checkout.
    if pac_bundle::uses_bundled_policies(paths) {
        return Ok(pac_bundle::bundled_policies());
    }
    if let Some(p) = paths.iter().find(|p| !p.exists()) {
        return Err(format!(
            "{}: no such policy file or directory (set `policies` in the configuration to where your .pac files are)",
            p.display()
        ));
    }
    pac_bundle::policy_sources(paths)
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

/// A problem with one field of an API item, positioned inside the field's
/// own text (byte offsets, and 1-based line and column in characters).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    /// `name`, `where`, `members[1].where`, `targets[0]`, `expires`…
    pub field: String,
    /// `E0001` for a syntax error, the compiler's code for a type or name
    /// error, none for a field of the wrong form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The code of syntax errors.
pub const SYNTAX_CODE: &str = "E0001";

impl FieldError {
    fn at(field: &str, text: &str, span: Span, code: Option<&str>, message: String) -> Self {
        let floor = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let (start, end) = (floor(span.start), floor(span.end.max(span.start)));
        let (line, column) = pac_compiler::render::line_col(text, start);
        FieldError {
            field: field.to_string(),
            code: code.map(str::to_string),
            message,
            start,
            end,
            line,
            column,
            expected: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A problem with the field as a whole.
    fn whole(field: &str, text: &str, message: String) -> Self {
        FieldError::at(field, text, Span::new(0, text.len()), None, message)
    }

    /// A field longer than `max` characters, pointing at the first
    /// character past the limit.
    pub fn too_long(field: &str, text: &str, max: usize) -> Option<FieldError> {
        let n = text.chars().count();
        if n <= max {
            return None;
        }
        let cut = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
        Some(FieldError::at(
            field,
            text,
            Span::new(cut, text.len()),
            None,
            format!("`{field}` is {n} characters long; at most {max} are accepted"),
        ))
    }

    /// `members[0].where` 1:14: unexpected `}`
    pub fn summary(&self) -> String {
        format!(
            "`{}` {}:{}: {}",
            self.field, self.line, self.column, self.message
        )
    }
}

/// Whether `s` is a Pac identifier that is not a keyword (asset group names
/// must be: they are written bare in policies, `rule on … in NAME`).
pub fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !lexer::KEYWORDS.contains(&s)
}

/// A dotted name (`aws.ec2.instance`, `policy.rule`) as a path of the tree:
/// an identifier, then names after dots (keywords allowed there, as the
/// grammar does), nothing else — no blank, no comment.
fn dotted_path(field: &str, text: &str, what: &str) -> Result<Path, FieldError> {
    let word = |w: &str| {
        let mut cs = w.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = text.split('.').collect();
    let ok = parts.iter().all(|p| word(p)) && !lexer::KEYWORDS.contains(&parts[0]);
    if !ok {
        return Err(FieldError::whole(
            field,
            text,
            format!("`{field}` must be {what}, not `{text}`"),
        ));
    }
    if let Some(e) = FieldError::too_long(field, text, MAX_NAME_CHARS) {
        return Err(e);
    }
    Ok(Path {
        parts: parts.into_iter().map(ident).collect(),
        span: Span::default(),
    })
}

/// The instant of an `expires` field: exactly one timestamp token, as the
/// language reads it after `expires` in a file.
fn expiry(field: &str, text: &str) -> Result<i64, FieldError> {
    let (tokens, comments) = lexer::lex(text, 0);
    match (tokens.as_slice(), comments.is_empty()) {
        ([(0, Token::Timestamp(t), end)], true)
            if *end == text.len() && pac_lang::fmt::timestamp_text(*t).is_some() =>
        {
            Ok(*t)
        }
        _ => Err(FieldError::whole(
            field,
            text,
            format!(
                "`{field}` must be a date (2027-03-31) or a time (2027-03-31T12:00:00Z), not `{text}`"
            ),
        )),
    }
}

/// Whether `s` is a date or time the language accepts after `expires`.
pub fn is_expiry(s: &str) -> bool {
    expiry("expires", s).is_ok()
}

/// Parses a condition received from the API as exactly one expression.
pub fn parse_where(field: &str, text: &str) -> Result<Expr, FieldError> {
    let n = text.chars().count();
    if n > MAX_WHERE_CHARS {
        return Err(FieldError::whole(
            field,
            text,
            format!(
                "`{field}` is {n} characters long; a condition may have at most {MAX_WHERE_CHARS} (list many resources with `resources`, or match them by a tag)"
            ),
        ));
    }
    pac_lang::parse::parse_expression(text).map_err(|e| {
        let mut fe = FieldError::at(field, text, e.span, Some(SYNTAX_CODE), e.message);
        fe.expected = e.expected;
        fe
    })
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: Span::default(),
    }
}

fn str_lit(value: &str) -> StrLit {
    StrLit {
        value: value.to_string(),
        span: Span::default(),
    }
}

fn meta(key: &str, value: MetaValue) -> Meta {
    Meta {
        key: ident(key),
        value,
        span: Span::default(),
    }
}

// ---------------------------------------------------------------------------
// Items as trees
// ---------------------------------------------------------------------------

/// One API item built as a syntax tree, with what is needed to point back
/// into its request fields.
#[derive(Clone, Debug)]
pub struct Built {
    /// `group `web`` or `exception "CHG-1"`, for notes.
    pub label: String,
    pub item: Item,
    /// (field, text) of every field that went into the tree.
    fields: Vec<(String, String)>,
    /// The conditions as parsed from their fields, in the order the item
    /// holds them, with their field names.
    conditions: Vec<(String, Expr)>,
}

impl Built {
    fn text_of(&self, field: &str) -> &str {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, t)| t.as_str())
    }
}

/// Builds the tree of an API group: `group NAME { title "…" TYPE where COND … }`.
pub fn build_group(g: &GroupRow) -> Result<Built, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fields = vec![("name".to_string(), g.name.clone())];
    if !is_ident(&g.name) {
        errors.push(FieldError::whole(
            "name",
            &g.name,
            format!(
                "group name `{}` must be an identifier (letters, digits, `_`, not starting with a digit) and not a keyword",
                g.name
            ),
        ));
    } else {
        errors.extend(FieldError::too_long("name", &g.name, MAX_NAME_CHARS));
    }
    let mut members = Vec::new();
    if let Some(t) = &g.title {
        fields.push(("title".into(), t.clone()));
        members.push(GroupMember::Meta(meta("title", MetaValue::Str(str_lit(t)))));
    }
    let mut conditions = Vec::new();
    for (k, m) in g.members.iter().enumerate() {
        let tf = format!("members[{k}].type");
        fields.push((tf.clone(), m.rtype.clone()));
        let ty = dotted_path(&tf, &m.rtype, "a resource type such as `aws.ec2.instance`");
        let cond = match &m.condition {
            None => Ok(None),
            Some(c) => {
                let wf = format!("members[{k}].where");
                fields.push((wf.clone(), c.clone()));
                parse_where(&wf, c).map(|e| Some((wf, e)))
            }
        };
        match (ty, cond) {
            (Ok(ty), Ok(cond)) => {
                let expr = cond.map(|(wf, e)| {
                    conditions.push((wf, e.clone()));
                    e
                });
                members.push(GroupMember::Type {
                    ty,
                    cond: expr,
                    span: Span::default(),
                });
            }
            (ty, cond) => {
                errors.extend(ty.err());
                errors.extend(cond.err());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built {
        label: format!("group `{}`", g.name),
        item: Item::Group(ast::Group {
            doc: None,
            name: ident(&g.name),
            members,
            span: Span::default(),
        }),
        fields,
        conditions,
    })
}

/// Builds the tree of an API exception:
/// `[sticky] exception "NAME" for T, … { where COND | resources […] expires … reason "…" }`.
pub fn build_exception(x: &ExceptionRow) -> Result<Built, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fields = vec![
        ("name".to_string(), x.name.clone()),
        ("expires".to_string(), x.expires.clone()),
        ("reason".to_string(), x.reason.clone()),
    ];
    let mut targets = Vec::new();
    if x.targets.is_empty() {
        errors.push(FieldError::whole(
            "targets",
            "",
            "`targets` must list the policies (or policy.rule) the exception is for".into(),
        ));
    }
    for (k, t) in x.targets.iter().enumerate() {
        let f = format!("targets[{k}]");
        fields.push((f.clone(), t.clone()));
        match dotted_path(&f, t, "a policy or policy.rule name") {
            Ok(p) => targets.push(p),
            Err(e) => errors.push(e),
        }
    }
    let mut scope = None;
    if let Some(g) = &x.group {
        fields.push(("group".into(), g.clone()));
        match dotted_path("group", g, "an asset group's name") {
            Ok(p) => scope = Some(p),
            Err(e) => errors.push(e),
        }
    }
    let mut clauses = Vec::new();
    let mut conditions = Vec::new();
    if let Some(c) = &x.condition {
        fields.push(("where".into(), c.clone()));
        match parse_where("where", c) {
            Ok(e) => {
                conditions.push(("where".to_string(), e.clone()));
                clauses.push(ast::ExceptionClause::Where(e, Span::default()));
            }
            Err(e) => errors.push(e),
        }
    }
    if !x.resources.is_empty() {
        let ids = x.resources.iter().map(|r| str_lit(r)).collect();
        clauses.push(ast::ExceptionClause::Meta(meta(
            "resources",
            MetaValue::List(ids, Span::default()),
        )));
    }
    match expiry("expires", &x.expires) {
        Ok(t) => clauses.push(ast::ExceptionClause::Meta(meta(
            "expires",
            MetaValue::Timestamp(t, Span::default()),
        ))),
        Err(e) => errors.push(e),
    }
    clauses.push(ast::ExceptionClause::Meta(meta(
        "reason",
        MetaValue::Str(str_lit(&x.reason)),
    )));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Built {
        label: format!("exception {}", pac_lang::fmt::escape(&x.name)),
        item: Item::Exception(ast::Exception {
            doc: None,
            sticky: x.condition.is_some(),
            // Always a string: any text is a safe name once quoted.
            name: Name {
                text: x.name.clone(),
                quoted: true,
                span: Span::default(),
            },
            targets,
            scope,
            clauses,
            span: Span::default(),
        }),
        fields,
        conditions,
    })
}

/// The synthetic file printed from the items' trees, and the items as the
/// parser reads that text back (with their spans in it).
fn print_items(built: &[Built]) -> Result<(String, Vec<Item>), String> {
    let file = ast::File {
        package: None,
        items: built.iter().map(|b| b.item.clone()).collect(),
        comments: Vec::new(),
    };
    let (text, again) = pac_lang::fmt::print_tree(&file).map_err(|e| e.message)?;
    Ok((text, again.items))
}

// ---------------------------------------------------------------------------
// Diagnostics back to fields
// ---------------------------------------------------------------------------

/// The node of `field` that corresponds to the node of `printed` (the same
/// expression, as printed and read back) enclosing `span`.
fn map_into_field(printed: &Expr, field: &Expr, span: Span) -> Span {
    let (mut p, mut f) = (printed, field);
    loop {
        if let (ExprKind::Field { name: pn, .. }, ExprKind::Field { name: fname, .. }) =
            (&p.kind, &f.kind)
            && pn.span.start <= span.start
            && span.end <= pn.span.end
        {
            return fname.span;
        }
        let pc = pac_lang::parse::expr_children(p);
        let fc = pac_lang::parse::expr_children(f);
        match pc
            .iter()
            .position(|c| c.span.start <= span.start && span.end <= c.span.end)
        {
            Some(i) if i < fc.len() => {
                p = pc[i];
                f = fc[i];
            }
            _ => return f.span,
        }
    }
}

fn contains(outer: Span, inner: Span) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.end > outer.start
}

/// A request field, its printed span, and the printed condition with its index.
type LocatedPart<'a> = (String, Span, Option<(&'a Expr, usize)>);

/// Where a diagnostic of the printed file falls in the item's request
/// fields. `printed` is the item as read back from the printed text.
fn locate(b: &Built, printed: &Item, d: &Diagnostic) -> FieldError {
    let span = d.span;
    // (field, its printed span, the printed condition and its index)
    let mut parts: Vec<LocatedPart> = Vec::new();
    match printed {
        Item::Group(g) => {
            let (mut k, mut w) = (0, 0);
            for m in &g.members {
                match m {
                    GroupMember::Type { ty, cond, .. } => {
                        if let Some(c) = cond {
                            parts.push((format!("members[{k}].where"), c.span, Some((c, w))));
                            w += 1;
                        }
                        parts.push((format!("members[{k}].type"), ty.span, None));
                        k += 1;
                    }
                    GroupMember::Meta(m) => parts.push(("title".into(), m.span, None)),
                    GroupMember::Error(_) => {}
                }
            }
            parts.push(("name".into(), g.name.span, None));
        }
        Item::Exception(x) => {
            let mut w = 0;
            for c in &x.clauses {
                match c {
                    ast::ExceptionClause::Where(e, _) => {
                        parts.push(("where".into(), e.span, Some((e, w))));
                        w += 1;
                    }
                    ast::ExceptionClause::Meta(m) => parts.push((m.key.name.clone(), m.span, None)),
                    ast::ExceptionClause::Error(_) => {}
                }
            }
            for (k, t) in x.targets.iter().enumerate() {
                parts.push((format!("targets[{k}]"), t.span, None));
            }
            parts.push(("name".into(), x.name.span, None));
        }
        _ => {}
    }
    let (field, inner) = match parts.into_iter().find(|(_, s, _)| contains(*s, span)) {
        Some((f, _, cond)) => {
            let inner = cond.and_then(|(e, w)| {
                b.conditions
                    .get(w)
                    .map(|(_, parsed)| map_into_field(e, parsed, span))
            });
            (f, inner)
        }
        None => (String::new(), None),
    };
    let text = b.text_of(&field).to_string();
    let span = inner.unwrap_or(Span::new(0, text.len()));
    let mut fe = FieldError::at(
        if field.is_empty() { "item" } else { &field },
        &text,
        span,
        Some(d.code),
        d.message.clone(),
    );
    if !d.label.is_empty() {
        fe.notes.push(d.label.clone());
    }
    fe.notes.extend(d.notes.iter().cloned());
    if let Some(s) = &d.suggestion {
        fe.notes.push(s.message.clone());
    }
    fe
}

// ---------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------

/// `file:line: message` of each error outside the API file, in file order.
fn policy_errors(c: &Compiled) -> Vec<String> {
    let mut r = pac_compiler::render::Renderer::new(&c.program.files);
    let mut errs: Vec<(u32, usize, String)> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| {
            c.program
                .files
                .get(d.file as usize)
                .is_none_or(|f| f.path != API_FILE)
        })
        .map(|d| {
            let j = r.to_json(d);
            (
                d.file,
                j.line,
                format!("{}:{}: {}", j.file, j.line, d.message),
            )
        })
        .collect();
    errs.sort_by_key(|(f, l, _)| (*f, *l));
    errs.into_iter().map(|(_, _, m)| m).collect()
}

fn api_file_index(c: &Compiled) -> Option<u32> {
    c.program
        .files
        .iter()
        .position(|f| f.path == API_FILE)
        .map(|i| i as u32)
}

/// Error diagnostics of the API file, by the item (index into `printed`)
/// they fall in; `None` for one outside every item.
fn api_errors_by_item(c: &Compiled, printed: &[Item]) -> Vec<(Option<usize>, Diagnostic)> {
    let Some(fi) = api_file_index(c) else {
        return Vec::new();
    };
    c.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.file == fi)
        .map(|d| {
            let item = printed.iter().position(|it| {
                let s = it.span();
                s.start <= d.span.start && d.span.start < s.end.max(s.start + 1)
            });
            (item, d.clone())
        })
        .collect()
}

fn with_api(files: &[(String, String)], text: Option<&str>) -> Vec<(String, String)> {
    let mut all = files.to_vec();
    if let Some(t) = text {
        all.push((API_FILE.to_string(), t.to_string()));
    }
    all
}

/// Compiles the policy files with the API-defined items. Policy compile
/// errors fail the load (the caller serves the last good set); API items
/// that cannot be built or do not compile are left out and reported.
pub fn load(
    files: &[(String, String)],
    groups: &[GroupRow],
    exceptions: &[ExceptionRow],
) -> Result<Loaded, PolicyErrors> {
    let mut notes: Vec<String> = Vec::new();
    let mut built = Vec::new();
    for g in groups {
        match build_group(g) {
            Ok(b) => built.push(b),
            Err(es) => notes.push(left_out(&format!("group `{}`", g.name), &es)),
        }
    }
    for x in exceptions {
        match build_exception(x) {
            Ok(b) => built.push(b),
            Err(es) => notes.push(left_out(
                &format!("exception {}", pac_lang::fmt::escape(&x.name)),
                &es,
            )),
        }
    }
    // Items that do not compile are dropped and the rest compiled again
    // (each round drops at least one; a few rounds at most in practice).
    let mut compiled = None;
    for _ in 0..4 {
        if built.is_empty() {
            break;
        }
        let (text, printed) = match print_items(&built) {
            Ok(x) => x,
            Err(e) => {
                // Never expected: find the item that does not print.
                built.retain(|b| {
                    let ok = print_items(std::slice::from_ref(b)).is_ok();
                    if !ok {
                        notes.push(format!("{}: {e}", b.label));
                    }
                    ok
                });
                continue;
            }
        };
        let c = compile_sources(with_api(files, Some(&text)));
        let errs = api_errors_by_item(&c, &printed);
        if errs.is_empty() {
            compiled = Some(c);
            break;
        }
        let mut bad: Vec<usize> = Vec::new();
        for (item, d) in &errs {
            match item {
                Some(i) => {
                    let fe = locate(&built[*i], &printed[*i], d);
                    notes.push(left_out(&built[*i].label, std::slice::from_ref(&fe)));
                    bad.push(*i);
                }
                None => bad.extend(0..built.len()),
            }
        }
        bad.sort_unstable();
        bad.dedup();
        for i in bad.into_iter().rev() {
            built.remove(i);
        }
    }
    let mut compiled = match compiled {
        Some(c) => c,
        None => {
            if !built.is_empty() {
                notes.push("the other API-defined items: they still did not compile".into());
            }
            compile_sources(files.to_vec())
        }
    };
    let mut perrs = policy_errors(&compiled);
    if !perrs.is_empty() && api_file_index(&compiled).is_some() {
        // The files may compile alone: then the API items clash with them.
        let alone = compile_sources(files.to_vec());
        if policy_errors(&alone).is_empty() {
            notes.push(format!(
                "every API-defined item: together they clash with the policy files: {}",
                perrs.join("; ")
            ));
            compiled = alone;
            perrs.clear();
        }
    }
    if !perrs.is_empty() {
        return Err(PolicyErrors(perrs));
    }
    let api_problem = (!notes.is_empty()).then(|| {
        format!(
            "API-defined items left out, they do not compile with the current policies: {}",
            notes.join("; ")
        )
    });
    let engine = pac_jit::Engine::compile(&compiled.program);
    Ok(Loaded {
        compiled,
        engine,
        api_problem,
        files: files.to_vec(),
        policy_problem: None,
    })
}

fn left_out(label: &str, errors: &[FieldError]) -> String {
    let what: Vec<String> = errors.iter().map(FieldError::summary).collect();
    format!("{label}: {}", what.join(", "))
}

/// An empty policy set (the stdlib only), answered while the policies do not
/// compile and no good set was ever stored.
pub fn placeholder(problem: PolicyProblem) -> Loaded {
    let compiled = compile_sources(Vec::new());
    let engine = pac_jit::Engine::compile(&compiled.program);
    Loaded {
        api_problem: Some(problem.note()),
        compiled,
        engine,
        files: Vec::new(),
        policy_problem: Some(problem),
    }
}

// ---------------------------------------------------------------------------
// Checking a new item
// ---------------------------------------------------------------------------

fn unknown(field: &str, text: &str, code: &str, message: String, hint: Option<&str>) -> FieldError {
    let mut e = FieldError::at(field, text, Span::new(0, text.len()), Some(code), message);
    if let Some(h) = hint {
        e.notes.push(format!("did you mean `{h}`?"));
    }
    e
}

/// Compiles `b` with the policy files (alone: API items do not refer to one
/// another) and returns the errors that fall in it, by field.
fn compile_new(files: &[(String, String)], b: &Built) -> Result<(), Vec<FieldError>> {
    let (text, printed) = print_items(std::slice::from_ref(b)).map_err(|m| {
        vec![FieldError::at(
            "item",
            "",
            Span::default(),
            None,
            format!("internal error: {m}"),
        )]
    })?;
    let c = compile_sources(with_api(files, Some(&text)));
    let mut errs: Vec<FieldError> = api_errors_by_item(&c, &printed)
        .iter()
        .map(|(_, d)| locate(b, &printed[0], d))
        .collect();
    // The files compiled before: an error in them now is this item's doing
    // (a name it takes from them).
    for e in policy_errors(&c) {
        errs.push(FieldError::at(
            "item",
            "",
            Span::default(),
            None,
            format!("it clashes with the policy files: {e}"),
        ));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// The stored form of a condition: printed from its tree.
fn canonical(field: &str, text: &str, e: &Expr) -> Result<String, FieldError> {
    pac_lang::fmt::print_expr(e)
        .map_err(|err| FieldError::whole(field, text, format!("internal error: {}", err.message)))
}

/// Checks a new API group against `loaded` (member types must be declared
/// resource types; conditions are type-checked against them) and returns it
/// as it is stored: each condition printed from its tree.
pub fn check_group(loaded: &Loaded, g: &GroupRow) -> Result<GroupRow, Vec<FieldError>> {
    let b = build_group(g)?;
    let p = loaded.program();
    let types: Vec<&str> = p.schemas.resource_types().map(|(_, t)| t).collect();
    let mut errors = Vec::new();
    for (k, m) in g.members.iter().enumerate() {
        if !types.contains(&m.rtype.as_str()) {
            errors.push(unknown(
                &format!("members[{k}].type"),
                &m.rtype,
                "E0103",
                format!("`{}` is not a declared resource type", m.rtype),
                pac_compiler::suggest::did_you_mean(&m.rtype, types.iter().copied()),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    compile_new(&loaded.files, &b)?;
    let mut out = g.clone();
    let mut conds = b.conditions.iter();
    for m in out.members.iter_mut() {
        if let Some(c) = &m.condition
            && let Some((f, e)) = conds.next()
        {
            m.condition = Some(canonical(f, c, e).map_err(|e| vec![e])?);
        }
    }
    Ok(out)
}

/// Checks a new API exception against `loaded` (targets must name existing
/// policies or rules; a condition is type-checked against the resource
/// types of the targets' rules) and returns it as it is stored.
pub fn check_exception(loaded: &Loaded, x: &ExceptionRow) -> Result<ExceptionRow, Vec<FieldError>> {
    let b = build_exception(x)?;
    let p: &Program = loaded.program();
    let mut names: Vec<&str> = p.policies.iter().map(|x| x.name.as_str()).collect();
    names.extend(p.rules.iter().map(|r| r.id.as_str()));
    let mut errors = Vec::new();
    for (k, t) in x.targets.iter().enumerate() {
        if !names.contains(&t.as_str()) {
            errors.push(unknown(
                &format!("targets[{k}]"),
                t,
                "E0106",
                format!("unknown policy or rule `{t}`"),
                pac_compiler::suggest::did_you_mean(t, names.iter().copied()),
            ));
        }
    }
    if let Some(g) = &x.group {
        let groups = p.groups.iter().map(|g| g.name.as_str());
        if !p.groups.iter().any(|x| &x.name == g) {
            errors.push(unknown(
                "group",
                g,
                "E0107",
                format!("unknown asset group `{g}`"),
                pac_compiler::suggest::did_you_mean(g, groups),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    compile_new(&loaded.files, &b)?;
    let mut out = x.clone();
    if let (Some(c), Some((f, e))) = (&x.condition, b.conditions.first()) {
        out.condition = Some(canonical(f, c, e).map_err(|e| vec![e])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GroupMemberSpec;

    const POLICY: &str = "policy p {\n  title \"t\"\n  severity low\n  category security\n  rule on fixture.group {\n    violation when group_name == \"x\"\n  }\n}\n";

    /// A resource type whose `group_name` and `group_id` are required:
    /// the conditions below compare them directly (the stdlib's security
    /// group has them optional, as aws-sdk-rust does).
    const FIXTURE: &str = "schema fixture.group {\n  group_id: string\n  group_name: string\n}\n";

    fn files() -> Vec<(String, String)> {
        vec![
            ("p.pac".to_string(), POLICY.to_string()),
            ("fixture.pac".to_string(), FIXTURE.to_string()),
        ]
    }

    fn group(name: &str, rtype: &str, cond: Option<&str>) -> GroupRow {
        GroupRow {
            name: name.into(),
            title: Some("Web \"tier\" {}".into()),
            members: vec![GroupMemberSpec {
                rtype: rtype.into(),
                condition: cond.map(str::to_string),
            }],
            created_by: "t".into(),
            created_at: 0,
        }
    }

    fn exception(name: &str, targets: &[&str], cond: Option<&str>, expires: &str) -> ExceptionRow {
        ExceptionRow {
            name: name.into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            resources: if cond.is_none() {
                vec!["sg-1".into(), "} policy q {".into()]
            } else {
                vec![]
            },
            condition: cond.map(str::to_string),
            group: None,
            expires: expires.into(),
            reason: "r \"quoted\" \\ {x} \n second line".into(),
            created_by: "t".into(),
            created_at: 0,
            approved_by: None,
        }
    }

    fn loaded(groups: &[GroupRow], exceptions: &[ExceptionRow]) -> Loaded {
        load(&files(), groups, exceptions).unwrap()
    }

    /// What an attacker wants: a second policy with an auto-fix that
    /// notifies them.
    const EVIL: &str = "} policy evil { title \"e\" severity critical category security rule on aws.ec2.security_group { violation when true } autofix revoke_world_ingress notify \"attacker@evil.example\" } exception \"z\" for p {";

    /// Nothing but the file's policy and the items asked for.
    fn assert_only(l: &Loaded, groups: usize, exceptions: usize) {
        let p = l.program();
        let names: Vec<&str> = p.policies.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["p"]);
        assert_eq!(p.rules.len(), 1);
        assert!(p.rules.iter().all(|r| r.autofix.is_none()));
        assert_eq!(p.groups.len(), groups);
        assert_eq!(p.exceptions.len(), exceptions);
    }

    #[test]
    fn items_are_built_as_trees_and_compile() {
        let g = group("web_tier", "fixture.group", Some("group_name == \"web\""));
        let x = exception("CHG-9", &["p"], Some("group_name == \"web\""), "2030-01-01");
        let l = loaded(std::slice::from_ref(&g), std::slice::from_ref(&x));
        assert!(l.api_problem.is_none(), "{:?}", l.api_problem);
        assert_only(&l, 1, 1);
        let p = l.program();
        assert!(p.exceptions[0].sticky);
        assert_eq!(p.exceptions[0].reason, x.reason);
        assert_eq!(p.groups[0].title.as_deref(), g.title.as_deref());
        let plain = exception("CHG-10", &["p"], None, "2030-01-01T12:00:00+02:00");
        let l = loaded(&[], std::slice::from_ref(&plain));
        assert_only(&l, 0, 1);
        assert_eq!(l.program().exceptions[0].resources, plain.resources);
        assert_eq!(
            l.program().exceptions[0].expires,
            lexer::parse_timestamp("2030-01-01T10:00:00Z").unwrap()
        );
    }

    #[test]
    fn injection_through_every_field_is_refused_or_inert() {
        // Through a condition: the `}` is a syntax error at its place.
        let cond = format!("group_name == \"web\" {EVIL}");
        let errs = build_exception(&exception("X", &["p"], Some(&cond), "2030-01-01")).unwrap_err();
        assert_eq!(errs[0].field, "where");
        assert_eq!(errs[0].code.as_deref(), Some(SYNTAX_CODE));
        assert_eq!(errs[0].start, cond.find('}').unwrap());
        let errs = build_group(&group("g", "fixture.group", Some(&cond))).unwrap_err();
        assert_eq!(errs[0].field, "members[0].where");
        // Through a member type, a group name, a target, an expiry.
        let errs = build_group(&group("g", &format!("fixture.group {EVIL}"), None)).unwrap_err();
        assert_eq!(errs[0].field, "members[0].type");
        let errs = build_group(&group(&format!("g {EVIL}"), "aws.ec2.instance", None)).unwrap_err();
        assert_eq!(errs[0].field, "name");
        assert!(build_group(&group("policy", "aws.ec2.instance", None)).is_err());
        let errs = build_exception(&exception("X", &[&format!("p {EVIL}")], None, "2030-01-01"))
            .unwrap_err();
        assert_eq!(errs[0].field, "targets[0]");
        let errs = build_exception(&exception(
            "X",
            &["p"],
            None,
            &format!("2030-01-01T00:00:00Z{EVIL}"),
        ))
        .unwrap_err();
        assert_eq!(errs[0].field, "expires");
        // Names, reasons and resource ids are strings: the text is inert.
        let x = exception(&format!("n\"{EVIL}"), &["p"], None, "2030-01-01");
        let l = loaded(&[], std::slice::from_ref(&x));
        assert!(l.api_problem.is_none(), "{:?}", l.api_problem);
        assert_only(&l, 0, 1);
        assert_eq!(l.program().exceptions[0].name, x.name);
        // Rows stored before this check (an older server) are left out at
        // load, with a note, and add nothing.
        let old_group = group("g", "fixture.group", Some(&cond));
        let old_x = exception("Y", &["p"], Some(&cond), "2030-01-01");
        let l = loaded(&[old_group], &[old_x]);
        assert_only(&l, 0, 0);
        let note = l.api_problem.unwrap();
        assert!(
            note.contains("group `g`") && note.contains("exception \"Y\""),
            "{note}"
        );
    }

    #[test]
    fn conditions_comments_escapes_unicode() {
        let l = loaded(&[], &[]);
        let cases = [
            (
                "group_name == \"a\" // } policy evil {",
                "group_name == \"a\"",
            ),
            ("group_name == /* } */ \"a\"", "group_name == \"a\""),
            (
                r#"group_name == "a\"}\n{\\""#,
                r#"group_name == "a\"}\n{\\""#,
            ),
            (
                "group_name == \"ünï {cödé} 🚀\"",
                "group_name == \"ünï {cödé} 🚀\"",
            ),
            (
                "(group_name == \"a\")\n  and\n\tgroup_id != \"b\"",
                "(group_name == \"a\") and group_id != \"b\"",
            ),
        ];
        for (cond, canonical) in cases {
            let x = exception("X", &["p"], Some(cond), "2030-01-01");
            let stored = check_exception(&l, &x).unwrap_or_else(|e| panic!("{cond}: {e:?}"));
            assert_eq!(stored.condition.as_deref(), Some(canonical), "{cond}");
            // The stored text is read again at load: the same condition.
            let again = loaded(&[], &[stored]);
            assert!(again.api_problem.is_none(), "{:?}", again.api_problem);
            assert_only(&again, 0, 1);
        }
        let bad = [
            ("group_name == \"a\"\n// hidden\n} policy evil {", 3, 1),
            ("group_name == \"a", 1, 15),
            ("/* group_name", 1, 1),
            ("group_name ==", 1, 14),
        ];
        for (cond, line, column) in bad {
            let x = exception("X", &["p"], Some(cond), "2030-01-01");
            let e = &check_exception(&l, &x).unwrap_err()[0];
            assert_eq!(
                (e.field.as_str(), e.line, e.column),
                ("where", line, column),
                "{cond}: {e:?}"
            );
        }
    }

    #[test]
    fn type_and_name_errors_point_inside_the_field() {
        let l = loaded(&[], &[]);
        let x = exception(
            "X",
            &["p"],
            Some("group_id == \"a\" and group_nam == \"x\""),
            "2030-01-01",
        );
        let e = &check_exception(&l, &x).unwrap_err()[0];
        assert_eq!(e.field, "where");
        assert_eq!((e.start, e.end), (20, 29), "{e:?}");
        assert!(e.message.contains("group_nam"), "{e:?}");
        assert!(e.code.as_deref().is_some_and(|c| c != SYNTAX_CODE));
        // Checked against the type of the member, not any type.
        let g = group("g", "aws.ec2.instance", Some("group_name == \"x\""));
        let e = &check_group(&l, &g).unwrap_err()[0];
        assert_eq!(e.field, "members[0].where");
        assert_eq!((e.start, e.end), (0, 10), "{e:?}");
        let g = group("g", "aws.ec2.instanc", None);
        let e = &check_group(&l, &g).unwrap_err()[0];
        assert_eq!(e.field, "members[0].type");
        assert!(
            e.notes.iter().any(|n| n.contains("aws.ec2.instance")),
            "{e:?}"
        );
        let x = exception("X", &["q"], None, "2030-01-01");
        let e = &check_exception(&l, &x).unwrap_err()[0];
        assert_eq!(
            (e.field.as_str(), e.code.as_deref()),
            ("targets[0]", Some("E0106"))
        );
        // A condition that is not a boolean.
        let x = exception("X", &["p"], Some("group_name"), "2030-01-01");
        let e = &check_exception(&l, &x).unwrap_err()[0];
        assert_eq!(
            (e.field.as_str(), e.start, e.end),
            ("where", 0, 10),
            "{e:?}"
        );
    }

    #[test]
    fn huge_and_deep_conditions_are_refused_without_overflow() {
        let l = loaded(&[], &[]);
        let mb = format!("group_name == \"{}\"", "a".repeat(1 << 20));
        let e =
            &check_exception(&l, &exception("X", &["p"], Some(&mb), "2030-01-01")).unwrap_err()[0];
        assert!(e.message.contains("at most 16384"), "{e:?}");
        let n = 5_000;
        let deep = format!("{}group_name == \"a\"{}", "(".repeat(n), ")".repeat(n));
        let e = &check_exception(&l, &exception("X", &["p"], Some(&deep), "2030-01-01"))
            .unwrap_err()[0];
        assert!(e.message.contains("nested too deeply"), "{e:?}");
        assert_eq!(e.code.as_deref(), Some(SYNTAX_CODE));
        let ok = 150;
        let nested = format!("{}group_name == \"a\"{}", "(".repeat(ok), ")".repeat(ok));
        assert!(check_exception(&l, &exception("X", &["p"], Some(&nested), "2030-01-01")).is_ok());
    }

    #[test]
    fn an_item_that_stops_compiling_is_left_out_alone() {
        let good = exception("A", &["p"], None, "2030-01-01");
        let gone = exception("B", &["removed_policy"], None, "2030-01-01");
        let l = loaded(&[], &[good, gone]);
        assert_only(&l, 0, 1);
        assert_eq!(l.program().exceptions[0].name, "A");
        let note = l.api_problem.unwrap();
        assert!(
            note.contains("exception \"B\"") && note.contains("targets[0]"),
            "{note}"
        );
    }

    #[test]
    fn broken_policies_fail_the_load_with_the_first_error() {
        let broken = vec![(
            "b.pac".to_string(),
            "policy b {\n  severity nope\n".to_string(),
        )];
        let e = load(&broken, &[], &[]).err().unwrap();
        assert!(e.0[0].starts_with("b.pac:"), "{e:?}");
        let p = placeholder(PolicyProblem {
            first_error: e.0[0].clone(),
            errors: e.0.clone(),
            last_good: false,
            saved_at: None,
        });
        assert!(p.is_placeholder());
        assert!(p.program().policies.is_empty());
    }

    #[test]
    fn names_and_dates() {
        assert!(is_ident("prod_web"));
        assert!(!is_ident("prod-web"));
        assert!(!is_ident("group"));
        assert!(is_expiry("2027-03-31"));
        assert!(is_expiry("2027-03-31T12:00:00+02:00"));
        assert!(!is_expiry("tomorrow"));
        assert!(!is_expiry("2027-03-31 // x"));
        assert!(!is_expiry("2027-03-31T12:00:00Z} policy x {"));
        assert!(!is_expiry("9999-12-31T23:00:00-02:00"));
    }
}
