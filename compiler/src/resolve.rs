//! Name resolution across files and packages: the declarations of every
//! file, resolved schemas (records and resource types), function and action
//! signatures. Holds the state the checker works in.

use std::collections::HashMap;
use std::sync::Arc;

use pac_lang::Span;
use pac_lang::ast::{self, Item, TypeExpr, TypeKind};

use crate::check::{Checker, Scope, assignable};
use crate::diag::Diagnostic;
use crate::index::{Ref, RefKind};
use crate::ir::Expr;
use crate::suggest::did_you_mean;
use crate::types::{FieldDef, IMPLICIT_FIELDS, RecordDef, RecordId, Schemas, Ty};

#[derive(Clone, Debug)]
pub struct FnInfo {
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    pub file: u32,
    pub span: Span,
    pub slots: u32,
    /// (file, item index) of the declaration.
    pub item: (u32, usize),
    pub doc: Option<String>,
}

/// The file index that stands for "the chunk being lowered" in spans of a
/// chunk's output (see `db::lower_chunk`): its spans are relative to the
/// chunk, and assembly moves them to the file.
pub const CHUNK_FILE: u32 = u32::MAX;

/// The source text of a file's declaration items: (offset, text) pieces.
pub type Sources = Vec<(usize, Arc<str>)>;

/// The chunk an `Env` lowers: its real file, package and text.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub file: u32,
    pub package: String,
    pub text: Arc<str>,
}

/// The workspace-wide tables, shared (copy-on-write while they are built)
/// between the declarations and every chunk's `Env`.
pub struct Env {
    /// Path of each workspace file.
    pub paths: Arc<Vec<String>>,
    /// Declaration items of each file (schemas, records, `fn`s, actions,
    /// groups; spans absolute), shared with the database's memo.
    pub asts: Arc<Vec<Arc<pac_lang::Parsed>>>,
    pub packages: Arc<Vec<String>>,
    /// Source text of the declaration items: (offset, text) per file, for
    /// snippets in diagnostics.
    pub sources: Arc<Vec<Sources>>,
    /// The chunk being lowered, if any ([`CHUNK_FILE`] in its spans).
    pub chunk: Option<Chunk>,
    pub schemas: Arc<Schemas>,
    /// Qualified record name (and resource type name) → record.
    pub record_names: Arc<HashMap<String, RecordId>>,
    pub fns: Arc<HashMap<String, FnInfo>>,
    /// `fns` by the last segment of their names (set by `collect_fns`).
    pub fns_by_last: Arc<HashMap<String, String>>,
    fn_bodies: Arc<HashMap<String, Option<Expr>>>,
    pub fn_stack: Vec<String>,
    pub diags: Vec<Diagnostic>,
    pub next_node: u32,
    /// Resolved names, for the language server.
    pub refs: Vec<crate::index::Ref>,
    /// How deeply the checker is recursing now (calls of user functions
    /// included): bounded by `MAX_IR_DEPTH`.
    pub depth: usize,
    /// IR depth and node count of each checked function body.
    pub fn_shapes: Arc<HashMap<String, (usize, usize)>>,
    /// Set once [`Env::check_fns`] has begun: from then on a call of a body
    /// not yet checked is recursion, never a body to check on the stack.
    pub callees_first: bool,
}

impl Env {
    /// An `Env` over the declaration items of every file.
    pub fn new(
        paths: Vec<String>,
        packages: Vec<String>,
        asts: Vec<Arc<pac_lang::Parsed>>,
        sources: Vec<Sources>,
    ) -> Env {
        Env {
            paths: Arc::new(paths),
            asts: Arc::new(asts),
            packages: Arc::new(packages),
            sources: Arc::new(sources),
            chunk: None,
            schemas: Default::default(),
            record_names: Default::default(),
            fns: Default::default(),
            fns_by_last: Default::default(),
            fn_bodies: Default::default(),
            fn_stack: Vec::new(),
            diags: Vec::new(),
            next_node: 0,
            refs: Vec::new(),
            depth: 0,
            fn_shapes: Default::default(),
            callees_first: false,
        }
    }

