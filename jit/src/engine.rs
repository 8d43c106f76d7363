//! Compiling a program's rules to native functions, preparing them for an
//! inventory, and running them.
//!
//! [`Engine::compile`] generates one function per rule (or records why the
//! rule stays with the interpreter); [`Engine::prepare`] builds the typed
//! layout of an inventory ([`crate::layout`]) and gives a [`Prepared`]
//! engine, which implements the runtime's [`RuleEngine`]. A rule function
//! has the signature
//!
//! ```text
//! extern "C" fn(ctx: *const JitCtx, rows: *const u32, n: u64, out: *mut u8)
//! ```
//!
//! and writes one byte per row: [`OUT_PASS`], [`OUT_FAIL`] or
//! [`OUT_ERROR`]. The runtime calls it on batches of rows of the rule's
//! resource type, in parallel; each call has its own scratch cells.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module, default_libcall_names};
use pac_compiler::ir::Program;
use pac_compiler::types::{RecordId, Schemas, Ty};
use pac_runtime::{Env, Inventory, PrepareEngine, RawOutcome, RuleEngine};
use pac_stdlib::{Builtin, Value};
use rustc_hash::FxHashMap;

use crate::codegen;
use crate::helpers::{JitCtx, RunCtx};
use crate::layout::{Cell, Constants, INT, Layout, LayoutBuilder, RowsRef, Scratch, Wanted};

/// Output byte of a row whose condition is false.
pub const OUT_PASS: u8 = 0;
/// Output byte of a row whose condition is true.
pub const OUT_FAIL: u8 = 1;
/// Output byte of a row whose condition could not be evaluated.
pub const OUT_ERROR: u8 = 2;

/// The signature of a compiled rule.
pub type RuleFn = unsafe extern "C" fn(*const JitCtx, *const u32, u64, *mut u8);

/// A built-in call the generated code makes through `pac_call`.
pub(crate) struct CallSite {
    pub builtin: &'static Builtin,
    /// Per argument: its static type, and its value when constant (passed
    /// as is, e.g. a precompiled regex, instead of through a cell).
    pub args: Vec<(Ty, Option<Value>)>,
    pub result: Ty,
    /// Results are memoised per run: every non-constant argument is a
    /// scalar (its cell is its value) and there are at most three.
    pub memo: bool,
}

/// A cross-resource probe: candidates of `rtype` whose field `field`
/// equals a key of static type `key_ty`.
pub(crate) struct ProbeSite {
    pub rtype: RecordId,
    pub field: u32,
    pub field_ty: Ty,
    pub key_ty: Ty,
}

/// The engine-wide tables the generated code refers to by index.
#[derive(Default)]
pub(crate) struct Tables {
    pub constants: Constants,
    /// Where the fields of resource records sit (`Layout::slots`).
    pub slots: crate::layout::Slots,
    pub calls: Vec<CallSite>,
    /// Operand types of structural equalities (`pac_eq`).
    pub eqs: Vec<(Ty, Ty)>,
    pub probes: Vec<ProbeSite>,
}

/// How to compile.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    /// Record which outcomes each boolean node produces (as the interpreter
    /// does for `pacc test --coverage`); slower code.
    pub coverage: bool,
    /// Also compile the values of rule messages that read more than the
    /// resource's fields (`let`s, expressions), for
    /// [`RuleEngine::messages`]; not with `coverage`.
    pub messages: bool,
}

struct Module_(JITModule);

/// A rule's message compiled: its values computed by native code, the
/// text around them kept to format them into.
struct CompiledMessage {
    compiled: Compiled,
    parts: Vec<MessagePiece>,
    /// The number of values per row (after the status cell).
    values: usize,
}

/// A piece of a compiled message.
enum MessagePiece {
    Text(String),
    /// `id`, `account` or `region`, from the resource itself.
    Implicit(usize),
    /// Value `k` of the row, of this type.
    Value(usize, Ty),
}

/// A program's rules compiled to native code.
pub struct Engine {
    module: Mutex<Option<Module_>>,
    /// Per rule: the function, or why it is interpreted.
    funcs: Vec<Compiled>,
    /// Per group, per member clause with a condition: the same.
    groups: Vec<Vec<Option<Compiled>>>,
    /// Per rule, its compiled message (see [`CompileOptions::messages`]).
    messages: Vec<Option<CompiledMessage>>,
    pub(crate) tables: Tables,
    schemas: Arc<Schemas>,
    coverage: bool,
    /// The types and fields the layout holds: what the program reads.
    wanted: Wanted,
}

