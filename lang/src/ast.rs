//! The syntax tree. Every node carries the byte span of its source text;
//! doc comments are attached to the declarations they precede.

use serde::Serialize;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A dotted name: `aws.ec2.instance`, `ssh_open_to_world.ssh`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Path {
    pub parts: Vec<Ident>,
    pub span: Span,
}

impl Path {
    pub fn text(&self) -> String {
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        names.join(".")
    }
}

/// A `///` doc comment block, its lines joined without the slashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Doc {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct File {
    pub package: Option<Path>,
    pub items: Vec<Item>,
    pub comments: Vec<crate::lexer::Comment>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Item {
    Schema(Schema),
    Record(RecordDecl),
    Fn(FnDecl),
    Action(ActionDecl),
    Policy(Policy),
    Group(Group),
    Domain(Domain),
    Exception(Exception),
    Test(Test),
    /// Text the parser skipped after a syntax error.
    Error(Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Schema(x) => x.span,
            Item::Record(x) => x.span,
            Item::Fn(x) => x.span,
            Item::Action(x) => x.span,
            Item::Policy(x) => x.span,
            Item::Group(x) => x.span,
            Item::Domain(x) => x.span,
            Item::Exception(x) => x.span,
            Item::Test(x) => x.span,
            Item::Error(s) => *s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schema {
    pub doc: Option<Doc>,
    pub name: Path,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TypeKind {
    /// `int`, `string`, `IpPermission`, `aws.ec2.IpPermission`, `T`.
    Named(Path),
    /// `list<T>`
    List(Box<TypeExpr>),
    /// `map<T>` (or `map<string, T>`: string keys are the only keys)
    Map(Box<TypeExpr>),
    /// `T?`
    Optional(Box<TypeExpr>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FnDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeExpr,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub params: Vec<Param>,
    pub on: Vec<Path>,
    pub span: Span,
}

/// `title "…"`, `severity critical`, `tags ["a", "b"]`, `expires 2027-01-01`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Meta {
    pub key: Ident,
    pub value: MetaValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum MetaValue {
    Str(StrLit),
    Ident(Ident),
    List(Vec<StrLit>, Span),
    Timestamp(i64, Span),
}

impl MetaValue {
    pub fn span(&self) -> Span {
        match self {
            MetaValue::Str(s) => s.span,
            MetaValue::Ident(i) => i.span,
            MetaValue::List(_, s) | MetaValue::Timestamp(_, s) => *s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub members: Vec<PolicyMember>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum PolicyMember {
    Meta(Meta),
    Rule(Rule),
    Autofix(Autofix),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub doc: Option<Doc>,
    pub name: Option<Ident>,
    pub on: Path,
    pub scope: Option<Path>,
    pub stmts: Vec<RuleStmt>,
    /// The span of the `rule … {` head, for diagnostics about the rule.
    pub head: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum RuleStmt {
    Let {
        name: Ident,
        value: Expr,
        span: Span,
    },
    Violation {
        cond: Expr,
        span: Span,
    },
    /// `message "…"`, and any other `key "…"` the checker then rejects.
    Meta(Meta),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Autofix {
    pub action: Path,
    pub args: Vec<NamedArg>,
    pub rule: Option<Ident>,
    pub after: Option<(i64, Span)>,
    pub notify: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedArg {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub members: Vec<GroupMember>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum GroupMember {
    Type {
        ty: Path,
        cond: Option<Expr>,
        span: Span,
    },
    Meta(Meta),
    Error(Span),
}

/// A compliance domain: a named set of policies with figures of its own
/// (`domain cloud_security { title "…" categories ["security"] }`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Domain {
    pub doc: Option<Doc>,
    /// The word that introduced the item: `domain` on a valid file (the
    /// grammar takes any identifier there, see `parse`).
    pub keyword: Ident,
    pub name: Ident,
    pub members: Vec<DomainMember>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum DomainMember {
    Meta(Meta),
    Error(Span),
}

/// An exception's name: an identifier or a string (`"CHG-1234"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Name {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exception {
    pub doc: Option<Doc>,
    pub sticky: bool,
    pub name: Name,
    pub targets: Vec<Path>,
    /// `in GROUP`: it exempts members of that asset group only.
    pub scope: Option<Path>,
    pub clauses: Vec<ExceptionClause>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExceptionClause {
    Where(Expr, Span),
    /// `resources […]`, `expires …`, `reason "…"`.
    Meta(Meta),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Test {
    pub doc: Option<Doc>,
    pub name: StrLit,
    pub stmts: Vec<TestStmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TestStmt {
    Now(i64, Span),
    Given {
        ty: Path,
        handle: Ident,
        value: Expr,
        span: Span,
    },
    GivenFrom(StrLit, Span),
    Expect {
        target: Name,
        verb: Ident,
        handle: Ident,
        span: Span,
    },
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Coalesce => "??",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Quant {
    /// `any` / `exists`
    Any,
    All,
    None,
    Count,
}

impl Quant {
    pub fn text(self) -> &'static str {
        match self {
            Quant::Any => "any",
            Quant::All => "all",
            Quant::None => "none",
            Quant::Count => "count",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// Seconds.
    Duration(i64),
    /// Unix seconds, UTC.
    Timestamp(i64),
    Ip(Ipv4Addr),
    Cidr(Ipv4Addr, u8),
    Now,
    SelfRef,
    Name(Ident),
    Field {
        base: Box<Expr>,
        name: Ident,
        /// `?.`
        optional: bool,
    },
    Index(Box<Expr>, Box<Expr>),
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Record(Vec<(Ident, Expr)>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Let(Ident, Box<Expr>, Box<Expr>),
    Quant {
        quant: Quant,
        var: Ident,
        coll: Box<Expr>,
        body: Box<Expr>,
    },
    /// `(e)`: kept so that the formatter and explanations keep the author's
    /// grouping.
    Paren(Box<Expr>),
    Error,
}

/// A message template: literal text and quoted expressions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

// Dropping is iterative: a tree nested 100,000 deep (which the parser may
// build before the nesting limit cuts it, or discard during error recovery)
// must not overflow the stack when it is freed.
impl Drop for Expr {
    fn drop(&mut self) {
        let mut stack = Vec::new();
        take_children(&mut self.kind, &mut stack);
        while let Some(mut e) = stack.pop() {
            take_children(&mut e.kind, &mut stack);
        }
    }
}

fn take_children(kind: &mut ExprKind, out: &mut Vec<Expr>) {
    use ExprKind as K;
    match kind {
        K::Int(_)
        | K::Float(_)
        | K::Str(_)
        | K::Bool(_)
        | K::Duration(_)
        | K::Timestamp(_)
        | K::Ip(_)
        | K::Cidr(..)
        | K::Now
        | K::SelfRef
        | K::Name(_)
        | K::Error => return,
        _ => {}
    }
    match std::mem::replace(kind, K::Error) {
        K::Field { base: a, .. } | K::Unary(_, a) | K::Paren(a) => out.push(*a),
        K::Index(a, b)
        | K::Binary(_, a, b)
        | K::Let(_, a, b)
        | K::Quant {
            coll: a, body: b, ..
        } => {
            out.push(*a);
            out.push(*b);
        }
        K::If(a, b, c) => {
            out.push(*a);
            out.push(*b);
            out.push(*c);
        }
        K::Call { callee, args } => {
            out.push(*callee);
            out.extend(args);
        }
        K::List(xs) => out.extend(xs),
        K::Record(fs) => out.extend(fs.into_iter().map(|(_, x)| x)),
        _ => {}
    }
}

impl Drop for TypeExpr {
    fn drop(&mut self) {
        let mut next = take_type_child(&mut self.kind);
        while let Some(mut t) = next {
            next = take_type_child(&mut t.kind);
        }
    }
}

fn take_type_child(kind: &mut TypeKind) -> Option<TypeExpr> {
    if matches!(kind, TypeKind::Named(_)) {
        return None;
    }
    let leaf = TypeKind::Named(Path {
        parts: Vec::new(),
        span: Span::default(),
    });
    match std::mem::replace(kind, leaf) {
        TypeKind::List(x) | TypeKind::Map(x) | TypeKind::Optional(x) => Some(*x),
        TypeKind::Named(_) => None,
    }
}
