//! The Rust functions the generated code calls (`extern "C"`), and the
//! context they share with it.
//!
//! Every helper takes the run's [`JitCtx`] first. Helpers never panic into
//! the generated code: built-ins run under `catch_unwind`, and every id or
//! offset read from a cell is checked (an unknown one is an evaluation
//! error, status 1), so a helper cannot be made to read outside the layout.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pac_compiler::types::Ty;
use pac_runtime::Coverage;
use pac_stdlib::{Ctx, Value};
use rustc_hash::FxHashMap;

use crate::engine::{CallSite, Prepared, jit_key};
use crate::layout::{Cell, CellSink, Cells, Layout, RowsRef, Scratch, SharedIntern, write_value};

/// What the generated code reads, at fixed offsets (see `codegen`).
#[repr(C)]
pub struct JitCtx {
    /// 0: the arena's first cell.
    pub base: *const Cell,
    /// 8: the byte offset of each inventory resource's record.
    pub row_off: *const u64,
    /// 16: per record type, its rows (inventory indices).
    pub type_rows: *const RowsRef,
    /// 24: the cells of the compound constants.
    pub consts: *const Cell,
    /// 32: the evaluation clock.
    pub now: i64,
    /// 40: the [`RunCtx`], for helpers only.
    pub run: *const RunCtx<'static>,
}

pub(crate) const CTX_BASE: i32 = 0;
pub(crate) const CTX_ROW_OFF: i32 = 8;
pub(crate) const CTX_TYPE_ROWS: i32 = 16;
pub(crate) const CTX_CONSTS: i32 = 24;
pub(crate) const CTX_NOW: i32 = 32;

/// One run of generated code over a batch of rows: the prepared engine,
/// scratch cells for values built during the run, and the coverage to
/// record into.
pub struct RunCtx<'a> {
    pub(crate) prepared: &'a Prepared<'a>,
    pub(crate) scratch: RefCell<Scratch>,
    /// Results of memoised built-in calls (see [`memo_key`]): `None` for
    /// an evaluation error.
    pub(crate) memo: RefCell<FxHashMap<MemoKey, Option<Cell>>>,
    pub(crate) coverage: Option<&'a Coverage>,
    pub(crate) now: i64,
}

impl RunCtx<'_> {
    fn layout(&self) -> &Layout {
        &self.prepared.layout
    }
}

/// # Safety
/// `ctx` must be the pointer the engine passed to the generated function
/// that is calling this helper: it and its `run` live for the whole call.
unsafe fn run<'a>(ctx: *const JitCtx) -> &'a RunCtx<'a> {
    // SAFETY: per the function's contract, `ctx` points to a live JitCtx
    // whose `run` points to a live RunCtx (both on the caller's stack).
    unsafe { &*(*ctx).run }
}

fn read(run: &RunCtx, ty: &Ty, c: Cell) -> Option<Value> {
    let scratch = run.scratch.borrow();
    let cells = Cells {
        layout: run.layout(),
        scratch: &scratch,
    };
    crate::layout::read_value(run.layout(), &cells, ty, c)
}

fn write(run: &RunCtx, ty: &Ty, v: &Value) -> Option<Cell> {
    let layout = run.layout();
    let mut scratch = run.scratch.borrow_mut();
    let mut int = SharedIntern(layout);
    write_value(&layout.schemas, &mut *scratch, &mut int, ty, v).ok()
}

/// Calls built-in call site `site` on `args` (one cell per argument);
/// writes the result to `out`. 0: done; 1: an evaluation error.
pub(crate) extern "C" fn pac_call(
    ctx: *const JitCtx,
    site: u64,
    args: *const Cell,
    out: *mut Cell,
) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let Some(call) = run.prepared.engine.tables.calls.get(site as usize) else {
        return 1;
    };
    // A built-in is a pure function of its arguments (and the clock, fixed
    // for the run): where they are all scalars, the cells are the values
    // (strings by interned id) and a result computed once serves every row
    // with the same arguments — instance types, transition reasons and
    // other low-cardinality strings repeat across thousands of resources.
    let key = call.memo.then(|| memo_key(site, call, args));
    if let Some(key) = &key
        && let Some(hit) = run.memo.borrow().get(key)
    {
        return match hit {
            Some(c) => {
                // SAFETY: `out` is a one-cell stack slot of the generated code.
                unsafe { *out = *c };
                0
            }
            None => 1,
        };
    }
    let result = call_site(run, call, args, key.is_some());
    if let Some(key) = key {
        let mut memo = run.memo.borrow_mut();
        if memo.len() < MEMO_LIMIT {
            memo.insert(key, result);
        }
    }
    match result {
        Some(c) => {
            // SAFETY: as above.
            unsafe { *out = c };
            0
        }
        None => 1,
    }
}

