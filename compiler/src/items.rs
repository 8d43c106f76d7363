//! Checking and lowering of declarations: actions, groups, policies and
//! their rules and auto-fix bindings, exceptions, tests.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pac_lang::Span;
use pac_lang::ast::{self, Item, MetaValue, PolicyMember, RuleStmt, TemplatePart, TestStmt};
use pac_stdlib::Value;

use crate::check::{Checker, Scope, assignable, literal_value, record_value};
use crate::diag::Diagnostic;
use crate::index::{ItemKind, RefKind};
use crate::ir::{self, CATEGORIES, ExpectTarget, MessagePart, Severity, Verb};
use crate::resolve::{CHUNK_FILE, Env};
use crate::suggest::did_you_mean;
use crate::types::{RecordId, Ty};

/// Names declared workspace-wide, with their index in the program.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub policies: HashMap<String, usize>,
    pub groups: HashMap<String, usize>,
    pub exceptions: HashMap<String, usize>,
    pub actions: HashMap<String, usize>,
    pub domains: HashMap<String, usize>,
}

/// A policy as its head declares it: its name and the names and types of
/// its rules, found by syntax alone (no body, no span), so that an edit
/// inside a rule changes no head and renumbers nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyHead {
    /// (chunk ordinal in its file, item index in the chunk)
    pub at: (u32, u32),
    pub name: String,
    /// The name (none for a policy's only rule) and type (`on`) of each
    /// rule that is in the program, in order.
    pub rules: Vec<(Option<String>, String)>,
}

impl PolicyHead {
    pub fn new(at: (u32, u32), p: &ast::Policy) -> PolicyHead {
        PolicyHead {
            at,
            name: p.name.name.clone(),
            rules: included_rules(p)
                .into_iter()
                .filter_map(|r| r.ok())
                .map(|(r, name)| (name, r.on.text()))
                .collect(),
        }
    }
}

/// Why a rule is left out of the program.
enum Excluded {
    /// Its name was used by an earlier rule of the policy (there).
    Duplicate(Span),
    /// It has no name, and the policy has several rules.
    Unnamed,
}

/// A rule in the program with its name, or a rule left out and why.
type RuleInclusion<'a> = Result<(&'a ast::Rule, Option<String>), (&'a ast::Rule, Excluded)>;

/// Each rule of a policy with its name, or why it is left out: decided by
/// the syntax alone. A rule whose type is unknown is left out too (by both
/// `declarations` and lowering, from the same schemas).
fn included_rules(p: &ast::Policy) -> Vec<RuleInclusion<'_>> {
    let rules: Vec<&ast::Rule> = p
        .members
        .iter()
        .filter_map(|m| match m {
            PolicyMember::Rule(r) => Some(r),
            _ => None,
        })
        .collect();
    let mut names: HashMap<&str, Span> = HashMap::new();
    let count = rules.len();
    rules
        .into_iter()
        .map(|r| match (&r.name, count) {
            (Some(n), _) => match names.insert(n.name.as_str(), n.span) {
                Some(prev) => Err((r, Excluded::Duplicate(prev))),
                None => Ok((r, Some(n.name.clone()))),
            },
            (None, 1) => Ok((r, None)),
            (None, _) => Err((r, Excluded::Unnamed)),
        })
        .collect()
}

/// A rule of the program as `declarations` numbers it.
#[derive(Clone, Debug)]
pub struct RuleEntry {
    pub id: String,
    pub resource: RecordId,
}

/// The workspace's declarations, checked and lowered: everything an item's
/// lowering reads from the rest of the workspace. Built from the files'
/// declaration items and policy and exception heads only, so that an edit
/// inside a policy, exception or test leaves it unchanged.
pub struct Decls {
    /// The tables (schemas, `fn`s and their checked bodies), shared with
    /// every chunk's `Env`.
    pub env: Env,
    pub names: Names,
    pub actions: Vec<ir::Action>,
    pub groups: Vec<ir::Group>,
    pub domains: Vec<ir::Domain>,
    /// Every rule of the program, by global index.
    pub rules: Vec<RuleEntry>,
    pub rule_ids: HashMap<String, usize>,
    /// The global indices of each policy's rules.
    pub policy_rules: Vec<Vec<usize>>,
    /// (file, chunk, item) → index of the policy or exception declared
    /// there (its first declaration only: duplicates are not lowered).
    pub policy_at: HashMap<(u32, u32, u32), usize>,
    pub exception_at: HashMap<(u32, u32, u32), usize>,
    pub diags: Vec<Diagnostic>,
    pub refs: Vec<crate::index::Ref>,
    /// IR node ids used by the declarations (chunks number after them).
    pub nodes: u32,
}

/// The heads of one file's policies and exceptions.
pub struct FileHeads<'a> {
    pub policies: &'a [PolicyHead],
    /// (chunk, item) and name of each exception.
    pub exceptions: &'a [((u32, u32), String)],
}

