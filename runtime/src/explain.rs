//! Explanations: why a condition came out the way it did, for one resource.
//!
//! The interpreter is re-run on that resource with a [`Tracer`] recording
//! every node; the trace is then folded into a tree of the boolean
//! sub-conditions that were evaluated, each with its source text and value,
//! the operand values of comparisons and the argument values of calls, and
//! for quantifiers the element that decided them (the witness). Since it is
//! the interpreter itself that runs, an explanation cannot disagree with the
//! result it explains.

use std::fmt::Write as _;

use pac_compiler::ir::{Expr, ExprKind, Program, QuantKind};
use pac_compiler::types::{Schemas, Ty};
use pac_stdlib::Value;
use serde::Serialize;

use crate::interp::{Env, EvalError, Frame, Tracer, arith_text, cmp_text, eval_traced};

/// One evaluated sub-condition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The source text, whitespace collapsed: `r.cidr_ip == 0.0.0.0/0`.
    pub expr: String,
    /// The value it had (`true`, `false`, `3`), or `error: …`.
    pub value: String,
    /// The operand values: `0.0.0.0/0 == 0.0.0.0/0` for a comparison,
    /// `starts_with("sg-1", "sg-")` for a call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a quantifier without a witness, what happened instead: `no
    /// element matches`, `every element matches`; for `count`, the elements
    /// counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a quantifier: the element that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Witness>,
    /// The sub-conditions evaluated to get this value (for a quantifier:
    /// those of its witness).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Explanation>,
}

/// The element that made `any`/`exists` true, `all` false or `none` false.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// Its position: the list index, or the inventory index of a resource.
    pub index: usize,
    /// Where it is: `ip_permissions[0]`, or `vuln.finding f-123`.
    pub label: String,
    /// A summary of its value: `{ip_protocol: "tcp", from_port: 22, …}`.
    pub value: String,
}

/// How explanations print values: like messages, but strings quoted.
pub fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{:?}", &**s),
        other => other.to_string(),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A short description of a value of type `ty`: records show their present
/// fields (up to a few), resources their type and id.
pub fn summarize(v: &Value, ty: &Ty, schemas: &Schemas) -> String {
    let ty = ty.unopt();
    match (v, ty) {
        (Value::Record(fs), Ty::Record(r)) if (r.0 as usize) < schemas.records.len() => {
            let def = schemas.record(*r);
            if let Some(t) = &def.resource_type {
                let id = fs.first().map(show).unwrap_or_default();
                return format!("{t} {id}");
            }
            let mut parts = Vec::new();
            for (f, val) in def.fields.iter().zip(fs.iter()) {
                let text = match (val, f.ty.unopt()) {
                    (Value::Missing, _) => continue,
                    (Value::List(xs), _) if xs.is_empty() => continue,
                    (Value::Map(m), _) if m.is_empty() => continue,
                    (Value::List(xs), Ty::List(el)) if matches!(**el, Ty::Record(_)) => {
                        format!(
                            "[{} item{}]",
                            xs.len(),
                            if xs.len() == 1 { "" } else { "s" }
                        )
                    }
                    (Value::Record(_), _) => "{…}".to_string(),
                    (other, _) => shorten(&show(other), 40),
                };
                parts.push(format!("{}: {text}", f.name));
            }
            shorten(&format!("{{{}}}", parts.join(", ")), 120)
        }
        _ => shorten(&show(v), 120),
    }
}

/// One node of the trace.
struct TNode<'p> {
    expr: &'p Expr,
    result: Option<Result<Value, EvalError>>,
    /// Nodes evaluated directly (outside quantifier iterations).
    children: Vec<TNode<'p>>,
    /// Quantifier iterations kept: the deciding one (and for `count`, up to
    /// three counted ones).
    iters: Vec<Iteration<'p>>,
}

struct Iteration<'p> {
    pos: usize,
    elem: Value,
    nodes: Vec<TNode<'p>>,
}

impl Iteration<'_> {
    fn body_true(&self) -> bool {
        matches!(
            self.nodes.last().and_then(|n| n.result.as_ref()),
            Some(Ok(Value::Bool(true)))
        )
    }
}

