//! Type checking of expressions, lowered to IR in the same pass: each AST
//! expression becomes one typed IR node (or an `Error`-typed node after a
//! diagnostic, which silences follow-on errors).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use pac_lang::Span;
use pac_lang::ast::{self, BinOp, ExprKind as A, Quant, UnOp};
use pac_stdlib::{Builtin, Value};

use crate::diag::Diagnostic;
use crate::index::RefKind;
use crate::ir::{ArithOp, CmpOp, Expr, ExprKind as K, Probe, QuantKind, Slot};
use crate::resolve::{Env, FnInfo};
use crate::sig::{Sig, parse_sig};
use crate::suggest::did_you_mean;
use crate::types::{RecordId, Ty};

/// The deepest IR the checker builds (the syntax tree's `MAX_NESTING` plus
/// room for inlined function bodies): every pass over the IR (interpreter,
/// JIT, explanations) may recurse that deep.
pub const MAX_IR_DEPTH: usize = 2 * pac_lang::MAX_NESTING;
/// The most IR nodes one inlined call may add.
pub const MAX_INLINE_NODES: usize = 200_000;
/// The most IR nodes a workspace may lower to (about 1 GB of IR): enough
/// for hundreds of thousands of rules, not for an editor's paste that
/// inlines a doubling function at every call.
pub const MAX_PROGRAM_NODES: usize = 10_000_000;

/// A variable in scope.
#[derive(Clone, Debug)]
pub struct Var {
    name: String,
    slot: Slot,
    ty: Ty,
    used: bool,
    span: Span,
}

/// The scope of one body (a rule, a group member, an exception, a `fn`).
pub struct Scope {
    vars: Vec<Var>,
    /// Paths known to be present (`has(x)` held), with their narrowed type.
    narrowed: Vec<String>,
    /// The resource in slot 0, if any.
    pub resource: Option<RecordId>,
    next_slot: Slot,
    pub max_slot: Slot,
    pub file: u32,
    pub package: String,
    /// Names of user functions being inlined (recursion guard).
    inlining: Vec<String>,
}

impl Scope {
    pub fn new(file: u32, package: &str, resource: Option<RecordId>) -> Scope {
        let first = u32::from(resource.is_some());
        Scope {
            vars: Vec::new(),
            narrowed: Vec::new(),
            resource,
            next_slot: first,
            max_slot: first,
            file,
            package: package.to_string(),
            inlining: Vec::new(),
        }
    }
    fn push_var(&mut self, name: &str, ty: Ty, span: Span) -> Slot {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.max_slot = self.max_slot.max(self.next_slot);
        // A new binding shadows any narrowing of the same root name.
        self.narrowed.retain(|p| root(p) != name);
        self.vars.push(Var {
            name: name.to_string(),
            slot,
            ty,
            used: false,
            span,
        });
        slot
    }
    /// Declares a parameter or a rule-level binding.
    pub fn declare(&mut self, name: &str, ty: Ty, span: Span) -> Slot {
        let slot = self.push_var(name, ty, span);
        if let Some(v) = self.vars.last_mut() {
            v.used = true;
        }
        slot
    }
    /// Declares a `let` whose use is tracked (for W0506).
    pub fn bind(&mut self, name: &str, ty: Ty, span: Span) -> Slot {
        self.push_var(name, ty, span)
    }
    pub fn unbind(&mut self) -> Option<Var> {
        self.pop_var()
    }
    fn pop_var(&mut self) -> Option<Var> {
        let v = self.vars.pop();
        if v.is_some() {
            self.next_slot -= 1;
        }
        v
    }
    fn lookup(&mut self, name: &str) -> Option<&mut Var> {
        self.vars.iter_mut().rev().find(|v| v.name == name)
    }
}

fn root(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// A canonical text for a field path, for `has(…)` narrowing.
pub fn path_key(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        A::Name(i) => Some(i.name.clone()),
        A::SelfRef => Some("self".into()),
        A::Paren(inner) => path_key(inner),
        A::Field { base, name, .. } => Some(format!("{}.{}", path_key(base)?, name.name)),
        A::Index(base, idx) => {
            let k = match &idx.kind {
                A::Str(s) => format!("{s:?}"),
                A::Int(i) => i.to_string(),
                _ => return None,
            };
            Some(format!("{}[{k}]", path_key(base)?))
        }
        _ => None,
    }
}

/// The dotted text of a name path (`aws.ec2.instance`), if the expression is one.
pub fn dotted(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        A::Name(i) => Some(i.name.clone()),
        A::Field {
            base,
            name,
            optional: false,
        } => Some(format!("{}.{}", dotted(base)?, name.name)),
        _ => None,
    }
}

/// The user function a call names, seen from `package`: the exact name,
/// then the package's own, then any package's (`by_last`: see
/// [`fns_by_last_name`]).
pub fn resolve_fn_name(
    fns: &HashMap<String, FnInfo>,
    by_last: &HashMap<String, String>,
    name: &str,
    package: &str,
) -> Option<String> {
    if fns.contains_key(name) {
        return Some(name.to_string());
    }
    let local = format!("{package}.{name}");
    if fns.contains_key(&local) {
        return Some(local);
    }
    by_last.get(name).cloned()
}

/// For each last segment of a qualified function name (`f` of `a.b.f`),
/// the smallest such name, so that the choice does not depend on hashing.
/// Built once: a call of a built-in used to scan every function.
pub fn fns_by_last_name(fns: &HashMap<String, FnInfo>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for q in fns.keys() {
        if let Some((_, last)) = q.rsplit_once('.') {
            match out.get_mut(last) {
                Some(best) if *best <= *q => {}
                Some(best) => *best = q.clone(),
                None => {
                    out.insert(last.to_string(), q.clone());
                }
            }
        }
    }
    out
}

/// The user functions an expression calls, resolved as `check_call` does,
/// found without recursion.
pub fn called_fns(
    fns: &HashMap<String, FnInfo>,
    by_last: &HashMap<String, String>,
    e: &ast::Expr,
    package: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let A::Call { callee, .. } = &x.kind {
            let q = match &callee.kind {
                A::Name(n) => resolve_fn_name(fns, by_last, &n.name, package),
                A::Field { name, .. } => dotted(callee)
                    .filter(|q| fns.contains_key(q))
                    .or_else(|| resolve_fn_name(fns, by_last, &name.name, package)),
                _ => None,
            };
            out.extend(q);
        }
        stack.extend(pac_lang::parse::expr_children(x));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Facts (paths known present) when `cond` evaluates to `truth`.
fn facts(cond: &ast::Expr, truth: bool, out: &mut Vec<String>) {
    match &cond.kind {
        A::Paren(inner) => facts(inner, truth, out),
        A::Unary(UnOp::Not, inner) => facts(inner, !truth, out),
        A::Binary(BinOp::And, a, b) if truth => {
            facts(a, true, out);
            facts(b, true, out);
        }
        A::Binary(BinOp::Or, a, b) if !truth => {
            facts(a, false, out);
            facts(b, false, out);
        }
        A::Call { callee, args } if truth && args.len() == 1 => {
            if matches!(&callee.kind, A::Name(n) if n.name == "has")
                && let Some(k) = path_key(&args[0])
            {
                out.push(k);
            }
        }
        _ => {}
    }
}

/// Whether `a` can be used where `b` is expected (int widens to float; the
/// empty list fits any list; error types fit everything).
pub fn assignable(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Error, _) | (_, Ty::Error) => true,
        (Ty::Int, Ty::Float) => true,
        (Ty::Empty, Ty::List(_)) => true,
        (Ty::Str, Ty::Regex | Ty::Glob) => true,
        (Ty::List(x), Ty::List(y)) | (Ty::Map(x), Ty::Map(y)) => assignable(x, y),
        (Ty::Opt(x), Ty::Opt(y)) => assignable(x, y),
        (x, Ty::Opt(y)) => assignable(x, y),
        _ => a == b,
    }
}

/// The common type of two branches or list elements.
fn join(a: &Ty, b: &Ty) -> Option<Ty> {
    if assignable(a, b) {
        return Some(if a.is_error() { b.clone() } else { widen(a, b) });
    }
    if assignable(b, a) {
        return Some(widen(b, a));
    }
    match (a, b) {
        (Ty::Opt(x), y) | (y, Ty::Opt(x)) => join(x, y).map(Ty::opt),
        _ => None,
    }
}

fn widen(from: &Ty, to: &Ty) -> Ty {
    match (from, to) {
        (Ty::Empty, t) | (t, Ty::Error) => t.clone(),
        (_, t) => t.clone(),
    }
}