/// Checks and lowers the declarations: every `fn` body (callees first),
/// actions and groups; numbers policies, rules and exceptions.
pub fn lower_decls(mut env: Env, heads: &[FileHeads]) -> Decls {
    env.collect_schemas();
    env.collect_fns();
    // Every function is checked, used or not, callees first.
    env.check_fns();
    let mut names = Names::default();
    let mut first: HashMap<(&'static str, String), (u32, Span)> = HashMap::new();
    let asts = env.asts.clone();
    for (fi, f) in asts.iter().enumerate() {
        let fi = fi as u32;
        for item in &f.file.items {
            let (map, name, span, kind) = match item {
                Item::Group(g) => (&mut names.groups, g.name.name.clone(), g.name.span, "group"),
                Item::Domain(d) => (
                    &mut names.domains,
                    d.name.name.clone(),
                    d.name.span,
                    "domain",
                ),
                Item::Action(a) => (
                    &mut names.actions,
                    a.name.name.clone(),
                    a.name.span,
                    "action",
                ),
                _ => continue,
            };
            if map.contains_key(&name) {
                let mut d = duplicate(fi, span, kind, &name);
                if let Some((pf, ps)) = first.get(&(kind, name.clone())) {
                    d = d.with_secondary(*pf, *ps, "first declared here");
                }
                env.diags.push(d);
                continue;
            }
            map.insert(name.clone(), map.len());
            first.insert((kind, name), (fi, span));
        }
    }

    // Actions.
    let mut actions = Vec::new();
    for (fi, f) in asts.iter().enumerate() {
        let fi = fi as u32;
        for item in &f.file.items {
            let Item::Action(a) = item else { continue };
            if names.actions.get(&a.name.name) != Some(&actions.len()) {
                continue;
            }
            let params = a
                .params
                .iter()
                .map(|p| (p.name.name.clone(), env.resolve_type(&p.ty, fi)))
                .collect();
            let on =
                a.on.iter()
                    .filter_map(|p| env.lookup_resource(p, fi))
                    .collect();
            actions.push(ir::Action {
                name: a.name.name.clone(),
                params,
                on,
                doc: a.doc.as_ref().map(|d| d.text.clone()),
                file: fi,
                span: a.name.span,
            });
        }
    }

    // Groups (before rules, which may be scoped to them).
    let mut groups = Vec::new();
    for (fi, f) in asts.iter().enumerate() {
        let fi = fi as u32;
        for item in &f.file.items {
            let Item::Group(g) = item else { continue };
            if names.groups.get(&g.name.name) != Some(&groups.len()) {
                continue;
            }
            groups.push(lower_group(&mut env, g, fi));
        }
    }

    // Policies, their rules and exceptions, numbered in file order.
    let mut decls = Decls {
        env,
        names,
        actions,
        groups,
        domains: Vec::new(),
        rules: Vec::new(),
        rule_ids: HashMap::new(),
        policy_rules: Vec::new(),
        policy_at: HashMap::new(),
        exception_at: HashMap::new(),
        diags: Vec::new(),
        refs: Vec::new(),
        nodes: 0,
    };
    for (fi, h) in heads.iter().enumerate() {
        let fi = fi as u32;
        for p in h.policies {
            if decls.names.policies.contains_key(&p.name) {
                continue;
            }
            let pidx = decls.policy_rules.len();
            decls.names.policies.insert(p.name.clone(), pidx);
            decls.policy_at.insert((fi, p.at.0, p.at.1), pidx);
            let mut rules = Vec::new();
            for (name, on) in &p.rules {
                let Some(resource) = decls.env.schemas.resource(on) else {
                    continue;
                };
                let id = match name {
                    Some(n) => format!("{}.{n}", p.name),
                    None => p.name.clone(),
                };
                let r = decls.rules.len();
                decls.rule_ids.entry(id.clone()).or_insert(r);
                decls.rules.push(RuleEntry { id, resource });
                rules.push(r);
            }
            decls.policy_rules.push(rules);
        }
        for (at, name) in h.exceptions {
            if decls.names.exceptions.contains_key(name) {
                continue;
            }
            let x = decls.names.exceptions.len();
            decls.names.exceptions.insert(name.clone(), x);
            decls.exception_at.insert((fi, at.0, at.1), x);
        }
    }
    // Domains (after the policies are numbered: they name policies).
    for (fi, f) in asts.iter().enumerate() {
        let fi = fi as u32;
        for item in &f.file.items {
            let Item::Domain(d) = item else { continue };
            if decls.names.domains.get(&d.name.name) != Some(&decls.domains.len()) {
                continue;
            }
            let d = lower_domain(&mut decls.env, &decls.names, d, fi);
            decls.domains.push(d);
        }
    }
    decls.diags = std::mem::take(&mut decls.env.diags);
    decls.refs = std::mem::take(&mut decls.env.refs);
    decls.nodes = decls.env.next_node;
    decls
}

/// One chunk's policies, rules, exceptions and tests, lowered with spans
/// relative to the chunk (file [`CHUNK_FILE`]) and node ids from 0;
/// `db::compile` moves them into place.
#[derive(Debug, Default)]
pub struct ChunkOut {
    pub policies: Vec<ir::Policy>,
    /// The rules of `policies`, in order; the first has the global index
    /// `rule_base`.
    pub rules: Vec<ir::Rule>,
    pub rule_base: usize,
    pub exceptions: Vec<ir::Exception>,
    pub tests: Vec<ir::Test>,
    pub diags: Vec<Diagnostic>,
    pub refs: Vec<crate::index::Ref>,
    pub nodes: u32,
}

/// Lowers the policies, exceptions and tests of one chunk (its other items
/// are declarations, lowered by [`lower_decls`]). `file` and `ordinal` say
/// where the chunk is, to find the indices `declarations` gave its items.
pub fn lower_chunk(
    env: &mut Env,
    decls: &Decls,
    parsed: &pac_lang::Parsed,
    file: u32,
    ordinal: u32,
) -> ChunkOut {
    let mut out = ChunkOut::default();
    let fi = CHUNK_FILE;
    for (ii, item) in parsed.file.items.iter().enumerate() {
        let at = (file, ordinal, ii as u32);
        match item {
            Item::Policy(p) => {
                if let Some(&pidx) = decls.policy_at.get(&at) {
                    lower_policy(env, decls, &mut out, p, fi, pidx);
                }
            }
            Item::Exception(x) if decls.exception_at.contains_key(&at) => {
                let e = lower_exception(env, decls, x, fi);
                out.exceptions.push(e);
            }
            Item::Test(t) => {
                let t = lower_test(env, decls, t, fi);
                out.tests.push(t);
            }
            _ => {}
        }
    }
    out.diags = std::mem::take(&mut env.diags);
    out.refs = std::mem::take(&mut env.refs);
    out.nodes = env.next_node;
    out
}

pub(crate) fn duplicate(fi: u32, span: Span, kind: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        "E0201",
        fi,
        span,
        format!("{kind} `{name}` is declared twice"),
    )
    .with_label("declared again")
    .with_note(format!("{kind} names are unique across the workspace"))
}

fn meta_str(env: &mut Env, m: &ast::Meta, file: u32) -> Option<String> {
    match &m.value {
        MetaValue::Str(s) => Some(s.value.clone()),
        other => {
            env.diags.push(
                Diagnostic::error(
                    "E0402",
                    file,
                    other.span(),
                    format!("`{}` takes a string: `{} \"…\"`", m.key.name, m.key.name),
                )
                .with_label("expected a string"),
            );
            None
        }
    }
}

fn unknown_meta(env: &mut Env, m: &ast::Meta, file: u32, valid: &[&str], what: &str) {
    let mut d = Diagnostic::error(
        "E0110",
        file,
        m.key.span,
        format!("`{}` is not a {what} entry", m.key.name),
    )
    .with_label("unknown key")
    .with_note(format!("valid entries: {}", valid.join(", ")));
    if let Some(s) = did_you_mean(&m.key.name, valid.iter().copied()) {
        d = d.with_suggestion(format!("did you mean `{s}`?"), m.key.span, s.to_string());
    }
    env.diags.push(d);
}