    /// An `Env` for lowering one chunk: the declarations' tables (shared,
    /// not copied) and fresh diagnostics, references and node ids.
    pub fn for_chunk(&self, chunk: Chunk) -> Env {
        Env {
            paths: self.paths.clone(),
            asts: self.asts.clone(),
            packages: self.packages.clone(),
            sources: self.sources.clone(),
            chunk: Some(chunk),
            schemas: self.schemas.clone(),
            record_names: self.record_names.clone(),
            fns: self.fns.clone(),
            fns_by_last: self.fns_by_last.clone(),
            fn_bodies: self.fn_bodies.clone(),
            fn_stack: Vec::new(),
            diags: Vec::new(),
            next_node: 0,
            refs: Vec::new(),
            depth: 0,
            fn_shapes: self.fn_shapes.clone(),
            callees_first: true,
        }
    }

    /// The package of a file ([`CHUNK_FILE`]: the chunk's).
    pub fn package(&self, file: u32) -> &str {
        match (&self.chunk, file) {
            (Some(c), CHUNK_FILE) => &c.package,
            _ => self.packages.get(file as usize).map_or("", String::as_str),
        }
    }

    /// The path of a file ([`CHUNK_FILE`]: the chunk's file).
    pub fn path_of(&self, file: u32) -> &str {
        let file = match (&self.chunk, file) {
            (Some(c), CHUNK_FILE) => c.file,
            _ => file,
        };
        self.paths.get(file as usize).map_or("", String::as_str)
    }

    /// The source text under `span` in `file`, where the `Env` has it.
    pub fn snippet(&self, file: u32, span: Span) -> Option<&str> {
        if let (Some(c), CHUNK_FILE) = (&self.chunk, file) {
            return c.text.get(span.start..span.end);
        }
        let pieces = self.sources.get(file as usize)?;
        let i = pieces.partition_point(|(at, _)| *at <= span.start);
        let (at, text) = pieces.get(i.checked_sub(1)?)?;
        text.get(span.start - at..span.end.checked_sub(*at)?)
    }

    /// Records a resolved name for the language server's index.
    pub fn note_ref(&mut self, file: u32, span: Span, kind: RefKind, ty: &Ty) {
        self.refs.push(Ref {
            file,
            span,
            kind,
            ty: ty.clone(),
        });
    }

    pub fn qualify(&self, file: u32, name: &str) -> String {
        match self.package(file) {
            "" => name.to_string(),
            p => format!("{p}.{name}"),
        }
    }

