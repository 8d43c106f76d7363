//! The reference interpreter: evaluates the compiler's typed IR over
//! runtime [`Value`]s.
//!
//! The IR is well typed, so an absent optional never reaches an operator
//! that needs a value; if one does anyway (a checker bug), or a value has an
//! unexpected shape, the result is an [`EvalError`] starting with
//! `internal:`, never a panic. Genuine evaluation errors (integer overflow,
//! division by zero, a built-in rejecting its argument) are `EvalError`s too.
//!
//! Cross-resource quantifiers with a planned [`Probe`](pac_compiler::ir::Probe)
//! look their candidates up in a per-(type, field) index built lazily, once
//! per [`Env`] (that is, once per evaluation), instead of scanning.
//!
//! [`eval_traced`] runs the same code with a [`Tracer`] observing every node:
//! explanations are built that way, so they always agree with evaluation.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use pac_compiler::ir::{ArithOp, CmpOp, Expr, ExprKind, NodeId, Program, QuantKind, SourceFile};
use pac_compiler::types::RecordId;
use pac_lang::Span;
use pac_stdlib::{Ctx, Value};
use serde::Serialize;

use crate::engine::RuleEngine;
use crate::inventory::{FieldIndex, Inventory, Key};

/// Why an expression could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvalError {
    /// What went wrong, e.g. ``integer overflow in `a * b` (9223372036854775807 * 2)``.
    pub reason: String,
    /// Where: the file index and span of the node that failed.
    pub file: u32,
    pub span: Span,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for EvalError {}

/// The evaluation frame: slot 0 is the resource, the others hold `let`
/// values and quantifier variables.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    slots: Vec<Value>,
}

impl Frame {
    pub fn new(size: u32, resource: Value) -> Frame {
        let mut f = Frame { slots: Vec::new() };
        f.reset(size, resource);
        f
    }

    /// Reuses the frame for another resource.
    pub fn reset(&mut self, size: u32, resource: Value) {
        self.slots.clear();
        self.slots.resize(size.max(1) as usize, Value::Missing);
        self.slots[0] = resource;
    }

    pub fn get(&self, slot: u32) -> Option<&Value> {
        self.slots.get(slot as usize)
    }

    /// Sets a slot, growing the frame when needed.
    pub fn set(&mut self, slot: u32, v: Value) {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Value::Missing);
        }
        self.slots[i] = v;
    }
}

/// Which outcomes (`true`, `false`) each boolean node has produced. Shared
/// by reference between threads (the bits are atomic), so evaluations in
/// parallel record into one `Coverage` without merging.
#[derive(Debug, Default)]
pub struct Coverage {
    bits: Vec<AtomicU8>,
}

const SEEN_TRUE: u8 = 1;
const SEEN_FALSE: u8 = 2;