/// One compiled condition: the function (or why it is interpreted), its
/// resource type, and every type whose rows it reads.
struct Compiled {
    func: Result<RuleFn, String>,
    rtype: RecordId,
    types: Vec<RecordId>,
}

/// The types a condition (or message values) over `rtype` reads rows of.
fn types_read(rtype: RecordId, cond: &codegen::Cond) -> Vec<RecordId> {
    let mut types = vec![rtype];
    let mut exprs = vec![cond.cond];
    if let Some(m) = &cond.message {
        exprs.extend(m.lets.iter().map(|(_, e)| *e));
        exprs.extend(m.values.iter().copied());
    }
    for x in exprs {
        x.walk(&mut |e| {
            if let pac_compiler::ir::ExprKind::QuantType { rtype, .. } = &e.kind
                && !types.contains(rtype)
            {
                types.push(*rtype);
            }
        });
    }
    types
}

/// What rule `r`'s message compiles to: the values to compute (every
/// expression but the resource's implicit fields) and the pieces to
/// format; `None` when native code would not help (no message, or one of
/// text and the resource's fields only, which the runtime formats as is).
fn message_values(
    r: &pac_compiler::ir::Rule,
) -> Option<(codegen::MessageValues<'_>, Vec<MessagePiece>)> {
    use pac_compiler::ir::MessagePart;
    let plain = |p: &MessagePart| match p {
        MessagePart::Expr(e) => e.resource_field().is_some(),
        MessagePart::Text(_) => true,
    };
    if r.message.is_empty() || (r.message_lets.is_empty() && r.message.iter().all(plain)) {
        return None;
    }
    let mut values = Vec::new();
    let mut pieces = Vec::new();
    for part in &r.message {
        pieces.push(match part {
            MessagePart::Text(t) => MessagePiece::Text(t.clone()),
            MessagePart::Expr(e) => match e.resource_field() {
                Some(k) if (k as usize) < pac_compiler::types::IMPLICIT_FIELDS.len() => {
                    MessagePiece::Implicit(k as usize)
                }
                _ => {
                    values.push(e);
                    MessagePiece::Value(values.len() - 1, e.ty.clone())
                }
            },
        });
    }
    let mut lets = pac_compiler::reads::let_chain(&r.cond);
    lets.extend(r.message_lets.iter().map(|(s, e)| (*s, e)));
    Some((codegen::MessageValues { lets, values }, pieces))
}

impl Drop for Engine {
    fn drop(&mut self) {
        let module = match self.module.get_mut() {
            Ok(m) => m.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(Module_(m)) = module {
            // SAFETY: the functions of this module are only reachable
            // through `self.funcs` and the `Prepared` engines that borrow
            // `self`, so none can run any more.
            unsafe { m.free_memory() };
        }
    }
}

fn new_module() -> Result<JITModule, String> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v).map_err(|e| format!("cranelift flag {k}: {e}"))
    };
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "opt_level", "speed")?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("this machine is not supported by Cranelift: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("cranelift: {e}"))?;
    let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
    for (name, ptr) in crate::helpers::symbols() {
        builder.symbol(name, ptr);
    }
    Ok(JITModule::new(builder))
}

impl Engine {
    /// Compiles every rule of `program`.
    pub fn compile(program: &Program) -> Engine {
        Engine::compile_with(program, CompileOptions::default())
    }

