//! The typed intermediate representation that the checker lowers to and that
//! every engine evaluates (the reference interpreter now, the JIT later).
//!
//! Invariants: the IR is well typed (an optional never reaches an operator
//! that needs a value; `Field` bases are present records); names are resolved
//! (fields to indices, functions to built-ins; user `fn`s are inlined); every
//! node keeps its source span and file for explanations and coverage.

use std::sync::Arc;

use pac_lang::Span;
use pac_stdlib::{Builtin, Value};
use serde::Serialize;

use crate::types::{RecordId, Schemas, Ty};

/// A slot in the evaluation frame. Slot 0 is the resource under evaluation.
pub type Slot = u32;

/// A unique id per IR node of a program, for coverage and explanations.
pub type NodeId = u32;

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub id: NodeId,
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum QuantKind {
    Any,
    All,
    None,
    Count,
}

/// An index probe planned for a cross-resource quantifier: candidates are the
/// resources of the type whose `field` equals `key` (evaluated in the outer
/// frame), found in an index the runtime builds once per evaluation.
#[derive(Clone, Debug)]
pub struct Probe {
    pub field: u32,
    pub key: Box<Expr>,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Const(Value),
    /// The value in a frame slot (the resource, a `let`, a quantifier var).
    Local(Slot),
    /// A field of a present record, by index.
    Field(Box<Expr>, u32),
    /// `a?.f`: `Missing` when `a` is missing.
    OptField(Box<Expr>, u32),
    /// `xs[i]` on a list (missing when out of range) or `m[k]` on a map.
    Index(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// Comparison; operand types are equal, or int/float mixed.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Arithmetic on ints (checked), floats, and timestamp/duration mixes;
    /// also `+` on strings (concatenation).
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `x in list` (element), `k in map` (key).
    In(Box<Expr>, Box<Expr>),
    /// `a ?? b`
    Coalesce(Box<Expr>, Box<Expr>),
    /// `has(a)`: `a` is not missing.
    Has(Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Evaluate the value into the slot, then the body.
    Let(Slot, Box<Expr>, Box<Expr>),
    /// A quantifier over a list; each element is put in `slot`.
    Quant {
        kind: QuantKind,
        slot: Slot,
        coll: Box<Expr>,
        body: Box<Expr>,
    },
    /// A quantifier over the inventory's resources of a type.
    QuantType {
        kind: QuantKind,
        slot: Slot,
        rtype: RecordId,
        probe: Option<Probe>,
        body: Box<Expr>,
    },
    /// A built-in, with the index of the signature (overload) that fits.
    Call {
        builtin: &'static Builtin,
        sig: usize,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    /// The evaluation clock.
    Now,
}

impl Expr {
    /// Children in evaluation order.
    pub fn children(&self) -> Vec<&Expr> {
        use ExprKind::*;
        match &self.kind {
            Const(_) | Local(_) | Now => vec![],
            Field(a, _) | OptField(a, _) | Not(a) | Neg(a) | Has(a) => vec![a],
            Index(a, b)
            | And(a, b)
            | Or(a, b)
            | Cmp(_, a, b)
            | Arith(_, a, b)
            | In(a, b)
            | Coalesce(a, b)
            | Let(_, a, b) => vec![a, b],
            If(a, b, c) => vec![a, b, c],
            Quant { coll, body, .. } => vec![coll, body],
            QuantType { probe, body, .. } => match probe {
                Some(p) => vec![&p.key, body],
                None => vec![body],
            },
            Call { args, .. } | List(args) => args.iter().collect(),
        }
    }
    /// The depth of the tree (1 for a leaf) and its number of nodes,
    /// without recursion.
    pub fn depth_and_size(&self) -> (usize, usize) {
        let (mut depth, mut size) = (0, 0);
        let mut stack = vec![(self, 1)];
        while let Some((e, d)) = stack.pop() {
            depth = depth.max(d);
            size += 1;
            stack.extend(e.children().into_iter().map(|c| (c, d + 1)));
        }
        (depth, size)
    }
    /// Visits this node and every descendant, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
    pub fn as_const(&self) -> Option<&Value> {
        match &self.kind {
            ExprKind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// The field index when this is a field of the rule's resource (slot
    /// 0): a message part formatted straight from the resource.
    pub fn resource_field(&self) -> Option<u32> {
        match &self.kind {
            ExprKind::Field(base, i) if matches!(base.kind, ExprKind::Local(0)) => Some(*i),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [(&'static str, Severity); 5] = [
        ("critical", Severity::Critical),
        ("high", Severity::High),
        ("medium", Severity::Medium),
        ("low", Severity::Low),
        ("info", Severity::Info),
    ];
    pub fn name(self) -> &'static str {
        Severity::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .unwrap_or("info")
    }
}

pub const CATEGORIES: &[&str] = &["security", "governance", "cost", "tagging", "operations"];

#[derive(Clone, Debug)]
pub enum MessagePart {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub category: String,
    pub remediation: Option<String>,
    pub tags: Vec<String>,
    pub doc: Option<String>,
    /// Indices into [`Program::rules`].
    pub rules: Vec<usize>,
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Autofix {
    pub action: String,
    /// The constant arguments.
    pub args: Vec<(String, Value)>,
    /// The arguments computed from the failing resource (`value:
    /// tags["team"] ?? "unowned"`), evaluated on it when a fix is planned.
    pub exprs: Vec<(String, Expr)>,
    /// Grace period, seconds.
    pub after: i64,
    /// Evaluated on the failing resource: a string or a list of strings.
    pub notify: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Rule {
    /// `policy` when the policy has one rule, else `policy.rule`.
    pub id: String,
    pub policy: usize,
    pub resource: RecordId,
    pub resource_type: String,
    /// Index into [`Program::groups`].
    pub scope: Option<usize>,
    /// The violation condition, with the `let`s it reads folded in as
    /// `Let` (and only those: see `message_lets`).
    pub cond: Expr,
    /// The `let`s only the message reads, in source order: evaluated when
    /// the message is rendered, after the condition, never to decide the
    /// outcome (so an error in one cannot turn a pass into an error, and
    /// neither engine spends time on them for passing resources).
    pub message_lets: Vec<(Slot, Expr)>,
    pub message: Vec<MessagePart>,
    pub autofix: Option<Autofix>,
    /// Frame size needed to evaluate `cond` and `message`.
    pub slots: u32,
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct GroupMember {
    pub resource: RecordId,
    pub cond: Option<Expr>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub title: Option<String>,
    pub doc: Option<String>,
    pub members: Vec<GroupMember>,
    pub slots: u32,
    pub file: u32,
    pub span: Span,
}

/// A compliance domain (`domain NAME { … }`): a named set of policies with
/// figures, a trend and a dashboard of their own. A policy belongs to every
/// domain that selects it, by category, by tag or by name.
#[derive(Clone, Debug, Default)]
pub struct Domain {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub doc: Option<String>,
    /// Policies of these categories.
    pub categories: Vec<String>,
    /// Policies with a tag matching one of these patterns (`*` matches any
    /// run of characters: `cis-aws:*`).
    pub tags: Vec<String>,
    /// Policies by name (each checked to exist).
    pub policies: Vec<String>,
    pub file: u32,
    pub span: Span,
}

impl Domain {
    /// Whether `p` belongs to this domain.
    pub fn selects(&self, p: &Policy) -> bool {
        self.categories.contains(&p.category)
            || self.policies.contains(&p.name)
            || p.tags
                .iter()
                .any(|t| self.tags.iter().any(|pat| tag_matches(pat, t)))
    }
}

/// `pattern` with `*` matching any run of characters (none included).
pub fn tag_matches(pattern: &str, tag: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = tag.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[derive(Clone, Debug)]
pub struct Exception {
    pub name: String,
    pub sticky: bool,
    /// Indices into [`Program::rules`].
    pub rules: Vec<usize>,
    /// `in GROUP`: exempts members of this group (index into
    /// [`Program::groups`]) only.
    pub scope: Option<usize>,
    pub resources: Vec<String>,
    /// Sticky condition, per resource type of the target rules.
    pub conds: Vec<(RecordId, Expr)>,
    /// Unix seconds; the exception no longer applies from this instant.
    pub expires: i64,
    pub reason: String,
    pub slots: u32,
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Action {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub on: Vec<RecordId>,
    pub doc: Option<String>,
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Passes,
    Fails,
    Errors,
    Contains,
    Excludes,
    Exempts,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectTarget {
    /// All rules of a policy, or one rule: indices into [`Program::rules`].
    Rules {
        name: String,
        rules: Vec<usize>,
    },
    Group(usize),
    Exception(usize),
}

#[derive(Clone, Debug)]
pub struct Expectation {
    pub target: ExpectTarget,
    pub verb: Verb,
    pub handle: String,
    pub file: u32,
    pub span: Span,
}

/// A resource given in a test, already converted to its runtime record.
#[derive(Clone, Debug)]
pub struct TestResource {
    pub handle: String,
    pub resource: RecordId,
    pub resource_type: String,
    /// The record in schema field order (implicit fields first).
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Test {
    pub name: String,
    pub now: Option<i64>,
    pub resources: Vec<TestResource>,
    /// `given from "FILE"`: resolved against the test file's directory.
    pub from_files: Vec<(std::path::PathBuf, Span)>,
    pub expects: Vec<Expectation>,
    pub file: u32,
    pub span: Span,
}

/// A source file of the program, for rendering diagnostics and explanations.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: Arc<str>,
}

/// Everything a workspace declares, checked and lowered.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub files: Vec<SourceFile>,
    pub schemas: Arc<Schemas>,
    pub policies: Vec<Policy>,
    pub rules: Vec<Rule>,
    pub groups: Vec<Group>,
    pub domains: Vec<Domain>,
    pub exceptions: Vec<Exception>,
    pub actions: Vec<Action>,
    pub tests: Vec<Test>,
}

impl Program {
    pub fn rule(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }
    /// The indices of the policies domain `d` selects, in program order.
    pub fn domain_policies(&self, d: &Domain) -> Vec<usize> {
        (0..self.policies.len())
            .filter(|&i| d.selects(&self.policies[i]))
            .collect()
    }
    /// The names of the policies domain `d` selects, in program order.
    pub fn domain_policy_names(&self, d: &Domain) -> Vec<String> {
        self.domain_policies(d)
            .into_iter()
            .map(|i| self.policies[i].name.clone())
            .collect()
    }
    pub fn domain(&self, name: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.name == name)
    }
    pub fn policy_of(&self, rule: usize) -> &Policy {
        &self.policies[self.rules[rule].policy]
    }
    /// The source text of a span, for explanations.
    pub fn snippet(&self, file: u32, span: Span) -> &str {
        self.files
            .get(file as usize)
            .and_then(|f| f.text.get(span.start..span.end))
            .unwrap_or("")
    }
}