#[derive(Default)]
struct Recorder<'p> {
    stack: Vec<TNode<'p>>,
    root: Option<TNode<'p>>,
}

impl<'p> Tracer<'p> for Recorder<'p> {
    // An explanation shows the elements it went through.
    fn whole_elements(&self) -> bool {
        true
    }

    fn enter(&mut self, e: &'p Expr) {
        self.stack.push(TNode {
            expr: e,
            result: None,
            children: Vec::new(),
            iters: Vec::new(),
        });
    }

    fn element(&mut self, quant: &'p Expr, pos: usize, elem: &Value) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        let count = matches!(
            quant.kind,
            ExprKind::Quant {
                kind: QuantKind::Count,
                ..
            } | ExprKind::QuantType {
                kind: QuantKind::Count,
                ..
            }
        );
        // Only the last iteration can decide any/all/none; drop the others
        // as we go, so that a long scan keeps one iteration's trace.
        if let Some(last) = top.iters.last()
            && !(count && last.body_true() && top.iters.len() <= 3)
        {
            top.iters.pop();
        }
        top.iters.push(Iteration {
            pos,
            elem: elem.clone(),
            nodes: Vec::new(),
        });
    }

    fn exit(&mut self, _e: &'p Expr, result: &Result<Value, EvalError>) {
        let Some(mut node) = self.stack.pop() else {
            return;
        };
        node.result = Some(result.clone());
        match self.stack.last_mut() {
            Some(parent) => match parent.iters.last_mut() {
                Some(it) => it.nodes.push(node),
                None => parent.children.push(node),
            },
            None => self.root = Some(node),
        }
    }
}

struct Builder<'a> {
    program: &'a Program,
    env: &'a Env<'a>,
}

fn result_text(r: &Option<Result<Value, EvalError>>) -> String {
    match r {
        Some(Ok(v)) => show(v),
        Some(Err(e)) => format!("error: {}", e.reason),
        None => "not evaluated".into(),
    }
}

fn value_of<'x>(n: &'x TNode<'_>) -> Option<&'x Value> {
    match &n.result {
        Some(Ok(v)) => Some(v),
        _ => None,
    }
}