    pub fn compile_with(program: &Program, opts: CompileOptions) -> Engine {
        // `id`, `account` and `region` only where the code reads them:
        // `resource_field` has them from the resource (`id` alone is a
        // distinct string per resource to intern).
        let wanted =
            Wanted::of(program).without_implicit_except(&pac_compiler::reads::code_fields(program));
        let mut tables = Tables {
            slots: crate::layout::Slots::of(&program.schemas, Some(&wanted)),
            ..Tables::default()
        };
        // Every condition to compile: rules, then group member clauses.
        let mut conds = Vec::new();
        for (i, r) in program.rules.iter().enumerate() {
            conds.push((
                r.resource,
                codegen::Cond {
                    cond: &r.cond,
                    slots: r.slots,
                    name: format!("rule_{i}"),
                    message: None,
                },
            ));
        }
        for (g, group) in program.groups.iter().enumerate() {
            for (m, member) in group.members.iter().enumerate() {
                if let Some(cond) = &member.cond {
                    conds.push((
                        member.resource,
                        codegen::Cond {
                            cond,
                            slots: group.slots,
                            name: format!("group_{g}_{m}"),
                            message: None,
                        },
                    ));
                }
            }
        }
        // Then the messages worth compiling, by rule.
        let mut pieces: Vec<Option<(Vec<MessagePiece>, usize)>> = Vec::new();
        for (i, r) in program.rules.iter().enumerate() {
            let m = (opts.messages && !opts.coverage)
                .then(|| message_values(r))
                .flatten();
            pieces.push(m.map(|(values, p)| {
                let n = values.values.len();
                conds.push((
                    r.resource,
                    codegen::Cond {
                        cond: &r.cond,
                        slots: r.slots,
                        name: format!("message_{i}"),
                        message: Some(values),
                    },
                ));
                (p, n)
            }));
        }
        let mut module = new_module();
        let mut ids: Vec<Result<FuncId, String>> = Vec::with_capacity(conds.len());
        if let Ok(module) = &mut module {
            let helpers = codegen::declare_helpers(module);
            let mut ctx = module.make_context();
            let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
            for (_, cond) in &conds {
                let r = match &helpers {
                    Ok(h) => codegen::compile_cond(
                        module,
                        &mut ctx,
                        &mut fctx,
                        h,
                        &mut tables,
                        program,
                        cond,
                        opts.coverage,
                    ),
                    Err(e) => Err(e.clone()),
                };
                module.clear_context(&mut ctx);
                if r.is_err() {
                    // A builder abandoned half way leaves its context dirty.
                    fctx = cranelift_frontend::FunctionBuilderContext::new();
                }
                ids.push(r);
            }
        }
        let finalized = match &mut module {
            Ok(m) => m
                .finalize_definitions()
                .map_err(|e| format!("cranelift: {e}")),
            Err(e) => Err(e.clone()),
        };
        let mut compiled = conds.iter().enumerate().map(|(k, (rtype, cond))| {
            let func = match (&module, &finalized, ids.get(k)) {
                (Ok(m), Ok(()), Some(Ok(id))) => {
                    let ptr = m.get_finalized_function(*id);
                    // SAFETY: `id` was defined by `codegen::compile_cond`
                    // with exactly the signature of `RuleFn`.
                    Ok(unsafe { std::mem::transmute::<*const u8, RuleFn>(ptr) })
                }
                (_, _, Some(Err(e))) => Err(e.clone()),
                (_, Err(e), _) | (Err(e), _, _) => Err(e.clone()),
                (_, _, None) => Err("not compiled".to_string()),
            };
            Compiled {
                func,
                rtype: *rtype,
                types: types_read(*rtype, cond),
            }
        });
        let funcs: Vec<Compiled> = compiled.by_ref().take(program.rules.len()).collect();
        let groups = program
            .groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .map(|m| m.cond.as_ref().and_then(|_| compiled.next()))
                    .collect()
            })
            .collect();
        let messages = pieces
            .into_iter()
            .map(|p| {
                let (parts, values) = p?;
                let compiled = compiled.next()?;
                // Not compiled: the interpreter renders it.
                compiled.func.is_ok().then_some(CompiledMessage {
                    compiled,
                    parts,
                    values,
                })
            })
            .collect();
        Engine {
            module: Mutex::new(module.ok().map(Module_)),
            funcs,
            groups,
            messages,
            tables,
            schemas: program.schemas.clone(),
            coverage: opts.coverage,
            wanted,
        }
    }

    /// The rules left to the interpreter, with the reason (rule index,
    /// reason), in rule order.
    pub fn fallbacks(&self) -> Vec<(usize, String)> {
        self.funcs
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.func.as_ref().err().map(|e| (i, e.clone())))
            .collect()
    }

    /// The asset group conditions left to the interpreter: (group index,
    /// member clause index, reason).
    pub fn group_fallbacks(&self) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        for (g, members) in self.groups.iter().enumerate() {
            for (m, c) in members.iter().enumerate() {
                if let Some(Err(e)) = c.as_ref().map(|c| &c.func) {
                    out.push((g, m, e.clone()));
                }
            }
        }
        out
    }

    /// How many rule messages were compiled to native code.
    pub fn compiled_messages(&self) -> usize {
        self.messages.iter().flatten().count()
    }

    /// Whether rule `rule` runs as native code.
    pub fn is_compiled(&self, rule: usize) -> bool {
        self.funcs.get(rule).is_some_and(|f| f.func.is_ok())
    }

    /// Builds the layout of `inv` (the part of evaluation that reads the
    /// data) and returns the engine ready to evaluate over it.
    pub fn prepare<'e>(&'e self, inv: &'e Inventory) -> Prepared<'e> {
        let layout = Layout::build_for(
            &self.schemas,
            &self.tables.constants,
            inv,
            Some(&self.wanted),
        );
        self.prepare_with(inv, layout)
    }

    /// The layout of `inv` made from `earlier`, the layout this engine
    /// built for an earlier inventory: resource `i` with
    /// `same_as[i] == Some(o)` (its document unchanged; `o` in the earlier
    /// inventory) keeps its record, and only the others are written, after
    /// the earlier records. A rescan that changed 1% of 100k resources
    /// lays out 1k instead of 100k (docs/server.md, "The layout kept").
    /// The records of resources that left or changed stay in the arena
    /// until they are as many as the live ones: the layout is then built
    /// anew, as it is for a layout of another engine.
    pub fn relayout(&self, earlier: Layout, inv: &Inventory, same_as: &[Option<usize>]) -> Layout {
        let fresh = (0..inv.len())
            .filter(|&i| same_as.get(i).copied().flatten().is_none())
            .count();
        let ours = Arc::ptr_eq(&earlier.schemas, &self.schemas)
            && earlier.consts.len() == self.tables.constants.compound.len()
            && earlier.row_types.len() == earlier.row_off.len();
        if !ours || earlier.written + fresh > 2 * inv.len() {
            drop(earlier);
            return Layout::build_for(
                &self.schemas,
                &self.tables.constants,
                inv,
                Some(&self.wanted),
            );
        }
        let (mut b, offsets, types) = LayoutBuilder::resume(earlier, Some(&self.wanted), inv.len());
        b.carry(inv, same_as, &offsets, &types);
        b.finish()
    }

    /// A layout of what this program reads, to be built block by block
    /// while the inventory is read (`hint`: resources expected), then
    /// given to [`Engine::prepare_with`].
    pub fn layout_builder(&self, hint: usize) -> LayoutBuilder {
        LayoutBuilder::new(
            &self.schemas,
            &self.tables.constants,
            Some(&self.wanted),
            hint,
        )
    }

    /// The engine ready to evaluate over `inv`, with `layout` built from
    /// it by [`Engine::layout_builder`] (every resource added, in order).
    /// Resources whose record was stripped are read back from the layout
    /// when the interpreter needs them (`RuleEngine::resource_value`).
    pub fn prepare_with<'e>(&'e self, inv: &'e Inventory, layout: Layout) -> Prepared<'e> {
        let rows_ref = layout
            .type_rows
            .iter()
            .map(|rows| RowsRef {
                ptr: rows.as_ptr(),
                len: rows.len() as u64,
            })
            .map(|r| RowsRefSync(r.ptr as usize, r.len))
            .collect();
        let probes = self.tables.probes.iter().map(|_| OnceLock::new()).collect();
        let row_types = inv.resources.iter().map(|r| r.rtype.0).collect();
        Prepared {
            engine: self,
            inv,
            layout,
            rows_ref,
            probes,
            row_types,
        }
    }
}