    /// Declares every record and schema, then resolves their field types.
    pub fn collect_schemas(&mut self) {
        let mut decls: Vec<(u32, usize)> = Vec::new();
        for (fi, f) in self.asts.clone().iter().enumerate() {
            let fi = fi as u32;
            for (ii, item) in f.file.items.iter().enumerate() {
                let (name, span, doc, resource) = match item {
                    Item::Schema(s) => (s.name.text(), s.name.span, &s.doc, true),
                    Item::Record(r) => (self.qualify(fi, &r.name.name), r.name.span, &r.doc, false),
                    _ => continue,
                };
                if let Some(prev) = self.record_names.get(&name) {
                    let p = self.schemas.record(*prev);
                    let (pf, ps) = (p.file, p.span);
                    self.diags.push(
                        Diagnostic::error("E0201", fi, span, format!("`{name}` is declared twice"))
                            .with_label("declared again here")
                            .with_secondary(pf, ps, "first declared here"),
                    );
                    continue;
                }
                let id = RecordId(self.schemas.records.len() as u32);
                Arc::make_mut(&mut self.schemas).records.push(RecordDef {
                    name: name.clone(),
                    resource_type: resource.then(|| name.clone()),
                    fields: Vec::new(),
                    doc: doc.as_ref().map(|d| d.text.clone()),
                    file: fi,
                    span,
                });
                Arc::make_mut(&mut self.record_names).insert(name, id);
                decls.push((fi, ii));
            }
        }
        let mut id = 0usize;
        for (fi, ii) in decls {
            let ast = self.asts[fi as usize].clone();
            let (fields, resource) = match &ast.file.items[ii] {
                Item::Schema(s) => (&s.fields, true),
                Item::Record(r) => (&r.fields, false),
                _ => continue,
            };
            let mut defs = Vec::new();
            if resource {
                let span = self.schemas.records[id].span;
                for (n, doc) in IMPLICIT_FIELDS.iter().zip([
                    "The resource's id, from its inventory document.",
                    "The account the resource belongs to.",
                    "The region the resource lives in.",
                ]) {
                    defs.push(FieldDef {
                        name: n.to_string(),
                        ty: Ty::Str,
                        doc: Some(doc.to_string()),
                        file: fi,
                        span,
                    });
                }
            }
            for f in fields {
                if let Some(prev) = defs.iter().find(|d| d.name == f.name.name) {
                    let msg = if resource && IMPLICIT_FIELDS.contains(&f.name.name.as_str()) {
                        format!(
                            "`{}` is an implicit field of every resource; do not declare it",
                            f.name.name
                        )
                    } else {
                        format!("field `{}` is declared twice", f.name.name)
                    };
                    let pspan = prev.span;
                    self.diags.push(
                        Diagnostic::error("E0201", fi, f.name.span, msg)
                            .with_label("declared again")
                            .with_secondary(fi, pspan, "first here"),
                    );
                    continue;
                }
                let ty = self.resolve_type(&f.ty, fi);
                defs.push(FieldDef {
                    name: f.name.name.clone(),
                    ty,
                    doc: f.doc.as_ref().map(|d| d.text.clone()),
                    file: fi,
                    span: f.name.span,
                });
            }
            Arc::make_mut(&mut self.schemas).records[id].fields = defs;
            id += 1;
        }
    }

    /// Resolves a written type.
    pub fn resolve_type(&mut self, t: &TypeExpr, file: u32) -> Ty {
        match &t.kind {
            TypeKind::Optional(inner) => {
                let i = self.resolve_type(inner, file);
                if i.is_opt() {
                    self.diags.push(
                        Diagnostic::error(
                            "E0104",
                            file,
                            t.span,
                            "`T??` is not a type; one `?` is enough",
                        )
                        .with_label("double optional"),
                    );
                }
                i.opt()
            }
            TypeKind::List(inner) => self.resolve_type(inner, file).list(),
            TypeKind::Map(inner) => Ty::Map(Box::new(self.resolve_type(inner, file))),
            TypeKind::Named(p) => {
                let name = p.text();
                match name.as_str() {
                    "bool" => return Ty::Bool,
                    "int" => return Ty::Int,
                    "float" => return Ty::Float,
                    "string" => return Ty::Str,
                    "timestamp" => return Ty::Time,
                    "duration" => return Ty::Dur,
                    "ip" => return Ty::Ip,
                    "cidr" => return Ty::Cidr,
                    "list" | "map" => {
                        self.diags.push(
                            Diagnostic::error(
                                "E0104",
                                file,
                                t.span,
                                format!("`{name}` needs an element type: `{name}<string>`"),
                            )
                            .with_label("missing `<…>`"),
                        );
                        return Ty::Error;
                    }
                    _ => {}
                }
                match self.lookup_record(&name, file, p.span) {
                    Some(r) => Ty::Record(r),
                    None => Ty::Error,
                }
            }
        }
    }

    /// Looks up a record or resource type by name: exact (qualified or
    /// resource type), then in the file's package, then a unique short name.
    pub fn lookup_record(&mut self, name: &str, file: u32, span: Span) -> Option<RecordId> {
        let r = self.find_record(name, file, span);
        if let Some(r) = r {
            self.note_ref(file, span, RefKind::Type(r), &Ty::Error);
        }
        r
    }