pub struct Checker<'e> {
    pub env: &'e mut Env,
}

impl Checker<'_> {
    fn node(&mut self, kind: K, ty: Ty, span: Span, scope: &Scope) -> Expr {
        let id = self.env.next_node;
        self.env.next_node += 1;
        Expr {
            kind,
            ty,
            id,
            file: scope.file,
            span,
        }
    }
    fn error_node(&mut self, span: Span, scope: &Scope) -> Expr {
        self.node(K::Const(Value::Missing), Ty::Error, span, scope)
    }
    fn diag(&mut self, d: Diagnostic) {
        self.env.diags.push(d);
    }
    fn show(&self, t: &Ty) -> String {
        self.env.schemas.display(t)
    }

    /// Checks a condition: it must be a `bool`.
    pub fn check_cond(&mut self, e: &ast::Expr, scope: &mut Scope, what: &str) -> Expr {
        let x = self.check(e, scope);
        self.expect_bool(&x, scope, what)
    }

    fn expect_bool(&mut self, x: &Expr, scope: &Scope, what: &str) -> Expr {
        if !matches!(x.ty, Ty::Bool | Ty::Error) {
            let mut d = Diagnostic::error(
                "E0306",
                scope.file,
                x.span,
                format!(
                    "{what} must be a `bool`, but this is `{}`",
                    self.show(&x.ty)
                ),
            )
            .with_label(format!("this is `{}`", self.show(&x.ty)));
            if x.ty.is_opt() && matches!(x.ty.unopt(), Ty::Bool) {
                d = d
                    .with_note("the value may be missing; say what a missing value means")
                    .with_suggestion(
                        "treat a missing value as false",
                        x.span,
                        format!("({} ?? false)", self.snippet(scope.file, x.span)),
                    );
            }
            self.diag(d);
            let span = x.span;
            return self.error_node(span, scope);
        }
        x.clone()
    }

    fn snippet(&self, file: u32, span: Span) -> String {
        self.env.snippet(file, span).unwrap_or("…").to_string()
    }

    /// Rejects an optional where a value is required, with the guard to use.
    fn require_value(&mut self, x: Expr, scope: &Scope, context: &str) -> Expr {
        if !x.ty.is_opt() {
            return x;
        }
        let text = self.snippet(scope.file, x.span);
        let inner = self.show(x.ty.unopt());
        let default = default_literal(x.ty.unopt());
        let mut d = Diagnostic::error(
            "E0302",
            scope.file,
            x.span,
            format!("`{text}` may be missing (it is `{}`), so it cannot be used {context}", self.show(&x.ty)),
        )
        .with_label(format!("`{}` may be missing here", text))
        .with_note(format!(
            "a missing value is never silently true or false; guard it with `has({text}) and …`, or give a default with `??`"
        ));
        if let Some(def) = default {
            d = d.with_suggestion(
                format!("use a default `{inner}`"),
                x.span,
                format!("({text} ?? {def})"),
            );
        }
        self.diag(d);
        let span = x.span;
        self.error_node(span, scope)
    }

    /// Checks and lowers an expression. The syntax tree is at most
    /// `MAX_NESTING` deep, but inlined function bodies add to the depth of
    /// the IR (and of this recursion): past `MAX_IR_DEPTH` the expression is
    /// an error.
    pub fn check(&mut self, e: &ast::Expr, scope: &mut Scope) -> Expr {
        if self.env.depth >= MAX_IR_DEPTH {
            self.too_deep(e.span, scope);
            return self.error_node(e.span, scope);
        }
        self.env.depth += 1;
        let x = self.check_expr(e, scope);
        self.env.depth -= 1;
        x
    }

    fn too_deep(&mut self, span: Span, scope: &Scope) {
        let mut d = Diagnostic::error(
            "E0002",
            scope.file,
            span,
            format!(
                "expression nested too deeply: limit {MAX_IR_DEPTH} levels once function calls are inlined"
            ),
        )
        .with_label("too deep here");
        if let Some(f) = self.env.fn_stack.last() {
            d = d.with_note(format!("while checking the body of `{f}`; flatten the calls or split the expression with `let`"));
        } else {
            d = d.with_note("flatten the function calls or split the expression with `let`");
        }
        self.diag(d);
    }

    // Each kind of node with more than a line of work is checked in its own
    // method: `check_expr` recurses once per level of the tree, so its
    // frame must stay small (in a debug build every local of every arm
    // would have its own slot, ~17 KB per level).
    fn check_expr(&mut self, e: &ast::Expr, scope: &mut Scope) -> Expr {
        let span = e.span;
        match &e.kind {
            A::Int(i) => self.node(K::Const(Value::Int(*i)), Ty::Int, span, scope),
            A::Float(f) => self.node(K::Const(Value::Float(*f)), Ty::Float, span, scope),
            A::Str(s) => self.node(K::Const(Value::str(s)), Ty::Str, span, scope),
            A::Bool(b) => self.node(K::Const(Value::Bool(*b)), Ty::Bool, span, scope),
            A::Duration(d) => self.node(K::Const(Value::Dur(*d)), Ty::Dur, span, scope),
            A::Timestamp(t) => self.node(K::Const(Value::Time(*t)), Ty::Time, span, scope),
            A::Ip(ip) => self.node(K::Const(Value::Ip(IpAddr::V4(*ip))), Ty::Ip, span, scope),
            A::Cidr(ip, len) => match cidr_v4(*ip, *len) {
                Some(v) => self.node(K::Const(v), Ty::Cidr, span, scope),
                None => {
                    self.diag(Diagnostic::error(
                        "E0310",
                        scope.file,
                        span,
                        "invalid CIDR prefix length",
                    ));
                    self.error_node(span, scope)
                }
            },
            A::Now => self.node(K::Now, Ty::Time, span, scope),
            A::Paren(inner) => self.check(inner, scope),
            A::Error => self.error_node(span, scope),
            A::SelfRef => match scope.resource {
                Some(r) => self.node(K::Local(0), Ty::Record(r), span, scope),
                None => {
                    self.diag(
                        Diagnostic::error(
                            "E0101",
                            scope.file,
                            span,
                            "`self` is only defined where a resource is being evaluated",
                        )
                        .with_label("no resource here"),
                    );
                    self.error_node(span, scope)
                }
            },
            A::Name(id) => self.check_name(id, e, scope),
            A::Field {
                base,
                name,
                optional,
            } => self.check_field(e, base, name, *optional, scope),
            A::Index(base, idx) => self.check_index(e, base, idx, scope),
            A::Call { callee, args } => self.check_call(e, callee, args, scope),
            A::List(items) => self.check_list(e, items, scope),
            A::Record(_) => {
                self.diag(
                    Diagnostic::error("E0313", scope.file, span, "record literals `{ … }` are only allowed as test data (`given TYPE handle { … }`)")
                        .with_label("not allowed here"),
                );
                self.error_node(span, scope)
            }
            A::Unary(UnOp::Not, inner) => self.check_not(e, inner, scope),
            A::Unary(UnOp::Neg, inner) => self.check_neg(e, inner, scope),
            A::Binary(op, a, b) => self.check_binary(e, *op, a, b, scope),
            A::If(c, a, b) => self.check_if(e, c, a, b, scope),
            A::Let(name, value, body) => self.check_let(e, name, value, body, scope),
            A::Quant {
                quant,
                var,
                coll,
                body,
            } => self.check_quant(e, *quant, var, coll, body, scope),
        }
    }

    fn check_index(
        &mut self,
        e: &ast::Expr,
        base: &ast::Expr,
        idx: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let b = self.check(base, scope);
        let i = self.check(idx, scope);
        let i = self.require_value(i, scope, "as an index");
        let b = if b.ty.is_opt() && self.is_narrowed(base, scope) {
            Expr {
                ty: b.ty.unopt().clone(),
                ..b
            }
        } else {
            b
        };
        let b = self.require_value(b, scope, "with `[…]`");
        let ty = match (&b.ty, &i.ty) {
            (Ty::Error, _) | (_, Ty::Error) => Ty::Error,
            (Ty::List(t), Ty::Int) => t.as_ref().clone().opt(),
            (Ty::Map(t), Ty::Str) => t.as_ref().clone().opt(),
            (Ty::List(_), t) => {
                let msg = format!("a list index must be an `int`, not `{}`", self.show(t));
                self.diag(
                    Diagnostic::error("E0301", scope.file, i.span, msg)
                        .with_label("expected `int`"),
                );
                Ty::Error
            }
            (Ty::Map(_), t) => {
                let msg = format!("a map key must be a `string`, not `{}`", self.show(t));
                self.diag(
                    Diagnostic::error("E0301", scope.file, i.span, msg)
                        .with_label("expected `string`"),
                );
                Ty::Error
            }
            (t, _) => {
                let msg = format!(
                    "`{}` cannot be indexed: it is not a list or a map",
                    self.show(t)
                );
                self.diag(
                    Diagnostic::error("E0309", scope.file, b.span, msg)
                        .with_label(format!("this is `{}`", self.show(t))),
                );
                Ty::Error
            }
        };
        let ty = self.narrow(e, ty, scope);
        self.node(K::Index(Box::new(b), Box::new(i)), ty, span, scope)
    }

    fn check_list(&mut self, e: &ast::Expr, items: &[ast::Expr], scope: &mut Scope) -> Expr {
        let span = e.span;
        let xs: Vec<Expr> = items.iter().map(|i| self.check(i, scope)).collect();
        let mut ty: Option<Ty> = None;
        for x in &xs {
            let next = match &ty {
                None => Some(x.ty.clone()),
                Some(t) => join(t, &x.ty),
            };
            match next {
                Some(t) => ty = Some(t),
                None => {
                    let msg = format!(
                        "list elements must have one type: `{}` and `{}` differ",
                        self.show(ty.as_ref().unwrap_or(&Ty::Error)),
                        self.show(&x.ty)
                    );
                    self.diag(
                        Diagnostic::error("E0301", scope.file, x.span, msg)
                            .with_label("this element"),
                    );
                    ty = Some(Ty::Error);
                    break;
                }
            }
        }
        let lty = match ty {
            None => Ty::Empty,
            Some(t) => t.list(),
        };
        // A list of constants is itself a constant.
        if xs.iter().all(|x| x.as_const().is_some()) {
            let vals: Vec<Value> = xs.iter().filter_map(|x| x.as_const().cloned()).collect();
            return self.node(K::Const(Value::List(Arc::from(vals))), lty, span, scope);
        }
        self.node(K::List(xs), lty, span, scope)
    }

    fn check_not(&mut self, e: &ast::Expr, inner: &ast::Expr, scope: &mut Scope) -> Expr {
        let span = e.span;
        let x = self.check_cond(inner, scope, "the operand of `not`");
        if let Some(Value::Bool(b)) = x.as_const() {
            return self.node(K::Const(Value::Bool(!b)), Ty::Bool, span, scope);
        }
        self.node(K::Not(Box::new(x)), Ty::Bool, span, scope)
    }

    fn check_neg(&mut self, e: &ast::Expr, inner: &ast::Expr, scope: &mut Scope) -> Expr {
        let span = e.span;
        let x = self.check(inner, scope);
        let x = self.require_value(x, scope, "with `-`");
        match (&x.ty, x.as_const()) {
            (_, Some(Value::Int(i))) if i.checked_neg().is_some() => {
                self.node(K::Const(Value::Int(-i)), Ty::Int, span, scope)
            }
            (_, Some(Value::Float(f))) => {
                self.node(K::Const(Value::Float(-f)), Ty::Float, span, scope)
            }
            (Ty::Int | Ty::Float | Ty::Dur | Ty::Error, _) => {
                let ty = x.ty.clone();
                self.node(K::Neg(Box::new(x)), ty, span, scope)
            }
            (t, _) => {
                let msg = format!("`-` needs a number or a duration, not `{}`", self.show(t));
                self.diag(
                    Diagnostic::error("E0303", scope.file, span, msg)
                        .with_label("cannot negate this"),
                );
                self.error_node(span, scope)
            }
        }
    }

    fn check_if(
        &mut self,
        e: &ast::Expr,
        c: &ast::Expr,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let c_ir = self.check_cond(c, scope, "an `if` condition");
        let mut pos = Vec::new();
        facts(c, true, &mut pos);
        let n = scope.narrowed.len();
        scope.narrowed.extend(pos);
        let a_ir = self.check(a, scope);
        scope.narrowed.truncate(n);
        let mut neg = Vec::new();
        facts(c, false, &mut neg);
        scope.narrowed.extend(neg);
        let b_ir = self.check(b, scope);
        scope.narrowed.truncate(n);
        let ty = match join(&a_ir.ty, &b_ir.ty) {
            Some(t) => t,
            None => {
                let msg = format!(
                    "the branches of `if` have different types: `{}` and `{}`",
                    self.show(&a_ir.ty),
                    self.show(&b_ir.ty)
                );
                self.diag(
                    Diagnostic::error("E0301", scope.file, b_ir.span, msg).with_secondary(
                        scope.file,
                        a_ir.span,
                        "the `then` branch",
                    ),
                );
                Ty::Error
            }
        };
        self.node(
            K::If(Box::new(c_ir), Box::new(a_ir), Box::new(b_ir)),
            ty,
            span,
            scope,
        )
    }

    fn check_let(
        &mut self,
        e: &ast::Expr,
        name: &ast::Ident,
        value: &ast::Expr,
        body: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let v = self.check(value, scope);
        let slot = scope.push_var(&name.name, v.ty.clone(), name.span);
        self.env
            .note_ref(scope.file, name.span, RefKind::LocalDecl, &v.ty);
        let b = self.check(body, scope);
        if let Some(var) = scope.pop_var() {
            self.warn_unused(&var, scope);
        }
        let ty = b.ty.clone();
        self.node(K::Let(slot, Box::new(v), Box::new(b)), ty, span, scope)
    }

    pub fn warn_unused(&mut self, var: &Var, scope: &Scope) {
        if !var.used && !var.name.starts_with('_') {
            self.diag(
                Diagnostic::warning(
                    "W0506",
                    scope.file,
                    var.span,
                    format!("`{}` is never used", var.name),
                )
                .with_label("bound here")
                .with_note("remove it, or start its name with `_`"),
            );
        }
    }

    fn is_narrowed(&self, e: &ast::Expr, scope: &Scope) -> bool {
        path_key(e).is_some_and(|k| scope.narrowed.contains(&k))
    }

    /// Applies `has(…)` narrowing: a path known present has type `T`.
    fn narrow(&self, e: &ast::Expr, ty: Ty, scope: &Scope) -> Ty {
        if ty.is_opt() && self.is_narrowed(e, scope) {
            ty.unopt().clone()
        } else {
            ty
        }
    }

    fn check_name(&mut self, id: &ast::Ident, e: &ast::Expr, scope: &mut Scope) -> Expr {
        let span = id.span;
        if let Some(v) = scope.lookup(&id.name) {
            v.used = true;
            let (slot, ty, decl) = (v.slot, v.ty.clone(), v.span);
            let ty = self.narrow(e, ty, scope);
            self.env
                .note_ref(scope.file, span, RefKind::Local { decl }, &ty);
            return self.node(K::Local(slot), ty, span, scope);
        }
        if let Some(rid) = scope.resource
            && let Some((idx, f)) = self.env.schemas.record(rid).field(&id.name)
        {
            let ty = self.narrow(e, f.ty.clone(), scope);
            let kind = RefKind::Field {
                record: rid,
                field: idx,
            };
            self.env.note_ref(scope.file, span, kind, &ty);
            let base = self.node(K::Local(0), Ty::Record(rid), span, scope);
            return self.node(K::Field(Box::new(base), idx), ty, span, scope);
        }
        // Not a value: explain what it might be instead.
        let mut candidates: Vec<String> = scope.vars.iter().map(|v| v.name.clone()).collect();
        if let Some(rid) = scope.resource {
            candidates.extend(
                self.env
                    .schemas
                    .record(rid)
                    .fields
                    .iter()
                    .map(|f| f.name.clone()),
            );
        }
        let what = match scope.resource {
            Some(r) => format!(
                "`{}` is not a field of `{}` nor a variable in scope",
                id.name,
                self.env.schemas.record(r).display_name()
            ),
            None => format!("unknown name `{}`", id.name),
        };
        let mut d = Diagnostic::error("E0101", scope.file, span, what).with_label("not found");
        if let Some(s) = did_you_mean(&id.name, candidates.iter().map(String::as_str)) {
            d = d.with_suggestion(format!("did you mean `{s}`?"), span, s.to_string());
        } else if self
            .env
            .schemas
            .resource_types()
            .any(|(_, t)| t.starts_with(&format!("{}.", id.name)))
        {
            d = d.with_note("resource types can only be ranged over: `any x in TYPE where …`");
        }
        self.diag(d);
        self.error_node(span, scope)
    }

    fn check_field(
        &mut self,
        e: &ast::Expr,
        base: &ast::Expr,
        name: &ast::Ident,
        optional: bool,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let b = self.check(base, scope);
        let b = if b.ty.is_opt() && self.is_narrowed(base, scope) {
            Expr {
                ty: b.ty.unopt().clone(),
                ..b
            }
        } else {
            b
        };
        let rec = match b.ty.unopt() {
            Ty::Error => return self.error_node(span, scope),
            Ty::Record(r) => *r,
            Ty::Map(_) => {
                let text = self.snippet(scope.file, b.span);
                let msg = format!("`{text}` is a map; read its keys with `[\"…\"]`, not `.`");
                let repl = format!("{text}[\"{}\"]", name.name);
                self.diag(
                    Diagnostic::error("E0308", scope.file, span, msg)
                        .with_label("maps have keys, not fields")
                        .with_suggestion("index the map", span, repl),
                );
                return self.error_node(span, scope);
            }
            t => {
                let msg = format!("`{}` has no fields: it is not a record", self.show(t));
                self.diag(
                    Diagnostic::error("E0308", scope.file, name.span, msg)
                        .with_label(format!("this is `{}`", self.show(&b.ty))),
                );
                return self.error_node(span, scope);
            }
        };
        let record = self.env.schemas.record(rec);
        let Some((idx, f)) = record.field(&name.name) else {
            let names: Vec<String> = record.fields.iter().map(|f| f.name.clone()).collect();
            let rname = record.display_name();
            let (rfile, rspan) = (record.file, record.span);
            let mut d = Diagnostic::error(
                "E0102",
                scope.file,
                name.span,
                format!("`{rname}` has no field `{}`", name.name),
            )
            .with_label("unknown field")
            .with_secondary(rfile, rspan, format!("`{rname}` is declared here"));
            if let Some(s) = did_you_mean(&name.name, names.iter().map(String::as_str)) {
                d = d.with_suggestion(format!("did you mean `{s}`?"), name.span, s.to_string());
            }
            self.diag(d);
            return self.error_node(span, scope);
        };
        let fty = f.ty.clone();
        let kind = RefKind::Field {
            record: rec,
            field: idx,
        };
        let shown = if b.ty.is_opt() {
            fty.clone().opt()
        } else {
            fty.clone()
        };
        self.env.note_ref(scope.file, name.span, kind, &shown);
        if b.ty.is_opt() {
            if !optional {
                let text = self.snippet(scope.file, b.span);
                let (dot_start, dot_end) = (b.span.end, name.span.start);
                let msg = format!(
                    "`{text}` may be missing, so `.{}` cannot read it directly",
                    name.name
                );
                self.diag(
                    Diagnostic::error("E0302", scope.file, span, msg)
                        .with_label(format!("`{text}` is `{}`", self.show(&b.ty)))
                        .with_note(format!(
                            "guard it with `has({text}) and …`, or read it optionally"
                        ))
                        .with_suggestion(
                            "read it optionally with `?.`",
                            Span::new(dot_start, dot_end),
                            "?.",
                        ),
                );
                return self.error_node(span, scope);
            }
            let ty = self.narrow(e, fty.opt(), scope);
            return self.node(K::OptField(Box::new(b), idx), ty, span, scope);
        }
        let ty = self.narrow(e, fty, scope);
        self.node(K::Field(Box::new(b), idx), ty, span, scope)
    }

    fn check_binary(
        &mut self,
        e: &ast::Expr,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        // One method per kind of operator, so that this frame (on the stack
        // once per level of nesting) stays small.
        match op {
            BinOp::And | BinOp::Or => self.check_logic(e, op, a, b, scope),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.check_compare(e, op, a, b, scope)
            }
            BinOp::In | BinOp::NotIn => self.check_in(e, op, a, b, scope),
            BinOp::Coalesce => self.check_coalesce(e, a, b, scope),
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                self.check_arith(e, op, a, b, scope)
            }
        }
    }

    fn check_logic(
        &mut self,
        e: &ast::Expr,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let what = if op == BinOp::And {
            "an operand of `and`"
        } else {
            "an operand of `or`"
        };
        let x = self.check_cond(a, scope, what);
        let mut f = Vec::new();
        facts(a, op == BinOp::And, &mut f);
        let n = scope.narrowed.len();
        scope.narrowed.extend(f);
        let y = self.check_cond(b, scope, what);
        scope.narrowed.truncate(n);
        if let Some(Value::Bool(v)) = x.as_const() {
            let dead = (op == BinOp::And && !v) || (op == BinOp::Or && *v);
            if dead {
                self.diag(
                    Diagnostic::warning(
                        "W0502",
                        scope.file,
                        y.span,
                        format!("this is never evaluated: the left side is always `{v}`"),
                    )
                    .with_label("unreachable")
                    .with_secondary(
                        scope.file,
                        x.span,
                        format!("always `{v}`"),
                    ),
                );
            }
        }
        let kind = if op == BinOp::And {
            K::And(Box::new(x), Box::new(y))
        } else {
            K::Or(Box::new(x), Box::new(y))
        };
        self.node(kind, Ty::Bool, span, scope)
    }

    fn check_compare(
        &mut self,
        e: &ast::Expr,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let x = self.check(a, scope);
        let y = self.check(b, scope);
        let ctx = format!("in a comparison `{}`", op.text());
        let x = self.require_value(x, scope, &ctx);
        let y = self.require_value(y, scope, &ctx);
        let ordered = !matches!(op, BinOp::Eq | BinOp::Ne);
        let ok = match (&x.ty, &y.ty) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (p, q) if p.is_numeric() && q.is_numeric() => true,
            (Ty::Str, Ty::Str) | (Ty::Time, Ty::Time) | (Ty::Dur, Ty::Dur) => true,
            (p, q) if !ordered => assignable(p, q) || assignable(q, p),
            _ => false,
        };
        if !ok {
            let mut d = Diagnostic::error(
                "E0303",
                scope.file,
                span,
                format!(
                    "cannot compare `{}` with `{}` using `{}`",
                    self.show(&x.ty),
                    self.show(&y.ty),
                    op.text()
                ),
            )
            .with_secondary(scope.file, x.span, format!("`{}`", self.show(&x.ty)))
            .with_secondary(scope.file, y.span, format!("`{}`", self.show(&y.ty)));
            if matches!((&x.ty, &y.ty), (Ty::Cidr | Ty::Ip, Ty::Str)) {
                let text = self.snippet(scope.file, y.span);
                let lit = text.trim_matches('"').to_string();
                d = d.with_suggestion(
                    "write the address as a literal, without quotes",
                    y.span,
                    lit,
                );
            }
            self.diag(d);
            return self.error_node(span, scope);
        }
        let cop = match op {
            BinOp::Eq => CmpOp::Eq,
            BinOp::Ne => CmpOp::Ne,
            BinOp::Lt => CmpOp::Lt,
            BinOp::Le => CmpOp::Le,
            BinOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        self.node(K::Cmp(cop, Box::new(x), Box::new(y)), Ty::Bool, span, scope)
    }

    fn check_in(
        &mut self,
        e: &ast::Expr,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let x = self.check(a, scope);
        let y = self.check(b, scope);
        let x = self.require_value(x, scope, "with `in`");
        let y = self.require_value(y, scope, "with `in`");
        let node = match (&x.ty, &y.ty) {
            (Ty::Error, _) | (_, Ty::Error) => Some(K::In(Box::new(x), Box::new(y))),
            (t, Ty::List(el)) if assignable(t, el) || assignable(el, t) => {
                Some(K::In(Box::new(x), Box::new(y)))
            }
            (_, Ty::Empty) => Some(K::In(Box::new(x), Box::new(y))),
            (Ty::Str, Ty::Map(_)) => Some(K::In(Box::new(x), Box::new(y))),
            (Ty::Ip | Ty::Cidr, Ty::Cidr) => {
                let b = pac_stdlib::lookup("cidr_contains");
                b.map(|builtin| K::Call {
                    builtin,
                    sig: usize::from(x.ty == Ty::Cidr),
                    args: vec![y, x],
                })
            }
            _ => None,
        };
        let Some(kind) = node else {
            self.diag(
                Diagnostic::error(
                    "E0303",
                    scope.file,
                    span,
                    "`in` needs a list, a map or a CIDR on its right, with a matching left side",
                )
                .with_label("not a membership test"),
            );
            return self.error_node(span, scope);
        };
        let inner = self.node(kind, Ty::Bool, span, scope);
        if op == BinOp::NotIn {
            return self.node(K::Not(Box::new(inner)), Ty::Bool, span, scope);
        }
        inner
    }

    fn check_coalesce(
        &mut self,
        e: &ast::Expr,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let x = self.check(a, scope);
        let y = self.check(b, scope);
        let y = self.require_value(y, scope, "as the default of `??`");
        if !x.ty.is_opt() && !x.ty.is_error() {
            self.diag(
                Diagnostic::warning(
                    "W0502",
                    scope.file,
                    y.span,
                    "this default is never used: the left side is never missing",
                )
                .with_label("unreachable")
                .with_secondary(
                    scope.file,
                    x.span,
                    format!("always present (`{}`)", self.show(&x.ty)),
                ),
            );
        }
        let inner = x.ty.unopt().clone();
        let ty = match join(&inner, &y.ty) {
            Some(t) if !t.is_opt() => t,
            _ => {
                let msg = format!(
                    "the default of `??` must be a `{}`, not `{}`",
                    self.show(&inner),
                    self.show(&y.ty)
                );
                self.diag(
                    Diagnostic::error("E0301", scope.file, y.span, msg)
                        .with_label(format!("expected `{}`", self.show(&inner))),
                );
                Ty::Error
            }
        };
        self.node(K::Coalesce(Box::new(x), Box::new(y)), ty, span, scope)
    }

    fn check_arith(
        &mut self,
        e: &ast::Expr,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let x = self.check(a, scope);
        let y = self.check(b, scope);
        let ctx = format!("in arithmetic `{}`", op.text());
        let x = self.require_value(x, scope, &ctx);
        let y = self.require_value(y, scope, &ctx);
        let aop = match op {
            BinOp::Add => ArithOp::Add,
            BinOp::Sub => ArithOp::Sub,
            BinOp::Mul => ArithOp::Mul,
            BinOp::Div => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        let ty = match (aop, &x.ty, &y.ty) {
            (_, Ty::Error, _) | (_, _, Ty::Error) => Some(Ty::Error),
            (_, Ty::Int, Ty::Int) => Some(Ty::Int),
            (_, p, q) if p.is_numeric() && q.is_numeric() => Some(Ty::Float),
            (ArithOp::Add, Ty::Str, Ty::Str) => Some(Ty::Str),
            (ArithOp::Sub, Ty::Time, Ty::Time) => Some(Ty::Dur),
            (ArithOp::Add | ArithOp::Sub, Ty::Time, Ty::Dur) => Some(Ty::Time),
            (ArithOp::Add, Ty::Dur, Ty::Time) => Some(Ty::Time),
            (ArithOp::Add | ArithOp::Sub, Ty::Dur, Ty::Dur) => Some(Ty::Dur),
            (ArithOp::Mul | ArithOp::Div, Ty::Dur, Ty::Int) => Some(Ty::Dur),
            (ArithOp::Mul, Ty::Int, Ty::Dur) => Some(Ty::Dur),
            _ => None,
        };
        let Some(ty) = ty else {
            let msg = format!(
                "`{}` is not defined for `{}` and `{}`",
                op.text(),
                self.show(&x.ty),
                self.show(&y.ty)
            );
            self.diag(
                Diagnostic::error("E0303", scope.file, span, msg)
                    .with_secondary(scope.file, x.span, format!("`{}`", self.show(&x.ty)))
                    .with_secondary(scope.file, y.span, format!("`{}`", self.show(&y.ty))),
            );
            return self.error_node(span, scope);
        };
        if matches!(aop, ArithOp::Div | ArithOp::Rem) && matches!(y.as_const(), Some(Value::Int(0)))
        {
            self.diag(
                Diagnostic::warning(
                    "W0501",
                    scope.file,
                    y.span,
                    "division by zero: this always evaluates to an error",
                )
                .with_label("zero"),
            );
        }
        self.node(K::Arith(aop, Box::new(x), Box::new(y)), ty, span, scope)
    }

    fn check_quant(
        &mut self,
        e: &ast::Expr,
        quant: Quant,
        var: &ast::Ident,
        coll: &ast::Expr,
        body: &ast::Expr,
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        let kind = match quant {
            Quant::Any => QuantKind::Any,
            Quant::All => QuantKind::All,
            Quant::None => QuantKind::None,
            Quant::Count => QuantKind::Count,
        };
        let ty = if kind == QuantKind::Count {
            Ty::Int
        } else {
            Ty::Bool
        };
        // A resource type: `any v in vuln.finding where …` (unless the first
        // name is a variable or a field in scope).
        if let Some(path) = dotted(coll) {
            let first = root(&path).to_string();
            let shadowed = scope.vars.iter().any(|v| v.name == first)
                || scope
                    .resource
                    .is_some_and(|r| self.env.schemas.record(r).field(&first).is_some());
            if !shadowed && path.contains('.') {
                if let Some(rtype) = self.env.schemas.resource(&path) {
                    let slot = scope.push_var(&var.name, Ty::Record(rtype), var.span);
                    self.env
                        .note_ref(scope.file, var.span, RefKind::LocalDecl, &Ty::Record(rtype));
                    let b = self.check_cond(body, scope, "a quantifier's condition");
                    if let Some(v) = scope.pop_var() {
                        self.warn_unused(&v, scope);
                    }
                    // Only where skipping non-matching resources cannot change
                    // the answer: for `all` they would make the body false.
                    let probe = if kind == QuantKind::All {
                        None
                    } else {
                        plan_probe(&b, slot)
                    };
                    if probe.is_none() && kind != QuantKind::All {
                        self.diag(
                            Diagnostic::warning("W0505", scope.file, coll.span, format!("this look-up scans every `{path}` for each resource"))
                                .with_label("no join key")
                                .with_note(format!("compare a field of `{}` with a value of the outer resource (`{}.KEY == …`) so that it becomes an index probe", var.name, var.name)),
                        );
                    }
                    return self.node(
                        K::QuantType {
                            kind,
                            slot,
                            rtype,
                            probe,
                            body: Box::new(b),
                        },
                        ty,
                        span,
                        scope,
                    );
                }
                // Not a resource type, and its first name is not a value.
                let types: Vec<String> = self
                    .env
                    .schemas
                    .resource_types()
                    .map(|(_, t)| t.to_string())
                    .collect();
                let mut d = Diagnostic::error(
                    "E0103",
                    scope.file,
                    coll.span,
                    format!("unknown resource type `{path}`"),
                )
                .with_label("not a resource type, a variable or a field");
                if let Some(s) = did_you_mean(&path, types.iter().map(String::as_str)) {
                    d = d.with_suggestion(format!("did you mean `{s}`?"), coll.span, s.to_string());
                }
                self.diag(d);
                return self.error_node(span, scope);
            }
        }
        let c = self.check(coll, scope);
        let c = self.require_value(c, scope, "as the collection of a quantifier");
        let el = match &c.ty {
            Ty::List(t) => t.as_ref().clone(),
            Ty::Empty | Ty::Error => Ty::Error,
            t => {
                let msg = format!(
                    "a quantifier ranges over a list or a resource type, not `{}`",
                    self.show(t)
                );
                self.diag(
                    Diagnostic::error("E0307", scope.file, c.span, msg)
                        .with_label(format!("this is `{}`", self.show(t))),
                );
                Ty::Error
            }
        };
        self.env
            .note_ref(scope.file, var.span, RefKind::LocalDecl, &el);
        let slot = scope.push_var(&var.name, el, var.span);
        let b = self.check_cond(body, scope, "a quantifier's condition");
        if let Some(v) = scope.pop_var() {
            self.warn_unused(&v, scope);
        }
        self.node(
            K::Quant {
                kind,
                slot,
                coll: Box::new(c),
                body: Box::new(b),
            },
            ty,
            span,
            scope,
        )
    }

    fn check_call(
        &mut self,
        e: &ast::Expr,
        callee: &ast::Expr,
        args: &[ast::Expr],
        scope: &mut Scope,
    ) -> Expr {
        let span = e.span;
        // Resolve the callee: `f(…)`, `pkg.f(…)`, or a method `x.f(…)`.
        let (name, name_span, receiver): (String, Span, Option<&ast::Expr>) = match &callee.kind {
            A::Name(n) => (n.name.clone(), n.span, None),
            A::Field { base, name, .. } => {
                let qualified = dotted(callee);
                if let Some(q) = qualified.filter(|q| self.env.fns.contains_key(q)) {
                    (q, callee.span, None)
                } else {
                    (name.name.clone(), name.span, Some(base.as_ref()))
                }
            }
            _ => {
                self.diag(
                    Diagnostic::error(
                        "E0105",
                        scope.file,
                        callee.span,
                        "only named functions can be called",
                    )
                    .with_label("not a function"),
                );
                return self.error_node(span, scope);
            }
        };
        let mut all_args: Vec<&ast::Expr> = Vec::new();
        if let Some(r) = receiver {
            all_args.push(r);
        }
        all_args.extend(args.iter());

        if name == "has" && receiver.is_none() {
            if args.len() != 1 {
                self.diag(
                    Diagnostic::error(
                        "E0304",
                        scope.file,
                        span,
                        format!("`has` takes 1 argument, got {}", args.len()),
                    )
                    .with_label("here"),
                );
                return self.error_node(span, scope);
            }
            // `has(x)` inspects x itself, so x is checked without its own
            // narrowing (its parents keep theirs: `has(a) and has(a.b)`).
            let saved = scope.narrowed.clone();
            if let Some(k) = path_key(&args[0]) {
                scope.narrowed.retain(|p| *p != k);
            }
            let x = self.check(&args[0], scope);
            scope.narrowed = saved;
            if !x.ty.is_opt() && !x.ty.is_error() {
                self.diag(
                    Diagnostic::warning(
                        "W0501",
                        scope.file,
                        span,
                        "this is always true: the value is never missing",
                    )
                    .with_label(format!("`{}` is not optional", self.show(&x.ty))),
                );
            }
            return self.node(K::Has(Box::new(x)), Ty::Bool, span, scope);
        }

        // User functions, then built-ins.
        if let Some(qname) = self.resolve_fn(&name, scope) {
            let call = self.call_user_fn(&qname, name_span, &all_args, span, scope);
            let kind = RefKind::Fn(qname);
            self.env.note_ref(scope.file, name_span, kind, &call.ty);
            return call;
        }
        let Some(builtin) = pac_stdlib::lookup(&name) else {
            let mut names: Vec<String> = pac_stdlib::BUILTINS
                .iter()
                .map(|b| b.name.to_string())
                .collect();
            names.extend(
                self.env
                    .fns
                    .keys()
                    .map(|k| k.rsplit('.').next().unwrap_or(k).to_string()),
            );
            names.push("has".into());
            let mut d = Diagnostic::error(
                "E0105",
                scope.file,
                name_span,
                format!("unknown function `{name}`"),
            )
            .with_label("not a built-in nor a `fn`");
            if let Some(s) = did_you_mean(&name, names.iter().map(String::as_str)) {
                d = d.with_suggestion(format!("did you mean `{s}`?"), name_span, s.to_string());
            } else if receiver.is_some() {
                d = d.with_note("`x.f(…)` calls the function `f` with `x` as its first argument");
            }
            self.diag(d);
            // Still check the arguments, for their own errors.
            for a in args {
                self.check(a, scope);
            }
            return self.error_node(span, scope);
        };
        let xs: Vec<Expr> = all_args.iter().map(|a| self.check(a, scope)).collect();
        let call = self.call_builtin(builtin, xs, name_span, span, scope);
        let kind = RefKind::Builtin(builtin.name);
        self.env.note_ref(scope.file, name_span, kind, &call.ty);
        call
    }

    fn resolve_fn(&mut self, name: &str, scope: &Scope) -> Option<String> {
        resolve_fn_name(&self.env.fns, &self.env.fns_by_last, name, &scope.package)
    }

    fn call_user_fn(
        &mut self,
        qname: &str,
        name_span: Span,
        args: &[&ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Expr {
        if scope.inlining.iter().any(|n| n == qname) || self.env.fn_stack.iter().any(|n| n == qname)
        {
            self.diag(
                Diagnostic::error(
                    "E0311",
                    scope.file,
                    name_span,
                    format!("`{qname}` calls itself; functions cannot be recursive"),
                )
                .with_label("recursive call")
                .with_note("recursion could loop forever; Pac functions always terminate"),
            );
            return self.error_node(span, scope);
        }
        if self.env.callees_first
            && !self.env.fn_checked(qname)
            && let Some(current) = self.env.fn_stack.last().cloned()
        {
            // Bodies are checked callees first (`Env::check_fns`): a callee
            // not checked yet calls the current function back.
            self.diag(
                Diagnostic::error(
                    "E0311",
                    scope.file,
                    name_span,
                    format!(
                        "`{qname}` calls `{current}` back (directly or through other functions); \
                         functions cannot be recursive"
                    ),
                )
                .with_label("recursive call")
                .with_note("recursion could loop forever; Pac functions always terminate"),
            );
            return self.error_node(span, scope);
        }
        let Some(body) = self.env.fn_body(qname) else {
            return self.error_node(span, scope);
        };
        let (depth, size) = self.env.fn_shapes.get(qname).copied().unwrap_or((1, 1));
        if self.env.depth + depth + args.len() > MAX_IR_DEPTH {
            self.too_deep(span, scope);
            return self.error_node(span, scope);
        }
        if size > MAX_INLINE_NODES || self.env.next_node as usize + size > MAX_PROGRAM_NODES {
            self.diag(
                Diagnostic::error(
                    "E0314",
                    scope.file,
                    name_span,
                    format!(
                        "`{qname}` is too large to inline here: its body expands to {size} nodes \
                         (limit {MAX_INLINE_NODES} per call, {MAX_PROGRAM_NODES} per workspace)"
                    ),
                )
                .with_label("inlined here")
                .with_note("functions are inlined at each call; a function that calls another several times doubles in size at each level"),
            );
            return self.error_node(span, scope);
        }
        let info = self.env.fns[qname].clone();
        if args.len() != info.params.len() {
            let msg = format!(
                "`{}` takes {} argument(s), but {} given",
                qname,
                info.params.len(),
                were(args.len())
            );
            self.diag(
                Diagnostic::error("E0304", scope.file, span, msg)
                    .with_label(format!("expected {}", info.params.len()))
                    .with_secondary(info.file, info.span, "declared here"),
            );
            return self.error_node(span, scope);
        }
        // Inline: bind each argument to a fresh slot, then the body with its
        // slots shifted past ours.
        let mut bound = Vec::new();
        for ((pname, pty), a) in info.params.iter().zip(args) {
            let x = self.check(a, scope);
            let x = if assignable(&x.ty, pty) {
                x
            } else if x.ty.is_opt() && assignable(x.ty.unopt(), pty) {
                self.require_value(x, scope, &format!("as the argument `{pname}`"))
            } else {
                let msg = format!(
                    "`{pname}` of `{qname}` is `{}`, but this is `{}`",
                    self.show(pty),
                    self.show(&x.ty)
                );
                self.diag(
                    Diagnostic::error("E0301", scope.file, x.span, msg)
                        .with_label(format!("expected `{}`", self.show(pty))),
                );
                let s = x.span;
                self.error_node(s, scope)
            };
            bound.push(x);
        }
        let base = scope.next_slot;
        let mut body = body;
        shift_slots(&mut body, base);
        scope.max_slot = scope.max_slot.max(base + info.slots);
        self.renumber(&mut body);
        let mut out = body;
        out.span = span;
        out.file = scope.file;
        for (i, x) in bound.into_iter().enumerate().rev() {
            let ty = out.ty.clone();
            out = self.node(
                K::Let(base + i as u32, Box::new(x), Box::new(out)),
                ty,
                span,
                scope,
            );
        }
        out
    }

    /// Gives inlined nodes fresh ids, so that coverage counts each call site.
    fn renumber(&mut self, e: &mut Expr) {
        e.id = self.env.next_node;
        self.env.next_node += 1;
        for_each_child_mut(e, &mut |c| self.renumber(c));
    }

    pub fn call_builtin(
        &mut self,
        builtin: &'static Builtin,
        mut xs: Vec<Expr>,
        name_span: Span,
        span: Span,
        scope: &mut Scope,
    ) -> Expr {
        let sigs: Vec<Sig> = builtin.sigs.iter().filter_map(|s| parse_sig(s)).collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return self.error_node(span, scope);
        }
        if !sigs.iter().any(|s| s.params.len() == xs.len()) {
            let arities: Vec<String> = sigs.iter().map(|s| s.params.len().to_string()).collect();
            let msg = format!(
                "`{}` takes {} argument(s), but {} given",
                builtin.name,
                arities.join(" or "),
                were(xs.len())
            );
            self.diag(
                Diagnostic::error("E0304", scope.file, span, msg)
                    .with_label("wrong number of arguments")
                    .with_note(format!("signatures: {}", sigs_text(builtin))),
            );
            return self.error_node(span, scope);
        }
        for (i, sig) in sigs.iter().enumerate() {
            if sig.params.len() != xs.len() {
                continue;
            }
            let mut var: Option<Ty> = None;
            if xs
                .iter()
                .zip(&sig.params)
                .all(|(x, (_, p))| unify(&x.ty, p, &mut var))
            {
                let ret = subst(&sig.ret, var.as_ref());
                // Precompile constant patterns; reject invalid ones now.
                for (x, (_, p)) in xs.iter_mut().zip(&sig.params) {
                    if let (Ty::Regex | Ty::Glob, Some(Value::Str(s))) = (p, x.as_const()) {
                        let compiled = if *p == Ty::Regex {
                            pac_stdlib::builtins::compile_regex(s)
                                .map(|r| Value::Regex(Arc::new(r)))
                        } else {
                            pac_stdlib::builtins::compile_glob(s).map(|g| Value::Glob(Arc::new(g)))
                        };
                        match compiled {
                            Ok(v) => x.kind = K::Const(v),
                            Err(msg) => {
                                self.diag(
                                    Diagnostic::error(
                                        "E0310",
                                        scope.file,
                                        x.span,
                                        format!("invalid pattern: {msg}"),
                                    )
                                    .with_label("here"),
                                );
                                return self.error_node(span, scope);
                            }
                        }
                    }
                }
                // `ip("::1")` and `cidr("::/0")` with a constant are constants.
                if matches!(builtin.name, "ip" | "cidr")
                    && let Some(v) = xs[0].as_const()
                {
                    let ctx = pac_stdlib::Ctx { now: 0 };
                    return match (builtin.imp)(std::slice::from_ref(v), &ctx) {
                        Ok(v) => self.node(K::Const(v), ret, span, scope),
                        Err(msg) => {
                            self.diag(
                                Diagnostic::error("E0310", scope.file, xs[0].span, msg)
                                    .with_label("not a valid constant"),
                            );
                            self.error_node(span, scope)
                        }
                    };
                }
                return self.node(
                    K::Call {
                        builtin,
                        sig: i,
                        args: xs,
                    },
                    ret,
                    span,
                    scope,
                );
            }
        }
        // Nothing fits: an optional argument is the most common reason.
        for sig in sigs.iter().filter(|s| s.params.len() == xs.len()) {
            let mut var = None;
            let unwrapped = xs
                .iter()
                .zip(&sig.params)
                .all(|(x, (_, p))| unify(x.ty.unopt(), p, &mut var));
            if unwrapped && let Some(x) = xs.iter().find(|x| x.ty.is_opt()).cloned() {
                self.require_value(x, scope, &format!("as an argument of `{}`", builtin.name));
                return self.error_node(span, scope);
            }
        }
        let got: Vec<String> = xs.iter().map(|x| self.show(&x.ty)).collect();
        let msg = format!(
            "no signature of `{}` accepts ({})",
            builtin.name,
            got.join(", ")
        );
        self.diag(
            Diagnostic::error("E0305", scope.file, span, msg)
                .with_secondary(scope.file, name_span, "called here")
                .with_note(format!("signatures: {}", sigs_text(builtin))),
        );
        self.error_node(span, scope)
    }
}

fn were(n: usize) -> String {
    if n == 1 {
        "1 was".into()
    } else {
        format!("{n} were")
    }
}

/// Whether `x.f(…)` could type-check for a receiver of type `receiver`:
/// some signature of `builtin` takes a first argument of that type (for
/// completion after a dot). An unknown receiver fits everything.
pub fn receiver_fits(builtin: &Builtin, receiver: &Ty) -> bool {
    if receiver.is_error() {
        return true;
    }
    builtin.sigs.iter().filter_map(|s| parse_sig(s)).any(|sig| {
        sig.params
            .first()
            .is_some_and(|(_, p)| unify(receiver, p, &mut None))
    })
}

/// The type a call of `builtin` returns when its first argument has type
/// `receiver` (the first signature that fits; `Error` when none does).
pub fn returns_for(builtin: &Builtin, receiver: &Ty) -> Ty {
    for sig in builtin.sigs.iter().filter_map(|s| parse_sig(s)) {
        let mut var = None;
        if sig
            .params
            .first()
            .is_some_and(|(_, p)| unify(receiver, p, &mut var))
        {
            return subst(&sig.ret, var.as_ref());
        }
    }
    Ty::Error
}

pub fn sigs_text(b: &Builtin) -> String {
    let v: Vec<String> = b.sigs.iter().map(|s| format!("{}{s}", b.name)).collect();
    v.join("; ")
}

/// Matches an argument type against a parameter type, binding `T`.
fn unify(arg: &Ty, param: &Ty, var: &mut Option<Ty>) -> bool {
    match (arg, param) {
        (a, Ty::Var) => match var {
            Some(t) => match join(t, a) {
                Some(j) if !j.is_opt() || t.is_opt() => {
                    *var = Some(j);
                    true
                }
                _ => false,
            },
            None => {
                if a.is_opt() {
                    return false;
                }
                *var = Some(a.clone());
                true
            }
        },
        (Ty::Empty, Ty::List(_)) => true,
        (Ty::List(a), Ty::List(p)) | (Ty::Map(a), Ty::Map(p)) => unify(a, p, var),
        (Ty::Opt(a), Ty::Opt(p)) => unify(a, p, var),
        (a, p) => assignable(a, p) && (!a.is_opt() || p.is_opt()),
    }
}

fn subst(t: &Ty, var: Option<&Ty>) -> Ty {
    match t {
        Ty::Var => var.cloned().unwrap_or(Ty::Error),
        Ty::List(x) => subst(x, var).list(),
        Ty::Map(x) => Ty::Map(Box::new(subst(x, var))),
        Ty::Opt(x) => subst(x, var).opt(),
        t => t.clone(),
    }
}

fn default_literal(t: &Ty) -> Option<&'static str> {
    Some(match t {
        Ty::Bool => "false",
        Ty::Int => "0",
        Ty::Float => "0.0",
        Ty::Str => "\"\"",
        Ty::Dur => "0s",
        Ty::List(_) => "[]",
        _ => return None,
    })
}

