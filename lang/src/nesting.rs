//! How deeply a syntax tree may nest, enforced once, right after parsing, so
//! that every later pass (checker, lowering, interpreter, JIT, formatter,
//! language server) may recurse over the tree without exhausting the
//! thread's stack, whatever the input.
//!
//! Long `and`/`or` chains are legitimate (a generated allow-list of 20,000
//! alternatives is one): a chain deeper than [`CHAIN_DEPTH`] is rebalanced
//! into a tree of logarithmic depth. Both operators are associative and
//! evaluate left to right with short-circuit either way, so the meaning, the
//! order of evaluation and the formatted text stay the same. Anything else
//! nested deeper than [`MAX_NESTING`] (parentheses, lists, `not`s, `if`
//! ladders, types) becomes an `Error` node with one [`NESTING_CODE`] error.
//!
//! Dropping a tree is iterative too (see the `Drop` impls in `ast`), so a
//! deep tree that the parser builds and then discards cannot overflow either.

use crate::ast::*;
use crate::parse::SyntaxError;

/// The deepest nesting of expressions (and of types) accepted: deeper
/// subtrees are replaced by an error. Every recursive pass over the tree may
/// rely on it.
pub const MAX_NESTING: usize = 160;

/// `and`/`or` chains nested deeper than this are rebalanced.
pub const CHAIN_DEPTH: usize = 32;

/// The diagnostic code of "nested too deeply".
pub const NESTING_CODE: &str = "E0002";

/// The error reported where nesting passes [`MAX_NESTING`].
pub fn too_deep(at: usize) -> SyntaxError {
    SyntaxError {
        code: NESTING_CODE,
        span: Span::new(at, at + 1),
        message: format!(
            "expression nested too deeply: limit {MAX_NESTING}; split it with `let` bindings or a `fn`"
        ),
        expected: Vec::new(),
    }
}

/// Rebalances long chains and cuts over-deep subtrees in every expression and
/// type of `file`; returns one error per cut expression or type.
pub fn bound_file(file: &mut File) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    for item in &mut file.items {
        match item {
            Item::Schema(s) => s
                .fields
                .iter_mut()
                .for_each(|f| bound_type(&mut f.ty, &mut errors)),
            Item::Record(r) => r
                .fields
                .iter_mut()
                .for_each(|f| bound_type(&mut f.ty, &mut errors)),
            Item::Fn(f) => {
                f.params
                    .iter_mut()
                    .for_each(|p| bound_type(&mut p.ty, &mut errors));
                bound_type(&mut f.ret, &mut errors);
                bound_root(&mut f.body, &mut errors);
            }
            Item::Action(a) => a
                .params
                .iter_mut()
                .for_each(|p| bound_type(&mut p.ty, &mut errors)),
            Item::Policy(p) => {
                for m in &mut p.members {
                    match m {
                        PolicyMember::Rule(r) => {
                            for s in &mut r.stmts {
                                match s {
                                    RuleStmt::Let { value: e, .. }
                                    | RuleStmt::Violation { cond: e, .. } => {
                                        bound_root(e, &mut errors)
                                    }
                                    RuleStmt::Meta(_) | RuleStmt::Error(_) => {}
                                }
                            }
                        }
                        PolicyMember::Autofix(a) => {
                            for arg in &mut a.args {
                                bound_root(&mut arg.value, &mut errors);
                            }
                            if let Some(n) = &mut a.notify {
                                bound_root(n, &mut errors);
                            }
                        }
                        PolicyMember::Meta(_) | PolicyMember::Error(_) => {}
                    }
                }
            }
            Item::Group(g) => {
                for m in &mut g.members {
                    if let GroupMember::Type { cond: Some(c), .. } = m {
                        bound_root(c, &mut errors);
                    }
                }
            }
            Item::Exception(x) => {
                for c in &mut x.clauses {
                    if let ExceptionClause::Where(e, _) = c {
                        bound_root(e, &mut errors);
                    }
                }
            }
            Item::Test(t) => {
                for s in &mut t.stmts {
                    if let TestStmt::Given { value, .. } = s {
                        bound_root(value, &mut errors);
                    }
                }
            }
            Item::Domain(_) | Item::Error(_) => {}
        }
    }
    errors
}

/// [`bound_file`] for one expression (a template part, an expression parsed
/// on its own).
pub fn bound_expr(e: &mut Expr) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    bound_root(e, &mut errors);
    errors
}