/// Memoised results kept per run, at most (then calls are just made).
const MEMO_LIMIT: usize = 1 << 16;

/// A memoised call: the site and up to three argument cells.
pub(crate) type MemoKey = (u64, [Cell; 3]);

/// Whether a value of `ty` is wholly in its cell (no offsets into cells
/// that a batch's scratch reuses).
pub(crate) fn is_scalar(ty: &Ty) -> bool {
    match ty {
        Ty::Opt(t) => is_scalar(t),
        Ty::Bool | Ty::Int | Ty::Float | Ty::Str | Ty::Time | Ty::Dur | Ty::Ip | Ty::Cidr => true,
        _ => false,
    }
}

fn memo_key(site: u64, call: &CallSite, args: *const Cell) -> MemoKey {
    let mut cells = [Cell::ZERO; 3];
    for (k, (_, constant)) in call.args.iter().enumerate().take(3) {
        if constant.is_none() {
            // SAFETY: the generated code passes one cell per argument.
            cells[k] = unsafe { *args.add(k) };
        }
    }
    (site, cells)
}

/// Calls a built-in on the argument cells; the result's cell, or `None`
/// for an evaluation error. `pinned`: the result must outlive the batch.
fn call_site(run: &RunCtx, site: &CallSite, args: *const Cell, pinned: bool) -> Option<Cell> {
    let mut vals = Vec::with_capacity(site.args.len());
    for (k, (ty, constant)) in site.args.iter().enumerate() {
        let v = match constant {
            Some(v) => v.clone(),
            None => {
                // SAFETY: the generated code passes a stack array of one
                // cell per argument of this site.
                let c = unsafe { *args.add(k) };
                read(run, ty, c)?
            }
        };
        vals.push(v);
    }
    let bctx = Ctx { now: run.now };
    let imp = site.builtin.imp;
    let result = match catch_unwind(AssertUnwindSafe(|| imp(&vals, &bctx))) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) | Err(_) => return None,
    };
    if pinned {
        run.scratch.borrow_mut().pinning = true;
    }
    let c = write(run, &site.result, &result);
    run.scratch.borrow_mut().pinning = false;
    c
}

/// Reserves `n` zero cells in the run's scratch; returns their byte offset.
pub(crate) extern "C" fn pac_alloc(ctx: *const JitCtx, n: u64) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let mut scratch = run.scratch.borrow_mut();
    let at = scratch.alloc(n as usize);
    scratch.offset(at)
}

/// `a + b` on strings: writes the id of the result to `out`. 0: done.
pub(crate) extern "C" fn pac_concat(ctx: *const JitCtx, a: u64, b: u64, out: *mut u64) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let strs = &run.layout().strs;
    let (Some(x), Some(y)) = (strs.get(a), strs.get(b)) else {
        return 1;
    };
    let mut s = String::with_capacity(x.len() + y.len());
    s.push_str(&x);
    s.push_str(&y);
    let id = strs.intern_shared_str(&s);
    // SAFETY: `out` is an 8-byte stack slot of the generated code.
    unsafe { *out = u64::from(id) };
    0
}

/// Orders two strings: 0 less, 1 equal, 2 greater, 3 error.
pub(crate) extern "C" fn pac_str_cmp(ctx: *const JitCtx, a: u64, b: u64) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let strs = &run.layout().strs;
    let ord = match (strs.base_get(a), strs.base_get(b)) {
        (Some(x), Some(y)) => x.cmp(y),
        _ => match (strs.get(a), strs.get(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => return 3,
        },
    };
    match ord {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Greater => 2,
    }
}