impl Coverage {
    /// Room for node ids `0..nodes`; other ids are ignored.
    pub fn new(nodes: usize) -> Coverage {
        Coverage {
            bits: (0..nodes).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    /// Room for every node of the program.
    pub fn for_program(program: &Program) -> Coverage {
        let mut max = 0;
        for_each_root(program, &mut |e| {
            e.walk(&mut |n| max = max.max(n.id as usize + 1))
        });
        Coverage::new(max)
    }

    pub fn record(&self, id: NodeId, outcome: bool) {
        if let Some(b) = self.bits.get(id as usize) {
            let bit = if outcome { SEEN_TRUE } else { SEEN_FALSE };
            if b.load(Ordering::Relaxed) & bit == 0 {
                b.fetch_or(bit, Ordering::Relaxed);
            }
        }
    }

    /// `(true seen, false seen)` for a node.
    pub fn seen(&self, id: NodeId) -> (bool, bool) {
        let b = self
            .bits
            .get(id as usize)
            .map_or(0, |b| b.load(Ordering::Relaxed));
        (b & SEEN_TRUE != 0, b & SEEN_FALSE != 0)
    }

    /// Adds what `other` has seen.
    pub fn merge(&self, other: &Coverage) {
        for (id, b) in other.bits.iter().enumerate() {
            let v = b.load(Ordering::Relaxed);
            if let Some(mine) = self.bits.get(id) {
                mine.fetch_or(v, Ordering::Relaxed);
            }
        }
    }
}

/// Calls `f` on the root of every expression tree of a program: rule
/// conditions and messages, auto-fix notifications, group and sticky
/// exception conditions.
pub fn for_each_root<'p>(program: &'p Program, f: &mut impl FnMut(&'p Expr)) {
    for r in &program.rules {
        f(&r.cond);
        for (_, e) in &r.message_lets {
            f(e);
        }
        for p in &r.message {
            if let pac_compiler::ir::MessagePart::Expr(e) = p {
                f(e);
            }
        }
        if let Some(fix) = &r.autofix {
            for e in fix.notify.iter().chain(fix.exprs.iter().map(|(_, e)| e)) {
                f(e);
            }
        }
    }
    for g in &program.groups {
        for m in &g.members {
            if let Some(c) = &m.cond {
                f(c);
            }
        }
    }
    for x in &program.exceptions {
        for (_, c) in &x.conds {
            f(c);
        }
    }
}

/// What an evaluation reads besides the frame: the inventory (for
/// cross-resource quantifiers), the clock, the source files (for error
/// messages), the coverage to record into, and the lazily built indexes.
pub struct Env<'a> {
    pub inv: &'a Inventory,
    pub ctx: Ctx,
    pub coverage: Option<&'a Coverage>,
    sources: &'a [SourceFile],
    /// The resources of each type (by `RecordId`), built on first use: an
    /// environment that only renders messages never needs it.
    by_type: OnceLock<Vec<Vec<usize>>>,
    indexes: RwLock<HashMap<(RecordId, u32), Arc<FieldIndex>>>,
    /// Where the records the inventory no longer holds are (see
    /// [`Env::value`]).
    pub(crate) values: Option<&'a dyn RuleEngine>,
}

impl<'a> Env<'a> {
    pub fn new(inv: &'a Inventory, now: i64) -> Env<'a> {
        Env {
            inv,
            ctx: Ctx { now },
            coverage: None,
            sources: &[],
            by_type: OnceLock::new(),
            indexes: RwLock::new(HashMap::new()),
            values: None,
        }
    }

    /// Records the inventory no longer holds are read from `engine` (see
    /// [`RuleEngine::resource_value`]).
    pub fn with_values(mut self, engine: Option<&'a dyn RuleEngine>) -> Env<'a> {
        self.values = engine;
        self
    }

    /// The record of resource `i`: the inventory's, or when the inventory
    /// holds only the resource's identity (its value `Missing`, the
    /// engine's layout holding the rest), the engine's.
    pub fn value(&self, i: usize) -> Value {
        self.value_with(i, None)
    }

    /// Field `field` of resource `i`'s record, as [`Env::value`] gives
    /// the record (`Missing` past its fields); an engine reads back only
    /// that cell.
    pub fn field_of(&self, i: usize, field: u32) -> Value {
        self.field_held(i, field).unwrap_or(Value::Missing)
    }

    /// [`Env::field_of`], `None` when resource `i`'s record is not held
    /// (neither by the inventory nor by an engine).
    fn field_held(&self, i: usize, field: u32) -> Option<Value> {
        let r = self.inv.resources.get(i)?;
        match (&r.value, self.values) {
            (Value::Missing, Some(e)) => e.resource_field(i, r.rtype, field as usize),
            (Value::Record(fs), _) => {
                Some(fs.get(field as usize).cloned().unwrap_or(Value::Missing))
            }
            _ => None,
        }
    }

    /// [`Env::field_of`] as a message shows it, written at the end of
    /// `out` (by the engine straight from its cells where it can).
    pub fn write_field_of(&self, i: usize, field: u32, out: &mut String) {
        if let (Some(r), Some(e)) = (self.inv.resources.get(i), self.values)
            && matches!(r.value, Value::Missing)
            && e.write_field(i, r.rtype, field as usize, out)
        {
            return;
        }
        let _ = write!(out, "{}", self.field_of(i, field));
    }

    /// [`Env::value`] when only the fields `fields` flags will be read: an
    /// engine reads back only those (the others are `Missing`).
    pub fn value_with(&self, i: usize, fields: Option<&[bool]>) -> Value {
        let Some(r) = self.inv.resources.get(i) else {
            return Value::Missing;
        };
        match (&r.value, self.values) {
            (Value::Missing, Some(e)) => e
                .resource_value(i, r.rtype, fields)
                .unwrap_or(Value::Missing),
            (v, _) => v.clone(),
        }
    }

    /// An environment whose error messages quote the program's source.
    pub fn for_program(program: &'a Program, inv: &'a Inventory, now: i64) -> Env<'a> {
        let mut env = Env::new(inv, now);
        env.sources = &program.files;
        env
    }

    pub fn with_coverage(mut self, coverage: Option<&'a Coverage>) -> Env<'a> {
        self.coverage = coverage;
        self
    }

    /// The inventory indices of the resources of a type, in order.
    pub fn of_type(&self, rtype: RecordId) -> &[usize] {
        let all = self.by_type.get_or_init(|| self.inv.by_type());
        all.get(rtype.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// The index of the resources of `rtype` by `field`, built on first use.
    pub fn index(&self, rtype: RecordId, field: u32) -> Arc<FieldIndex> {
        let read = match self.indexes.read() {
            Ok(r) => r.get(&(rtype, field)).cloned(),
            Err(p) => p.into_inner().get(&(rtype, field)).cloned(),
        };
        if let Some(i) = read {
            return i;
        }
        let mut w = match self.indexes.write() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        w.entry((rtype, field))
            .or_insert_with(|| {
                // Only the field is read back, not each whole record.
                Arc::new(FieldIndex::build(self.of_type(rtype), |i| {
                    self.field_held(i, field)
                }))
            })
            .clone()
    }

    /// The source text of a node, whitespace collapsed ("" when unknown).
    pub fn snippet(&self, e: &Expr) -> String {
        let text = self
            .sources
            .get(e.file as usize)
            .and_then(|f| f.text.get(e.span.start..e.span.end))
            .unwrap_or("");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn error(&self, e: &Expr, reason: String) -> EvalError {
        EvalError {
            reason,
            file: e.file,
            span: e.span,
        }
    }

    /// `` in `snippet` `` or "" when the source is unknown.
    fn where_(&self, e: &Expr) -> String {
        let s = self.snippet(e);
        if s.is_empty() {
            String::new()
        } else {
            format!(" in `{s}`")
        }
    }

    fn missing(&self, e: &Expr) -> EvalError {
        self.error(e, format!("internal: missing value{}", self.where_(e)))
    }

    fn internal(&self, e: &Expr, what: &str) -> EvalError {
        self.error(e, format!("internal: {what}{}", self.where_(e)))
    }
}

/// Observes an evaluation: every node is entered and exited (with its
/// result); quantifiers report each element before evaluating their body.
pub trait Tracer<'p> {
    fn enter(&mut self, _e: &'p Expr) {}
    /// Before the body of quantifier `quant` runs on element `pos` (the
    /// list index, or the inventory index for a resource type).
    fn element(&mut self, _quant: &'p Expr, _pos: usize, _elem: &Value) {}
    fn exit(&mut self, _e: &'p Expr, _result: &Result<Value, EvalError>) {}
    /// Whether the elements handed to [`Tracer::element`] must be whole
    /// records (an explanation shows them); otherwise a quantifier over a
    /// resource type may read back only the fields its body reads.
    fn whole_elements(&self) -> bool {
        false
    }
}

/// The tracer that observes nothing.
pub struct NoTrace;

impl Tracer<'_> for NoTrace {}

/// Evaluates an expression.
pub fn eval(expr: &Expr, frame: &mut Frame, env: &Env) -> Result<Value, EvalError> {
    eval_traced(expr, frame, env, &mut NoTrace)
}

/// Evaluates an expression, reporting every step to `t`.
pub fn eval_traced<'p, T: Tracer<'p>>(
    e: &'p Expr,
    frame: &mut Frame,
    env: &Env,
    t: &mut T,
) -> Result<Value, EvalError> {
    t.enter(e);
    let r = eval_kind(e, frame, env, t);
    if let (Some(cov), Ok(Value::Bool(b))) = (env.coverage, &r) {
        cov.record(e.id, *b);
    }
    t.exit(e, &r);
    r
}

fn want_bool(env: &Env, e: &Expr, v: Value) -> Result<bool, EvalError> {
    match v {
        Value::Bool(b) => Ok(b),
        Value::Missing => Err(env.missing(e)),
        _ => Err(env.internal(e, "expected a bool")),
    }
}

pub(crate) fn cmp_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

pub(crate) fn arith_text(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => "*",
        ArithOp::Div => "/",
        ArithOp::Rem => "%",
    }
}

/// Pac's comparison; `None` when the operands cannot be compared this way.
pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Option<bool> {
    use Value::*;
    match op {
        CmpOp::Eq => return Some(a == b),
        CmpOp::Ne => return Some(a != b),
        _ => {}
    }
    let ord = match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Int(_) | Float(_), Int(_) | Float(_)) => a.as_float()?.partial_cmp(&b.as_float()?),
        (Str(x), Str(y)) => Some(x.cmp(y)),
        (Time(x), Time(y)) | (Dur(x), Dur(y)) => Some(x.cmp(y)),
        _ => return None,
    };
    // NaN is unordered: every ordered comparison with it is false.
    Some(ord.is_some_and(|o| match op {
        CmpOp::Lt => o.is_lt(),
        CmpOp::Le => o.is_le(),
        CmpOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }))
}

enum ArithError {
    Overflow,
    DivZero,
    Undefined,
}

fn int_op(op: ArithOp, x: i64, y: i64) -> Result<i64, ArithError> {
    let r = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => {
            if y == 0 {
                return Err(ArithError::DivZero);
            }
            x.checked_div(y)
        }
        ArithOp::Rem => {
            if y == 0 {
                return Err(ArithError::DivZero);
            }
            // i64::MIN % -1 is 0 mathematically.
            Some(x.checked_rem(y).unwrap_or(0))
        }
    };
    r.ok_or(ArithError::Overflow)
}

/// Pac's arithmetic.
fn arith(op: ArithOp, a: &Value, b: &Value) -> Result<Value, ArithError> {
    use ArithOp::*;
    use Value::*;
    Ok(match (op, a, b) {
        (_, Int(x), Int(y)) => Int(int_op(op, *x, *y)?),
        (_, Int(_) | Float(_), Int(_) | Float(_)) => {
            let (x, y) = (
                a.as_float().ok_or(ArithError::Undefined)?,
                b.as_float().ok_or(ArithError::Undefined)?,
            );
            Float(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                Div => x / y,
                Rem => x % y,
            })
        }
        (Add, Str(x), Str(y)) => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Value::str(&s)
        }
        (Sub, Time(x), Time(y)) => Dur(int_op(Sub, *x, *y)?),
        (Add | Sub, Time(x), Dur(y)) => Time(int_op(op, *x, *y)?),
        (Add, Dur(x), Time(y)) => Time(int_op(Add, *x, *y)?),
        (Add | Sub, Dur(x), Dur(y)) => Dur(int_op(op, *x, *y)?),
        (Mul | Div, Dur(x), Int(y)) => Dur(int_op(op, *x, *y)?),
        (Mul, Int(x), Dur(y)) => Dur(int_op(Mul, *x, *y)?),
        _ => return Err(ArithError::Undefined),
    })
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Missing => "a missing value",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Time(_) => "timestamp",
        Value::Dur(_) => "duration",
        Value::Ip(_) => "ip",
        Value::Cidr(_) => "cidr",
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Record(_) => "record",
        Value::Regex(_) => "regex",
        Value::Glob(_) => "glob",
    }
}

fn eval_kind<'p, T: Tracer<'p>>(
    e: &'p Expr,
    frame: &mut Frame,
    env: &Env,
    t: &mut T,
) -> Result<Value, EvalError> {
    use ExprKind as K;
    match &e.kind {
        K::Const(v) => Ok(v.clone()),
        K::Local(s) => frame
            .get(*s)
            .cloned()
            .ok_or_else(|| env.internal(e, &format!("slot {s} is outside the frame"))),
        K::Field(base, i) => match eval_traced(base, frame, env, t)? {
            Value::Record(fs) => fs
                .get(*i as usize)
                .cloned()
                .ok_or_else(|| env.internal(e, &format!("the record has no field {i}"))),
            Value::Missing => Err(env.missing(base)),
            _ => Err(env.internal(e, "a field of a value that is not a record")),
        },
        K::OptField(base, i) => match eval_traced(base, frame, env, t)? {
            Value::Record(fs) => fs
                .get(*i as usize)
                .cloned()
                .ok_or_else(|| env.internal(e, &format!("the record has no field {i}"))),
            Value::Missing => Ok(Value::Missing),
            _ => Err(env.internal(e, "a field of a value that is not a record")),
        },
        K::Index(a, i) => {
            let c = eval_traced(a, frame, env, t)?;
            let k = eval_traced(i, frame, env, t)?;
            match (&c, &k) {
                (Value::List(xs), Value::Int(n)) => Ok(usize::try_from(*n)
                    .ok()
                    .and_then(|n| xs.get(n).cloned())
                    .unwrap_or(Value::Missing)),
                (Value::Map(m), Value::Str(s)) => Ok(m.get(s).cloned().unwrap_or(Value::Missing)),
                (Value::Missing, _) => Err(env.missing(a)),
                (_, Value::Missing) => Err(env.missing(i)),
                _ => {
                    Err(env.internal(e, "indexing needs a list and an int, or a map and a string"))
                }
            }
        }
        K::Not(a) => {
            let v = eval_traced(a, frame, env, t)?;
            Ok(Value::Bool(!want_bool(env, a, v)?))
        }
        K::Neg(a) => match eval_traced(a, frame, env, t)? {
            Value::Int(i) => i
                .checked_neg()
                .map(Value::Int)
                .ok_or_else(|| env.error(e, format!("integer overflow{} (-({i}))", env.where_(e)))),
            Value::Float(f) => Ok(Value::Float(-f)),
            Value::Dur(d) => d
                .checked_neg()
                .map(Value::Dur)
                .ok_or_else(|| env.error(e, format!("duration overflow{}", env.where_(e)))),
            Value::Missing => Err(env.missing(a)),
            _ => Err(env.internal(e, "negation of a value that is not a number")),
        },
        K::And(a, b) => {
            let x = eval_traced(a, frame, env, t)?;
            if !want_bool(env, a, x)? {
                return Ok(Value::Bool(false));
            }
            let y = eval_traced(b, frame, env, t)?;
            Ok(Value::Bool(want_bool(env, b, y)?))
        }
        K::Or(a, b) => {
            let x = eval_traced(a, frame, env, t)?;
            if want_bool(env, a, x)? {
                return Ok(Value::Bool(true));
            }
            let y = eval_traced(b, frame, env, t)?;
            Ok(Value::Bool(want_bool(env, b, y)?))
        }
        K::Cmp(op, a, b) => {
            let x = eval_traced(a, frame, env, t)?;
            let y = eval_traced(b, frame, env, t)?;
            if x.is_missing() {
                return Err(env.missing(a));
            }
            if y.is_missing() {
                return Err(env.missing(b));
            }
            match compare(*op, &x, &y) {
                Some(r) => Ok(Value::Bool(r)),
                None => Err(env.internal(
                    e,
                    &format!(
                        "cannot compare {} with {} using `{}`",
                        kind_name(&x),
                        kind_name(&y),
                        cmp_text(*op)
                    ),
                )),
            }
        }
        K::Arith(op, a, b) => {
            let x = eval_traced(a, frame, env, t)?;
            let y = eval_traced(b, frame, env, t)?;
            if x.is_missing() {
                return Err(env.missing(a));
            }
            if y.is_missing() {
                return Err(env.missing(b));
            }
            arith(*op, &x, &y).map_err(|err| match err {
                ArithError::Overflow => env.error(
                    e,
                    format!(
                        "{} overflow{} ({x} {} {y})",
                        if matches!(x, Value::Int(_)) {
                            "integer"
                        } else {
                            "time"
                        },
                        env.where_(e),
                        arith_text(*op)
                    ),
                ),
                ArithError::DivZero => env.error(
                    e,
                    format!(
                        "division by zero{} ({x} {} {y})",
                        env.where_(e),
                        arith_text(*op)
                    ),
                ),
                ArithError::Undefined => env.internal(
                    e,
                    &format!(
                        "`{}` is not defined for {} and {}",
                        arith_text(*op),
                        kind_name(&x),
                        kind_name(&y)
                    ),
                ),
            })
        }
        K::In(x, c) => {
            let v = eval_traced(x, frame, env, t)?;
            let coll = eval_traced(c, frame, env, t)?;
            if v.is_missing() {
                return Err(env.missing(x));
            }
            match (&coll, &v) {
                (Value::List(xs), _) => Ok(Value::Bool(xs.contains(&v))),
                (Value::Map(m), Value::Str(k)) => Ok(Value::Bool(m.contains_key(k))),
                (Value::Missing, _) => Err(env.missing(c)),
                _ => Err(env.internal(e, "`in` needs a list, or a string and a map")),
            }
        }
        K::Coalesce(a, b) => match eval_traced(a, frame, env, t)? {
            Value::Missing => eval_traced(b, frame, env, t),
            v => Ok(v),
        },
        K::Has(a) => Ok(Value::Bool(!eval_traced(a, frame, env, t)?.is_missing())),
        K::If(c, a, b) => {
            let v = eval_traced(c, frame, env, t)?;
            if want_bool(env, c, v)? {
                eval_traced(a, frame, env, t)
            } else {
                eval_traced(b, frame, env, t)
            }
        }
        K::Let(slot, v, body) => {
            let x = eval_traced(v, frame, env, t)?;
            frame.set(*slot, x);
            eval_traced(body, frame, env, t)
        }
        K::Quant {
            kind,
            slot,
            coll,
            body,
        } => match eval_traced(coll, frame, env, t)? {
            Value::List(xs) => quantify(
                e,
                *kind,
                *slot,
                body,
                xs.iter().cloned().enumerate(),
                frame,
                env,
                t,
            ),
            Value::Missing => Err(env.missing(coll)),
            _ => Err(env.internal(e, "a quantifier over a value that is not a list")),
        },
        K::QuantType {
            kind,
            slot,
            rtype,
            probe,
            body,
        } => {
            // Each resource is read as the body reaches it, and (from an
            // engine's cells) only the fields the body reads of it.
            let fields = match t.whole_elements() {
                true => None,
                false => element_reads(body, *slot),
            };
            let read = |i: &usize| (*i, env.value_with(*i, fields.as_deref()));
            // The probe key; when it cannot be a hash key (a float, an
            // error), scan: the body still checks the equality.
            // `all` cannot use the probe: the resources it skips make the
            // body false (their key differs), which decides an `all`.
            let probe = probe.as_ref().filter(|_| *kind != QuantKind::All);
            let key = match probe {
                Some(p) => eval_traced(&p.key, frame, env, t)
                    .ok()
                    .and_then(|v| Key::of(&v))
                    .map(|k| (p.field, k)),
                None => None,
            };
            match key {
                Some((field, k)) => {
                    let idx = env.index(*rtype, field);
                    let items = idx.candidates(&k);
                    quantify(e, *kind, *slot, body, items.iter().map(read), frame, env, t)
                }
                None => {
                    let items = env.of_type(*rtype).iter().map(read);
                    quantify(e, *kind, *slot, body, items, frame, env, t)
                }
            }
        }
        K::Call { builtin, args, .. } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval_traced(a, frame, env, t)?);
            }
            (builtin.imp)(&vals, &env.ctx).map_err(|m| env.error(e, m))
        }
        K::List(items) => {
            let mut vals = Vec::with_capacity(items.len());
            for a in items {
                vals.push(eval_traced(a, frame, env, t)?);
            }
            Ok(Value::List(Arc::from(vals)))
        }
        K::Now => Ok(Value::Time(env.ctx.now)),
    }
}