fn chain_op(e: &Expr) -> Option<BinOp> {
    match e.kind {
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or), _, _) => Some(op),
        _ => None,
    }
}

fn is_leaf(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::List(xs) => xs.is_empty(),
        ExprKind::Record(fs) => fs.is_empty(),
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration(_)
        | ExprKind::Timestamp(_)
        | ExprKind::Ip(_)
        | ExprKind::Cidr(..)
        | ExprKind::Now
        | ExprKind::SelfRef
        | ExprKind::Name(_)
        | ExprKind::Error => true,
        _ => false,
    }
}

fn bound_root(root: &mut Expr, errors: &mut Vec<SyntaxError>) {
    let mut reported = false;
    // (node, its depth, the chain operator of its parent)
    let mut stack: Vec<(&mut Expr, usize, Option<BinOp>)> = vec![(root, 1, None)];
    while let Some((e, depth, parent)) = stack.pop() {
        if depth >= MAX_NESTING && !is_leaf(e) {
            if !reported {
                errors.push(too_deep(e.span.start));
                reported = true;
            }
            // The old subtree is dropped iteratively (`Drop for Expr`).
            e.kind = ExprKind::Error;
            continue;
        }
        let op = chain_op(e);
        if let Some(op) = op
            && parent != Some(op)
            && chain_depth(e, op) > CHAIN_DEPTH
        {
            rebalance(e, op);
        }
        let d = depth + 1;
        match &mut e.kind {
            ExprKind::Field { base: a, .. } | ExprKind::Unary(_, a) | ExprKind::Paren(a) => {
                stack.push((&mut **a, d, op))
            }
            ExprKind::Index(a, b)
            | ExprKind::Binary(_, a, b)
            | ExprKind::Let(_, a, b)
            | ExprKind::Quant {
                coll: a, body: b, ..
            } => {
                stack.push((&mut **a, d, op));
                stack.push((&mut **b, d, op));
            }
            ExprKind::If(a, b, c) => {
                stack.push((&mut **a, d, op));
                stack.push((&mut **b, d, op));
                stack.push((&mut **c, d, op));
            }
            ExprKind::Call { callee, args } => {
                stack.push((&mut **callee, d, op));
                stack.extend(args.iter_mut().map(|x| (x, d, op)));
            }
            ExprKind::List(xs) => stack.extend(xs.iter_mut().map(|x| (x, d, op))),
            ExprKind::Record(fs) => stack.extend(fs.iter_mut().map(|(_, x)| (x, d, op))),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Duration(_)
            | ExprKind::Timestamp(_)
            | ExprKind::Ip(_)
            | ExprKind::Cidr(..)
            | ExprKind::Now
            | ExprKind::SelfRef
            | ExprKind::Name(_)
            | ExprKind::Error => {}
        }
    }
}

/// How deeply `op` nests within the chain rooted at `e` (1 for `a op b`).
fn chain_depth(e: &Expr, op: BinOp) -> usize {
    let mut max = 0;
    let mut stack = vec![(e, 1)];
    while let Some((x, d)) = stack.pop() {
        if let ExprKind::Binary(o, a, b) = &x.kind
            && *o == op
        {
            max = max.max(d);
            stack.push((&**a, d + 1));
            stack.push((&**b, d + 1));
        }
    }
    max
}

/// Rebuilds the chain rooted at `e` as a balanced tree over the same operands
/// in the same order.
fn rebalance(e: &mut Expr, op: BinOp) {
    let mut operands = Vec::new();
    let span = e.span;
    let mut stack = vec![std::mem::replace(
        e,
        Expr {
            kind: ExprKind::Error,
            span,
        },
    )];
    while let Some(mut x) = stack.pop() {
        match std::mem::replace(&mut x.kind, ExprKind::Error) {
            ExprKind::Binary(o, a, b) if o == op => {
                stack.push(*b);
                stack.push(*a);
            }
            kind => {
                x.kind = kind;
                operands.push(x);
            }
        }
    }
    *e = balanced(op, operands);
}

fn balanced(op: BinOp, mut operands: Vec<Expr>) -> Expr {
    if operands.len() <= 1 {
        return operands.pop().unwrap_or(Expr {
            kind: ExprKind::Error,
            span: Span::default(),
        });
    }
    let right = operands.split_off(operands.len() / 2);
    let a = balanced(op, operands);
    let b = balanced(op, right);
    let span = a.span.to(b.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        span,
    }
}