    fn find_record(&mut self, name: &str, file: u32, span: Span) -> Option<RecordId> {
        if let Some(r) = self.record_names.get(name) {
            return Some(*r);
        }
        let local = self.qualify(file, name);
        if let Some(r) = self.record_names.get(&local) {
            return Some(*r);
        }
        let suffix = format!(".{name}");
        let hits: Vec<(String, RecordId)> = self
            .record_names
            .iter()
            .filter(|(k, _)| k.ends_with(&suffix))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        match hits.len() {
            1 => Some(hits[0].1),
            0 => {
                let mut names: Vec<String> = self.record_names.keys().cloned().collect();
                names.extend(
                    [
                        "bool",
                        "int",
                        "float",
                        "string",
                        "timestamp",
                        "duration",
                        "ip",
                        "cidr",
                    ]
                    .map(String::from),
                );
                let shorts: Vec<String> = names
                    .iter()
                    .map(|n| n.rsplit('.').next().unwrap_or(n).to_string())
                    .collect();
                let mut d =
                    Diagnostic::error("E0104", file, span, format!("unknown type `{name}`"))
                        .with_label("not a type");
                let guess = did_you_mean(name, names.iter().map(String::as_str))
                    .or_else(|| did_you_mean(name, shorts.iter().map(String::as_str)));
                if let Some(s) = guess {
                    d = d.with_suggestion(format!("did you mean `{s}`?"), span, s.to_string());
                }
                self.diags.push(d);
                None
            }
            _ => {
                let mut names: Vec<String> = hits.iter().map(|(k, _)| format!("`{k}`")).collect();
                names.sort();
                self.diags.push(
                    Diagnostic::error(
                        "E0112",
                        file,
                        span,
                        format!("`{name}` is ambiguous: {}", names.join(", ")),
                    )
                    .with_label("ambiguous")
                    .with_note("write the qualified name"),
                );
                None
            }
        }
    }

    /// Looks up a resource type (`aws.ec2.instance`), with a suggestion.
    pub fn lookup_resource(&mut self, p: &ast::Path, file: u32) -> Option<RecordId> {
        let name = p.text();
        if let Some(r) = self.schemas.resource(&name) {
            self.note_ref(file, p.span, RefKind::Type(r), &Ty::Error);
            return Some(r);
        }
        let types: Vec<String> = self
            .schemas
            .resource_types()
            .map(|(_, t)| t.to_string())
            .collect();
        let mut d = Diagnostic::error(
            "E0103",
            file,
            p.span,
            format!("unknown resource type `{name}`"),
        )
        .with_label("no schema declares this type");
        if let Some(s) = did_you_mean(&name, types.iter().map(String::as_str)) {
            d = d.with_suggestion(format!("did you mean `{s}`?"), p.span, s.to_string());
        } else {
            d = d.with_note("declare it with `schema NAME { … }`, or load the file that does");
        }
        self.diags.push(d);
        None
    }

    /// Declares every `fn`'s signature; bodies are checked on demand.
    pub fn collect_fns(&mut self) {
        for (fi, f) in self.asts.clone().iter().enumerate() {
            let fi = fi as u32;
            for (ii, item) in f.file.items.iter().enumerate() {
                let Item::Fn(decl) = item else { continue };
                let q = self.qualify(fi, &decl.name.name);
                if let Some(prev) = self.fns.get(&q) {
                    let (pf, ps) = (prev.file, prev.span);
                    self.diags.push(
                        Diagnostic::error(
                            "E0201",
                            fi,
                            decl.name.span,
                            format!("function `{q}` is declared twice"),
                        )
                        .with_label("declared again")
                        .with_secondary(pf, ps, "first here"),
                    );
                    continue;
                }
                if pac_stdlib::lookup(&decl.name.name).is_some() || decl.name.name == "has" {
                    self.diags.push(
                        Diagnostic::error(
                            "E0201",
                            fi,
                            decl.name.span,
                            format!(
                                "`{}` is a built-in function; choose another name",
                                decl.name.name
                            ),
                        )
                        .with_label("shadows a built-in"),
                    );
                    continue;
                }
                let params = decl
                    .params
                    .iter()
                    .map(|p| (p.name.name.clone(), self.resolve_type(&p.ty, fi)))
                    .collect();
                let ret = self.resolve_type(&decl.ret, fi);
                Arc::make_mut(&mut self.fns).insert(
                    q,
                    FnInfo {
                        params,
                        ret,
                        file: fi,
                        span: decl.name.span,
                        slots: 0,
                        item: (fi, ii),
                        doc: decl.doc.as_ref().map(|d| d.text.clone()),
                    },
                );
            }
        }
        self.fns_by_last = Arc::new(crate::check::fns_by_last_name(&self.fns));
    }

