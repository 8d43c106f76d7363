//! Declarations and the names that refer to them, collected from the syntax
//! trees of every file (stdlib included): policies, rules, groups,
//! exceptions, schemas, records, fields, `fn`s, actions and tests. Fields,
//! locals, built-ins and `fn` calls inside expressions come from the
//! checker's index instead (see `analysis.rs`).

use std::collections::HashMap;

use pac_lang::Span;
use pac_lang::ast::{self, GroupMember, Item, PolicyMember, TestStmt, TypeExpr, TypeKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclKind {
    Policy,
    Rule,
    Group,
    Domain,
    Exception,
    Schema,
    Record,
    Field,
    Fn,
    Action,
    Test,
}

/// What a name denotes: a declaration by kind and key. Keys are the names
/// the language uses: `policy`, `policy.rule`, a group's or exception's
/// name, a schema's full type name, `package.Record`, `package.fn`,
/// `Record.field` for fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: DeclKind,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Decl {
    pub key: Key,
    pub file: u32,
    /// The span of the name.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    pub doc: Option<String>,
    /// The declaration that contains it (a rule's policy, a field's schema).
    pub parent: Option<Key>,
}

/// A name in the source that refers to a declaration.
#[derive(Clone, Debug)]
pub struct NameRef {
    pub key: Key,
    pub file: u32,
    pub span: Span,
}

#[derive(Default, Debug)]
pub struct Symbols {
    pub decls: Vec<Decl>,
    pub refs: Vec<NameRef>,
    by_key: HashMap<Key, usize>,
    /// Records and actions by kind and last name segment (`Tag` for
    /// `aws.ec2.Tag`), in declaration order: a name written shorter than
    /// its key is looked up here, not by a scan of every declaration (which
    /// made the table quadratic in the workspace's size).
    by_last: HashMap<(DeclKind, String), Vec<usize>>,
}

impl Symbols {
    pub fn build(asts: &[&ast::File]) -> Symbols {
        let mut s = Symbols::default();
        let packages: Vec<String> = asts
            .iter()
            .map(|f| f.package.as_ref().map(|p| p.text()).unwrap_or_default())
            .collect();
        for (fi, f) in asts.iter().enumerate() {
            s.collect_decls(fi as u32, &packages[fi], f);
        }
        for (i, d) in s.decls.iter().enumerate() {
            s.by_key.entry(d.key.clone()).or_insert(i);
            if matches!(d.key.kind, DeclKind::Record | DeclKind::Action) {
                let last = d.key.name.rsplit('.').next().unwrap_or_default();
                s.by_last
                    .entry((d.key.kind, last.to_string()))
                    .or_default()
                    .push(i);
            }
        }
        for (fi, f) in asts.iter().enumerate() {
            s.collect_refs(fi as u32, &packages[fi], f);
        }
        s
    }

    pub fn decl(&self, key: &Key) -> Option<&Decl> {
        self.by_key.get(key).map(|&i| &self.decls[i])
    }

    fn push(&mut self, kind: DeclKind, name: String, file: u32, name_span: Span, span: Span) {
        self.decls.push(Decl {
            key: Key { kind, name },
            file,
            name_span,
            span,
            doc: None,
            parent: None,
        });
    }

    fn last_doc(&mut self, doc: &Option<ast::Doc>, parent: Option<Key>) {
        if let Some(d) = self.decls.last_mut() {
            d.doc = doc.as_ref().map(|d| d.text.clone());
            d.parent = parent;
        }
    }