fn cidr_v4(ip: Ipv4Addr, len: u8) -> Option<Value> {
    ipnet::Ipv4Net::new(ip, len)
        .ok()
        .map(|n| Value::Cidr(ipnet::IpNet::V4(n)))
}

/// Finds `v.f == key` (or `key == v.f`) among the top-level conjuncts of a
/// cross-resource quantifier's body, where `key` does not depend on `v`.
fn plan_probe(body: &Expr, slot: Slot) -> Option<Probe> {
    match &body.kind {
        K::And(a, b) => plan_probe(a, slot).or_else(|| plan_probe(b, slot)),
        K::Cmp(CmpOp::Eq, x, y) => {
            let field_of = |e: &Expr| match &e.kind {
                K::Field(base, f)
                    if matches!(base.kind, K::Local(s) if s == slot) && is_key_type(&e.ty) =>
                {
                    Some(*f)
                }
                _ => None,
            };
            if let Some(f) = field_of(x)
                && !uses_slot_at_least(y, slot)
            {
                return Some(Probe {
                    field: f,
                    key: y.clone(),
                });
            }
            if let Some(f) = field_of(y)
                && !uses_slot_at_least(x, slot)
            {
                return Some(Probe {
                    field: f,
                    key: x.clone(),
                });
            }
            None
        }
        _ => None,
    }
}