/// A domain's entries: `title`, `description`, and the selectors
/// `categories`, `tags` (patterns) and `policies` (names, each checked).
fn lower_domain(env: &mut Env, names: &Names, d: &ast::Domain, fi: u32) -> ir::Domain {
    const KEYS: &[&str] = &["title", "description", "categories", "tags", "policies"];
    let mut out = ir::Domain {
        name: d.name.name.clone(),
        doc: d.doc.as_ref().map(|x| x.text.clone()),
        file: fi,
        span: d.name.span,
        ..Default::default()
    };
    for m in &d.members {
        let ast::DomainMember::Meta(m) = m else {
            continue;
        };
        let key = m.key.name.as_str();
        if !KEYS.contains(&key) {
            unknown_meta(env, m, fi, KEYS, "domain");
            continue;
        }
        if key == "title" || key == "description" {
            let v = meta_str(env, m, fi);
            *(if key == "title" {
                &mut out.title
            } else {
                &mut out.description
            }) = v;
            continue;
        }
        let MetaValue::List(items, _) = &m.value else {
            env.diags.push(
                Diagnostic::error(
                    "E0402",
                    fi,
                    m.value.span(),
                    format!("`{key}` takes a list of strings: `{key} [\"…\", \"…\"]`"),
                )
                .with_label("expected a list"),
            );
            continue;
        };
        for s in items {
            match key {
                "categories" if !CATEGORIES.contains(&s.value.as_str()) => {
                    let mut diag = Diagnostic::error("E0402", fi, s.span, "unknown category")
                        .with_label("not a category")
                        .with_note(format!("categories: {}", CATEGORIES.join(", ")));
                    if let Some(c) = did_you_mean(&s.value, CATEGORIES.iter().copied()) {
                        diag = diag.with_suggestion(
                            format!("did you mean `{c}`?"),
                            s.span,
                            format!("\"{c}\""),
                        );
                    }
                    env.diags.push(diag);
                }
                "categories" => out.categories.push(s.value.clone()),
                "tags" => out.tags.push(s.value.clone()),
                _ => {
                    // The name inside the quotes, for definition and rename.
                    let inner = Span::new(s.span.start + 1, s.span.end.saturating_sub(1));
                    if names.policies.contains_key(&s.value) {
                        env.note_ref(
                            fi,
                            inner,
                            RefKind::Item(ItemKind::Policy, s.value.clone()),
                            &Ty::Error,
                        );
                        out.policies.push(s.value.clone());
                        continue;
                    }
                    let mut diag = Diagnostic::error(
                        "E0106",
                        fi,
                        s.span,
                        format!("unknown policy `{}`", s.value),
                    )
                    .with_label("no such policy");
                    if let Some(c) =
                        did_you_mean(&s.value, names.policies.keys().map(String::as_str))
                    {
                        diag = diag.with_suggestion(
                            format!("did you mean `{c}`?"),
                            inner,
                            c.to_string(),
                        );
                    }
                    env.diags.push(diag);
                }
            }
        }
    }
    out
}

fn lower_group(env: &mut Env, g: &ast::Group, fi: u32) -> ir::Group {
    let mut members = Vec::new();
    let mut title = None;
    let mut slots = 1;
    let package = env.package(fi).to_string();
    for m in &g.members {
        match m {
            ast::GroupMember::Type { ty, cond, .. } => {
                let Some(rid) = env.lookup_resource(ty, fi) else {
                    continue;
                };
                let cond = cond.as_ref().map(|c| {
                    let mut scope = Scope::new(fi, &package, Some(rid));
                    let x = Checker { env }.check_cond(c, &mut scope, "a group condition");
                    slots = slots.max(scope.max_slot);
                    x
                });
                members.push(ir::GroupMember {
                    resource: rid,
                    cond,
                });
            }
            ast::GroupMember::Meta(m) if m.key.name == "title" => title = meta_str(env, m, fi),
            ast::GroupMember::Meta(m) => unknown_meta(env, m, fi, &["title"], "group"),
            ast::GroupMember::Error(_) => {}
        }
    }
    ir::Group {
        name: g.name.name.clone(),
        title,
        doc: g.doc.as_ref().map(|d| d.text.clone()),
        members,
        slots,
        file: fi,
        span: g.name.span,
    }
}

const POLICY_KEYS: [&str; 6] = [
    "title",
    "description",
    "severity",
    "category",
    "remediation",
    "tags",
];