/// Structural `==` of two values of the types of equality site `site`:
/// 0 unequal, 1 equal, 2 error.
pub(crate) extern "C" fn pac_eq(
    ctx: *const JitCtx,
    site: u64,
    a: *const Cell,
    b: *const Cell,
) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let Some((ta, tb)) = run.prepared.engine.tables.eqs.get(site as usize) else {
        return 2;
    };
    // SAFETY: `a` and `b` are one-cell stack slots of the generated code.
    let (ca, cb) = unsafe { (*a, *b) };
    match (read(run, ta, ca), read(run, tb, cb)) {
        (Some(x), Some(y)) => u64::from(x == y),
        _ => 2,
    }
}

/// Candidates of probe site `site` for a key: writes their rows to `out`
/// and returns 1; returns 0 when the key cannot be probed (the code scans).
pub(crate) extern "C" fn pac_probe(
    ctx: *const JitCtx,
    site: u64,
    key_tag: u64,
    key_bits: u64,
    out: *mut RowsRef,
) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let prepared = run.prepared;
    let Some(probe) = prepared.engine.tables.probes.get(site as usize) else {
        return 0;
    };
    let Some(key) = jit_key(
        &probe.key_ty,
        Cell {
            tag: key_tag,
            bits: key_bits,
        },
    ) else {
        return 0;
    };
    let rows = prepared.candidates(site as usize, key);
    // SAFETY: `out` is a RowsRef-sized stack slot of the generated code.
    unsafe { *out = rows };
    1
}

/// `a % b` on floats (Rust's `%`, as the interpreter computes it).
pub(crate) extern "C" fn pac_fmod(a: f64, b: f64) -> f64 {
    a % b
}

/// Records a boolean node's outcome into the run's coverage.
pub(crate) extern "C" fn pac_cover(ctx: *const JitCtx, node: u64, b: u64) {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    if let Some(cov) = run.coverage {
        cov.record(node as u32, b != 0);
    }
}

/// `starts_with(s, p)`, `ends_with(s, p)`, `contains(s, p)` on interned
/// strings (`which` 0, 1, 2): 0 false, 1 true, 2 error.
pub(crate) extern "C" fn pac_str_test(ctx: *const JitCtx, which: u64, s: u64, p: u64) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let strs = &run.layout().strs;
    let test = |x: &str, y: &str| match which {
        0 => x.starts_with(y),
        1 => x.ends_with(y),
        _ => x.contains(y),
    };
    match (strs.base_get(s), strs.base_get(p)) {
        (Some(x), Some(y)) => u64::from(test(x, y)),
        _ => match (strs.get(s), strs.get(p)) {
            (Some(x), Some(y)) => u64::from(test(&x, &y)),
            _ => 2,
        },
    }
}

/// `len(s)` on an interned string (characters); `u64::MAX` for an error.
pub(crate) extern "C" fn pac_str_len(ctx: *const JitCtx, s: u64) -> u64 {
    // SAFETY: called by generated code with its own context.
    let run = unsafe { run(ctx) };
    let strs = &run.layout().strs;
    match strs.base_get(s) {
        Some(x) => x.chars().count() as u64,
        None => strs.get(s).map_or(u64::MAX, |x| x.chars().count() as u64),
    }
}

/// The helpers by symbol name, for `JITBuilder::symbol`.
pub(crate) fn symbols() -> Vec<(&'static str, *const u8)> {
    vec![
        ("pac_call", pac_call as *const u8),
        ("pac_alloc", pac_alloc as *const u8),
        ("pac_concat", pac_concat as *const u8),
        ("pac_str_cmp", pac_str_cmp as *const u8),
        ("pac_eq", pac_eq as *const u8),
        ("pac_probe", pac_probe as *const u8),
        ("pac_fmod", pac_fmod as *const u8),
        ("pac_cover", pac_cover as *const u8),
        ("pac_str_test", pac_str_test as *const u8),
        ("pac_str_len", pac_str_len as *const u8),
    ]
}