impl PrepareEngine for Engine {
    fn prepare_for<'a>(&'a self, inv: &'a Inventory) -> Box<dyn RuleEngine + 'a> {
        Box::new(self.prepare(inv))
    }
}

/// A [`RowsRef`] kept as plain integers (so that `Prepared` is `Sync`).
#[derive(Clone, Copy)]
struct RowsRefSync(usize, u64);

type Merged = Mutex<FxHashMap<(u8, u64), Arc<[u64]>>>;

/// The index of one probe site: candidates per key, in inventory order.
struct ProbeIndex {
    /// Each key's run of `rows`: (start, length).
    map: FxHashMap<(u8, u64), (u32, u32)>,
    /// The keyed rows, by key and then in inventory order: one list for
    /// the site, not one per key (a site keyed by a resource id has as
    /// many keys as rows).
    rows: Vec<u64>,
    /// Rows whose field has no key; candidates of every probe.
    unkeyed: Vec<u64>,
    /// Candidates merged with `unkeyed`, per key, built on first use and
    /// kept (the generated code holds pointers into them).
    merged: Merged,
}

/// The key of a cell of static type `ty`, as the runtime's `Key::of` gives
/// it for the value the cell holds (`None`: the value has no key).
pub(crate) fn jit_key(ty: &Ty, c: Cell) -> Option<(u8, u64)> {
    Some(match ty {
        Ty::Opt(t) => {
            if c.is_missing() {
                return None;
            }
            return jit_key(t, c);
        }
        Ty::Bool => (0, c.bits),
        Ty::Int => (1, c.bits),
        Ty::Float if c.tag == INT => (1, c.bits),
        Ty::Str => (2, c.bits),
        Ty::Time => (3, c.bits),
        Ty::Ip => (4, c.bits),
        Ty::Cidr => (5, c.bits),
        _ => return None,
    })
}