/// The fields of the element in `slot` that `body` reads, as flags by
/// field index; `None` when the body uses the element otherwise than by
/// its fields (it needs the whole record).
pub(crate) fn element_reads(body: &Expr, slot: u32) -> Option<Vec<bool>> {
    let (mut uses, mut by_field) = (0usize, 0usize);
    let mut fields = Vec::new();
    body.walk(&mut |x| match &x.kind {
        ExprKind::Local(s) if *s == slot => uses += 1,
        ExprKind::Field(base, k) if matches!(base.kind, ExprKind::Local(s) if s == slot) => {
            by_field += 1;
            let k = *k as usize;
            if fields.len() <= k {
                fields.resize(k + 1, false);
            }
            fields[k] = true;
        }
        _ => {}
    });
    (uses == by_field).then_some(fields)
}

#[allow(clippy::too_many_arguments)]
fn quantify<'p, T: Tracer<'p>>(
    e: &'p Expr,
    kind: QuantKind,
    slot: u32,
    body: &'p Expr,
    items: impl Iterator<Item = (usize, Value)>,
    frame: &mut Frame,
    env: &Env,
    t: &mut T,
) -> Result<Value, EvalError> {
    let mut count: i64 = 0;
    for (pos, v) in items {
        t.element(e, pos, &v);
        frame.set(slot, v);
        let r = eval_traced(body, frame, env, t)?;
        let b = want_bool(env, body, r)?;
        match kind {
            QuantKind::Any if b => return Ok(Value::Bool(true)),
            QuantKind::All if !b => return Ok(Value::Bool(false)),
            QuantKind::None if b => return Ok(Value::Bool(false)),
            QuantKind::Count if b => count += 1,
            _ => {}
        }
    }
    Ok(match kind {
        QuantKind::Any => Value::Bool(false),
        QuantKind::All | QuantKind::None => Value::Bool(true),
        QuantKind::Count => Value::Int(count),
    })
}