    fn collect_decls(&mut self, fi: u32, package: &str, f: &ast::File) {
        let qualify = |n: &str| match package {
            "" => n.to_string(),
            p => format!("{p}.{n}"),
        };
        for item in &f.items {
            match item {
                Item::Policy(p) => {
                    let pname = p.name.name.clone();
                    self.push(DeclKind::Policy, pname.clone(), fi, p.name.span, p.span);
                    self.last_doc(&p.doc, None);
                    for m in &p.members {
                        if let PolicyMember::Rule(r) = m
                            && let Some(n) = &r.name
                        {
                            let id = format!("{pname}.{}", n.name);
                            self.push(DeclKind::Rule, id, fi, n.span, r.span);
                            let parent = Key {
                                kind: DeclKind::Policy,
                                name: pname.clone(),
                            };
                            self.last_doc(&r.doc, Some(parent));
                        }
                    }
                }
                Item::Group(g) => {
                    self.push(
                        DeclKind::Group,
                        g.name.name.clone(),
                        fi,
                        g.name.span,
                        g.span,
                    );
                    self.last_doc(&g.doc, None);
                }
                Item::Domain(d) => {
                    self.push(
                        DeclKind::Domain,
                        d.name.name.clone(),
                        fi,
                        d.name.span,
                        d.span,
                    );
                    self.last_doc(&d.doc, None);
                }
                Item::Exception(x) => {
                    let span = name_inner(&x.name);
                    self.push(DeclKind::Exception, x.name.text.clone(), fi, span, x.span);
                    self.last_doc(&x.doc, None);
                }
                Item::Schema(sc) => {
                    let n = sc.name.text();
                    self.push(DeclKind::Schema, n.clone(), fi, sc.name.span, sc.span);
                    self.last_doc(&sc.doc, None);
                    self.fields(fi, &n, DeclKind::Schema, &sc.fields);
                }
                Item::Record(r) => {
                    let n = qualify(&r.name.name);
                    self.push(DeclKind::Record, n.clone(), fi, r.name.span, r.span);
                    self.last_doc(&r.doc, None);
                    self.fields(fi, &n, DeclKind::Record, &r.fields);
                }
                Item::Fn(x) => {
                    self.push(DeclKind::Fn, qualify(&x.name.name), fi, x.name.span, x.span);
                    self.last_doc(&x.doc, None);
                }
                Item::Action(x) => {
                    self.push(
                        DeclKind::Action,
                        qualify(&x.name.name),
                        fi,
                        x.name.span,
                        x.span,
                    );
                    self.last_doc(&x.doc, None);
                }
                Item::Test(t) => {
                    self.push(
                        DeclKind::Test,
                        t.name.value.clone(),
                        fi,
                        t.name.span,
                        t.span,
                    );
                    self.last_doc(&t.doc, None);
                }
                Item::Error(_) => {}
            }
        }
    }

    fn fields(&mut self, fi: u32, owner: &str, kind: DeclKind, fields: &[ast::FieldDecl]) {
        for fd in fields {
            let key = format!("{owner}.{}", fd.name.name);
            self.push(DeclKind::Field, key, fi, fd.name.span, fd.span);
            let parent = Key {
                kind,
                name: owner.to_string(),
            };
            self.last_doc(&fd.doc, Some(parent));
        }
    }

    fn add_ref(&mut self, kind: DeclKind, name: String, file: u32, span: Span) {
        self.refs.push(NameRef {
            key: Key { kind, name },
            file,
            span,
        });
    }

    /// A type name as written: a schema's full name, or a record qualified
    /// by this file's package, or the name as is.
    fn type_key(&self, package: &str, text: &str) -> Option<Key> {
        let mut tries = vec![
            Key {
                kind: DeclKind::Schema,
                name: text.to_string(),
            },
            Key {
                kind: DeclKind::Record,
                name: text.to_string(),
            },
        ];
        if !package.is_empty() {
            tries.push(Key {
                kind: DeclKind::Record,
                name: format!("{package}.{text}"),
            });
        }
        if let Some(k) = tries.into_iter().find(|k| self.by_key.contains_key(k)) {
            return Some(k);
        }
        // `a.b.Rec` written as `b.Rec` (a suffix of the qualified name).
        let suffix = format!(".{text}");
        self.by_last_segment(DeclKind::Record, text)
            .find(|d| d.key.name.ends_with(&suffix))
            .map(|d| d.key.clone())
    }

    /// Declarations of `kind` whose name ends with the last segment of `text`.
    fn by_last_segment(&self, kind: DeclKind, text: &str) -> impl Iterator<Item = &Decl> {
        let last = text.rsplit('.').next().unwrap_or(text);
        self.by_last
            .get(&(kind, last.to_string()))
            .into_iter()
            .flatten()
            .map(|&i| &self.decls[i])
    }

    fn type_path(&mut self, fi: u32, package: &str, p: &ast::Path) {
        if let Some(k) = self.type_key(package, &p.text()) {
            self.add_ref(k.kind, k.name, fi, p.span);
        }
    }

    fn type_expr(&mut self, fi: u32, package: &str, t: &TypeExpr) {
        match &t.kind {
            TypeKind::Named(p) => self.type_path(fi, package, p),
            TypeKind::List(t) | TypeKind::Map(t) | TypeKind::Optional(t) => {
                self.type_expr(fi, package, t)
            }
        }
    }