/// An engine ready to evaluate one inventory.
pub struct Prepared<'e> {
    pub(crate) engine: &'e Engine,
    inv: &'e Inventory,
    pub(crate) layout: Layout,
    rows_ref: Vec<RowsRefSync>,
    probes: Vec<OnceLock<ProbeIndex>>,
    /// Each resource's type, compact: checking a row's type must not touch
    /// the inventory's large `Resource` records (a cache miss per row).
    row_types: Vec<u32>,
}

/// Rows per call of a rule function (the scratch is cleared between calls).
const BATCH: usize = 256;

impl Prepared<'_> {
    /// The layout built for the inventory.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The layout, for [`Engine::relayout`] to carry over to a later
    /// inventory.
    pub fn into_layout(self) -> Layout {
        let mut layout = self.layout;
        layout.row_types = self.row_types;
        layout
    }

    fn index(&self, site: usize) -> &ProbeIndex {
        self.probes[site].get_or_init(|| {
            let p = &self.engine.tables.probes[site];
            let mut keyed: Vec<((u8, u64), u64)> = Vec::new();
            let mut unkeyed = Vec::new();
            let rows = self
                .layout
                .type_rows
                .get(p.rtype.0 as usize)
                .map_or(&[][..], Vec::as_slice);
            keyed.reserve(rows.len());
            for &i in rows {
                let off = self.layout.row_off[i as usize];
                let cell = (self.layout.slots.slot(p.rtype, p.field as usize))
                    .and_then(|slot| crate::layout::CellSource::cell(&self.layout, off, slot))
                    .unwrap_or(Cell::ZERO);
                // A missing value never equals a key (the runtime's
                // `FieldIndex::build` says why): not a candidate.
                if matches!(p.field_ty, Ty::Opt(_)) && cell.is_missing() {
                    continue;
                }
                match jit_key(&p.field_ty, cell) {
                    Some(k) => keyed.push((k, i)),
                    None => unkeyed.push(i),
                }
            }
            // Rows are distinct, so sorting the pairs puts each key's rows
            // in inventory order.
            keyed.sort_unstable();
            let keys = keyed.chunk_by(|a, b| a.0 == b.0).count();
            let mut map: FxHashMap<(u8, u64), (u32, u32)> =
                FxHashMap::with_capacity_and_hasher(keys, Default::default());
            let rows: Vec<u64> = keyed.iter().map(|&(_, i)| i).collect();
            let mut at = 0u32;
            for run in keyed.chunk_by(|a, b| a.0 == b.0) {
                map.insert(run[0].0, (at, run.len() as u32));
                at += run.len() as u32;
            }
            ProbeIndex {
                map,
                rows,
                unkeyed,
                merged: Mutex::new(FxHashMap::default()),
            }
        })
    }

    /// The candidate rows of probe `site` for `key`, in inventory order.
    pub(crate) fn candidates(&self, site: usize, key: (u8, u64)) -> RowsRef {
        let idx = self.index(site);
        let hits = (idx.map.get(&key))
            .and_then(|&(at, n)| idx.rows.get(at as usize..(at + n) as usize))
            .unwrap_or(&[]);
        if idx.unkeyed.is_empty() {
            return RowsRef {
                ptr: hits.as_ptr(),
                len: hits.len() as u64,
            };
        }
        let mut merged = match idx.merged.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let all = merged.entry(key).or_insert_with(|| {
            let mut all: Vec<u64> = hits.iter().chain(&idx.unkeyed).copied().collect();
            all.sort_unstable();
            Arc::from(all)
        });
        RowsRef {
            ptr: all.as_ptr(),
            len: all.len() as u64,
        }
    }

    /// Runs rule `rule` over `resources` (inventory indices of its type);
    /// `None` when it is interpreted. One byte per resource: [`OUT_PASS`],
    /// [`OUT_FAIL`] or [`OUT_ERROR`].
    pub fn run_rule(
        &self,
        rule: usize,
        resources: &[usize],
        now: i64,
        coverage: Option<&pac_runtime::Coverage>,
    ) -> Option<Vec<u8>> {
        self.run(self.engine.funcs.get(rule)?, resources, now, coverage)
    }

    /// Runs the condition of member clause `member` of group `group` over
    /// `resources`: [`OUT_FAIL`] where it holds, [`OUT_PASS`] where not.
    pub fn run_group(
        &self,
        group: usize,
        member: usize,
        resources: &[usize],
        now: i64,
        coverage: Option<&pac_runtime::Coverage>,
    ) -> Option<Vec<u8>> {
        let c = self.engine.groups.get(group)?.get(member)?.as_ref()?;
        self.run(c, resources, now, coverage)
    }

    fn run(
        &self,
        c: &Compiled,
        resources: &[usize],
        now: i64,
        coverage: Option<&pac_runtime::Coverage>,
    ) -> Option<Vec<u8>> {
        let mut out = vec![OUT_ERROR; resources.len()];
        self.run_batches(c, resources, now, coverage, |start, rows, f, ctx, _| {
            let dst = &mut out[start..start + rows.len()];
            // SAFETY: as `run_batches` says, with `dst` one byte per row.
            unsafe { f(ctx, rows.as_ptr(), rows.len() as u64, dst.as_mut_ptr()) };
        })?;
        Some(out)
    }

    /// Calls `each` on the rows of `resources` (checked to be of `c`'s
    /// type) a batch at a time, with the batch's first position, the
    /// function, the context to pass it and the run (whose scratch is
    /// cleared after each batch); `None` when `c` cannot run here.
    ///
    /// `each` must call the function only with the context and rows given
    /// and an output of the size the function writes for that many rows.
    fn run_batches(
        &self,
        c: &Compiled,
        resources: &[usize],
        now: i64,
        coverage: Option<&pac_runtime::Coverage>,
        mut each: impl FnMut(usize, &[u32], RuleFn, *const JitCtx, &RunCtx),
    ) -> Option<()> {
        let f = *c.func.as_ref().ok()?;
        if coverage.is_some() && !self.engine.coverage {
            return None;
        }
        if !c.types.iter().all(|t| self.layout.is_regular(*t)) {
            return None;
        }
        let mut rows = Vec::with_capacity(resources.len());
        for &r in resources {
            if *self.row_types.get(r)? != c.rtype.0 {
                return None;
            }
            rows.push(u32::try_from(r).ok()?);
        }
        let type_rows: Vec<RowsRef> = self
            .rows_ref
            .iter()
            .map(|r| RowsRef {
                ptr: r.0 as *const u64,
                len: r.1,
            })
            .collect();
        let run = RunCtx {
            prepared: self,
            scratch: RefCell::new(Scratch::new(&self.layout)),
            memo: RefCell::new(FxHashMap::default()),
            coverage,
            now,
        };
        let ctx = JitCtx {
            base: self.layout.arena.as_ptr(),
            row_off: self.layout.row_off.as_ptr(),
            type_rows: type_rows.as_ptr(),
            consts: self.layout.consts.as_ptr(),
            now,
            run: (&run as *const RunCtx<'_>).cast(),
        };
        for (k, chunk) in rows.chunks(BATCH).enumerate() {
            // `f` was generated for this engine's tables; `ctx` describes
            // this layout (arena, row offsets, rows per type, constants)
            // and a live RunCtx; `chunk` holds inventory indices of the
            // function's type, each checked above to be in range. The
            // generated code reads only cells whose offsets the layout or
            // the helpers produced, and indexes lists within their length.
            each(k * BATCH, chunk, f, &ctx, &run);
            run.scratch.borrow_mut().clear();
        }
        Some(())
    }

    /// The messages of rule `rule` on `resources` (failing rows of its
    /// type) from its compiled message values, formatted as the
    /// interpreter formats them; `None` for a row whose values failed
    /// (the interpreter renders it, with the error), and `None` for all
    /// when the message is not compiled.
    pub fn run_messages(
        &self,
        rule: usize,
        resources: &[usize],
        now: i64,
    ) -> Option<Vec<Option<String>>> {
        let m = self.engine.messages.get(rule)?.as_ref()?;
        let stride = m.values + 1;
        let mut cells = vec![Cell::ZERO; BATCH * stride];
        let mut out: Vec<Option<String>> = Vec::with_capacity(resources.len());
        self.run_batches(
            &m.compiled,
            resources,
            now,
            None,
            |start, rows, f, ctx, run| {
                let dst = &mut cells[..rows.len() * stride];
                dst.fill(Cell::ZERO);
                // SAFETY: as `run_batches` says; a message function writes
                // `stride` cells per row, and `dst` holds that many.
                unsafe {
                    f(
                        ctx,
                        rows.as_ptr(),
                        rows.len() as u64,
                        dst.as_mut_ptr().cast(),
                    )
                };
                let scratch = run.scratch.borrow();
                let src = crate::layout::Cells {
                    layout: &self.layout,
                    scratch: &scratch,
                };
                for (k, row) in dst.chunks(stride).enumerate() {
                    let text = (row[0].tag == codegen::MSG_OK)
                        .then(|| self.format_message(m, resources[start + k], &row[1..], &src))
                        .flatten();
                    out.push(text);
                }
            },
        )?;
        Some(out)
    }

    /// A compiled message's text for resource `resource`, from its
    /// values' cells (`None` if a cell does not read back).
    fn format_message(
        &self,
        m: &CompiledMessage,
        resource: usize,
        values: &[Cell],
        src: &dyn crate::layout::CellSource,
    ) -> Option<String> {
        // Room for most messages: grown by doubling from empty, a message
        // was copied three or four times.
        let mut out = String::with_capacity(128);
        for piece in &m.parts {
            match piece {
                MessagePiece::Text(t) => out.push_str(t),
                MessagePiece::Implicit(k) => {
                    out.push_str(self.inv.resources.get(resource)?.implicit(*k)?)
                }
                MessagePiece::Value(k, ty) => {
                    if !self.write_cell(&mut out, ty, *values.get(*k)?, src) {
                        return None;
                    }
                }
            }
        }
        Some(out)
    }

    /// A cell of type `ty` as a message shows its value (`Display`),
    /// written at the end of `out`; `false` if it does not read back.
    /// Text is written from the interner's table as it is: a value would
    /// clone, then drop, a string both threads share.
    fn write_cell(
        &self,
        out: &mut String,
        ty: &Ty,
        cell: Cell,
        src: &dyn crate::layout::CellSource,
    ) -> bool {
        use std::fmt::Write as _;
        let ty = match ty {
            Ty::Opt(t) if !cell.is_missing() => &**t,
            t => t,
        };
        if let (Ty::Str, Some(s)) = (ty, self.layout.strs.base_get(cell.bits)) {
            out.push_str(s);
            return true;
        }
        match crate::layout::read_value(&self.layout, src, ty, cell) {
            Some(v) => {
                let _ = write!(out, "{v}");
                true
            }
            None => false,
        }
    }
}