fn lower_policy(
    env: &mut Env,
    decls: &Decls,
    out: &mut ChunkOut,
    p: &ast::Policy,
    fi: u32,
    pidx: usize,
) {
    let mut policy = ir::Policy {
        name: p.name.name.clone(),
        title: String::new(),
        description: None,
        severity: Severity::Medium,
        category: String::new(),
        remediation: None,
        tags: Vec::new(),
        doc: p.doc.as_ref().map(|d| d.text.clone()),
        rules: Vec::new(),
        file: fi,
        span: p.name.span,
    };
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let (mut has_title, mut has_sev, mut has_cat) = (false, false, false);
    for m in &p.members {
        let PolicyMember::Meta(m) = m else { continue };
        if let Some(prev) = seen.insert(m.key.name.as_str(), m.key.span) {
            env.diags.push(
                Diagnostic::error(
                    "E0201",
                    fi,
                    m.key.span,
                    format!("`{}` is given twice", m.key.name),
                )
                .with_label("again")
                .with_secondary(fi, prev, "first here"),
            );
            continue;
        }
        match m.key.name.as_str() {
            "title" => {
                has_title = true;
                policy.title = meta_str(env, m, fi).unwrap_or_default();
            }
            "description" => policy.description = meta_str(env, m, fi),
            "remediation" => policy.remediation = meta_str(env, m, fi),
            "severity" => {
                has_sev = true;
                let word = match &m.value {
                    MetaValue::Ident(i) => Some(i),
                    _ => None,
                };
                match word.and_then(|w| Severity::ALL.iter().find(|(n, _)| *n == w.name)) {
                    Some((_, s)) => policy.severity = *s,
                    None => {
                        let sevs: Vec<&str> = Severity::ALL.iter().map(|(n, _)| *n).collect();
                        let mut d =
                            Diagnostic::error("E0402", fi, m.value.span(), "unknown severity")
                                .with_label("not a severity")
                                .with_note(format!("severities: {}", sevs.join(", ")));
                        if let Some(w) = word
                            && let Some(s) = did_you_mean(&w.name, sevs.iter().copied())
                        {
                            d = d.with_suggestion(
                                format!("did you mean `{s}`?"),
                                w.span,
                                s.to_string(),
                            );
                        }
                        env.diags.push(d);
                    }
                }
            }
            "category" => {
                has_cat = true;
                match &m.value {
                    MetaValue::Ident(i) if CATEGORIES.contains(&i.name.as_str()) => {
                        policy.category = i.name.clone()
                    }
                    v => {
                        let mut d = Diagnostic::error("E0402", fi, v.span(), "unknown category")
                            .with_label("not a category")
                            .with_note(format!("categories: {}", CATEGORIES.join(", ")));
                        if let MetaValue::Ident(i) = v
                            && let Some(s) = did_you_mean(&i.name, CATEGORIES.iter().copied())
                        {
                            d = d.with_suggestion(
                                format!("did you mean `{s}`?"),
                                i.span,
                                s.to_string(),
                            );
                        }
                        env.diags.push(d);
                    }
                }
            }
            "tags" => match &m.value {
                MetaValue::List(items, _) => {
                    policy.tags = items.iter().map(|s| s.value.clone()).collect()
                }
                v => env.diags.push(
                    Diagnostic::error(
                        "E0402",
                        fi,
                        v.span(),
                        "`tags` takes a list of strings: `tags [\"cis-5.2\"]`",
                    )
                    .with_label("expected a list"),
                ),
            },
            _ => unknown_meta(env, m, fi, &POLICY_KEYS, "policy"),
        }
    }
    for (ok, key, example) in [
        (has_title, "title", "title \"…\""),
        (has_sev, "severity", "severity high"),
        (has_cat, "category", "category security"),
    ] {
        if !ok {
            env.diags.push(
                Diagnostic::error(
                    "E0401",
                    fi,
                    p.name.span,
                    format!("policy `{}` has no `{key}`", p.name.name),
                )
                .with_label(format!("missing `{key}`"))
                .with_note(format!("add `{example}` to the policy")),
            );
        }
    }

    let rules = included_rules(p);
    if rules.is_empty() {
        env.diags.push(
            Diagnostic::error(
                "E0403",
                fi,
                p.name.span,
                format!("policy `{}` has no rule", p.name.name),
            )
            .with_label("no `rule on TYPE { violation when … }`"),
        );
    }
    // The global indices `declarations` gave this policy's rules.
    let mut globals = decls
        .policy_rules
        .get(pidx)
        .map(|r| r.as_slice())
        .unwrap_or_default()
        .iter();
    for r in rules {
        let (r, name) = match r {
            Ok(named) => named,
            Err((r, Excluded::Duplicate(prev))) => {
                let n = r.name.as_ref().map(|n| (n.name.as_str(), n.span));
                let (n, span) = n.unwrap_or(("", r.head));
                env.diags.push(
                    Diagnostic::error("E0201", fi, span, format!("rule `{n}` is declared twice"))
                        .with_label("again")
                        .with_secondary(fi, prev, "first here"),
                );
                continue;
            }
            Err((r, Excluded::Unnamed)) => {
                env.diags.push(
                    Diagnostic::error(
                        "E0404",
                        fi,
                        r.head,
                        "this rule needs a name: the policy has several rules",
                    )
                    .with_label("unnamed rule")
                    .with_note(
                        "write `rule NAME on TYPE { … }`; rules are referred to as `policy.NAME`",
                    ),
                );
                continue;
            }
        };
        if let Some(rule) = lower_rule(env, decls, r, &p.name.name, name, pidx, fi) {
            // Both sides leave out exactly the rules of unknown type, so
            // the indices line up; a rule without one is never lost.
            let Some(&g) = globals.next() else { continue };
            if out.rules.is_empty() {
                out.rule_base = g;
            }
            policy.rules.push(g);
            out.rules.push(rule);
        }
    }

    // Auto-fix bindings.
    for m in &p.members {
        let PolicyMember::Autofix(a) = m else {
            continue;
        };
        lower_autofix(env, decls, out, &policy, a, fi);
    }
    out.policies.push(policy);
}

#[allow(clippy::too_many_arguments)]
fn lower_rule(
    env: &mut Env,
    decls: &Decls,
    r: &ast::Rule,
    policy: &str,
    name: Option<String>,
    pidx: usize,
    fi: u32,
) -> Option<ir::Rule> {
    let rid = env.lookup_resource(&r.on, fi);
    let scope_group = r
        .scope
        .as_ref()
        .and_then(|g| resolve_group(env, &decls.names, g, fi));
    if let (Some(gi), Some(rid)) = (scope_group, rid)
        && let Some(g) = decls.groups.get(gi)
        && !g.members.iter().any(|m| m.resource == rid)
    {
        env.diags.push(
            Diagnostic::warning(
                "W0504",
                fi,
                r.scope.as_ref().map(|s| s.span).unwrap_or(r.head),
                format!(
                    "group `{}` has no member of type `{}`, so this rule never applies",
                    g.name,
                    r.on.text()
                ),
            )
            .with_label("empty scope")
            .with_secondary(g.file, g.span, "group declared here"),
        );
    }
    let package = env.package(fi).to_string();
    let mut scope = Scope::new(fi, &package, rid);
    let mut lets: Vec<(ir::Slot, ir::Expr, Span)> = Vec::new();
    let mut cond: Option<ir::Expr> = None;
    let mut message: Option<&ast::StrLit> = None;
    for s in &r.stmts {
        match s {
            RuleStmt::Let { name, value, span } => {
                let v = if rid.is_some() {
                    Checker { env }.check(value, &mut scope)
                } else {
                    continue;
                };
                let slot = scope.bind(&name.name, v.ty.clone(), name.span);
                env.note_ref(scope.file, name.span, RefKind::LocalDecl, &v.ty);
                lets.push((slot, v, *span));
            }
            RuleStmt::Violation { cond: c, span } => {
                if cond.is_some() {
                    env.diags.push(
                        Diagnostic::error(
                            "E0403",
                            fi,
                            *span,
                            "a rule has one `violation when`; combine conditions with `or`",
                        )
                        .with_label("second condition"),
                    );
                    continue;
                }
                if rid.is_none() {
                    cond = Some(error_expr(env, c.span, fi));
                    continue;
                }
                let x = Checker { env }.check_cond(c, &mut scope, "a violation condition");
                if let Some(Value::Bool(b)) = x.as_const() {
                    env.diags.push(
                        Diagnostic::warning(
                            "W0501",
                            fi,
                            c.span,
                            format!("this condition is always {b}"),
                        )
                        .with_label(if *b {
                            "every resource violates this rule"
                        } else {
                            "no resource can violate this rule"
                        }),
                    );
                }
                cond = Some(x);
            }
            RuleStmt::Meta(m) if m.key.name == "message" => match &m.value {
                MetaValue::Str(s) => message = Some(s),
                v => env.diags.push(
                    Diagnostic::error(
                        "E0402",
                        fi,
                        v.span(),
                        "`message` takes a string template: `message \"{id} is …\"`",
                    )
                    .with_label("expected a string"),
                ),
            },
            RuleStmt::Meta(m) => unknown_meta(env, m, fi, &["message", "let", "violation"], "rule"),
            RuleStmt::Error(_) => {}
        }
    }
    if cond.is_none() {
        env.diags.push(
            Diagnostic::error(
                "E0403",
                fi,
                r.head,
                "this rule has no `violation when` condition",
            )
            .with_label("no condition")
            .with_note("add `violation when CONDITION` inside the rule"),
        );
    }
    let rid = rid?;
    // A rule without a condition stays in the program (the error keeps the
    // program from running), so that what a rule's body says never changes
    // which rules there are.
    let mut cond = match cond {
        Some(c) => c,
        None => error_expr(env, r.head, fi),
    };
    let mut parts = Vec::new();
    if let Some(lit) = message {
        let src: Arc<str> = env
            .chunk
            .as_ref()
            .map(|c| c.text.clone())
            .unwrap_or_default();
        match pac_lang::parse_template(&src, lit) {
            Ok(ps) => {
                for p in ps {
                    match p {
                        TemplatePart::Text(t) => parts.push(MessagePart::Text(t)),
                        TemplatePart::Expr(e) => {
                            let x = Checker { env }.check(&e, &mut scope);
                            parts.push(MessagePart::Expr(x));
                        }
                    }
                }
            }
            Err(e) => env.diags.push(
                Diagnostic::error(e.code, fi, e.span, e.message).with_label("in this template"),
            ),
        }
    }
    // Fold the lets around the condition (innermost last), and report
    // unused ones. Message parts see the lets too: they are evaluated in the
    // same frame after the condition.
    for _ in 0..lets.len() {
        if let Some(v) = scope.unbind() {
            Checker { env }.warn_unused(&v, &scope);
        }
    }
    // A `let` the condition does not read (directly or through another
    // `let` it reads) only serves the message: it moves there.
    let mut needed = HashSet::new();
    locals_of(&cond, &mut needed);
    let mut cond_lets = Vec::new();
    let mut message_lets = Vec::new();
    for (slot, value, span) in lets.into_iter().rev() {
        if needed.contains(&slot) {
            locals_of(&value, &mut needed);
            cond_lets.push((slot, value, span));
        } else {
            message_lets.push((slot, value));
        }
    }
    message_lets.reverse();
    for (slot, value, span) in cond_lets {
        let ty = cond.ty.clone();
        let id = env.next_node;
        env.next_node += 1;
        cond = ir::Expr {
            kind: ir::ExprKind::Let(slot, Box::new(value), Box::new(cond)),
            ty,
            id,
            file: fi,
            span: Span::new(span.start, span.end),
        };
    }
    Some(ir::Rule {
        id: match &name {
            Some(n) => format!("{policy}.{n}"),
            None => policy.to_string(),
        },
        policy: pidx,
        resource: rid,
        resource_type: env
            .schemas
            .record(rid)
            .resource_type
            .clone()
            .unwrap_or_default(),
        scope: scope_group,
        cond,
        message_lets,
        message: parts,
        autofix: None,
        slots: scope.max_slot,
        file: fi,
        span: r.head,
    })
}