    /// Checks every function body, each after the functions it calls
    /// (a depth-first post-order of the call graph, without recursion). So
    /// no body is ever checked inside another: a chain of 1,000 functions
    /// each calling the next needs the stack of one body, and a call of a
    /// function not yet checked is a cycle (E0311).
    pub fn check_fns(&mut self) {
        let mut names: Vec<String> = self.fns.keys().cloned().collect();
        names.sort_unstable();
        let callees: HashMap<String, Vec<String>> = names
            .iter()
            .map(|q| {
                let info = &self.fns[q];
                let package = self.package(info.file);
                let calls = match &self.asts[info.item.0 as usize].file.items[info.item.1] {
                    Item::Fn(decl) => {
                        crate::check::called_fns(&self.fns, &self.fns_by_last, &decl.body, package)
                    }
                    _ => Vec::new(),
                };
                (q.clone(), calls)
            })
            .collect();
        let mut seen: std::collections::HashSet<&str> = Default::default();
        let mut order: Vec<String> = Vec::new();
        for root in &names {
            if !seen.insert(root) {
                continue;
            }
            // (function, how many of its callees were visited)
            let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
            while let Some((q, i)) = stack.last_mut() {
                let next = callees.get(*q).and_then(|c| c.get(*i));
                *i += 1;
                match next {
                    Some(c) => {
                        if seen.insert(c) {
                            stack.push((c, 0));
                        }
                    }
                    None => {
                        order.push(q.to_string());
                        stack.pop();
                    }
                }
            }
        }
        self.callees_first = true;
        for q in order {
            self.fn_body(&q);
        }
    }

    /// Whether the body of `qname` has been checked.
    pub fn fn_checked(&self, qname: &str) -> bool {
        self.fn_bodies.contains_key(qname)
    }

    /// The checked body of a function (in its own frame: params in slots
    /// 0..n), checking it on first use.
    pub fn fn_body(&mut self, qname: &str) -> Option<Expr> {
        if let Some(b) = self.fn_bodies.get(qname) {
            return b.clone();
        }
        let info = self.fns.get(qname)?.clone();
        let ast = self.asts[info.item.0 as usize].clone();
        let Item::Fn(decl) = &ast.file.items[info.item.1] else {
            return None;
        };
        self.fn_stack.push(qname.to_string());
        let package = self.package(info.file).to_string();
        let mut scope = Scope::new(info.file, &package, None);
        let mut checker = Checker { env: self };
        for ((name, ty), p) in info.params.iter().zip(&decl.params) {
            scope.declare(name, ty.clone(), p.name.span);
            checker
                .env
                .note_ref(info.file, p.name.span, RefKind::LocalDecl, ty);
        }
        // The body is its own tree: its depth is added at each call site.
        let outer_depth = std::mem::take(&mut checker.env.depth);
        let body = checker.check(&decl.body, &mut scope);
        checker.env.depth = outer_depth;
        if !assignable(&body.ty, &info.ret) {
            let (want, got) = (
                checker.env.schemas.display(&info.ret),
                checker.env.schemas.display(&body.ty),
            );
            checker.env.diags.push(
                Diagnostic::error(
                    "E0301",
                    info.file,
                    decl.body.span,
                    format!("`{qname}` returns `{want}`, but its body is `{got}`"),
                )
                .with_label(format!("this is `{got}`"))
                .with_secondary(info.file, decl.ret.span, "declared return type"),
            );
        }
        let slots = scope.max_slot;
        self.fn_stack.pop();
        if let Some(f) = Arc::make_mut(&mut self.fns).get_mut(qname) {
            f.slots = slots;
        }
        Arc::make_mut(&mut self.fn_shapes).insert(qname.to_string(), body.depth_and_size());
        let body = Some(body);
        Arc::make_mut(&mut self.fn_bodies).insert(qname.to_string(), body.clone());
        body
    }
}
