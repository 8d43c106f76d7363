//! IR → Cranelift IR, one function per rule.
//!
//! Every IR value is a pair of `i64` SSA values `(tag, bits)`, exactly a
//! layout [`Cell`](crate::layout::Cell), interpreted by the node's static
//! type. An evaluation error jumps to the current error block (the row's
//! `error` output, or the scan fallback of a probe key, whose errors the
//! interpreter ignores). Evaluation order, short-circuits and stopping
//! points follow the interpreter node for node, so coverage (when compiled
//! in) records the same outcomes.
//!
//! A construct the generator does not handle returns `Err(reason)`: the
//! rule is then interpreted.

use std::collections::HashMap;

use cranelift_codegen::Context;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I8, I64};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind,
    UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};
use pac_compiler::ir::{ArithOp, CmpOp, Expr, ExprKind, Program, QuantKind};
use pac_compiler::types::{Schemas, Ty};
use pac_stdlib::Value as V;

use crate::engine::{CallSite, ProbeSite, Tables};
use crate::helpers::{CTX_BASE, CTX_CONSTS, CTX_NOW, CTX_ROW_OFF, CTX_TYPE_ROWS};
use crate::layout::{FLOAT, INT, PRESENT};

type R<T> = Result<T, String>;

/// The helpers, declared once per module.
pub(crate) struct Helpers {
    call: FuncId,
    alloc: FuncId,
    concat: FuncId,
    str_cmp: FuncId,
    eq: FuncId,
    probe: FuncId,
    fmod: FuncId,
    cover: FuncId,
    str_test: FuncId,
    str_len: FuncId,
}

pub(crate) fn declare_helpers(m: &mut JITModule) -> R<Helpers> {
    let mut decl = |name: &str,
                    params: &[cranelift_codegen::ir::Type],
                    ret: Option<cranelift_codegen::ir::Type>| {
        let mut sig = m.make_signature();
        for p in params {
            sig.params.push(AbiParam::new(*p));
        }
        if let Some(r) = ret {
            sig.returns.push(AbiParam::new(r));
        }
        m.declare_function(name, Linkage::Import, &sig)
            .map_err(|e| format!("cranelift: {e}"))
    };
    Ok(Helpers {
        call: decl("pac_call", &[I64, I64, I64, I64], Some(I64))?,
        alloc: decl("pac_alloc", &[I64, I64], Some(I64))?,
        concat: decl("pac_concat", &[I64, I64, I64, I64], Some(I64))?,
        str_cmp: decl("pac_str_cmp", &[I64, I64, I64], Some(I64))?,
        eq: decl("pac_eq", &[I64, I64, I64, I64], Some(I64))?,
        probe: decl("pac_probe", &[I64, I64, I64, I64, I64], Some(I64))?,
        fmod: decl("pac_fmod", &[F64, F64], Some(F64))?,
        cover: decl("pac_cover", &[I64, I64, I64], None)?,
        str_test: decl("pac_str_test", &[I64, I64, I64, I64], Some(I64))?,
        str_len: decl("pac_str_len", &[I64, I64], Some(I64))?,
    })
}

struct Refs {
    call: FuncRef,
    alloc: FuncRef,
    concat: FuncRef,
    str_cmp: FuncRef,
    eq: FuncRef,
    probe: FuncRef,
    fmod: FuncRef,
    cover: FuncRef,
    str_test: FuncRef,
    str_len: FuncRef,
}

/// A value: the two halves of a cell.
#[derive(Clone, Copy)]
struct Jv {
    tag: Value,
    bits: Value,
}

fn mem() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// What to compile: a rule's violation condition or a group's `where`
/// condition, over resources in frame slot 0.
pub(crate) struct Cond<'a> {
    pub cond: &'a Expr,
    /// The frame size the checker computed.
    pub slots: u32,
    /// The function's symbol name.
    pub name: String,
    /// `Some`: compile a rule's message values instead of its condition.
    pub message: Option<MessageValues<'a>>,
}

/// A failing row's message values: per row, a status cell (tag
/// [`MSG_OK`] when every value was computed, [`MSG_ERROR`] when one
/// failed) and then one cell per value, in order.
pub(crate) struct MessageValues<'a> {
    /// The `let`s the values may read, as (slot, value): each is computed
    /// at its first use in a row (none fails the row unless read).
    pub lets: Vec<(u32, &'a Expr)>,
    pub values: Vec<&'a Expr>,
}

/// Status of a row of message values: all computed.
pub(crate) const MSG_OK: u64 = 1;
/// Status of a row of message values: one failed (the interpreter renders
/// that message, with its error).
pub(crate) const MSG_ERROR: u64 = 2;