/// Hand-built IR for unit tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;
    use pac_compiler::ir::Probe;
    use pac_compiler::types::Ty;
    use std::cell::Cell;

    thread_local! {
        static NEXT: Cell<u32> = const { Cell::new(0) };
    }

    pub fn node(kind: ExprKind, ty: Ty) -> Expr {
        let id = NEXT.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        Expr {
            kind,
            ty,
            id,
            file: 0,
            span: Span::default(),
        }
    }
    pub fn c(v: Value) -> Expr {
        let ty = match &v {
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Float,
            Value::Str(_) => Ty::Str,
            Value::Time(_) => Ty::Time,
            Value::Dur(_) => Ty::Dur,
            _ => Ty::Var,
        };
        node(ExprKind::Const(v), ty)
    }
    pub fn int(i: i64) -> Expr {
        c(Value::Int(i))
    }
    pub fn b(v: bool) -> Expr {
        c(Value::Bool(v))
    }
    pub fn s(v: &str) -> Expr {
        c(Value::str(v))
    }
    pub fn local(slot: u32, ty: Ty) -> Expr {
        node(ExprKind::Local(slot), ty)
    }
    pub fn field(base: Expr, i: u32, ty: Ty) -> Expr {
        node(ExprKind::Field(Box::new(base), i), ty)
    }
    pub fn and(a: Expr, b: Expr) -> Expr {
        node(ExprKind::And(Box::new(a), Box::new(b)), Ty::Bool)
    }
    pub fn or(a: Expr, b: Expr) -> Expr {
        node(ExprKind::Or(Box::new(a), Box::new(b)), Ty::Bool)
    }
    pub fn not(a: Expr) -> Expr {
        node(ExprKind::Not(Box::new(a)), Ty::Bool)
    }
    pub fn cmp(op: CmpOp, a: Expr, b: Expr) -> Expr {
        node(ExprKind::Cmp(op, Box::new(a), Box::new(b)), Ty::Bool)
    }
    pub fn arith_e(op: ArithOp, a: Expr, b: Expr, ty: Ty) -> Expr {
        node(ExprKind::Arith(op, Box::new(a), Box::new(b)), ty)
    }
    pub fn quant(kind: QuantKind, slot: u32, coll: Expr, body: Expr) -> Expr {
        let ty = if kind == QuantKind::Count {
            Ty::Int
        } else {
            Ty::Bool
        };
        node(
            ExprKind::Quant {
                kind,
                slot,
                coll: Box::new(coll),
                body: Box::new(body),
            },
            ty,
        )
    }
    pub fn quant_type(
        kind: QuantKind,
        slot: u32,
        rtype: RecordId,
        probe: Option<(u32, Expr)>,
        body: Expr,
    ) -> Expr {
        let ty = if kind == QuantKind::Count {
            Ty::Int
        } else {
            Ty::Bool
        };
        node(
            ExprKind::QuantType {
                kind,
                slot,
                rtype,
                probe: probe.map(|(field, key)| Probe {
                    field,
                    key: Box::new(key),
                }),
                body: Box::new(body),
            },
            ty,
        )
    }
    pub fn call(name: &str, args: Vec<Expr>, ty: Ty) -> Expr {
        node(
            ExprKind::Call {
                builtin: pac_stdlib::lookup(name).expect("builtin"),
                sig: 0,
                args,
            },
            ty,
        )
    }
    pub fn list(items: Vec<Expr>, el: Ty) -> Expr {
        node(ExprKind::List(items), Ty::List(Box::new(el)))
    }
    pub fn record(fields: Vec<Value>) -> Value {
        Value::Record(Arc::from(fields))
    }
    pub fn vlist(items: Vec<Value>) -> Value {
        Value::List(Arc::from(items))
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use pac_compiler::types::Ty;
    use std::collections::BTreeMap;

    fn run(e: &Expr) -> Result<Value, EvalError> {
        let inv = Inventory::default();
        let env = Env::new(&inv, 1_000);
        let mut frame = Frame::new(4, Value::Missing);
        eval(e, &mut frame, &env)
    }

    fn ok(e: &Expr) -> Value {
        run(e).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_quantifier_reads_back_only_the_fields_its_body_reads() {
        let rec = Ty::Record(RecordId(0));
        let v = || local(2, rec.clone());
        // v.f3 == x and v.f5 > 7: fields 3 and 5 of the element.
        let body = and(
            cmp(CmpOp::Eq, field(v(), 3, Ty::Str), local(0, Ty::Str)),
            cmp(CmpOp::Gt, field(v(), 5, Ty::Int), int(7)),
        );
        assert_eq!(
            element_reads(&body, 2),
            Some(vec![false, false, false, true, false, true])
        );
        // The element used whole (compared as a record): all of it.
        let whole = and(body.clone(), cmp(CmpOp::Eq, v(), local(1, rec.clone())));
        assert_eq!(element_reads(&whole, 2), None);
        // Another slot's fields are not the element's.
        assert_eq!(
            element_reads(&field(local(1, rec), 4, Ty::Int), 2),
            Some(vec![])
        );
    }

    fn err(e: &Expr) -> String {
        match run(e) {
            Err(err) => err.reason,
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn int_arithmetic_is_checked() {
        let big = || int(i64::MAX);
        assert_eq!(
            ok(&arith_e(ArithOp::Add, int(2), int(3), Ty::Int)),
            Value::Int(5)
        );
        assert!(
            err(&arith_e(ArithOp::Mul, big(), int(2), Ty::Int)).starts_with("integer overflow")
        );
        assert!(
            err(&arith_e(ArithOp::Add, big(), int(1), Ty::Int)).starts_with("integer overflow")
        );
        assert!(
            err(&arith_e(ArithOp::Div, int(1), int(0), Ty::Int)).starts_with("division by zero")
        );
        assert!(
            err(&arith_e(ArithOp::Rem, int(1), int(0), Ty::Int)).starts_with("division by zero")
        );
        assert!(
            err(&arith_e(ArithOp::Div, int(i64::MIN), int(-1), Ty::Int))
                .starts_with("integer overflow")
        );
        assert_eq!(
            ok(&arith_e(ArithOp::Rem, int(i64::MIN), int(-1), Ty::Int)),
            Value::Int(0)
        );
        assert_eq!(
            ok(&arith_e(ArithOp::Rem, int(-7), int(2), Ty::Int)),
            Value::Int(-1)
        );
        let neg = node(ExprKind::Neg(Box::new(int(i64::MIN))), Ty::Int);
        assert!(err(&neg).starts_with("integer overflow"));
    }

    #[test]
    fn overflow_errors_quote_the_source() {
        let src = "count * 1000";
        let mut e = arith_e(ArithOp::Mul, int(i64::MAX), int(1000), Ty::Int);
        e.span = Span::new(0, src.len());
        let program = Program {
            files: vec![SourceFile {
                path: "p.pac".into(),
                text: Arc::from(src),
            }],
            ..Program::default()
        };
        let inv = Inventory::default();
        let env = Env::for_program(&program, &inv, 0);
        let r = eval(&e, &mut Frame::new(1, Value::Missing), &env).unwrap_err();
        assert_eq!(
            r.reason,
            "integer overflow in `count * 1000` (9223372036854775807 * 1000)"
        );
    }

    #[test]
    fn floats_times_durations_and_strings() {
        assert_eq!(
            ok(&arith_e(
                ArithOp::Div,
                int(1),
                c(Value::Float(4.0)),
                Ty::Float
            )),
            Value::Float(0.25)
        );
        let inf = ok(&arith_e(
            ArithOp::Div,
            c(Value::Float(1.0)),
            c(Value::Float(0.0)),
            Ty::Float,
        ));
        assert_eq!(inf, Value::Float(f64::INFINITY));
        assert_eq!(
            ok(&arith_e(
                ArithOp::Sub,
                c(Value::Time(100)),
                c(Value::Time(40)),
                Ty::Dur
            )),
            Value::Dur(60)
        );
        assert_eq!(
            ok(&arith_e(
                ArithOp::Add,
                c(Value::Time(100)),
                c(Value::Dur(5)),
                Ty::Time
            )),
            Value::Time(105)
        );
        assert_eq!(
            ok(&arith_e(ArithOp::Mul, c(Value::Dur(60)), int(3), Ty::Dur)),
            Value::Dur(180)
        );
        assert_eq!(
            ok(&arith_e(ArithOp::Add, s("a"), s("b"), Ty::Str)),
            Value::str("ab")
        );
        let now = node(ExprKind::Now, Ty::Time);
        assert_eq!(ok(&now), Value::Time(1_000));
    }

    #[test]
    fn comparisons() {
        let t = |e: Expr| ok(&e) == Value::Bool(true);
        assert!(t(cmp(CmpOp::Lt, int(1), c(Value::Float(1.5)))));
        assert!(t(cmp(CmpOp::Eq, int(7), c(Value::Float(7.0)))));
        assert!(t(cmp(CmpOp::Lt, s("abc"), s("abd"))));
        assert!(t(cmp(CmpOp::Ge, c(Value::Time(5)), c(Value::Time(5)))));
        assert!(t(cmp(CmpOp::Ne, b(true), b(false))));
        assert!(!t(cmp(CmpOp::Lt, c(Value::Float(f64::NAN)), int(1))));
        assert!(!t(cmp(CmpOp::Ge, c(Value::Float(f64::NAN)), int(1))));
        let cidr = |x: &str| c(Value::Cidr(x.parse().unwrap()));
        assert!(t(cmp(CmpOp::Eq, cidr("0.0.0.0/0"), cidr("0.0.0.0/0"))));
        assert!(!t(cmp(CmpOp::Eq, cidr("10.0.0.0/8"), cidr("0.0.0.0/0"))));
        assert!(
            err(&cmp(CmpOp::Lt, b(true), b(false))).starts_with("internal: cannot compare bool")
        );
    }

    #[test]
    fn and_or_short_circuit() {
        let boom = || arith_e(ArithOp::Div, int(1), int(0), Ty::Int);
        let bad = || cmp(CmpOp::Eq, boom(), int(1));
        assert_eq!(ok(&and(b(false), bad())), Value::Bool(false));
        assert_eq!(ok(&or(b(true), bad())), Value::Bool(true));
        assert!(err(&and(b(true), bad())).starts_with("division by zero"));
        assert!(err(&or(b(false), bad())).starts_with("division by zero"));
        let iff = node(
            ExprKind::If(Box::new(b(true)), Box::new(int(1)), Box::new(boom())),
            Ty::Int,
        );
        assert_eq!(ok(&iff), Value::Int(1));
        let co = node(
            ExprKind::Coalesce(Box::new(int(3)), Box::new(boom())),
            Ty::Int,
        );
        assert_eq!(ok(&co), Value::Int(3));
    }

    #[test]
    fn missing_values_are_errors_not_panics() {
        let m = || c(Value::Missing);
        assert!(err(&not(m())).starts_with("internal: missing value"));
        assert!(err(&cmp(CmpOp::Eq, m(), int(1))).starts_with("internal: missing value"));
        assert!(err(&arith_e(ArithOp::Add, int(1), m(), Ty::Int)).starts_with("internal: missing"));
        assert!(err(&field(m(), 0, Ty::Int)).starts_with("internal: missing"));
        assert!(err(&and(m(), b(true))).starts_with("internal: missing"));
        assert!(err(&quant(QuantKind::Any, 1, m(), b(true))).starts_with("internal: missing"));
        // Out-of-range field and slot: internal errors too.
        assert!(err(&field(c(record(vec![])), 3, Ty::Int)).starts_with("internal:"));
        assert!(err(&local(99, Ty::Int)).starts_with("internal:"));
        // Optional access and `has`.
        let opt = node(ExprKind::OptField(Box::new(m()), 0), Ty::Int);
        assert_eq!(ok(&opt), Value::Missing);
        let has = node(ExprKind::Has(Box::new(m())), Ty::Bool);
        assert_eq!(ok(&has), Value::Bool(false));
        let co = node(ExprKind::Coalesce(Box::new(m()), Box::new(int(9))), Ty::Int);
        assert_eq!(ok(&co), Value::Int(9));
    }

    #[test]
    fn index_and_membership() {
        let xs = || c(vlist(vec![Value::Int(10), Value::Int(20)]));
        let idx = |i: i64| node(ExprKind::Index(Box::new(xs()), Box::new(int(i))), Ty::Int);
        assert_eq!(ok(&idx(1)), Value::Int(20));
        assert_eq!(ok(&idx(2)), Value::Missing);
        assert_eq!(ok(&idx(-1)), Value::Missing);
        let mut m = BTreeMap::new();
        m.insert(Arc::from("env"), Value::str("prod"));
        let map = || c(Value::Map(Arc::new(m.clone())));
        let get = |k: &str| node(ExprKind::Index(Box::new(map()), Box::new(s(k))), Ty::Str);
        assert_eq!(ok(&get("env")), Value::str("prod"));
        assert_eq!(ok(&get("owner")), Value::Missing);
        let isin = |x: Expr, coll: Expr| node(ExprKind::In(Box::new(x), Box::new(coll)), Ty::Bool);
        assert_eq!(ok(&isin(int(20), xs())), Value::Bool(true));
        assert_eq!(ok(&isin(c(Value::Float(10.0)), xs())), Value::Bool(true));
        assert_eq!(ok(&isin(int(30), xs())), Value::Bool(false));
        assert_eq!(ok(&isin(s("env"), map())), Value::Bool(true));
        assert_eq!(ok(&isin(s("x"), map())), Value::Bool(false));
    }

    #[test]
    fn list_quantifiers() {
        let xs = || c(vlist(vec![Value::Int(1), Value::Int(5), Value::Int(9)]));
        let gt = |n: i64| cmp(CmpOp::Gt, local(1, Ty::Int), int(n));
        assert_eq!(
            ok(&quant(QuantKind::Any, 1, xs(), gt(8))),
            Value::Bool(true)
        );
        assert_eq!(
            ok(&quant(QuantKind::Any, 1, xs(), gt(9))),
            Value::Bool(false)
        );
        assert_eq!(
            ok(&quant(QuantKind::All, 1, xs(), gt(0))),
            Value::Bool(true)
        );
        assert_eq!(
            ok(&quant(QuantKind::All, 1, xs(), gt(1))),
            Value::Bool(false)
        );
        assert_eq!(
            ok(&quant(QuantKind::None, 1, xs(), gt(9))),
            Value::Bool(true)
        );
        assert_eq!(
            ok(&quant(QuantKind::None, 1, xs(), gt(1))),
            Value::Bool(false)
        );
        assert_eq!(ok(&quant(QuantKind::Count, 1, xs(), gt(1))), Value::Int(2));
        let empty = || c(vlist(vec![]));
        assert_eq!(
            ok(&quant(QuantKind::Any, 1, empty(), gt(0))),
            Value::Bool(false)
        );
        assert_eq!(
            ok(&quant(QuantKind::All, 1, empty(), gt(0))),
            Value::Bool(true)
        );
        // `any` stops at the first witness: the error after it is not reached.
        let ys = c(vlist(vec![Value::Int(1), Value::Int(0)]));
        let div = cmp(
            CmpOp::Eq,
            arith_e(ArithOp::Div, int(1), local(1, Ty::Int), Ty::Int),
            int(1),
        );
        assert_eq!(ok(&quant(QuantKind::Any, 1, ys, div)), Value::Bool(true));
    }

    #[test]
    fn let_and_calls() {
        let e = node(
            ExprKind::Let(
                2,
                Box::new(s("sg-123")),
                Box::new(call(
                    "starts_with",
                    vec![local(2, Ty::Str), s("sg-")],
                    Ty::Bool,
                )),
            ),
            Ty::Bool,
        );
        assert_eq!(ok(&e), Value::Bool(true));
        let bad = call("split", vec![s("a,b"), s("")], Ty::List(Box::new(Ty::Str)));
        assert!(err(&bad).starts_with("split:"));
        let l = list(vec![int(1), int(2)], Ty::Int);
        assert_eq!(ok(&l), vlist(vec![Value::Int(1), Value::Int(2)]));
    }

    /// An inventory of findings (type 1: id, account, region, resource_id,
    /// cvss) about instances (type 0: id, account, region).
    fn findings() -> Inventory {
        let mut resources = Vec::new();
        let mk = |rtype: u32, id: &str, extra: Vec<Value>| {
            let mut fs = vec![Value::str(id), Value::str("1"), Value::str("r")];
            fs.extend(extra);
            crate::inventory::Resource {
                rtype: RecordId(rtype),
                type_name: Arc::from(if rtype == 0 { "i" } else { "f" }),
                id: Arc::from(id),
                account: Arc::from("1"),
                region: Arc::from("r"),
                value: record(fs),
                source: Arc::from(""),
                line: 0,
            }
        };
        for i in 0..20 {
            resources.push(mk(0, &format!("i-{i}"), vec![]));
        }
        for j in 0..60 {
            let target = format!("i-{}", (j * 7) % 23);
            resources.push(mk(
                1,
                &format!("f-{j}"),
                vec![Value::str(&target), Value::Float((j % 11) as f64)],
            ));
        }
        Inventory { resources }
    }

    #[test]
    fn probes_and_scans_agree() {
        let inv = findings();
        let env = Env::new(&inv, 0);
        let body = |threshold: f64| {
            and(
                cmp(
                    CmpOp::Eq,
                    field(local(1, Ty::Record(RecordId(1))), 3, Ty::Str),
                    field(local(0, Ty::Record(RecordId(0))), 0, Ty::Str),
                ),
                cmp(
                    CmpOp::Gt,
                    field(local(1, Ty::Record(RecordId(1))), 4, Ty::Float),
                    c(Value::Float(threshold)),
                ),
            )
        };
        let key = || field(local(0, Ty::Record(RecordId(0))), 0, Ty::Str);
        for kind in [
            QuantKind::Any,
            QuantKind::All,
            QuantKind::None,
            QuantKind::Count,
        ] {
            for threshold in [-1.0, 5.0, 9.5] {
                let probed = quant_type(kind, 1, RecordId(1), Some((3, key())), body(threshold));
                let scanned = quant_type(kind, 1, RecordId(1), None, body(threshold));
                for &i in env.of_type(RecordId(0)) {
                    let res = inv.resources[i].value.clone();
                    let a = eval(&probed, &mut Frame::new(2, res.clone()), &env).unwrap();
                    let b = eval(&scanned, &mut Frame::new(2, res), &env).unwrap();
                    assert_eq!(a, b, "{kind:?} {threshold} on {i}");
                }
            }
        }
        // The index was built once and reused.
        assert_eq!(env.indexes.read().unwrap().len(), 1);
        // A float key cannot be hashed: the quantifier scans instead.
        let fkey = quant_type(
            QuantKind::Count,
            1,
            RecordId(1),
            Some((4, c(Value::Float(3.0)))),
            cmp(
                CmpOp::Eq,
                field(local(1, Ty::Record(RecordId(1))), 4, Ty::Float),
                c(Value::Float(3.0)),
            ),
        );
        let n = eval(&fkey, &mut Frame::new(2, Value::Missing), &env).unwrap();
        assert_eq!(n, Value::Int(6));
    }

    #[test]
    fn coverage_records_outcomes() {
        let inv = Inventory::default();
        let cov = Coverage::new(1000);
        let env = Env::new(&inv, 0).with_coverage(Some(&cov));
        let x = cmp(CmpOp::Gt, local(0, Ty::Int), int(5));
        let id = x.id;
        eval(&x, &mut Frame::new(1, Value::Int(9)), &env).unwrap();
        assert_eq!(cov.seen(id), (true, false));
        eval(&x, &mut Frame::new(1, Value::Int(1)), &env).unwrap();
        assert_eq!(cov.seen(id), (true, true));
        let other = Coverage::new(1000);
        other.merge(&cov);
        assert_eq!(other.seen(id), (true, true));
    }
}