fn is_key_type(t: &Ty) -> bool {
    matches!(
        t,
        Ty::Str | Ty::Int | Ty::Bool | Ty::Ip | Ty::Cidr | Ty::Time
    )
}

fn uses_slot_at_least(e: &Expr, slot: Slot) -> bool {
    let mut found = false;
    e.walk(&mut |n| {
        if let K::Local(s) = n.kind
            && s >= slot
        {
            found = true;
        }
    });
    found
}

pub(crate) fn for_each_child_mut(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    match &mut e.kind {
        K::Const(_) | K::Local(_) | K::Now => {}
        K::Field(a, _) | K::OptField(a, _) | K::Not(a) | K::Neg(a) | K::Has(a) => f(a),
        K::Index(a, b)
        | K::And(a, b)
        | K::Or(a, b)
        | K::Cmp(_, a, b)
        | K::Arith(_, a, b)
        | K::In(a, b)
        | K::Coalesce(a, b)
        | K::Let(_, a, b) => {
            f(a);
            f(b);
        }
        K::If(a, b, c) => {
            f(a);
            f(b);
            f(c);
        }
        K::Quant { coll, body, .. } => {
            f(coll);
            f(body);
        }
        K::QuantType { probe, body, .. } => {
            if let Some(p) = probe {
                f(&mut p.key);
            }
            f(body);
        }
        K::Call { args, .. } | K::List(args) => args.iter_mut().for_each(f),
    }
}