fn bound_type(t: &mut TypeExpr, errors: &mut Vec<SyntaxError>) {
    let mut cur = t;
    let mut depth = 1;
    loop {
        if depth >= MAX_NESTING && !matches!(cur.kind, TypeKind::Named(_)) {
            errors.push(too_deep(cur.span.start));
            let span = cur.span;
            cur.kind = TypeKind::Named(Path {
                parts: vec![Ident {
                    name: "error".into(),
                    span,
                }],
                span,
            });
            return;
        }
        match &mut cur.kind {
            TypeKind::List(x) | TypeKind::Map(x) | TypeKind::Optional(x) => cur = x,
            TypeKind::Named(_) => return,
        }
        depth += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    fn depth(e: &Expr) -> usize {
        let mut max = 0;
        let mut stack = vec![(e, 1)];
        while let Some((x, d)) = stack.pop() {
            max = max.max(d);
            match &x.kind {
                ExprKind::Binary(_, a, b) => {
                    stack.push((&**a, d + 1));
                    stack.push((&**b, d + 1));
                }
                ExprKind::Unary(_, a) | ExprKind::Paren(a) => stack.push((&**a, d + 1)),
                ExprKind::List(xs) => stack.extend(xs.iter().map(|x| (x, d + 1))),
                _ => {}
            }
        }
        max
    }

    fn body(src: &str) -> (Expr, Vec<SyntaxError>) {
        let mut p = parse_file(src);
        match p.file.items.remove(0) {
            Item::Fn(f) => (f.body.clone(), p.errors),
            other => panic!("not a fn: {other:?}"),
        }
    }

    #[test]
    fn long_chains_are_rebalanced_not_rejected() {
        for n in [3, 40, 3_000, 20_000] {
            let terms = vec!["true"; n].join(" and ");
            let (e, errors) = body(&format!("fn f() -> bool = {terms}"));
            assert!(errors.is_empty(), "{n}: {errors:?}");
            let leaves = {
                let mut k = 0;
                let mut stack = vec![&e];
                while let Some(x) = stack.pop() {
                    match &x.kind {
                        ExprKind::Binary(BinOp::And, a, b) => {
                            stack.push(&**a);
                            stack.push(&**b);
                        }
                        _ => k += 1,
                    }
                }
                k
            };
            assert_eq!(leaves, n);
            assert!(depth(&e) <= CHAIN_DEPTH + 2, "{n}: depth {}", depth(&e));
        }
    }

    #[test]
    fn short_chains_keep_their_shape() {
        let (e, _) = body("fn f() -> bool = a and b and c");
        let ExprKind::Binary(BinOp::And, a, _) = &e.kind else {
            panic!("{e:?}")
        };
        assert!(matches!(a.kind, ExprKind::Binary(BinOp::And, ..)));
    }

    #[test]
    fn deep_nesting_is_cut_with_one_error() {
        let cases = [
            format!("fn f() -> bool = {}true", "not ".repeat(10_000)),
            format!(
                "fn f() -> int = {}1{}",
                "(".repeat(100_000),
                ")".repeat(100_000)
            ),
            format!(
                "fn f() -> int = {}1{}",
                "[".repeat(5_000),
                "]".repeat(5_000)
            ),
            format!("fn f() -> int = 1{}", " + 1".repeat(5_000)),
        ];
        for src in cases {
            let (e, errors) = body(&src);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].code, NESTING_CODE);
            assert!(errors[0].message.contains(&format!("limit {MAX_NESTING}")));
            assert!(depth(&e) <= MAX_NESTING);
        }
    }

    #[test]
    fn nesting_at_the_limit_is_accepted() {
        let n = MAX_NESTING - 1;
        let (e, errors) = body(&format!(
            "fn f() -> int = {}1{}",
            "(".repeat(n),
            ")".repeat(n)
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(depth(&e), MAX_NESTING);
    }

    #[test]
    fn deep_types_are_cut() {
        let p = parse_file(&format!(
            "record R {{ x: {}int{} }}",
            "list<".repeat(5_000),
            ">".repeat(5_000)
        ));
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].code, NESTING_CODE);
    }

    #[test]
    fn a_deep_tree_discarded_by_error_recovery_drops_without_overflow() {
        // The deep operand is complete when the stray `)` is met; recovery
        // throws it away.
        let src = format!(
            "fn f() -> bool = {}true ) )\nfn g() -> int = 1",
            "not ".repeat(200_000)
        );
        let p = parse_file(&src);
        assert!(!p.errors.is_empty());
    }
}