fn raw(out: Vec<u8>) -> Vec<RawOutcome> {
    out.into_iter()
        .map(|b| match b {
            OUT_PASS => RawOutcome::Pass,
            OUT_FAIL => RawOutcome::Fail,
            _ => RawOutcome::Error,
        })
        .collect()
}

impl RuleEngine for Prepared<'_> {
    fn resource_value(
        &self,
        resource: usize,
        rtype: RecordId,
        fields: Option<&[bool]>,
    ) -> Option<Value> {
        let n = self
            .layout
            .schemas
            .records
            .get(rtype.0 as usize)?
            .fields
            .len();
        // Not laid out (it did not fit): its record was not stripped.
        if *self.layout.row_off.get(resource)? == 0 && self.engine.wanted.fields(rtype).is_some() {
            return None;
        }
        // The fields asked for (all when none are named): the implicit
        // ones too only when asked, as their strings (an account's, a
        // region's) are shared by every thread, and counting them is
        // a cache line the threads pass between them.
        let asked = |k: usize| fields.is_none_or(|f| f.get(k).copied().unwrap_or(false));
        let values = (0..n)
            .map(|k| match asked(k) {
                true => self.resource_field(resource, rtype, k),
                false => Some(Value::Missing),
            })
            .collect::<Option<Vec<Value>>>()?;
        Some(Value::Record(Arc::from(values)))
    }

    fn resource_field(&self, resource: usize, rtype: RecordId, field: usize) -> Option<Value> {
        match self.field_cell(resource, rtype, field)? {
            FieldCell::Implicit(v) => Some(Value::Str(v.clone())),
            FieldCell::Absent => Some(Value::Missing),
            FieldCell::At(ty, cell) => {
                crate::layout::read_value(&self.layout, &self.layout, ty, cell)
            }
        }
    }

    fn write_field(
        &self,
        resource: usize,
        rtype: RecordId,
        field: usize,
        out: &mut String,
    ) -> bool {
        use std::fmt::Write as _;
        let Some(at) = self.field_cell(resource, rtype, field) else {
            return false;
        };
        let value = match at {
            FieldCell::Implicit(v) => {
                out.push_str(v);
                return true;
            }
            FieldCell::Absent => Value::Missing,
            FieldCell::At(ty, cell) => return self.write_cell(out, ty, cell, &self.layout),
        };
        let _ = write!(out, "{value}");
        true
    }

    fn messages(&self, rule: usize, resources: &[usize], env: &Env) -> Option<Vec<Option<String>>> {
        if !std::ptr::eq(env.inv, self.inv) {
            return None;
        }
        self.run_messages(rule, resources, env.ctx.now)
    }

    fn outcomes(&self, rule: usize, resources: &[usize], env: &Env) -> Option<Vec<RawOutcome>> {
        if !std::ptr::eq(env.inv, self.inv) {
            return None;
        }
        self.run_rule(rule, resources, env.ctx.now, env.coverage)
            .map(raw)
    }

    fn group_conditions(
        &self,
        group: usize,
        member: usize,
        resources: &[usize],
        env: &Env,
    ) -> Option<Vec<RawOutcome>> {
        if !std::ptr::eq(env.inv, self.inv) {
            return None;
        }
        self.run_group(group, member, resources, env.ctx.now, env.coverage)
            .map(raw)
    }
}