/// Compiles a condition into `module`; returns its function.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compile_cond(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    helpers: &Helpers,
    tables: &mut Tables,
    program: &Program,
    rule: &Cond,
    coverage: bool,
) -> R<FuncId> {
    let ptr = I64;
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(ptr));
    }
    ctx.func.signature = sig.clone();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let refs = Refs {
            call: module.declare_func_in_func(helpers.call, b.func),
            alloc: module.declare_func_in_func(helpers.alloc, b.func),
            concat: module.declare_func_in_func(helpers.concat, b.func),
            str_cmp: module.declare_func_in_func(helpers.str_cmp, b.func),
            eq: module.declare_func_in_func(helpers.eq, b.func),
            probe: module.declare_func_in_func(helpers.probe, b.func),
            fmod: module.declare_func_in_func(helpers.fmod, b.func),
            cover: module.declare_func_in_func(helpers.cover, b.func),
            str_test: module.declare_func_in_func(helpers.str_test, b.func),
            str_len: module.declare_func_in_func(helpers.str_len, b.func),
        };
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (ctxv, rows, n, out) = (params[0], params[1], params[2], params[3]);
        let base = b.ins().load(I64, mem(), ctxv, CTX_BASE);
        let row_off = b.ins().load(I64, mem(), ctxv, CTX_ROW_OFF);

        // Slots: every slot the condition uses, zero (missing) at entry.
        let mut max_slot = 0u32;
        let mut exprs = vec![rule.cond];
        if let Some(m) = &rule.message {
            for (s, v) in &m.lets {
                max_slot = max_slot.max(*s);
                exprs.push(v);
            }
            exprs.extend(m.values.iter().copied());
        }
        for e in exprs {
            e.walk(&mut |e| match &e.kind {
                ExprKind::Local(s)
                | ExprKind::Let(s, ..)
                | ExprKind::Quant { slot: s, .. }
                | ExprKind::QuantType { slot: s, .. } => max_slot = max_slot.max(*s),
                _ => {}
            });
        }
        let zero = b.ins().iconst(I64, 0);
        let mut slots = HashMap::new();
        for s in 0..=max_slot.max(rule.slots) {
            let t = b.declare_var(I64);
            let v = b.declare_var(I64);
            b.def_var(t, zero);
            b.def_var(v, zero);
            slots.insert(s, (t, v));
        }
        let i = b.declare_var(I64);
        b.def_var(i, zero);
        let header = b.create_block();
        let body = b.create_block();
        let err = b.create_block();
        let next = b.create_block();
        let exit = b.create_block();
        b.ins().jump(header, &[]);

        b.switch_to_block(header);
        let iv = b.use_var(i);
        let more = b.ins().icmp(IntCC::UnsignedLessThan, iv, n);
        b.ins().brif(more, body, &[], exit, &[]);

        b.switch_to_block(body);
        let iv = b.use_var(i);
        let roff = b.ins().ishl_imm_s(iv, 2);
        let raddr = b.ins().iadd(rows, roff);
        let idx = b.ins().uload32(mem(), raddr, 0);
        let ooff = b.ins().ishl_imm_s(idx, 3);
        let oaddr = b.ins().iadd(row_off, ooff);
        let rec = b.ins().load(I64, mem(), oaddr, 0);
        let present = b.ins().iconst(I64, PRESENT as i64);
        let (t0, v0) = slots[&0];
        b.def_var(t0, present);
        b.def_var(v0, rec);

        let mut cg = Cg {
            b,
            refs,
            tables,
            schemas: &program.schemas,
            ctx: ctxv,
            base,
            row_off,
            slots,
            lazy: HashMap::new(),
            err,
            coverage,
        };
        // A row of message values: the status cell, then the values.
        let stride = rule
            .message
            .as_ref()
            .map(|m| 16 * (m.values.len() as i64 + 1));
        match rule.message.as_ref().zip(stride) {
            None => {
                let r = cg.expr(rule.cond)?;
                cg.need_present(r);
                let iv = cg.b.use_var(i);
                let dst = cg.b.ins().iadd(out, iv);
                cg.b.ins().istore8(mem(), r.bits, dst, 0);
            }
            Some((m, stride)) => {
                // Every `let` is computed at its first use in the row.
                for (slot, value) in &m.lets {
                    let flag = cg.b.declare_var(I64);
                    let zero = cg.iconst(0);
                    cg.b.def_var(flag, zero);
                    cg.lazy
                        .insert(*slot, (std::rc::Rc::new((*value).clone()), flag));
                }
                let mut cells = Vec::with_capacity(m.values.len());
                for v in &m.values {
                    cells.push(cg.expr(v)?);
                }
                let iv = cg.b.use_var(i);
                let roff = cg.b.ins().imul_imm_s(iv, stride);
                let row = cg.b.ins().iadd(out, roff);
                for (j, c) in cells.into_iter().enumerate() {
                    cg.store_cell(row, 16 * (j as i32 + 1), c);
                }
                let ok = cg.jv(MSG_OK, 0);
                cg.store_cell(row, 0, ok);
            }
        }
        let mut b = cg.b;
        b.ins().jump(next, &[]);

        b.switch_to_block(err);
        let iv = b.use_var(i);
        match stride {
            None => {
                let dst = b.ins().iadd(out, iv);
                let two = b.ins().iconst(I8, 2);
                b.ins().store(mem(), two, dst, 0);
            }
            Some(stride) => {
                let roff = b.ins().imul_imm_s(iv, stride);
                let row = b.ins().iadd(out, roff);
                let tag = b.ins().iconst(I64, MSG_ERROR as i64);
                b.ins().store(mem(), tag, row, 0);
            }
        }
        b.ins().jump(next, &[]);

        b.switch_to_block(next);
        let iv = b.use_var(i);
        let iv1 = b.ins().iadd_imm_s(iv, 1);
        b.def_var(i, iv1);
        b.ins().jump(header, &[]);

        b.switch_to_block(exit);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
    }
    let name = &rule.name;
    let id = module
        .declare_function(name, Linkage::Local, &sig)
        .map_err(|e| format!("cranelift: {e}"))?;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    module
        .define_function(id, ctx)
        .map_err(|e| format!("cranelift could not compile it: {e:?}"))?;
    Ok(id)
}

struct Cg<'a, 'b> {
    b: FunctionBuilder<'b>,
    refs: Refs,
    tables: &'a mut Tables,
    schemas: &'a Schemas,
    ctx: Value,
    base: Value,
    row_off: Value,
    slots: HashMap<u32, (Variable, Variable)>,
    /// `let`s evaluated at their first use rather than where they are
    /// bound (see [`lazy_ok`]): the value and a "computed" flag, by slot.
    lazy: HashMap<u32, (std::rc::Rc<Expr>, Variable)>,
    /// Where an evaluation error goes.
    err: Block,
    coverage: bool,
}

fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(what.into())
}

fn is_num(t: &Ty) -> bool {
    matches!(t, Ty::Int | Ty::Float)
}