impl Builder<'_> {
    fn text(&self, e: &Expr) -> String {
        let s = self.program.snippet(e.file, e.span);
        shorten(&s.split_whitespace().collect::<Vec<_>>().join(" "), 100)
    }

    fn flatten(&self, nodes: &[TNode<'_>]) -> Vec<Explanation> {
        nodes.iter().flat_map(|n| self.convert(n)).collect()
    }

    /// The explanations a trace node contributes: itself when it is shown
    /// (a boolean or a quantifier), else those of its children.
    fn convert(&self, n: &TNode<'_>) -> Vec<Explanation> {
        let e = n.expr;
        match &e.kind {
            ExprKind::Const(_) => Vec::new(),
            ExprKind::Let(..) => self.flatten(&n.children),
            ExprKind::Quant { .. } | ExprKind::QuantType { .. } => vec![self.node(n)],
            _ if e.ty == Ty::Bool => vec![self.node(n)],
            _ => self.flatten(&n.children),
        }
    }

    fn node(&self, n: &TNode<'_>) -> Explanation {
        let e = n.expr;
        // `x not in xs` is lowered to `not (x in xs)` with one span: show
        // one line.
        if let ExprKind::Not(_) = e.kind
            && let [c] = n.children.as_slice()
            && (c.expr.file, c.expr.span) == (e.file, e.span)
        {
            let mut inner = self.node(c);
            inner.value = result_text(&n.result);
            let operands: Vec<Option<&Value>> = c.children.iter().map(value_of).collect();
            inner.detail = match (&c.expr.kind, operands.as_slice()) {
                (ExprKind::In(..), [Some(a), Some(b)]) => {
                    Some(format!("{} not in {}", show(a), show(b)))
                }
                _ => inner.detail.map(|d| format!("not {d}")),
            };
            return inner;
        }
        let mut x = Explanation {
            expr: self.text(e),
            value: result_text(&n.result),
            detail: None,
            note: None,
            witness: None,
            children: Vec::new(),
        };
        let vals: Vec<Option<&Value>> = n.children.iter().map(value_of).collect();
        match &e.kind {
            ExprKind::Cmp(op, ..) => {
                if let [Some(a), Some(b)] = vals[..] {
                    x.detail = Some(format!("{} {} {}", show(a), cmp_text(*op), show(b)));
                }
            }
            ExprKind::Arith(op, ..) => {
                if let [Some(a), Some(b)] = vals[..] {
                    x.detail = Some(format!("{} {} {}", show(a), arith_text(*op), show(b)));
                }
            }
            ExprKind::In(..) => {
                if let [Some(a), Some(b)] = vals[..] {
                    x.detail = Some(format!("{} in {}", show(a), show(b)));
                }
            }
            ExprKind::Has(_) => {
                if let [Some(a)] = vals[..] {
                    x.detail = Some(format!("has({})", show(a)));
                }
            }
            ExprKind::Call { builtin, args, .. }
                if vals.len() == args.len() && vals.iter().all(Option::is_some) =>
            {
                let shown: Vec<String> = vals.iter().flatten().map(|v| show(v)).collect();
                x.detail = Some(format!("{}({})", builtin.name, shown.join(", ")));
            }
            _ => {}
        }
        if x.detail.as_deref() == Some(x.expr.as_str()) {
            x.detail = None;
        }
        x.children = self.flatten(&n.children);
        match &e.kind {
            ExprKind::Quant { kind, coll, .. } => self.quantifier(n, *kind, Some(coll), &mut x),
            ExprKind::QuantType { kind, .. } => self.quantifier(n, *kind, None, &mut x),
            _ => {}
        }
        x
    }

    fn quantifier(&self, n: &TNode<'_>, kind: QuantKind, coll: Option<&Expr>, x: &mut Explanation) {
        let label = |it: &Iteration<'_>| -> Witness {
            match coll {
                Some(c) => {
                    let el = match &c.ty {
                        Ty::List(t) => (**t).clone(),
                        _ => Ty::Var,
                    };
                    Witness {
                        index: it.pos,
                        label: format!("{}[{}]", self.text(c), it.pos),
                        value: summarize(&it.elem, &el, &self.program.schemas),
                    }
                }
                None => {
                    let r = self.env.inv.resources.get(it.pos);
                    Witness {
                        index: it.pos,
                        label: r.map_or(String::new(), |r| format!("{} {}", r.type_name, r.id)),
                        value: r.map_or(String::new(), |r| format!("{}/{}", r.account, r.region)),
                    }
                }
            }
        };
        let decided = matches!(
            (&n.result, kind),
            (Some(Ok(Value::Bool(true))), QuantKind::Any)
                | (
                    Some(Ok(Value::Bool(false))),
                    QuantKind::All | QuantKind::None
                )
                | (Some(Err(_)), _)
        );
        if kind == QuantKind::Count {
            let counted: Vec<&Iteration<'_>> = n.iters.iter().filter(|it| it.body_true()).collect();
            if !counted.is_empty() {
                let labels: Vec<String> = counted.iter().map(|it| label(it).label).collect();
                let more = match value_of(n) {
                    Some(Value::Int(c)) if *c as usize > counted.len() => ", …",
                    _ => "",
                };
                x.note = Some(format!("counted {}{more}", labels.join(", ")));
            }
            return;
        }
        match n.iters.last() {
            Some(it) if decided => {
                x.witness = Some(label(it));
                x.children.extend(self.flatten(&it.nodes));
            }
            _ => {
                x.note = Some(match (kind, value_of(n)) {
                    (QuantKind::Any, Some(Value::Bool(false))) => "no element matches".into(),
                    (QuantKind::All, Some(Value::Bool(true))) => "every element matches".into(),
                    (QuantKind::None, Some(Value::Bool(true))) => "no element matches".into(),
                    _ => return,
                });
            }
        }
    }

    /// The root: descends through `let`s, keeping the explanations of their
    /// values as leading children.
    fn root(&self, n: &TNode<'_>) -> Explanation {
        let mut pre = Vec::new();
        let mut cur = n;
        while let ExprKind::Let(..) = cur.expr.kind {
            match cur.children.as_slice() {
                [value, body] => {
                    pre.extend(self.convert(value));
                    cur = body;
                }
                _ => break,
            }
        }
        let mut x = if matches!(cur.expr.kind, ExprKind::Let(..)) {
            Explanation {
                expr: self.text(cur.expr),
                value: result_text(&cur.result),
                detail: None,
                note: None,
                witness: None,
                children: self.flatten(&cur.children),
            }
        } else {
            self.node(cur)
        };
        pre.append(&mut x.children);
        x.children = pre;
        x
    }
}