/// Moves every slot of an inlined body past the caller's slots.
fn shift_slots(e: &mut Expr, by: Slot) {
    match &mut e.kind {
        K::Local(s) => *s += by,
        K::Let(s, ..) => *s += by,
        K::Quant { slot, .. } | K::QuantType { slot, .. } => *slot += by,
        _ => {}
    }
    for_each_child_mut(e, &mut |c| shift_slots(c, by));
}

/// Converts a test's record literal into a runtime value of type `ty`.
pub fn literal_value(c: &mut Checker<'_>, e: &ast::Expr, ty: &Ty, file: u32) -> Option<Value> {
    let fail = |c: &mut Checker<'_>, msg: String, span: Span| {
        c.diag(Diagnostic::error("E0301", file, span, msg).with_label("in this test data"));
        None
    };
    let want = ty.unopt();
    match (&e.kind, want) {
        (A::Paren(inner), _) => literal_value(c, inner, ty, file),
        (A::Int(i), Ty::Int) => Some(Value::Int(*i)),
        (A::Int(i), Ty::Float) => Some(Value::Float(*i as f64)),
        (A::Float(f), Ty::Float) => Some(Value::Float(*f)),
        (A::Unary(UnOp::Neg, inner), Ty::Int | Ty::Float) => {
            match literal_value(c, inner, want, file)? {
                Value::Int(i) => Some(Value::Int(-i)),
                Value::Float(f) => Some(Value::Float(-f)),
                _ => None,
            }
        }
        (A::Str(s), Ty::Str) => Some(Value::str(s)),
        (A::Bool(b), Ty::Bool) => Some(Value::Bool(*b)),
        (A::Duration(d), Ty::Dur) => Some(Value::Dur(*d)),
        (A::Timestamp(t), Ty::Time) => Some(Value::Time(*t)),
        (A::Str(s), Ty::Time) => {
            match pac_lang::lexer::parse_timestamp(s) {
                Some(t) => Some(Value::Time(t)),
                None => {
                    c.diag(Diagnostic::error("E0310", file, e.span, format!("{s:?} is not a timestamp (write 2026-01-31 or 2026-01-31T12:00:00Z)")).with_label("here"));
                    None
                }
            }
        }
        (A::Ip(ip), Ty::Ip) => Some(Value::Ip(IpAddr::V4(*ip))),
        (A::Cidr(ip, len), Ty::Cidr) => cidr_v4(*ip, *len),
        (A::Str(s), Ty::Ip) => match s.parse::<IpAddr>() {
            Ok(ip) => Some(Value::Ip(ip)),
            Err(_) => {
                c.diag(
                    Diagnostic::error("E0310", file, e.span, format!("{s:?} is not an IP address"))
                        .with_label("here"),
                );
                None
            }
        },
        (A::Str(s), Ty::Cidr) => match s
            .parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        {
            Ok(n) => Some(Value::Cidr(n)),
            Err(_) => {
                c.diag(
                    Diagnostic::error("E0310", file, e.span, format!("{s:?} is not a CIDR block"))
                        .with_label("here"),
                );
                None
            }
        },
        (A::Call { .. }, _) => {
            let mut scope = Scope::new(file, "", None);
            let x = c.check(e, &mut scope);
            match x.as_const() {
                Some(v) if assignable(&x.ty, want) => Some(v.clone()),
                _ => fail(
                    c,
                    "test data must be literals (or `ip(\"…\")`/`cidr(\"…\")` of a literal)".into(),
                    e.span,
                ),
            }
        }
        (A::List(items), Ty::List(el)) => {
            let mut out = Vec::new();
            for i in items {
                out.push(literal_value(c, i, el, file)?);
            }
            Some(Value::List(Arc::from(out)))
        }
        (A::Record(fields), Ty::Map(el)) => {
            let mut m = std::collections::BTreeMap::new();
            for (k, v) in fields {
                m.insert(Arc::from(k.name.as_str()), literal_value(c, v, el, file)?);
            }
            Some(Value::Map(Arc::new(m)))
        }
        (A::Record(fields), Ty::Record(r)) => record_value(c, fields, *r, e.span, file, &[]),
        (_, t) => {
            let ts = c.show(t);
            fail(c, format!("expected a value of type `{ts}` here"), e.span)
        }
    }
}