/// Where field `k` of a resource is, for [`Prepared`]'s read-back.
enum FieldCell<'a> {
    /// `id`, `account` or `region`, as the reader set it.
    Implicit(&'a Arc<str>),
    /// Not held: a type or a field the program does not read.
    Absent,
    /// A cell of the layout, of the field's type.
    At(&'a Ty, Cell),
}

impl Prepared<'_> {
    /// Where field `field` of resource `resource` (of type `rtype`) is;
    /// `None` when its record was not laid out (it did not fit).
    fn field_cell(&self, resource: usize, rtype: RecordId, field: usize) -> Option<FieldCell<'_>> {
        let r = self.inv.resources.get(resource)?;
        if let Some(v) = r.implicit(field) {
            return Some(FieldCell::Implicit(v));
        }
        let off = *self.layout.row_off.get(resource)?;
        let def = self.layout.schemas.records.get(rtype.0 as usize)?;
        let f = def.fields.get(field)?;
        match (off, self.engine.wanted.fields(rtype)) {
            // A type the program does not read: only the identity.
            (0, None) => Some(FieldCell::Absent),
            // Not laid out (it did not fit): its record was not stripped.
            (0, Some(_)) => None,
            // A field the program does not read.
            (_, Some(mask)) if !mask.get(field).copied().unwrap_or(false) => {
                Some(FieldCell::Absent)
            }
            _ => {
                let Some(slot) = self.layout.slots.slot(rtype, field) else {
                    return Some(FieldCell::Absent);
                };
                let cell = crate::layout::CellSource::cell(&self.layout, off, slot)?;
                Some(FieldCell::At(&f.ty, cell))
            }
        }
    }
}

/// Every condition left to the interpreter, as (what, reason): `rule ID`
/// or `group NAME (TYPE)`, in program order.
pub fn fallback_report(program: &Program, engine: &Engine) -> Vec<(String, String)> {
    let by_rule: HashMap<usize, String> = engine.fallbacks().into_iter().collect();
    let mut out: Vec<(String, String)> = program
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            by_rule
                .get(&i)
                .map(|why| (format!("rule {}", r.id), why.clone()))
        })
        .collect();
    for (g, m, why) in engine.group_fallbacks() {
        let group = &program.groups[g];
        let ty = &program.schemas.record(group.members[m].resource).name;
        out.push((format!("group {} ({ty})", group.name), why));
    }
    out
}