/// Explains the value of `expr` evaluated in `frame`.
pub fn explain_expr(program: &Program, env: &Env, expr: &Expr, mut frame: Frame) -> Explanation {
    let mut rec = Recorder::default();
    let _ = eval_traced(expr, &mut frame, env, &mut rec);
    let b = Builder { program, env };
    match rec.root {
        Some(root) => b.root(&root),
        None => Explanation {
            expr: b.text(expr),
            value: "not evaluated".into(),
            detail: None,
            note: None,
            witness: None,
            children: Vec::new(),
        },
    }
}

/// Explains a condition (`slots` frame slots) on a resource of the inventory.
pub fn explain_cond(
    program: &Program,
    env: &Env,
    cond: &Expr,
    slots: u32,
    resource: usize,
) -> Explanation {
    let value = env.value(resource);
    explain_expr(program, env, cond, Frame::new(slots, value))
}

/// Explains a rule's violation condition on a resource of the inventory.
pub fn explain_rule(program: &Program, env: &Env, rule: usize, resource: usize) -> Explanation {
    let r = &program.rules[rule];
    explain_cond(program, env, &r.cond, r.slots, resource)
}

/// Renders an explanation as indented lines (two spaces per level, starting
/// at `indent`):
///
/// ```text
/// any r in p.ip_ranges: r.cidr_ip == 0.0.0.0/0 → true
///   witness: p.ip_ranges[0] = {cidr_ip: 0.0.0.0/0}
///   r.cidr_ip == 0.0.0.0/0 → 0.0.0.0/0 == 0.0.0.0/0 → true
/// ```
pub fn render_text(e: &Explanation, indent: usize) -> String {
    let mut out = String::new();
    render_into(e, indent, &mut out);
    out
}