/// A record literal as a record value, in schema field order. `defaults`
/// gives values for fields not written (a test resource's implicit fields).
pub fn record_value(
    c: &mut Checker<'_>,
    fields: &[(ast::Ident, ast::Expr)],
    r: RecordId,
    span: Span,
    file: u32,
    defaults: &[(&str, Value)],
) -> Option<Value> {
    // Only what is needed of the record: cloning the whole definition (its
    // docs included) for every resource a test gives was a sixth of the
    // workspace's lowering.
    let rec = c.env.schemas.record(r);
    let (display, def_file, def_span) = (rec.display_name(), rec.file, rec.span);
    let def: Vec<(String, Ty)> = rec
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.ty.clone()))
        .collect();
    let mut ok = true;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (k, _) in fields {
        if let Some(prev) = seen.insert(k.name.as_str(), k.span) {
            c.diag(
                Diagnostic::error(
                    "E0201",
                    file,
                    k.span,
                    format!("field `{}` is given twice", k.name),
                )
                .with_label("again")
                .with_secondary(file, prev, "first here"),
            );
            ok = false;
        }
        if !def.iter().any(|(n, _)| *n == k.name) {
            let names: Vec<&str> = def.iter().map(|(n, _)| n.as_str()).collect();
            let mut d = Diagnostic::error(
                "E0102",
                file,
                k.span,
                format!("`{display}` has no field `{}`", k.name),
            )
            .with_label("unknown field");
            if let Some(s) = did_you_mean(&k.name, names) {
                d = d.with_suggestion(format!("did you mean `{s}`?"), k.span, s.to_string());
            }
            c.diag(d);
            ok = false;
        }
    }
    let mut values = Vec::with_capacity(def.len());
    let mut missing = Vec::new();
    for (name, ty) in &def {
        let given = fields.iter().find(|(k, _)| k.name == *name);
        let v = match given {
            Some((_, e)) => match literal_value(c, e, ty, file) {
                Some(v) => v,
                None => {
                    ok = false;
                    Value::Missing
                }
            },
            None => match (ty, defaults.iter().find(|(n, _)| n == name)) {
                (_, Some((_, v))) => v.clone(),
                (Ty::Opt(_), _) => Value::Missing,
                (Ty::List(_), _) => Value::List(Arc::from(Vec::new())),
                (Ty::Map(_), _) => Value::Map(Arc::new(Default::default())),
                _ => {
                    missing.push(name.clone());
                    Value::Missing
                }
            },
        };
        values.push(v);
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        c.diag(
            Diagnostic::error(
                "E0312",
                file,
                span,
                format!(
                    "`{display}` requires {} (not optional in its schema)",
                    list.join(", ")
                ),
            )
            .with_label("missing required field(s)")
            .with_secondary(def_file, def_span, "schema declared here"),
        );
        ok = false;
    }
    ok.then(|| Value::Record(Arc::from(values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: &str) -> &'static Builtin {
        pac_stdlib::lookup(name).expect(name)
    }

    #[test]
    fn a_receiver_fits_the_builtins_whose_first_parameter_takes_it() {
        let s = Ty::Str;
        let tags = Ty::Map(Box::new(Ty::Str));
        assert!(receiver_fits(b("starts_with"), &s));
        assert!(!receiver_fits(b("starts_with"), &Ty::Int));
        assert!(receiver_fits(b("keys"), &tags));
        assert!(!receiver_fits(b("keys"), &s));
        // `len` takes a string, a list or a map.
        assert!(receiver_fits(b("len"), &s) && receiver_fits(b("len"), &tags));
        assert!(receiver_fits(b("len"), &Ty::List(Box::new(Ty::Int))));
        // What is not known yet fits everything.
        assert!(receiver_fits(b("keys"), &Ty::Error));
        assert_eq!(returns_for(b("starts_with"), &s), Ty::Bool);
        assert_eq!(returns_for(b("keys"), &tags), Ty::List(Box::new(Ty::Str)));
        assert_eq!(returns_for(b("keys"), &s), Ty::Error);
    }
}