fn block_args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl Cg<'_, '_> {
    // ----- small builders ------------------------------------------------

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(I64, v)
    }

    fn jv(&mut self, tag: u64, bits: i64) -> Jv {
        Jv {
            tag: self.iconst(tag as i64),
            bits: self.iconst(bits),
        }
    }

    fn bool_jv(&mut self, b8: Value) -> Jv {
        let bits = self.b.ins().uextend(I64, b8);
        Jv {
            tag: self.iconst(PRESENT as i64),
            bits,
        }
    }

    /// Continues in a new block when `cond` (i8) is false; jumps to the
    /// error block when it is true.
    fn err_if(&mut self, cond: Value) {
        let ok = self.b.create_block();
        let err = self.err;
        self.b.ins().brif(cond, err, &[], ok, &[]);
        self.b.switch_to_block(ok);
    }

    /// An unconditional error; code after it is unreachable.
    fn err_now(&mut self) {
        let err = self.err;
        self.b.ins().jump(err, &[]);
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
    }

    fn need_present(&mut self, v: Jv) {
        let missing = self.b.ins().icmp_imm_s(IntCC::Equal, v.tag, 0);
        self.err_if(missing);
    }

    /// The interpreter's check that a value is not missing, where the type
    /// allows it to be.
    fn need(&mut self, v: Jv, ty: &Ty) {
        if ty.is_opt() {
            self.need_present(v);
        }
    }

    /// A block taking a value (two params).
    fn value_block(&mut self) -> (Block, Jv) {
        let blk = self.b.create_block();
        let tag = self.b.append_block_param(blk, I64);
        let bits = self.b.append_block_param(blk, I64);
        (blk, Jv { tag, bits })
    }

    fn jump_value(&mut self, blk: Block, v: Jv) {
        self.b.ins().jump(blk, &block_args(&[v.tag, v.bits]));
    }

    fn load_cell(&mut self, addr: Value, off: i32) -> Jv {
        let tag = self.b.ins().load(I64, mem(), addr, off);
        let bits = self.b.ins().load(I64, mem(), addr, off + 8);
        Jv { tag, bits }
    }

    fn addr_of(&mut self, offset: Value) -> Value {
        self.b.ins().iadd(self.base, offset)
    }

    fn stack_cells(&mut self, n: u32) -> Value {
        let ss = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            16 * n.max(1),
            3,
        ));
        self.b.ins().stack_addr(I64, ss, 0)
    }

    fn store_cell(&mut self, addr: Value, off: i32, v: Jv) {
        self.b.ins().store(mem(), v.tag, addr, off);
        self.b.ins().store(mem(), v.bits, addr, off + 8);
    }

    fn call1(&mut self, f: FuncRef, args: &[Value]) -> Value {
        let inst = self.b.ins().call(f, args);
        self.b.inst_results(inst)[0]
    }

    fn as_f64(&mut self, v: Jv) -> Value {
        let is_int = self.b.ins().icmp_imm_s(IntCC::Equal, v.tag, INT as i64);
        let from_int = self.b.ins().fcvt_from_sint(F64, v.bits);
        let as_float = self.b.ins().bitcast(F64, MemFlagsData::new(), v.bits);
        self.b.ins().select(is_int, from_int, as_float)
    }

    fn float_jv(&mut self, f: Value) -> Jv {
        let bits = self.b.ins().bitcast(I64, MemFlagsData::new(), f);
        Jv {
            tag: self.iconst(FLOAT as i64),
            bits,
        }
    }

    // ----- expressions ---------------------------------------------------

    fn expr(&mut self, e: &Expr) -> R<Jv> {
        let v = self.expr_kind(e)?;
        if self.coverage && *e.ty.unopt() == Ty::Bool {
            self.cover(e.id, v);
        }
        Ok(v)
    }

    fn cover(&mut self, id: u32, v: Jv) {
        let rec = self.b.create_block();
        let cont = self.b.create_block();
        let present = self.b.ins().icmp_imm_s(IntCC::NotEqual, v.tag, 0);
        self.b.ins().brif(present, rec, &[], cont, &[]);
        self.b.switch_to_block(rec);
        let idv = self.iconst(i64::from(id));
        let f = self.refs.cover;
        self.b.ins().call(f, &[self.ctx, idv, v.bits]);
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
    }

    fn expr_kind(&mut self, e: &Expr) -> R<Jv> {
        use ExprKind as K;
        match &e.kind {
            K::Const(v) => self.constant(v, &e.ty),
            K::Local(s) => {
                if let Some((value, flag)) = self.lazy.get(s).cloned() {
                    self.force_let(*s, &value, flag)?;
                }
                let Some(&(t, v)) = self.slots.get(s) else {
                    return unsupported(format!("slot {s} outside the frame"));
                };
                Ok(Jv {
                    tag: self.b.use_var(t),
                    bits: self.b.use_var(v),
                })
            }
            K::Field(base, i) => {
                let r = self.expr(base)?;
                self.need(r, &base.ty);
                self.field(r, &base.ty, *i)
            }
            K::OptField(base, i) => {
                let r = self.expr(base)?;
                if !base.ty.is_opt() {
                    return self.field(r, &base.ty, *i);
                }
                // A missing record reads the zero block: missing fields.
                let present = self.b.ins().icmp_imm_s(IntCC::NotEqual, r.tag, 0);
                let zero = self.iconst(0);
                let off = self.b.ins().select(present, r.bits, zero);
                let f = self.field(
                    Jv {
                        tag: r.tag,
                        bits: off,
                    },
                    &base.ty,
                    *i,
                )?;
                let tag = self.b.ins().select(present, f.tag, zero);
                let bits = self.b.ins().select(present, f.bits, zero);
                Ok(Jv { tag, bits })
            }
            K::Index(a, i) => self.index(a, i),
            K::Not(a) => {
                let v = self.expr(a)?;
                self.need_present(v);
                let bits = self.b.ins().bxor_imm_s(v.bits, 1);
                Ok(Jv { tag: v.tag, bits })
            }
            K::Neg(a) => self.neg(a),
            K::And(a, c) | K::Or(a, c) => {
                let is_and = matches!(e.kind, K::And(..));
                let x = self.expr(a)?;
                self.need_present(x);
                let (done, res) = self.value_block();
                let rhs = self.b.create_block();
                if is_and {
                    let f = self.jv(PRESENT, 0);
                    self.b
                        .ins()
                        .brif(x.bits, rhs, &[], done, &block_args(&[f.tag, f.bits]));
                } else {
                    let t = self.jv(PRESENT, 1);
                    self.b
                        .ins()
                        .brif(x.bits, done, &block_args(&[t.tag, t.bits]), rhs, &[]);
                }
                self.b.switch_to_block(rhs);
                let y = self.expr(c)?;
                self.need_present(y);
                self.jump_value(done, y);
                self.b.switch_to_block(done);
                Ok(res)
            }
            K::Cmp(op, a, c) => {
                let x = self.expr(a)?;
                let y = self.expr(c)?;
                self.need(x, &a.ty);
                self.need(y, &c.ty);
                let r = self.compare(*op, x, a.ty.unopt(), y, c.ty.unopt())?;
                Ok(self.bool_jv(r))
            }
            K::Arith(op, a, c) => {
                let x = self.expr(a)?;
                let y = self.expr(c)?;
                self.need(x, &a.ty);
                self.need(y, &c.ty);
                self.arith(*op, x, a.ty.unopt(), y, c.ty.unopt())
            }
            K::In(x, c) => self.contains(x, c),
            K::Coalesce(a, c) => {
                let x = self.expr(a)?;
                let (done, res) = self.value_block();
                let other = self.b.create_block();
                let present = self.b.ins().icmp_imm_s(IntCC::NotEqual, x.tag, 0);
                self.b
                    .ins()
                    .brif(present, done, &block_args(&[x.tag, x.bits]), other, &[]);
                self.b.switch_to_block(other);
                let y = self.expr(c)?;
                self.jump_value(done, y);
                self.b.switch_to_block(done);
                Ok(res)
            }
            K::Has(a) => {
                let x = self.expr(a)?;
                let r = self.b.ins().icmp_imm_s(IntCC::NotEqual, x.tag, 0);
                Ok(self.bool_jv(r))
            }
            K::If(c, a, d) => {
                let cv = self.expr(c)?;
                self.need_present(cv);
                let (done, res) = self.value_block();
                let then = self.b.create_block();
                let els = self.b.create_block();
                self.b.ins().brif(cv.bits, then, &[], els, &[]);
                self.b.switch_to_block(then);
                let x = self.expr(a)?;
                self.jump_value(done, x);
                self.b.switch_to_block(els);
                let y = self.expr(d)?;
                self.jump_value(done, y);
                self.b.switch_to_block(done);
                Ok(res)
            }
            K::Let(slot, v, body) if !self.coverage && lazy_ok(v) => {
                // Bound per row: not computed yet.
                let flag = self.b.declare_var(I64);
                let zero = self.iconst(0);
                self.b.def_var(flag, zero);
                let outer = self
                    .lazy
                    .insert(*slot, (std::rc::Rc::new((**v).clone()), flag));
                let r = self.expr(body);
                match outer {
                    Some(o) => self.lazy.insert(*slot, o),
                    None => self.lazy.remove(slot),
                };
                r
            }
            K::Let(slot, v, body) => {
                let x = self.expr(v)?;
                self.set_slot(*slot, x)?;
                self.expr(body)
            }
            K::Quant {
                kind,
                slot,
                coll,
                body,
            } => {
                let c = self.expr(coll)?;
                self.need_present(c);
                match coll.ty.unopt() {
                    Ty::List(_) => {}
                    // `[]`: the body (whose variable has no type) never runs.
                    Ty::Empty => {
                        return Ok(match kind {
                            QuantKind::Any => self.jv(PRESENT, 0),
                            QuantKind::All | QuantKind::None => self.jv(PRESENT, 1),
                            QuantKind::Count => self.jv(INT, 0),
                        });
                    }
                    t => return unsupported(format!("a quantifier over {t:?}")),
                }
                let len = self.b.ins().ushr_imm_s(c.tag, 1);
                let ptr = self.addr_of(c.bits);
                self.quantify(*kind, len, |cg, j| {
                    let off = cg.b.ins().ishl_imm_s(j, 4);
                    let at = cg.b.ins().iadd(ptr, off);
                    let el = cg.load_cell(at, 0);
                    cg.set_slot(*slot, el)?;
                    cg.expr(body)
                })
            }
            K::QuantType {
                kind,
                slot,
                rtype,
                probe,
                body,
            } => self.quant_type(*kind, *slot, *rtype, probe.as_ref(), body),
            K::Call { builtin, args, .. } => self.call(e, builtin, args),
            K::List(items) => {
                if let Some(v) = const_list(items) {
                    if self.coverage {
                        for it in items {
                            if let Some(V::Bool(b)) = it.as_const() {
                                let jv = self.jv(PRESENT, i64::from(*b));
                                self.cover(it.id, jv);
                            }
                        }
                    }
                    return self.constant(&v, &e.ty);
                }
                let mut vals = Vec::with_capacity(items.len());
                for it in items {
                    vals.push(self.expr(it)?);
                }
                let n = self.iconst(items.len() as i64);
                let f = self.refs.alloc;
                let off = self.call1(f, &[self.ctx, n]);
                let ptr = self.addr_of(off);
                for (k, v) in vals.into_iter().enumerate() {
                    self.store_cell(ptr, 16 * k as i32, v);
                }
                let tag = self.iconst(((items.len() as i64) << 1) | 1);
                Ok(Jv { tag, bits: off })
            }
            K::Now => {
                let now = self.b.ins().load(I64, mem(), self.ctx, CTX_NOW);
                Ok(Jv {
                    tag: self.iconst(PRESENT as i64),
                    bits: now,
                })
            }
        }
    }

    /// At a use of lazy `let` `slot`: computes its value unless this row
    /// already has.
    fn force_let(&mut self, slot: u32, value: &Expr, flag: Variable) -> R<()> {
        let done = self.b.create_block();
        let compute = self.b.create_block();
        let f = self.b.use_var(flag);
        self.b.ins().brif(f, done, &[], compute, &[]);
        self.b.switch_to_block(compute);
        // The value reads only slots bound before it, never its own. The
        // slots it binds itself (an inlined function's parameters, a
        // quantifier's variable) may be in use here by an enclosing binder:
        // keep their values and put them back.
        let mut inner = Vec::new();
        value.walk(&mut |e| match &e.kind {
            ExprKind::Let(s, ..) | ExprKind::Quant { slot: s, .. } => inner.push(*s),
            _ => {}
        });
        let mut saved = Vec::new();
        for s in inner {
            if let Some(&(t, v)) = self.slots.get(&s) {
                saved.push((t, self.b.use_var(t), v, self.b.use_var(v)));
            }
        }
        let own = self.lazy.remove(&slot);
        let x = self.expr(value);
        if let Some(own) = own {
            self.lazy.insert(slot, own);
        }
        let x = x?;
        for (t, tv, v, vv) in saved {
            self.b.def_var(t, tv);
            self.b.def_var(v, vv);
        }
        self.set_slot(slot, x)?;
        let one = self.iconst(1);
        self.b.def_var(flag, one);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        Ok(())
    }

    fn set_slot(&mut self, slot: u32, v: Jv) -> R<()> {
        let Some(&(t, b)) = self.slots.get(&slot) else {
            return unsupported(format!("slot {slot} outside the frame"));
        };
        self.b.def_var(t, v.tag);
        self.b.def_var(b, v.bits);
        Ok(())
    }

    fn field(&mut self, rec: Jv, ty: &Ty, i: u32) -> R<Jv> {
        let Ty::Record(r) = ty.unopt() else {
            return unsupported(format!("a field of {ty:?}"));
        };
        let n = self
            .schemas
            .records
            .get(r.0 as usize)
            .map_or(0, |d| d.fields.len());
        if i as usize >= n {
            return unsupported(format!("field {i} of a record of {n} fields"));
        }
        let Some(slot) = self.tables.slots.slot(*r, i as usize) else {
            return unsupported(format!("field {i} of a record, not laid out"));
        };
        let ptr = self.addr_of(rec.bits);
        Ok(self.load_cell(ptr, 16 * slot as i32))
    }

    /// Scalar constants are immediates (strings, IPs and networks by their
    /// fixed ids); compound ones are read from the constants table.
    fn constant(&mut self, v: &V, ty: &Ty) -> R<Jv> {
        let c = &mut self.tables.constants;
        let (tag, bits): (u64, i64) = match v {
            V::Missing => (0, 0),
            V::Bool(b) => (PRESENT, i64::from(*b)),
            V::Int(i) => (INT, *i),
            V::Float(f) => (FLOAT, f.to_bits() as i64),
            V::Str(s) => (PRESENT, i64::from(c.str_id(s))),
            V::Time(t) | V::Dur(t) => (PRESENT, *t),
            V::Ip(ip) => (PRESENT, i64::from(c.ip_id(*ip))),
            V::Cidr(n) => (PRESENT, i64::from(c.cidr_id(*n))),
            V::List(_) | V::Map(_) | V::Record(_) => {
                if !fits(self.schemas, ty, v) {
                    return unsupported(format!("a constant that does not fit {ty:?}"));
                }
                // A resource record is laid out by its slots; a constant
                // is written whole.
                if crate::layout::mentions_resource(self.schemas, ty) {
                    return unsupported("a constant holding a resource record");
                }
                let k = c.compound.len();
                c.compound.push((ty.clone(), v.clone()));
                let consts = self.b.ins().load(I64, mem(), self.ctx, CTX_CONSTS);
                return Ok(self.load_cell(consts, 16 * k as i32));
            }
            V::Regex(_) | V::Glob(_) => {
                return unsupported("a pattern used as a value");
            }
        };
        Ok(self.jv(tag, bits))
    }

    fn neg(&mut self, a: &Expr) -> R<Jv> {
        let x = self.expr(a)?;
        self.need(x, &a.ty);
        match a.ty.unopt() {
            Ty::Int | Ty::Dur => {
                let min = self.b.ins().icmp_imm_s(IntCC::Equal, x.bits, i64::MIN);
                self.err_if(min);
                let bits = self.b.ins().ineg(x.bits);
                Ok(Jv { tag: x.tag, bits })
            }
            Ty::Float => {
                let (done, res) = self.value_block();
                let int_b = self.b.create_block();
                let flt_b = self.b.create_block();
                let is_int = self.b.ins().icmp_imm_s(IntCC::Equal, x.tag, INT as i64);
                self.b.ins().brif(is_int, int_b, &[], flt_b, &[]);
                self.b.switch_to_block(int_b);
                let min = self.b.ins().icmp_imm_s(IntCC::Equal, x.bits, i64::MIN);
                self.err_if(min);
                let bits = self.b.ins().ineg(x.bits);
                let tag = self.iconst(INT as i64);
                self.jump_value(done, Jv { tag, bits });
                self.b.switch_to_block(flt_b);
                let f = self.b.ins().bitcast(F64, MemFlagsData::new(), x.bits);
                let nf = self.b.ins().fneg(f);
                let r = self.float_jv(nf);
                self.jump_value(done, r);
                self.b.switch_to_block(done);
                Ok(res)
            }
            t => unsupported(format!("negation of {t:?}")),
        }
    }

    /// Checked integer arithmetic, as the interpreter's `int_op`.
    fn int_op(&mut self, op: ArithOp, x: Value, y: Value) -> Value {
        match op {
            ArithOp::Add => {
                let (r, of) = self.b.ins().sadd_overflow(x, y);
                self.err_if(of);
                r
            }
            ArithOp::Sub => {
                let (r, of) = self.b.ins().ssub_overflow(x, y);
                self.err_if(of);
                r
            }
            ArithOp::Mul => {
                let (r, of) = self.b.ins().smul_overflow(x, y);
                self.err_if(of);
                r
            }
            ArithOp::Div => {
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
                self.err_if(z);
                let xm = self.b.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
                let ym = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                let of = self.b.ins().band(xm, ym);
                self.err_if(of);
                self.b.ins().sdiv(x, y)
            }
            ArithOp::Rem => {
                let z = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
                self.err_if(z);
                // x % -1 is 0 (also for i64::MIN, which would trap).
                let ym = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                let one = self.iconst(1);
                let y1 = self.b.ins().select(ym, one, y);
                self.b.ins().srem(x, y1)
            }
        }
    }

    fn float_op(&mut self, op: ArithOp, x: Value, y: Value) -> Value {
        match op {
            ArithOp::Add => self.b.ins().fadd(x, y),
            ArithOp::Sub => self.b.ins().fsub(x, y),
            ArithOp::Mul => self.b.ins().fmul(x, y),
            ArithOp::Div => self.b.ins().fdiv(x, y),
            ArithOp::Rem => {
                let f = self.refs.fmod;
                self.call1(f, &[x, y])
            }
        }
    }

    fn arith(&mut self, op: ArithOp, x: Jv, tx: &Ty, y: Jv, ty: &Ty) -> R<Jv> {
        use ArithOp::*;
        let present = |cg: &mut Self, bits: Value| Jv {
            tag: cg.iconst(PRESENT as i64),
            bits,
        };
        Ok(match (op, tx, ty) {
            (_, Ty::Int, Ty::Int) => {
                let bits = self.int_op(op, x.bits, y.bits);
                Jv {
                    tag: self.iconst(INT as i64),
                    bits,
                }
            }
            (_, a, b) if is_num(a) && is_num(b) => {
                // A float-typed operand may hold an int: both ints take
                // the integer path, as in the interpreter.
                let (done, res) = self.value_block();
                let int_b = self.b.create_block();
                let flt_b = self.b.create_block();
                let xi = self.b.ins().icmp_imm_s(IntCC::Equal, x.tag, INT as i64);
                let yi = self.b.ins().icmp_imm_s(IntCC::Equal, y.tag, INT as i64);
                let both = self.b.ins().band(xi, yi);
                self.b.ins().brif(both, int_b, &[], flt_b, &[]);
                self.b.switch_to_block(int_b);
                let bits = self.int_op(op, x.bits, y.bits);
                let tag = self.iconst(INT as i64);
                self.jump_value(done, Jv { tag, bits });
                self.b.switch_to_block(flt_b);
                let fx = self.as_f64(x);
                let fy = self.as_f64(y);
                let r = self.float_op(op, fx, fy);
                let r = self.float_jv(r);
                self.jump_value(done, r);
                self.b.switch_to_block(done);
                res
            }
            (Add, Ty::Str, Ty::Str) => {
                let slot = self.stack_cells(1);
                let f = self.refs.concat;
                let st = self.call1(f, &[self.ctx, x.bits, y.bits, slot]);
                self.err_if(st);
                let id = self.b.ins().load(I64, mem(), slot, 0);
                present(self, id)
            }
            (Sub, Ty::Time, Ty::Time)
            | (Add | Sub, Ty::Time, Ty::Dur)
            | (Add, Ty::Dur, Ty::Time)
            | (Add | Sub, Ty::Dur, Ty::Dur)
            | (Mul | Div, Ty::Dur, Ty::Int)
            | (Mul, Ty::Int, Ty::Dur) => {
                let bits = self.int_op(op, x.bits, y.bits);
                present(self, bits)
            }
            (_, a, b) => return unsupported(format!("`{op:?}` on {a:?} and {b:?}")),
        })
    }

    /// Pac's `==` on two present values of the given static types (i8).
    fn equal(&mut self, x: Jv, tx: &Ty, y: Jv, ty: &Ty) -> R<Value> {
        Ok(match (tx, ty) {
            (Ty::Int, Ty::Int) => self.b.ins().icmp(IntCC::Equal, x.bits, y.bits),
            (a, b) if is_num(a) && is_num(b) => {
                let xi = self.b.ins().icmp_imm_s(IntCC::Equal, x.tag, INT as i64);
                let yi = self.b.ins().icmp_imm_s(IntCC::Equal, y.tag, INT as i64);
                let both = self.b.ins().band(xi, yi);
                let ieq = self.b.ins().icmp(IntCC::Equal, x.bits, y.bits);
                let fx = self.as_f64(x);
                let fy = self.as_f64(y);
                let feq = self.b.ins().fcmp(FloatCC::Equal, fx, fy);
                self.b.ins().select(both, ieq, feq)
            }
            (Ty::Bool, Ty::Bool)
            | (Ty::Str, Ty::Str)
            | (Ty::Time, Ty::Time)
            | (Ty::Dur, Ty::Dur)
            | (Ty::Ip, Ty::Ip)
            | (Ty::Cidr, Ty::Cidr) => self.b.ins().icmp(IntCC::Equal, x.bits, y.bits),
            (
                Ty::List(_) | Ty::Map(_) | Ty::Record(_) | Ty::Empty,
                Ty::List(_) | Ty::Map(_) | Ty::Record(_) | Ty::Empty,
            ) => {
                let site = self.tables.eqs.len();
                self.tables.eqs.push((tx.clone(), ty.clone()));
                let a = self.stack_cells(1);
                self.store_cell(a, 0, x);
                let c = self.stack_cells(1);
                self.store_cell(c, 0, y);
                let s = self.iconst(site as i64);
                let f = self.refs.eq;
                let r = self.call1(f, &[self.ctx, s, a, c]);
                let bad = self.b.ins().icmp_imm_s(IntCC::Equal, r, 2);
                self.err_if(bad);
                self.b.ins().icmp_imm_s(IntCC::Equal, r, 1)
            }
            (a, b) => return unsupported(format!("`==` on {a:?} and {b:?}")),
        })
    }

    /// `==` of a present `x` with an element `y` of a list whose element
    /// type may be optional (a missing element equals nothing present).
    fn equal_elem(&mut self, x: Jv, tx: &Ty, y: Jv, ty: &Ty) -> R<Value> {
        let eq = self.equal(x, tx, y, ty.unopt())?;
        if !ty.is_opt() {
            return Ok(eq);
        }
        let present = self.b.ins().icmp_imm_s(IntCC::NotEqual, y.tag, 0);
        Ok(self.b.ins().band(eq, present))
    }

    fn compare(&mut self, op: CmpOp, x: Jv, tx: &Ty, y: Jv, ty: &Ty) -> R<Value> {
        let icc = |op: CmpOp| match op {
            CmpOp::Eq => IntCC::Equal,
            CmpOp::Ne => IntCC::NotEqual,
            CmpOp::Lt => IntCC::SignedLessThan,
            CmpOp::Le => IntCC::SignedLessThanOrEqual,
            CmpOp::Gt => IntCC::SignedGreaterThan,
            CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
        };
        if matches!(op, CmpOp::Eq | CmpOp::Ne) {
            let eq = self.equal(x, tx, y, ty)?;
            return Ok(if op == CmpOp::Eq {
                eq
            } else {
                self.b.ins().bxor_imm_s(eq, 1)
            });
        }
        Ok(match (tx, ty) {
            (Ty::Int, Ty::Int) | (Ty::Time, Ty::Time) | (Ty::Dur, Ty::Dur) => {
                self.b.ins().icmp(icc(op), x.bits, y.bits)
            }
            (a, b) if is_num(a) && is_num(b) => {
                let fcc = match op {
                    CmpOp::Lt => FloatCC::LessThan,
                    CmpOp::Le => FloatCC::LessThanOrEqual,
                    CmpOp::Gt => FloatCC::GreaterThan,
                    _ => FloatCC::GreaterThanOrEqual,
                };
                let xi = self.b.ins().icmp_imm_s(IntCC::Equal, x.tag, INT as i64);
                let yi = self.b.ins().icmp_imm_s(IntCC::Equal, y.tag, INT as i64);
                let both = self.b.ins().band(xi, yi);
                let ir = self.b.ins().icmp(icc(op), x.bits, y.bits);
                let fx = self.as_f64(x);
                let fy = self.as_f64(y);
                let fr = self.b.ins().fcmp(fcc, fx, fy);
                self.b.ins().select(both, ir, fr)
            }
            (Ty::Str, Ty::Str) => {
                let f = self.refs.str_cmp;
                let r = self.call1(f, &[self.ctx, x.bits, y.bits]);
                let bad = self.b.ins().icmp_imm_s(IntCC::Equal, r, 3);
                self.err_if(bad);
                // r: 0 less, 1 equal, 2 greater.
                let (cc, k) = match op {
                    CmpOp::Lt => (IntCC::Equal, 0),
                    CmpOp::Le => (IntCC::UnsignedLessThanOrEqual, 1),
                    CmpOp::Gt => (IntCC::Equal, 2),
                    _ => (IntCC::UnsignedGreaterThanOrEqual, 1),
                };
                self.b.ins().icmp_imm_s(cc, r, k)
            }
            (a, b) if a == b => {
                // The interpreter cannot order these: an internal error.
                self.err_now();
                self.b.ins().iconst(I8, 0)
            }
            (a, b) => return unsupported(format!("`{op:?}` on {a:?} and {b:?}")),
        })
    }

    fn index(&mut self, a: &Expr, i: &Expr) -> R<Jv> {
        let c = self.expr(a)?;
        let k = self.expr(i)?;
        self.need(c, &a.ty);
        self.need(k, &i.ty);
        match (a.ty.unopt(), i.ty.unopt()) {
            (Ty::List(_), Ty::Int) => {
                let len = self.b.ins().ushr_imm_s(c.tag, 1);
                let (done, res) = self.value_block();
                let hit = self.b.create_block();
                let miss = self.b.create_block();
                let inb = self.b.ins().icmp(IntCC::UnsignedLessThan, k.bits, len);
                self.b.ins().brif(inb, hit, &[], miss, &[]);
                self.b.switch_to_block(hit);
                let ptr = self.addr_of(c.bits);
                let off = self.b.ins().ishl_imm_s(k.bits, 4);
                let at = self.b.ins().iadd(ptr, off);
                let el = self.load_cell(at, 0);
                self.jump_value(done, el);
                self.b.switch_to_block(miss);
                let m = self.jv(0, 0);
                self.jump_value(done, m);
                self.b.switch_to_block(done);
                Ok(res)
            }
            (Ty::Empty, _) => Ok(self.jv(0, 0)),
            (Ty::Map(_), Ty::Str) => Ok(self.map_find(c, k.bits, true)),
            (ta, tb) => unsupported(format!("indexing {ta:?} with {tb:?}")),
        }
    }

    /// Looks a key id up in a map: its value (or missing) when `value`,
    /// else a bool of whether it is there.
    fn map_find(&mut self, m: Jv, key: Value, value: bool) -> Jv {
        let len = self.b.ins().ushr_imm_s(m.tag, 1);
        let ptr = self.addr_of(m.bits);
        let (done, res) = self.value_block();
        let header = self.b.create_block();
        let jv = self.b.append_block_param(header, I64);
        let body = self.b.create_block();
        let next = self.b.create_block();
        let miss = self.b.create_block();
        let zero = self.iconst(0);
        self.b.ins().jump(header, &block_args(&[zero]));
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, jv, len);
        self.b.ins().brif(more, body, &[], miss, &[]);
        self.b.switch_to_block(body);
        let off = self.b.ins().ishl_imm_s(jv, 5);
        let at = self.b.ins().iadd(ptr, off);
        let kid = self.b.ins().load(I64, mem(), at, 8);
        let found = self.b.ins().icmp(IntCC::Equal, kid, key);
        let hit = self.b.create_block();
        self.b.ins().brif(found, hit, &[], next, &[]);
        self.b.switch_to_block(hit);
        let r = if value {
            self.load_cell(at, 16)
        } else {
            self.jv(PRESENT, 1)
        };
        self.jump_value(done, r);
        self.b.switch_to_block(next);
        let j1 = self.b.ins().iadd_imm_s(jv, 1);
        self.b.ins().jump(header, &block_args(&[j1]));
        self.b.switch_to_block(miss);
        let m = if value {
            self.jv(0, 0)
        } else {
            self.jv(PRESENT, 0)
        };
        self.jump_value(done, m);
        self.b.switch_to_block(done);
        res
    }

    fn contains(&mut self, x: &Expr, c: &Expr) -> R<Jv> {
        let xv = self.expr(x)?;
        let tx = x.ty.unopt();
        // `x in [a, b]`: the items one by one, no list built.
        if let ExprKind::List(items) = &c.kind {
            let mut vals = Vec::with_capacity(items.len());
            for it in items {
                vals.push((self.expr(it)?, it.ty.clone()));
            }
            self.need(xv, &x.ty);
            let mut acc = self.b.ins().iconst(I8, 0);
            for (v, t) in vals {
                let eq = self.equal_elem(xv, tx, v, &t)?;
                acc = self.b.ins().bor(acc, eq);
            }
            return Ok(self.bool_jv(acc));
        }
        if let (ExprKind::Const(V::List(items)), Ty::List(el)) = (&c.kind, c.ty.unopt())
            && let Some(consts) = items
                .iter()
                .map(|v| self.scalar_const(v))
                .collect::<Option<Vec<_>>>()
        {
            self.need(xv, &x.ty);
            let mut acc = self.b.ins().iconst(I8, 0);
            for (tag, bits) in consts {
                let v = self.jv(tag, bits);
                let eq = self.equal(xv, tx, v, el.unopt())?;
                acc = self.b.ins().bor(acc, eq);
            }
            return Ok(self.bool_jv(acc));
        }
        let cv = self.expr(c)?;
        self.need(xv, &x.ty);
        self.need(cv, &c.ty);
        match c.ty.unopt() {
            Ty::List(el) => {
                let el = (**el).clone();
                let len = self.b.ins().ushr_imm_s(cv.tag, 1);
                let ptr = self.addr_of(cv.bits);
                self.quantify(QuantKind::Any, len, |cg, j| {
                    let off = cg.b.ins().ishl_imm_s(j, 4);
                    let at = cg.b.ins().iadd(ptr, off);
                    let item = cg.load_cell(at, 0);
                    let eq = cg.equal_elem(xv, tx, item, &el)?;
                    Ok(cg.bool_jv(eq))
                })
            }
            Ty::Empty => Ok(self.jv(PRESENT, 0)),
            Ty::Map(_) if *tx == Ty::Str => Ok(self.map_find(cv, xv.bits, false)),
            t => unsupported(format!("`in` on {t:?}")),
        }
    }

    /// A scalar constant as (tag, bits), interning as needed.
    fn scalar_const(&mut self, v: &V) -> Option<(u64, i64)> {
        let c = &mut self.tables.constants;
        Some(match v {
            V::Bool(b) => (PRESENT, i64::from(*b)),
            V::Int(i) => (INT, *i),
            V::Float(f) => (FLOAT, f.to_bits() as i64),
            V::Str(s) => (PRESENT, i64::from(c.str_id(s))),
            V::Time(t) | V::Dur(t) => (PRESENT, *t),
            V::Ip(ip) => (PRESENT, i64::from(c.ip_id(*ip))),
            V::Cidr(n) => (PRESENT, i64::from(c.cidr_id(*n))),
            _ => return None,
        })
    }

    /// A quantifier's loop over `len` elements; `body(cg, j)` evaluates
    /// the body on element `j` and gives its (bool) value.
    fn quantify(
        &mut self,
        kind: QuantKind,
        len: Value,
        mut body: impl FnMut(&mut Self, Value) -> R<Jv>,
    ) -> R<Jv> {
        let (done, res) = self.value_block();
        let header = self.b.create_block();
        let j = self.b.append_block_param(header, I64);
        let count = self.b.append_block_param(header, I64);
        let blk = self.b.create_block();
        let exhausted = self.b.create_block();
        let zero = self.iconst(0);
        self.b.ins().jump(header, &block_args(&[zero, zero]));
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, j, len);
        self.b.ins().brif(more, blk, &[], exhausted, &[]);
        self.b.switch_to_block(blk);
        let v = body(self, j)?;
        self.need_present(v);
        let j1 = self.b.ins().iadd_imm_s(j, 1);
        let p = self.iconst(PRESENT as i64);
        match kind {
            QuantKind::Any | QuantKind::None => {
                let decided = if kind == QuantKind::Any { 1 } else { 0 };
                let r = self.iconst(decided);
                self.b.ins().brif(
                    v.bits,
                    done,
                    &block_args(&[p, r]),
                    header,
                    &block_args(&[j1, count]),
                );
            }
            QuantKind::All => {
                let r = self.iconst(0);
                self.b.ins().brif(
                    v.bits,
                    header,
                    &block_args(&[j1, count]),
                    done,
                    &block_args(&[p, r]),
                );
            }
            QuantKind::Count => {
                let c1 = self.b.ins().iadd(count, v.bits);
                self.b.ins().jump(header, &block_args(&[j1, c1]));
            }
        }
        self.b.switch_to_block(exhausted);
        let r = match kind {
            QuantKind::Any => self.jv(PRESENT, 0),
            QuantKind::All | QuantKind::None => self.jv(PRESENT, 1),
            QuantKind::Count => Jv {
                tag: self.iconst(INT as i64),
                bits: count,
            },
        };
        self.jump_value(done, r);
        self.b.switch_to_block(done);
        Ok(res)
    }

    fn quant_type(
        &mut self,
        kind: QuantKind,
        slot: u32,
        rtype: pac_compiler::types::RecordId,
        probe: Option<&pac_compiler::ir::Probe>,
        body: &Expr,
    ) -> R<Jv> {
        let Some(def) = self.schemas.records.get(rtype.0 as usize) else {
            return unsupported("a quantifier over an unknown type");
        };
        let (rows_blk, rows) = self.value_block();
        let scan = self.b.create_block();
        match probe.filter(|_| kind != QuantKind::All) {
            Some(p) => {
                let Some(field) = def.fields.get(p.field as usize) else {
                    return unsupported("a probe on an unknown field");
                };
                let site = self.tables.probes.len();
                self.tables.probes.push(ProbeSite {
                    rtype,
                    field: p.field,
                    field_ty: field.ty.clone(),
                    key_ty: p.key.ty.clone(),
                });
                // The interpreter scans when the key cannot be evaluated.
                let saved = self.err;
                self.err = scan;
                let key = self.expr(&p.key)?;
                self.err = saved;
                let out = self.stack_cells(1);
                let s = self.iconst(site as i64);
                let f = self.refs.probe;
                let st = self.call1(f, &[self.ctx, s, key.tag, key.bits, out]);
                let probed = self.b.create_block();
                self.b.ins().brif(st, probed, &[], scan, &[]);
                self.b.switch_to_block(probed);
                let ptr = self.b.ins().load(I64, mem(), out, 0);
                let len = self.b.ins().load(I64, mem(), out, 8);
                self.b.ins().jump(rows_blk, &block_args(&[ptr, len]));
            }
            None => {
                self.b.ins().jump(scan, &[]);
            }
        }
        self.b.switch_to_block(scan);
        let tr = self.b.ins().load(I64, mem(), self.ctx, CTX_TYPE_ROWS);
        let at = self.b.ins().iadd_imm_s(tr, 16 * i64::from(rtype.0));
        let ptr = self.b.ins().load(I64, mem(), at, 0);
        let len = self.b.ins().load(I64, mem(), at, 8);
        self.b.ins().jump(rows_blk, &block_args(&[ptr, len]));
        self.b.switch_to_block(rows_blk);
        let (ptr, len) = (rows.tag, rows.bits);
        let row_off = self.row_off;
        self.quantify(kind, len, |cg, j| {
            let o = cg.b.ins().ishl_imm_s(j, 3);
            let a = cg.b.ins().iadd(ptr, o);
            let idx = cg.b.ins().load(I64, mem(), a, 0);
            let o2 = cg.b.ins().ishl_imm_s(idx, 3);
            let a2 = cg.b.ins().iadd(row_off, o2);
            let rec = cg.b.ins().load(I64, mem(), a2, 0);
            let tag = cg.iconst(PRESENT as i64);
            cg.set_slot(slot, Jv { tag, bits: rec })?;
            cg.expr(body)
        })
    }

    fn call(&mut self, e: &Expr, builtin: &'static pac_stdlib::Builtin, args: &[Expr]) -> R<Jv> {
        if let Some(v) = self.fast_call(builtin.name, args)? {
            return Ok(v);
        }
        for a in args {
            if matches!(a.ty, Ty::Var | Ty::Error) && a.as_const().is_none() {
                return unsupported(format!("an argument of `{}` without a type", builtin.name));
            }
        }
        if matches!(e.ty, Ty::Var | Ty::Error) {
            return unsupported(format!("`{}` without a result type", builtin.name));
        }
        let mut site_args = Vec::with_capacity(args.len());
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            match a.as_const() {
                Some(v) => {
                    if self.coverage
                        && let V::Bool(b) = v
                    {
                        let jv = self.jv(PRESENT, i64::from(*b));
                        self.cover(a.id, jv);
                    }
                    site_args.push((a.ty.clone(), Some(v.clone())));
                    vals.push(None);
                }
                None => {
                    let v = self.expr(a)?;
                    site_args.push((a.ty.clone(), None));
                    vals.push(Some(v));
                }
            }
        }
        let site = self.tables.calls.len();
        let memo = site_args.len() <= 3
            && site_args
                .iter()
                .all(|(ty, c)| c.is_some() || crate::helpers::is_scalar(ty));
        self.tables.calls.push(CallSite {
            builtin,
            args: site_args,
            result: e.ty.clone(),
            memo,
        });
        let argp = self.stack_cells(args.len() as u32);
        for (k, v) in vals.into_iter().enumerate() {
            if let Some(v) = v {
                self.store_cell(argp, 16 * k as i32, v);
            }
        }
        let out = self.stack_cells(1);
        let s = self.iconst(site as i64);
        let f = self.refs.call;
        let st = self.call1(f, &[self.ctx, s, argp, out]);
        self.err_if(st);
        Ok(self.load_cell(out, 0))
    }

    /// Built-ins compiled inline or to a direct helper, where the argument
    /// types make the interpreter's result certain.
    fn fast_call(&mut self, name: &str, args: &[Expr]) -> R<Option<Jv>> {
        let tys: Vec<&Ty> = args.iter().map(|a| &a.ty).collect();
        match (name, tys.as_slice()) {
            ("starts_with" | "ends_with" | "contains", [Ty::Str, Ty::Str]) => {
                let s = self.expr(&args[0])?;
                let p = self.expr(&args[1])?;
                let which = match name {
                    "starts_with" => 0,
                    "ends_with" => 1,
                    _ => 2,
                };
                let w = self.iconst(which);
                let f = self.refs.str_test;
                let r = self.call1(f, &[self.ctx, w, s.bits, p.bits]);
                let bad = self.b.ins().icmp_imm_s(IntCC::Equal, r, 2);
                self.err_if(bad);
                Ok(Some(Jv {
                    tag: self.iconst(PRESENT as i64),
                    bits: r,
                }))
            }
            ("len", [Ty::Str]) => {
                let s = self.expr(&args[0])?;
                let f = self.refs.str_len;
                let r = self.call1(f, &[self.ctx, s.bits]);
                let bad = self.b.ins().icmp_imm_s(IntCC::Equal, r, -1);
                self.err_if(bad);
                Ok(Some(Jv {
                    tag: self.iconst(INT as i64),
                    bits: r,
                }))
            }
            ("len" | "is_empty", [Ty::List(_) | Ty::Map(_)]) => {
                let c = self.expr(&args[0])?;
                let n = self.b.ins().ushr_imm_s(c.tag, 1);
                if name == "len" {
                    Ok(Some(Jv {
                        tag: self.iconst(INT as i64),
                        bits: n,
                    }))
                } else {
                    let z = self.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                    Ok(Some(self.bool_jv(z)))
                }
            }
            ("older_than", [Ty::Time, Ty::Dur]) => {
                let t = self.expr(&args[0])?;
                let d = self.expr(&args[1])?;
                let now = self.b.ins().load(I64, mem(), self.ctx, CTX_NOW);
                let (age, of) = self.b.ins().ssub_overflow(now, t.bits);
                self.err_if(of);
                let r = self.b.ins().icmp(IntCC::SignedGreaterThan, age, d.bits);
                Ok(Some(self.bool_jv(r)))
            }
            ("in_days" | "in_hours", [Ty::Dur]) => {
                let d = self.expr(&args[0])?;
                let unit = if name == "in_days" { 86_400 } else { 3_600 };
                // div_euclid by a positive unit: round towards -inf.
                let q = self.b.ins().sdiv_imm_s(d.bits, unit);
                let r = self.b.ins().srem_imm_s(d.bits, unit);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                let negv = self.b.ins().uextend(I64, neg);
                let bits = self.b.ins().isub(q, negv);
                Ok(Some(Jv {
                    tag: self.iconst(INT as i64),
                    bits,
                }))
            }
            ("age", [Ty::Time]) => {
                let t = self.expr(&args[0])?;
                let now = self.b.ins().load(I64, mem(), self.ctx, CTX_NOW);
                let (d, of) = self.b.ins().ssub_overflow(now, t.bits);
                self.err_if(of);
                Ok(Some(Jv {
                    tag: self.iconst(PRESENT as i64),
                    bits: d,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Whether a `let`'s value may be computed at its first use instead of
/// where it is bound, with the same outcome on every resource: it cannot
/// fail (an error there would make the interpreter's outcome `error` even
/// when the value is never used). The slots it binds are saved and
/// restored around it at the use site (see `force_let`).
fn lazy_ok(e: &Expr) -> bool {
    let here = match &e.kind {
        ExprKind::Const(_)
        | ExprKind::Local(_)
        | ExprKind::Now
        | ExprKind::Field(..)
        | ExprKind::OptField(..)
        | ExprKind::Index(..)
        | ExprKind::Not(_)
        | ExprKind::And(..)
        | ExprKind::Or(..)
        | ExprKind::Cmp(..)
        | ExprKind::In(..)
        | ExprKind::Coalesce(..)
        | ExprKind::Has(_)
        | ExprKind::If(..)
        | ExprKind::List(_)
        | ExprKind::Let(..)
        | ExprKind::Quant { .. } => true,
        // Checked arithmetic fails on overflow; a scan of another type may
        // meet a resource the interpreter's scan errors on.
        ExprKind::Neg(_) | ExprKind::Arith(..) | ExprKind::QuantType { .. } => false,
        ExprKind::Call { builtin, args, .. } => {
            let nonempty_const = |i: usize| matches!(args.get(i).and_then(Expr::as_const), Some(V::Str(s)) if !s.is_empty());
            match builtin.name {
                // Errors only on an empty separator / search string.
                "split" | "replace" => nonempty_const(1),
                // Cannot fail on arguments of their declared types.
                "to_string" | "lower" | "upper" | "trim" | "starts_with" | "ends_with" | "join"
                | "parse_time" | "len" | "is_empty" | "contains" | "contains_all"
                | "contains_any" | "intersection" | "difference" | "distinct" | "keys"
                | "values" | "has_key" | "missing_keys" | "in_days" | "in_hours" => true,
                _ => false,
            }
        }
    };
    here && e.children().into_iter().all(lazy_ok)
}

/// The value of a list literal whose items are all constants.
fn const_list(items: &[Expr]) -> Option<V> {
    let vals: Option<Vec<V>> = items.iter().map(|e| e.as_const().cloned()).collect();
    vals.map(|v| V::List(std::sync::Arc::from(v)))
}

/// Whether a compound constant can be laid out as a value of `ty`.
fn fits(schemas: &Schemas, ty: &Ty, v: &V) -> bool {
    match (ty, v) {
        (Ty::Opt(_), V::Missing) => true,
        (Ty::Opt(t), v) => fits(schemas, t, v),
        (Ty::Bool, V::Bool(_))
        | (Ty::Int, V::Int(_))
        | (Ty::Float, V::Int(_) | V::Float(_))
        | (Ty::Str, V::Str(_))
        | (Ty::Time, V::Time(_))
        | (Ty::Dur, V::Dur(_))
        | (Ty::Ip, V::Ip(_))
        | (Ty::Cidr, V::Cidr(_)) => true,
        (Ty::List(t), V::List(xs)) => xs.iter().all(|x| fits(schemas, t, x)),
        (Ty::Empty, V::List(xs)) => xs.is_empty(),
        (Ty::Map(t), V::Map(m)) => m.values().all(|x| fits(schemas, t, x)),
        (Ty::Record(r), V::Record(fs)) => schemas.records.get(r.0 as usize).is_some_and(|d| {
            d.fields.len() == fs.len()
                && d.fields
                    .iter()
                    .zip(fs.iter())
                    .all(|(f, x)| fits(schemas, &f.ty, x))
        }),
        _ => false,
    }
}