fn render_into(e: &Explanation, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let _ = write!(out, "{pad}{}", e.expr);
    if let Some(d) = &e.detail {
        let _ = write!(out, " → {d}");
    }
    match &e.note {
        Some(note) => {
            let _ = writeln!(out, " → {} ({note})", e.value);
        }
        None => {
            let _ = writeln!(out, " → {}", e.value);
        }
    }
    if let Some(w) = &e.witness {
        if w.value.is_empty() {
            let _ = writeln!(out, "{pad}  witness: {}", w.label);
        } else {
            let _ = writeln!(out, "{pad}  witness: {} = {}", w.label, w.value);
        }
    }
    for c in &e.children {
        render_into(c, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

    fn compile(src: &str) -> std::sync::Arc<Program> {
        let c = pac_compiler::compile_sources(vec![("p.pac".into(), src.into())]);
        let errors: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.severity == pac_compiler::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        c.program
    }

    const SSH: &str = r#"
policy ssh_open {
  title "SSH open"
  severity critical
  category security
  rule on aws.ec2.security_group {
    violation when any p in ip_permissions:
      (p.ip_protocol ?? "") == "tcp" and any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0
  }
}
"#;

    fn sg(program: &Program, perms: &str) -> Inventory {
        let doc = format!(
            r#"{{"type":"aws.ec2.security_group","id":"sg-1","account":"1","region":"r","attributes":{{"group_id":"sg-1","group_name":"w","owner_id":"1","ip_permissions":{perms}}}}}"#
        );
        let (inv, errors) = Inventory::read_str(&program.schemas, "t", &doc);
        assert!(errors.is_empty(), "{errors:?}");
        inv
    }

    #[test]
    fn explains_a_failure_with_witnesses_and_operands() {
        let program = compile(SSH);
        let inv = sg(
            &program,
            r#"[{"ip_protocol":"udp","ip_ranges":[{"cidr_ip":"0.0.0.0/0"}]},
                {"ip_protocol":"tcp","from_port":22,"to_port":22,"ip_ranges":[{"cidr_ip":"10.0.0.0/8"},{"cidr_ip":"0.0.0.0/0"}]}]"#,
        );
        let env = Env::for_program(&program, &inv, 0);
        let x = explain_rule(&program, &env, 0, 0);
        let text = render_text(&x, 0);
        let expected = "\
any p in ip_permissions: (p.ip_protocol ?? \"\") == \"tcp\" and any r in p.ip_ranges: has(r.cidr_ip) an… → true
  witness: ip_permissions[1] = {ip_protocol: \"tcp\", from_port: 22, to_port: 22, ip_ranges: [2 items]}
  (p.ip_protocol ?? \"\") == \"tcp\" and any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0 → true
    (p.ip_protocol ?? \"\") == \"tcp\" → \"tcp\" == \"tcp\" → true
    any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0 → true
      witness: p.ip_ranges[1] = {cidr_ip: 0.0.0.0/0}
      has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0 → true
        has(r.cidr_ip) → has(0.0.0.0/0) → true
        r.cidr_ip == 0.0.0.0/0 → 0.0.0.0/0 == 0.0.0.0/0 → true
";
        assert_eq!(text, expected);
        let json = serde_json::to_value(&x).unwrap();
        assert_eq!(json["value"], "true");
        assert_eq!(json["witness"]["index"], 1);
    }

    #[test]
    fn explains_a_pass() {
        let program = compile(SSH);
        let inv = sg(&program, r#"[{"ip_protocol":"udp","ip_ranges":[]}]"#);
        let env = Env::for_program(&program, &inv, 0);
        let x = explain_rule(&program, &env, 0, 0);
        assert_eq!(x.value, "false");
        assert_eq!(x.note.as_deref(), Some("no element matches"));
        assert!(render_text(&x, 0).ends_with("→ false (no element matches)\n"));
        assert!(x.witness.is_none());
    }

    #[test]
    fn explains_calls_lets_and_cross_resource_witnesses() {
        let program = compile(
            r#"
policy vulnerable {
  title "t"
  severity high
  category security
  rule on aws.ec2.instance {
    let critical = exists v in vuln.finding where v.resource_id == id and v.cvss >= 9.0
    violation when critical and starts_with(instance_type ?? "", "m1.")
  }
}
"#,
        );
        let docs = r#"{"type":"aws.ec2.instance","id":"i-1","account":"1","region":"r","attributes":{"instance_id":"i-1","image_id":"ami-1","instance_type":"m1.small","launch_time":"2026-01-01T00:00:00Z","state":{"code":16,"name":"running"},"placement":{"availability_zone":"a","tenancy":"default"},"monitoring":{"state":"disabled"}}}
{"type":"vuln.finding","id":"f-1","account":"1","region":"r","attributes":{"resource_id":"i-1","cve":"CVE-1","title":"t","cvss":5.0,"severity":"medium","first_seen":"2026-01-01T00:00:00Z","scanner":"s"}}
{"type":"vuln.finding","id":"f-2","account":"1","region":"r","attributes":{"resource_id":"i-1","cve":"CVE-2","title":"t","cvss":9.8,"severity":"critical","first_seen":"2026-01-01T00:00:00Z","scanner":"s"}}"#;
        let (inv, errors) = Inventory::read_str(&program.schemas, "t", docs);
        assert!(errors.is_empty(), "{errors:?}");
        let env = Env::for_program(&program, &inv, 0);
        let x = explain_rule(&program, &env, 0, 0);
        let text = render_text(&x, 0);
        assert!(
            text.starts_with("critical and starts_with(instance_type ?? \"\", \"m1.\") → true\n"),
            "{text}"
        );
        assert!(text.contains("witness: vuln.finding f-2 = 1/r"), "{text}");
        assert!(text.contains("v.cvss >= 9.0 → 9.8 >= 9.0 → true"), "{text}");
        assert!(
            text.contains(
                "starts_with(instance_type ?? \"\", \"m1.\") → starts_with(\"m1.small\", \"m1.\") → true"
            ),
            "{text}"
        );
    }
}