/// The frame slots an expression reads.
fn locals_of(e: &ir::Expr, out: &mut HashSet<ir::Slot>) {
    e.walk(&mut |x| {
        if let ir::ExprKind::Local(s) = &x.kind {
            out.insert(*s);
        }
    });
}

fn error_expr(env: &mut Env, span: Span, file: u32) -> ir::Expr {
    let id = env.next_node;
    env.next_node += 1;
    ir::Expr {
        kind: ir::ExprKind::Const(Value::Missing),
        ty: Ty::Error,
        id,
        file,
        span,
    }
}

/// Whether `e` is written as a constant (no name, call or operator but a
/// sign): a fix argument that is not is computed from the resource.
fn literal(e: &ast::Expr) -> bool {
    use ast::ExprKind as A;
    match &e.kind {
        A::Int(_)
        | A::Float(_)
        | A::Str(_)
        | A::Bool(_)
        | A::Duration(_)
        | A::Timestamp(_)
        | A::Ip(_)
        | A::Cidr(..) => true,
        A::Unary(ast::UnOp::Neg, x) | A::Paren(x) => literal(x),
        A::List(xs) => xs.iter().all(literal),
        A::Record(fields) => fields.iter().all(|(_, x)| literal(x)),
        _ => false,
    }
}

fn lower_autofix(
    env: &mut Env,
    decls: &Decls,
    out: &mut ChunkOut,
    policy: &ir::Policy,
    a: &ast::Autofix,
    fi: u32,
) {
    let aname = a.action.text();
    let names = &decls.names;
    let Some(&ai) = names.actions.get(&aname) else {
        let mut d = Diagnostic::error(
            "E0108",
            fi,
            a.action.span,
            format!("unknown auto-fix action `{aname}`"),
        )
        .with_label("no such action");
        if let Some(s) = did_you_mean(&aname, names.actions.keys().map(String::as_str)) {
            d = d.with_suggestion(format!("did you mean `{s}`?"), a.action.span, s.to_string());
        }
        env.diags.push(d);
        return;
    };
    let Some(action) = decls.actions.get(ai).cloned() else {
        return;
    };
    env.note_ref(
        fi,
        a.action.span,
        RefKind::Item(ItemKind::Action, action.name.clone()),
        &Ty::Error,
    );
    // Arguments: named, of the parameter's type; a constant is kept as a
    // value, anything else is an expression over the failing resource,
    // checked below for each rule the fix binds to.
    let mut args = Vec::new();
    let mut computed: Vec<(&ast::NamedArg, Ty)> = Vec::new();
    for arg in &a.args {
        let Some((_, pty)) = action.params.iter().find(|(n, _)| *n == arg.name.name) else {
            let mut d = Diagnostic::error(
                "E0108",
                fi,
                arg.name.span,
                format!("action `{aname}` has no parameter `{}`", arg.name.name),
            )
            .with_label("unknown parameter");
            if let Some(s) = did_you_mean(
                &arg.name.name,
                action.params.iter().map(|(n, _)| n.as_str()),
            ) {
                d = d.with_suggestion(format!("did you mean `{s}`?"), arg.name.span, s.to_string());
            }
            env.diags.push(d);
            continue;
        };
        if !literal(&arg.value) {
            computed.push((arg, pty.clone()));
            continue;
        }
        let mut c = Checker { env };
        if let Some(v) = literal_value(&mut c, &arg.value, pty, fi) {
            args.push((arg.name.name.clone(), v));
        }
    }
    for (pname, pty) in &action.params {
        if !pty.is_opt() && !a.args.iter().any(|x| &x.name.name == pname) {
            env.diags.push(
                Diagnostic::error(
                    "E0405",
                    fi,
                    a.action.span,
                    format!(
                        "action `{aname}` needs the argument `{pname}: {}`",
                        env.schemas.display(pty)
                    ),
                )
                .with_label("missing argument")
                .with_secondary(action.file, action.span, "action declared here"),
            );
        }
    }
    // Which rules it binds to.
    let targets: Vec<usize> = match &a.rule {
        Some(rn) => {
            let id = format!("{}.{}", policy.name, rn.name);
            match policy
                .rules
                .iter()
                .copied()
                .find(|&r| out.rules[r - out.rule_base].id == id)
            {
                Some(r) => {
                    env.note_ref(fi, rn.span, RefKind::Item(ItemKind::Rule, id), &Ty::Error);
                    vec![r]
                }
                None => {
                    let ids: Vec<String> = policy
                        .rules
                        .iter()
                        .map(|&r| {
                            out.rules[r - out.rule_base]
                                .id
                                .rsplit('.')
                                .next()
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect();
                    let mut d = Diagnostic::error(
                        "E0106",
                        fi,
                        rn.span,
                        format!("policy `{}` has no rule `{}`", policy.name, rn.name),
                    )
                    .with_label("unknown rule");
                    if let Some(s) = did_you_mean(&rn.name, ids.iter().map(String::as_str)) {
                        d = d.with_suggestion(
                            format!("did you mean `{s}`?"),
                            rn.span,
                            s.to_string(),
                        );
                    }
                    env.diags.push(d);
                    return;
                }
            }
        }
        None => policy.rules.clone(),
    };
    for r in targets {
        let rule = &out.rules[r - out.rule_base];
        if !action.on.contains(&rule.resource) {
            let on: Vec<String> = action
                .on
                .iter()
                .map(|t| env.schemas.record(*t).display_name())
                .collect();
            env.diags.push(
                Diagnostic::error(
                    "E0405",
                    fi,
                    a.action.span,
                    format!("action `{aname}` does not act on `{}`", rule.resource_type),
                )
                .with_label(format!("rule `{}` is on `{}`", rule.id, rule.resource_type))
                .with_note(format!("`{aname}` acts on: {}", on.join(", "))),
            );
            continue;
        }
        let notify = a.notify.as_ref().and_then(|n| {
            let package = env.package(fi).to_string();
            let mut scope = Scope::new(fi, &package, Some(rule.resource));
            let x = Checker { env }.check(n, &mut scope);
            let ok = matches!(&x.ty, Ty::Str | Ty::Error) || matches!(&x.ty, Ty::List(t) if **t == Ty::Str) || x.ty == Ty::Empty;
            if !ok {
                let msg = format!("`notify` takes a `string` or a `list<string>`, not `{}`", env.schemas.display(&x.ty));
                let mut d = Diagnostic::error(if x.ty.is_opt() { "E0302" } else { "E0301" }, fi, x.span, msg).with_label("who to notify");
                if x.ty.is_opt() {
                    d = d.with_note("a tag may be missing: give a fallback, e.g. `tags[\"owner\"] ?? \"secops@example.com\"`");
                }
                env.diags.push(d);
                return None;
            }
            Some(x)
        });
        let mut exprs = Vec::new();
        for (arg, pty) in &computed {
            let package = env.package(fi).to_string();
            let mut scope = Scope::new(fi, &package, Some(rule.resource));
            let x = Checker { env }.check(&arg.value, &mut scope);
            if assignable(&x.ty, pty) {
                exprs.push((arg.name.name.clone(), x));
                continue;
            }
            let optional = x.ty.is_opt() && assignable(x.ty.unopt(), pty);
            let msg = format!(
                "argument `{}` of `{aname}` takes `{}`, not `{}`",
                arg.name.name,
                env.schemas.display(pty),
                env.schemas.display(&x.ty)
            );
            let mut d =
                Diagnostic::error(if optional { "E0302" } else { "E0301" }, fi, x.span, msg)
                    .with_label(format!(
                        "on `{}`, this is `{}`",
                        rule.resource_type,
                        env.schemas.display(&x.ty)
                    ));
            d = if optional {
                d.with_note("the value may be missing on a resource: give a fallback, e.g. `tags[\"team\"] ?? \"unowned\"`")
            } else {
                d.with_note("an argument is a constant or an expression over the failing resource (its fields, `tags[…]`, functions) of the parameter's type")
            };
            env.diags.push(d);
        }
        let slots = out.rules[r - out.rule_base].slots.max(8);
        let fix = ir::Autofix {
            action: aname.clone(),
            args: args.clone(),
            exprs,
            after: a.after.map(|(d, _)| d).unwrap_or(0),
            notify,
            span: a.span,
        };
        let rule = &mut out.rules[r - out.rule_base];
        rule.slots = slots;
        if rule.autofix.is_some() {
            env.diags.push(
                Diagnostic::error(
                    "E0201",
                    fi,
                    a.span,
                    format!("rule `{}` already has an auto-fix", rule.id),
                )
                .with_label("second binding"),
            );
            continue;
        }
        rule.autofix = Some(fix);
    }
}

/// Resolves `policy` or `policy.rule` to rule indices.
fn resolve_rules(env: &mut Env, decls: &Decls, p: &ast::Path, fi: u32) -> Option<Vec<usize>> {
    let text = p.text();
    if let Some(&pi) = decls.names.policies.get(&text) {
        let span = match p.parts.as_slice() {
            [only] => only.span,
            _ => p.span,
        };
        env.note_ref(fi, span, RefKind::Item(ItemKind::Policy, text), &Ty::Error);
        return decls.policy_rules.get(pi).cloned();
    }
    if let Some(&r) = decls.rule_ids.get(&text) {
        // `policy.rule`: each part names its own declaration.
        match p.parts.as_slice() {
            [pol, rule] => {
                let name = RefKind::Item(ItemKind::Policy, pol.name.clone());
                env.note_ref(fi, pol.span, name, &Ty::Error);
                env.note_ref(
                    fi,
                    rule.span,
                    RefKind::Item(ItemKind::Rule, text),
                    &Ty::Error,
                );
            }
            _ => env.note_ref(fi, p.span, RefKind::Item(ItemKind::Rule, text), &Ty::Error),
        }
        return Some(vec![r]);
    }
    let mut candidates: Vec<String> = decls.names.policies.keys().cloned().collect();
    candidates.extend(decls.rules.iter().map(|r| r.id.clone()));
    let mut d = Diagnostic::error(
        "E0106",
        fi,
        p.span,
        format!("unknown policy or rule `{text}`"),
    )
    .with_label("no such policy or rule");
    if let Some(s) = did_you_mean(&text, candidates.iter().map(String::as_str)) {
        d = d.with_suggestion(format!("did you mean `{s}`?"), p.span, s.to_string());
    }
    env.diags.push(d);
    None
}

/// The index of the asset group `g` names (`in GROUP`), or E0107.
fn resolve_group(env: &mut Env, names: &Names, g: &ast::Path, fi: u32) -> Option<usize> {
    let name = g.text();
    if let Some(i) = names.groups.get(&name) {
        env.note_ref(fi, g.span, RefKind::Item(ItemKind::Group, name), &Ty::Error);
        return Some(*i);
    }
    let mut d = Diagnostic::error("E0107", fi, g.span, format!("unknown asset group `{name}`"))
        .with_label("no such group");
    if let Some(s) = did_you_mean(&name, names.groups.keys().map(String::as_str)) {
        d = d.with_suggestion(format!("did you mean `{s}`?"), g.span, s.to_string());
    }
    env.diags.push(d);
    None
}

fn lower_exception(env: &mut Env, decls: &Decls, x: &ast::Exception, fi: u32) -> ir::Exception {
    let names = &decls.names;
    let mut rules = Vec::new();
    for t in &x.targets {
        if let Some(rs) = resolve_rules(env, decls, t, fi) {
            rules.extend(rs);
        }
    }
    rules.sort_unstable();
    rules.dedup();
    let scope = x
        .scope
        .as_ref()
        .and_then(|g| resolve_group(env, names, g, fi));
    let mut resources = Vec::new();
    let mut conds = Vec::new();
    let mut expires = None;
    let mut reason = None;
    let mut has_resources = false;
    let mut slots = 1;
    let package = env.package(fi).to_string();
    for c in &x.clauses {
        match c {
            ast::ExceptionClause::Where(cond, span) => {
                if !x.sticky {
                    env.diags.push(
                        Diagnostic::error(
                            "E0406",
                            fi,
                            *span,
                            "only a `sticky exception` matches by a condition",
                        )
                        .with_label("`where` in a plain exception")
                        .with_suggestion(
                            "make it sticky",
                            Span::new(x.span.start, x.span.start),
                            "sticky ",
                        ),
                    );
                    continue;
                }
                let mut types: Vec<RecordId> =
                    rules.iter().map(|&r| decls.rules[r].resource).collect();
                types.sort_unstable();
                types.dedup();
                for rid in types {
                    let mut scope = Scope::new(fi, &package, Some(rid));
                    let e =
                        Checker { env }.check_cond(cond, &mut scope, "an exception's condition");
                    slots = slots.max(scope.max_slot);
                    if let Some(Value::Bool(false)) = e.as_const() {
                        env.diags.push(
                            Diagnostic::warning(
                                "W0504",
                                fi,
                                cond.span,
                                "this exception matches nothing: its condition is always false",
                            )
                            .with_label("never true"),
                        );
                    }
                    conds.push((rid, e));
                }
            }
            ast::ExceptionClause::Meta(m) => {
                match (m.key.name.as_str(), &m.value) {
                    ("resources", MetaValue::List(items, span)) => {
                        has_resources = true;
                        if x.sticky {
                            env.diags.push(Diagnostic::error("E0406", fi, m.key.span, "a sticky exception matches by `where`, not by a list of resources").with_label("use `where CONDITION`"));
                        }
                        if items.is_empty() {
                            env.diags.push(
                                Diagnostic::warning(
                                    "W0504",
                                    fi,
                                    *span,
                                    "this exception lists no resource, so it matches nothing",
                                )
                                .with_label("empty list"),
                            );
                        }
                        resources.extend(items.iter().map(|s| s.value.clone()));
                    }
                    ("expires", MetaValue::Timestamp(t, _)) => expires = Some(*t),
                    ("reason", MetaValue::Str(s)) => reason = Some(s.value.clone()),
                    ("resources" | "expires" | "reason", v) => {
                        let want = match m.key.name.as_str() {
                            "resources" => "a list of resource ids: `resources [\"sg-1\"]`",
                            "expires" => "a date: `expires 2027-03-31`",
                            _ => "a string: `reason \"…\"`",
                        };
                        env.diags.push(
                            Diagnostic::error(
                                "E0402",
                                fi,
                                v.span(),
                                format!("`{}` takes {want}", m.key.name),
                            )
                            .with_label("wrong kind of value"),
                        );
                    }
                    _ => unknown_meta(
                        env,
                        m,
                        fi,
                        &["resources", "where", "expires", "reason"],
                        "exception",
                    ),
                }
            }
            ast::ExceptionClause::Error(_) => {}
        }
    }
    if !x.sticky && !has_resources {
        env.diags.push(
            Diagnostic::error(
                "E0406",
                fi,
                x.name.span,
                "this exception names no resources",
            )
            .with_label("add `resources [\"id\", …]`"),
        );
    }
    if x.sticky
        && conds.is_empty()
        && !rules.is_empty()
        && !x
            .clauses
            .iter()
            .any(|c| matches!(c, ast::ExceptionClause::Where(..)))
    {
        env.diags.push(
            Diagnostic::error(
                "E0406",
                fi,
                x.name.span,
                "a sticky exception needs a `where` condition",
            )
            .with_label("add `where CONDITION`"),
        );
    }
    for (v, key, example) in [
        (expires.is_some(), "expires", "expires 2027-03-31"),
        (reason.is_some(), "reason", "reason \"…\""),
    ] {
        if !v {
            env.diags.push(
                Diagnostic::error(
                    "E0406",
                    fi,
                    x.name.span,
                    format!("exception `{}` has no `{key}`", x.name.text),
                )
                .with_label(format!("missing `{key}`"))
                .with_note(format!(
                    "every exception is temporary and justified: add `{example}`"
                )),
            );
        }
    }
    ir::Exception {
        name: x.name.text.clone(),
        sticky: x.sticky,
        rules,
        scope,
        resources,
        conds,
        expires: expires.unwrap_or(i64::MIN),
        reason: reason.unwrap_or_default(),
        slots,
        file: fi,
        span: x.name.span,
    }
}

/// The span of a name's text without its quotes.
fn name_inner(n: &ast::Name) -> Span {
    if n.quoted && n.span.end >= n.span.start + 2 {
        Span::new(n.span.start + 1, n.span.end - 1)
    } else {
        n.span
    }
}

/// A test's `expect a.b` target as a path, each part with its own span
/// where the text is written as it reads (else the whole name's).
fn name_path(n: &ast::Name) -> ast::Path {
    let inner = name_inner(n);
    let exact = !n.quoted && inner.end - inner.start == n.text.len();
    let mut at = inner.start;
    let parts = n
        .text
        .split('.')
        .map(|p| {
            let span = if exact {
                Span::new(at, at + p.len())
            } else {
                inner
            };
            at += p.len() + 1;
            ast::Ident {
                name: p.to_string(),
                span,
            }
        })
        .collect();
    ast::Path {
        parts,
        span: n.span,
    }
}

const VERBS: [&str; 6] = [
    "passes", "fails", "errors", "contains", "excludes", "exempts",
];

fn lower_test(env: &mut Env, decls: &Decls, t: &ast::Test, fi: u32) -> ir::Test {
    let names = &decls.names;
    let mut test = ir::Test {
        name: t.name.value.clone(),
        now: None,
        resources: Vec::new(),
        from_files: Vec::new(),
        expects: Vec::new(),
        file: fi,
        span: t.name.span,
    };
    let mut handles: HashMap<String, (Span, RecordId)> = HashMap::new();
    for s in &t.stmts {
        match s {
            TestStmt::Now(ts, _) => test.now = Some(*ts),
            TestStmt::Given {
                ty,
                handle,
                value,
                span,
            } => {
                let Some(rid) = env.lookup_resource(ty, fi) else {
                    continue;
                };
                if let Some((prev, _)) = handles.get(&handle.name) {
                    let prev = *prev;
                    env.diags.push(
                        Diagnostic::error(
                            "E0201",
                            fi,
                            handle.span,
                            format!("`{}` is given twice in this test", handle.name),
                        )
                        .with_label("again")
                        .with_secondary(fi, prev, "first here"),
                    );
                    continue;
                }
                handles.insert(handle.name.clone(), (handle.span, rid));
                let ast::ExprKind::Record(fields) = &value.kind else {
                    continue;
                };
                let defaults = [
                    ("id", Value::str(&handle.name)),
                    ("account", Value::str("000000000000")),
                    ("region", Value::str("us-east-1")),
                ];
                let mut c = Checker { env };
                if let Some(v) = record_value(&mut c, fields, rid, value.span, fi, &defaults) {
                    test.resources.push(ir::TestResource {
                        handle: handle.name.clone(),
                        resource: rid,
                        resource_type: ty.text(),
                        value: v,
                        span: *span,
                    });
                }
            }
            TestStmt::GivenFrom(path, span) => {
                let base = std::path::Path::new(env.path_of(fi))
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                test.from_files.push((base.join(&path.value), *span));
            }
            TestStmt::Expect {
                target,
                verb,
                handle,
                span,
            } => {
                let Some(v) = (match verb.name.as_str() {
                    "passes" => Some(Verb::Passes),
                    "fails" => Some(Verb::Fails),
                    "errors" => Some(Verb::Errors),
                    "contains" => Some(Verb::Contains),
                    "excludes" => Some(Verb::Excludes),
                    "exempts" => Some(Verb::Exempts),
                    _ => None,
                }) else {
                    let mut d = Diagnostic::error(
                        "E0407",
                        fi,
                        verb.span,
                        format!("`{}` is not an expectation", verb.name),
                    )
                    .with_label("unknown verb")
                    .with_note(format!("expectations: {}", VERBS.join(", ")));
                    if let Some(s) = did_you_mean(&verb.name, VERBS) {
                        d = d.with_suggestion(
                            format!("did you mean `{s}`?"),
                            verb.span,
                            s.to_string(),
                        );
                    }
                    env.diags.push(d);
                    continue;
                };
                let tgt = match v {
                    Verb::Passes | Verb::Fails | Verb::Errors => {
                        let p = name_path(target);
                        resolve_rules(env, decls, &p, fi).map(|rules| ExpectTarget::Rules {
                            name: target.text.clone(),
                            rules,
                        })
                    }
                    Verb::Contains | Verb::Excludes => match names.groups.get(&target.text) {
                        Some(g) => {
                            let name = RefKind::Item(ItemKind::Group, target.text.clone());
                            env.note_ref(fi, name_inner(target), name, &Ty::Error);
                            Some(ExpectTarget::Group(*g))
                        }
                        None => {
                            let mut d = Diagnostic::error(
                                "E0107",
                                fi,
                                target.span,
                                format!("unknown asset group `{}`", target.text),
                            )
                            .with_label("no such group");
                            if let Some(s) =
                                did_you_mean(&target.text, names.groups.keys().map(String::as_str))
                            {
                                d = d.with_suggestion(
                                    format!("did you mean `{s}`?"),
                                    target.span,
                                    s.to_string(),
                                );
                            }
                            env.diags.push(d);
                            None
                        }
                    },
                    Verb::Exempts => match names.exceptions.get(&target.text) {
                        Some(e) => {
                            let name = RefKind::Item(ItemKind::Exception, target.text.clone());
                            env.note_ref(fi, name_inner(target), name, &Ty::Error);
                            Some(ExpectTarget::Exception(*e))
                        }
                        None => {
                            let mut d = Diagnostic::error(
                                "E0111",
                                fi,
                                target.span,
                                format!("unknown exception `{}`", target.text),
                            )
                            .with_label("no such exception");
                            if let Some(s) = did_you_mean(
                                &target.text,
                                names.exceptions.keys().map(String::as_str),
                            ) {
                                d = d.with_suggestion(
                                    format!("did you mean `{s}`?"),
                                    target.span,
                                    format!("\"{s}\""),
                                );
                            }
                            env.diags.push(d);
                            None
                        }
                    },
                };
                if !handles.contains_key(&handle.name)
                    && t.stmts
                        .iter()
                        .all(|s| !matches!(s, TestStmt::GivenFrom(..)))
                {
                    let known: Vec<&str> = handles.keys().map(String::as_str).collect();
                    let mut d = Diagnostic::error(
                        "E0109",
                        fi,
                        handle.span,
                        format!("no resource `{}` is given in this test", handle.name),
                    )
                    .with_label("unknown handle");
                    if let Some(s) = did_you_mean(&handle.name, known) {
                        d = d.with_suggestion(
                            format!("did you mean `{s}`?"),
                            handle.span,
                            s.to_string(),
                        );
                    }
                    env.diags.push(d);
                    continue;
                }
                // A rule expectation on a resource its rules cannot apply to.
                if let (Some(ExpectTarget::Rules { rules, name }), Some((_, rid))) =
                    (&tgt, handles.get(&handle.name))
                    && !rules.iter().any(|&r| decls.rules[r].resource == *rid)
                {
                    env.diags.push(
                        Diagnostic::error(
                            "E0407",
                            fi,
                            *span,
                            format!(
                                "`{name}` has no rule on `{}`",
                                env.schemas.record(*rid).display_name()
                            ),
                        )
                        .with_label("this expectation can never hold"),
                    );
                    continue;
                }
                if let Some(target) = tgt {
                    test.expects.push(ir::Expectation {
                        target,
                        verb: v,
                        handle: handle.name.clone(),
                        file: fi,
                        span: *span,
                    });
                }
            }
            TestStmt::Error(_) => {}
        }
    }
    if !t
        .stmts
        .iter()
        .any(|s| matches!(s, TestStmt::Expect { .. } | TestStmt::Error(_)))
    {
        env.diags.push(
            Diagnostic::warning(
                "W0501",
                fi,
                t.name.span,
                "this test expects nothing, so it cannot fail",
            )
            .with_label("no `expect`"),
        );
    }
    test
}