    /// `policy` or `policy.rule` in an exception's `for`, an autofix, a test.
    fn rule_path(&mut self, fi: u32, parts: &[(String, Span)]) {
        let Some((p, pspan)) = parts.first() else {
            return;
        };
        let policy = Key {
            kind: DeclKind::Policy,
            name: p.clone(),
        };
        if self.by_key.contains_key(&policy) {
            self.add_ref(DeclKind::Policy, p.clone(), fi, *pspan);
            if let Some((r, rspan)) = parts.get(1) {
                self.add_ref(DeclKind::Rule, format!("{p}.{r}"), fi, *rspan);
            }
        } else if parts.len() == 1 {
            for kind in [DeclKind::Group, DeclKind::Exception] {
                let k = Key {
                    kind,
                    name: p.clone(),
                };
                if self.by_key.contains_key(&k) {
                    self.add_ref(kind, p.clone(), fi, *pspan);
                    return;
                }
            }
        }
    }

    fn collect_refs(&mut self, fi: u32, package: &str, f: &ast::File) {
        for item in &f.items {
            match item {
                Item::Policy(p) => {
                    for m in &p.members {
                        match m {
                            PolicyMember::Rule(r) => {
                                self.type_path(fi, package, &r.on);
                                if let Some(g) = &r.scope {
                                    self.add_ref(DeclKind::Group, g.text(), fi, g.span);
                                }
                            }
                            PolicyMember::Autofix(a) => {
                                let text = a.action.text();
                                let suffix = format!(".{text}");
                                let key = self
                                    .by_last_segment(DeclKind::Action, &text)
                                    .find(|d| d.key.name == text || d.key.name.ends_with(&suffix))
                                    .map(|d| d.key.clone());
                                if let Some(k) = key {
                                    self.add_ref(k.kind, k.name, fi, a.action.span);
                                }
                                if let Some(r) = &a.rule {
                                    let id = format!("{}.{}", p.name.name, r.name);
                                    self.add_ref(DeclKind::Rule, id, fi, r.span);
                                }
                            }
                            PolicyMember::Meta(_) | PolicyMember::Error(_) => {}
                        }
                    }
                }
                Item::Group(g) => {
                    for m in &g.members {
                        if let GroupMember::Type { ty, .. } = m {
                            self.type_path(fi, package, ty);
                        }
                    }
                }
                Item::Domain(d) => {
                    for m in &d.members {
                        if let ast::DomainMember::Meta(m) = m
                            && m.key.name == "policies"
                            && let ast::MetaValue::List(names, _) = &m.value
                        {
                            for n in names {
                                let inner =
                                    Span::new(n.span.start + 1, n.span.end.saturating_sub(1));
                                self.add_ref(DeclKind::Policy, n.value.clone(), fi, inner);
                            }
                        }
                    }
                }
                Item::Exception(x) => {
                    for t in &x.targets {
                        let parts: Vec<(String, Span)> =
                            t.parts.iter().map(|i| (i.name.clone(), i.span)).collect();
                        self.rule_path(fi, &parts);
                    }
                    if let Some(g) = &x.scope {
                        self.add_ref(DeclKind::Group, g.text(), fi, g.span);
                    }
                }
                Item::Schema(sc) => {
                    for fd in &sc.fields {
                        self.type_expr(fi, package, &fd.ty);
                    }
                }
                Item::Record(r) => {
                    for fd in &r.fields {
                        self.type_expr(fi, package, &fd.ty);
                    }
                }
                Item::Fn(x) => {
                    for p in &x.params {
                        self.type_expr(fi, package, &p.ty);
                    }
                    self.type_expr(fi, package, &x.ret);
                }
                Item::Action(x) => {
                    for p in &x.params {
                        self.type_expr(fi, package, &p.ty);
                    }
                    for on in &x.on {
                        self.type_path(fi, package, on);
                    }
                }
                Item::Test(t) => {
                    for s in &t.stmts {
                        match s {
                            TestStmt::Given { ty, .. } => self.type_path(fi, package, ty),
                            TestStmt::Expect { target, .. } => {
                                let parts = split_name(target);
                                self.rule_path(fi, &parts);
                            }
                            _ => {}
                        }
                    }
                }
                Item::Error(_) => {}
            }
        }
    }
}

/// The span of a name's text without its quotes.
pub fn name_inner(n: &ast::Name) -> Span {
    if n.quoted && n.span.end >= n.span.start + 2 {
        Span::new(n.span.start + 1, n.span.end - 1)
    } else {
        n.span
    }
}

/// `a.b` in a test's `expect a.b`, split into its parts with their spans.
fn split_name(n: &ast::Name) -> Vec<(String, Span)> {
    let inner = name_inner(n);
    if n.quoted || inner.end - inner.start != n.text.len() {
        return vec![(n.text.clone(), inner)];
    }
    let mut at = inner.start;
    n.text
        .split('.')
        .map(|p| {
            let span = Span::new(at, at + p.len());
            at += p.len() + 1;
            (p.to_string(), span)
        })
        .collect()
}
