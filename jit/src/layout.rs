//! The typed resource layout the generated code reads.
//!
//! Every value is a 16-byte [`Cell`] `{ tag, bits }`, interpreted by its
//! static type (the IR is typed, so the code never dispatches on a tag to
//! learn a type):
//!
//! | type | tag | bits |
//! | --- | --- | --- |
//! | missing optional | `0` | `0` |
//! | `bool` | [`PRESENT`] | `0` / `1` |
//! | `int` | [`INT`] | the `i64` |
//! | `float` | [`FLOAT`], or [`INT`] for an int widened to float | the `f64` bits, or the `i64` |
//! | `string`, `ip`, `cidr` | [`PRESENT`] | an interned id ([`Interner`]) |
//! | `timestamp`, `duration` | [`PRESENT`] | seconds, `i64` |
//! | `list<T>` | `len << 1 \| 1` | byte offset of `len` element cells |
//! | `map<T>` | `len << 1 \| 1` | byte offset of `len` (key, value) cell pairs, in key order |
//! | record | [`PRESENT`] | byte offset of its field cells, in schema order |
//!
//! Byte offsets are relative to the arena's base (they may point into a
//! run's scratch cells too, see [`Scratch`]). The arena starts with a block
//! of zero cells as long as the longest record, so the zero cell is a valid
//! value of every type: a zeroed record reads as zero fields, a zeroed list
//! is empty, and id 0 exists in every interner.
//!
//! Numbers keep their dynamic kind in the tag because the interpreter
//! does: an `int` used where a `float` is expected stays an `Int` value
//! (`if c then 1 else 2.5`), and `Int / Int` divides as integers even at a
//! `float`-typed node. The generated code therefore checks the tag of
//! `float`-typed operands and takes the interpreter's path for each case.
//!
//! Strings, IP addresses and networks are interned, so `==` is an integer
//! compare. The engine's constants are interned first, at fixed ids known
//! when the code is generated; data strings equal to a constant get its id,
//! and a constant absent from the data can never equal it.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hashbrown::HashTable;
use ipnet::IpNet;
use pac_compiler::types::{RecordId, Schemas, Ty};
use pac_runtime::{BuiltBlock, Inventory, Pieces, Resource};
use pac_stdlib::Value;
use rustc_hash::FxHashMap;

use crate::ingest::Piece;

/// One value of the layout; see the module documentation.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cell {
    pub tag: u64,
    pub bits: u64,
}

/// Tag of a missing optional.
pub const MISSING: u64 = 0;
/// Tag of a present non-numeric scalar or record.
pub const PRESENT: u64 = 1;
/// Tag of an int (also in a `float`-typed place).
pub const INT: u64 = 3;
/// Tag of a float.
pub const FLOAT: u64 = 5;

impl Cell {
    pub const ZERO: Cell = Cell { tag: 0, bits: 0 };
    pub fn present(bits: u64) -> Cell {
        Cell { tag: PRESENT, bits }
    }
    pub fn seq(len: usize, offset: u64) -> Cell {
        Cell {
            tag: ((len as u64) << 1) | 1,
            bits: offset,
        }
    }
    /// The length of a list or map cell.
    pub fn seq_len(self) -> usize {
        (self.tag >> 1) as usize
    }
    pub fn is_missing(self) -> bool {
        self.tag == MISSING
    }
}

/// Interned values: each distinct value has one id. The base table is
/// built with the layout and read without locking; values computed during
/// evaluation (`lower(s)`, `a + b`, `network(c)`) go to a locked overflow
/// table, after a look-up in the base, so that ids stay unique.
///
/// The base's index holds ids only (4 bytes a value, the values stay in
/// `base`), hashed with [`hash_of`]: a reader's pieces hash their strings
/// on the pool, and the layout looks them up by that hash
/// ([`Interner::intern_text_hashed`]) without hashing them again.
pub struct Interner<T> {
    base: Vec<T>,
    index: HashTable<u32>,
    extra: Mutex<(Vec<T>, FxHashMap<T, u32>)>,
}

/// The hash interned values are indexed by (a value and anything it
/// borrows as hash alike: an `Arc<str>` and its `str`).
pub(crate) fn hash_of<Q: Hash + ?Sized>(v: &Q) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(v)
}

impl<T: Clone + Eq + Hash> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            base: Vec::new(),
            index: HashTable::new(),
            extra: Mutex::new((Vec::new(), FxHashMap::default())),
        }
    }
}

impl<T: Clone + Eq + Hash> Interner<T> {
    /// The base id of a value that hashes to `hash` and equals `v`.
    fn find<Q: Eq + ?Sized>(&self, hash: u64, v: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
    {
        let base = &self.base;
        (self.index.find(hash, |&id| base[id as usize].borrow() == v)).copied()
    }

    /// Adds `v`, which hashes to `hash` and is not in the base, to the base.
    fn push(&mut self, hash: u64, v: T) -> u32 {
        let id = self.base.len() as u32;
        self.base.push(v);
        let base = &self.base;
        (self.index).insert_unique(hash, id, |&k| hash_of(&base[k as usize]));
        id
    }

    /// Room for `n` more values in the base.
    fn reserve(&mut self, n: usize) {
        self.base.reserve(n);
        let base = &self.base;
        (self.index).reserve(n, |&k| hash_of(&base[k as usize]));
    }

    /// While building: the id of `v`, added to the base table if new.
    pub fn intern(&mut self, v: &T) -> u32 {
        let h = hash_of(v);
        match self.find(h, v) {
            Some(id) => id,
            None => self.push(h, v.clone()),
        }
    }

    /// During evaluation: the id of `v`, added to the overflow table if new.
    pub fn intern_shared(&self, v: &T) -> u32 {
        if let Some(id) = self.find(hash_of(v), v) {
            return id;
        }
        let mut extra = match self.extra.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(&id) = extra.1.get(v) {
            return id;
        }
        let id = (self.base.len() + extra.0.len()) as u32;
        extra.0.push(v.clone());
        extra.1.insert(v.clone(), id);
        id
    }

    /// The value of an id (`None` for an id no table holds).
    pub fn get(&self, id: u64) -> Option<T> {
        let i = usize::try_from(id).ok()?;
        if let Some(v) = self.base.get(i) {
            return Some(v.clone());
        }
        let extra = match self.extra.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        extra.0.get(i - self.base.len()).cloned()
    }

    /// The value of a base id, without locking.
    pub fn base_get(&self, id: u64) -> Option<&T> {
        self.base.get(usize::try_from(id).ok()?)
    }

    pub fn base_len(&self) -> usize {
        self.base.len()
    }

    /// The base table, by id.
    pub fn base(&self) -> &[T] {
        &self.base
    }

    /// Drops the values interned during an evaluation (no cell of the
    /// arena holds their ids), so that the base table can grow again.
    fn forget_extra(&mut self) {
        let extra = match self.extra.get_mut() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        };
        *extra = Default::default();
    }

    /// Empties the base table, keeping its memory (a reused `Piece`).
    pub(crate) fn clear_base(&mut self) {
        self.base.clear();
        self.index.clear();
    }
}

impl Interner<Arc<str>> {
    /// While building, by content, its [`hash_of`] known: a string is made
    /// only when new.
    pub(crate) fn intern_text_hashed(&mut self, s: &str, hash: u64) -> u32 {
        match self.find(hash, s) {
            Some(id) => id,
            None => self.push(hash, Arc::from(s)),
        }
    }

    /// During evaluation, by content.
    pub fn intern_shared_str(&self, s: &str) -> u32 {
        if let Some(id) = self.find(hash_of(s), s) {
            return id;
        }
        self.intern_shared(&Arc::from(s))
    }
}

/// The constants the generated code refers to by a fixed id or slot.
#[derive(Clone, Debug, Default)]
pub struct Constants {
    /// Interned first, in this order: string constant `i` has id `i`.
    pub strs: Vec<Arc<str>>,
    pub ips: Vec<IpAddr>,
    pub cidrs: Vec<IpNet>,
    /// Compound constants (lists, maps, records), materialized in the arena
    /// when a layout is built; the code reads their cell from
    /// `JitCtx::consts`.
    pub compound: Vec<(Ty, Value)>,
}

impl Constants {
    pub fn str_id(&mut self, s: &Arc<str>) -> u32 {
        match self.strs.iter().position(|x| x == s) {
            Some(i) => i as u32,
            None => {
                self.strs.push(s.clone());
                (self.strs.len() - 1) as u32
            }
        }
    }
    pub fn ip_id(&mut self, ip: IpAddr) -> u32 {
        match self.ips.iter().position(|x| *x == ip) {
            Some(i) => i as u32,
            None => {
                self.ips.push(ip);
                (self.ips.len() - 1) as u32
            }
        }
    }
    pub fn cidr_id(&mut self, n: IpNet) -> u32 {
        match self.cidrs.iter().position(|x| *x == n) {
            Some(i) => i as u32,
            None => {
                self.cidrs.push(n);
                (self.cidrs.len() - 1) as u32
            }
        }
    }
}

/// Where the rows of one resource type are: inventory indices, read by the
/// generated code through `JitCtx::type_rows`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RowsRef {
    pub ptr: *const u64,
    pub len: u64,
}

/// The typed layout of one inventory.
pub struct Layout {
    /// The cells; see the module documentation.
    pub arena: Vec<Cell>,
    /// The byte offset of each inventory resource's record.
    pub row_off: Vec<u64>,
    /// The inventory indices of each record type's resources, in order
    /// (indexed by `RecordId`; empty for plain records).
    pub type_rows: Vec<Vec<u64>>,
    pub strs: Interner<Arc<str>>,
    pub ips: Interner<IpAddr>,
    pub cidrs: Interner<IpNet>,
    /// The cells of [`Constants::compound`].
    pub consts: Vec<Cell>,
    /// Per record type: some resource of the type does not fit its schema
    /// (never for inventories read from documents); rules that read such a
    /// type are left to the interpreter.
    pub irregular: Vec<bool>,
    pub schemas: Arc<Schemas>,
    /// Where each field of a resource record sits.
    pub slots: Arc<Slots>,
    /// Records written into the arena, live or not: a layout carried over
    /// to a later inventory ([`crate::Engine::relayout`]) keeps the records
    /// of the resources that left or changed until they are as many as the
    /// live ones.
    pub written: usize,
    /// Each resource's type, as [`crate::Prepared`] saw it (empty until
    /// then): [`crate::Engine::relayout`] carries a record over only to a
    /// resource of the same type, whatever it is told.
    pub(crate) row_types: Vec<u32>,
}

/// Where a writer puts cells: the arena while building, a run's scratch
/// during evaluation.
pub(crate) trait CellSink {
    /// Reserves `n` zero cells; returns a handle for [`CellSink::set`].
    fn alloc(&mut self, n: usize) -> (usize, usize);
    fn set(&mut self, at: (usize, usize), k: usize, c: Cell);
    /// The byte offset (from the arena base) of a reservation.
    fn offset(&self, at: (usize, usize)) -> u64;
}

struct ArenaSink<'a>(&'a mut Vec<Cell>);

impl CellSink for ArenaSink<'_> {
    fn alloc(&mut self, n: usize) -> (usize, usize) {
        let at = self.0.len();
        self.0.resize(at + n, Cell::ZERO);
        (0, at)
    }
    fn set(&mut self, at: (usize, usize), k: usize, c: Cell) {
        self.0[at.1 + k] = c;
    }
    fn offset(&self, at: (usize, usize)) -> u64 {
        (at.1 * 16) as u64
    }
}

/// Interning during a write: the build-time tables, or the shared ones.
pub(crate) trait Intern {
    fn str_id(&mut self, s: &Arc<str>) -> u64;
    fn ip_id(&mut self, ip: IpAddr) -> u64;
    fn cidr_id(&mut self, n: IpNet) -> u64;
}

struct BuildIntern<'a> {
    strs: &'a mut Interner<Arc<str>>,
    ips: &'a mut Interner<IpAddr>,
    cidrs: &'a mut Interner<IpNet>,
}

impl Intern for BuildIntern<'_> {
    fn str_id(&mut self, s: &Arc<str>) -> u64 {
        u64::from(self.strs.intern(s))
    }
    fn ip_id(&mut self, ip: IpAddr) -> u64 {
        u64::from(self.ips.intern(&ip))
    }
    fn cidr_id(&mut self, n: IpNet) -> u64 {
        u64::from(self.cidrs.intern(&n))
    }
}

/// Interning into a built layout's overflow tables.
pub(crate) struct SharedIntern<'a>(pub &'a Layout);

impl Intern for SharedIntern<'_> {
    fn str_id(&mut self, s: &Arc<str>) -> u64 {
        u64::from(self.0.strs.intern_shared_str(s))
    }
    fn ip_id(&mut self, ip: IpAddr) -> u64 {
        u64::from(self.0.ips.intern_shared(&ip))
    }
    fn cidr_id(&mut self, n: IpNet) -> u64 {
        u64::from(self.0.cidrs.intern_shared(&n))
    }
}

/// A value that does not fit its static type.
#[derive(Debug)]
pub(crate) struct Misfit;

/// Writes `v` as a value of static type `ty`, nested values first
/// reserved in `sink`. A value that does not fit its type is an error.
pub(crate) fn write_value<S: CellSink + ?Sized, I: Intern>(
    schemas: &Schemas,
    sink: &mut S,
    int: &mut I,
    ty: &Ty,
    v: &Value,
) -> Result<Cell, Misfit> {
    Ok(match (ty, v) {
        (Ty::Opt(_), Value::Missing) => Cell::ZERO,
        (Ty::Opt(t), v) => write_value(schemas, sink, int, t, v)?,
        (Ty::Bool, Value::Bool(b)) => Cell::present(u64::from(*b)),
        (Ty::Int, Value::Int(i)) | (Ty::Float, Value::Int(i)) => Cell {
            tag: INT,
            bits: *i as u64,
        },
        (Ty::Float, Value::Float(f)) => Cell {
            tag: FLOAT,
            bits: f.to_bits(),
        },
        (Ty::Str, Value::Str(s)) => Cell::present(int.str_id(s)),
        (Ty::Time, Value::Time(t)) | (Ty::Dur, Value::Dur(t)) => Cell::present(*t as u64),
        (Ty::Ip, Value::Ip(ip)) => Cell::present(int.ip_id(*ip)),
        (Ty::Cidr, Value::Cidr(n)) => Cell::present(int.cidr_id(*n)),
        (Ty::List(t), Value::List(xs)) => {
            let at = sink.alloc(xs.len());
            for (k, x) in xs.iter().enumerate() {
                let c = write_value(schemas, sink, int, t, x)?;
                sink.set(at, k, c);
            }
            Cell::seq(xs.len(), sink.offset(at))
        }
        (Ty::Empty, Value::List(xs)) if xs.is_empty() => Cell::seq(0, 0),
        (Ty::Map(t), Value::Map(m)) => {
            let at = sink.alloc(2 * m.len());
            for (k, (key, x)) in m.iter().enumerate() {
                let kc = Cell::present(int.str_id(key));
                sink.set(at, 2 * k, kc);
                let c = write_value(schemas, sink, int, t, x)?;
                sink.set(at, 2 * k + 1, c);
            }
            Cell::seq(m.len(), sink.offset(at))
        }
        (Ty::Record(r), Value::Record(fs)) => {
            let def = schemas.records.get(r.0 as usize).ok_or(Misfit)?;
            if def.fields.len() != fs.len() {
                return Err(Misfit);
            }
            let at = sink.alloc(fs.len());
            for (k, (f, x)) in def.fields.iter().zip(fs.iter()).enumerate() {
                let c = write_value(schemas, sink, int, &f.ty, x)?;
                sink.set(at, k, c);
            }
            Cell::present(sink.offset(at))
        }
        _ => return Err(Misfit),
    })
}

/// Where each field of a resource record sits. With a read set, a
/// resource's record holds only the fields the program reads, in schema
/// order: field `k` is cell `slot(t, k)` of the record, and a field not
/// read has no cell. Without one (or when a schema nests a resource type
/// inside a record, which the reader never writes compact), field `k` is
/// cell `k`.
#[derive(Clone, Debug, Default)]
pub struct Slots {
    /// Per `RecordId`: the cell of each field (`ABSENT` for none); `None`
    /// when the record is laid out whole.
    per_type: Vec<Option<Vec<u32>>>,
}

const ABSENT: u32 = u32::MAX;

impl Slots {
    /// The slots of the resource records of a layout of what `wanted`
    /// names.
    pub fn of(schemas: &Schemas, wanted: Option<&Wanted>) -> Slots {
        let Some(w) = wanted else {
            return Slots::default();
        };
        let nested = schemas
            .records
            .iter()
            .any(|d| d.fields.iter().any(|f| mentions_resource(schemas, &f.ty)));
        if nested {
            return Slots::default();
        }
        let per_type = schemas
            .records
            .iter()
            .enumerate()
            .map(|(t, def)| {
                def.resource_type.as_ref()?;
                let mask = w.fields(RecordId(t as u32))?;
                let mut next = 0u32;
                Some(
                    mask.iter()
                        .map(|&read| {
                            if read {
                                next += 1;
                                next - 1
                            } else {
                                ABSENT
                            }
                        })
                        .collect(),
                )
            })
            .collect();
        Slots { per_type }
    }

    /// The cell of field `k` of a record of type `t`; `None` for a field
    /// not laid out.
    pub fn slot(&self, t: RecordId, k: usize) -> Option<usize> {
        match self.per_type.get(t.0 as usize) {
            Some(Some(slots)) => slots
                .get(k)
                .copied()
                .filter(|&s| s != ABSENT)
                .map(|s| s as usize),
            _ => Some(k),
        }
    }

    /// Whether records of type `t` hold only some of their fields.
    pub fn compacts(&self, t: RecordId) -> bool {
        matches!(self.per_type.get(t.0 as usize), Some(Some(_)))
    }

    /// The number of cells of a record of type `t` of `n` fields.
    pub fn cells(&self, t: RecordId, n: usize) -> usize {
        match self.per_type.get(t.0 as usize) {
            Some(Some(slots)) => slots.iter().filter(|&&s| s != ABSENT).count(),
            _ => n,
        }
    }
}

/// Whether a value of type `ty` holds a resource record (a record type
/// named by a resource type), not looking inside other records.
pub(crate) fn mentions_resource(schemas: &Schemas, ty: &Ty) -> bool {
    match ty {
        Ty::Opt(t) | Ty::List(t) | Ty::Map(t) => mentions_resource(schemas, t),
        Ty::Record(r) => schemas
            .records
            .get(r.0 as usize)
            .is_some_and(|d| d.resource_type.is_some()),
        _ => false,
    }
}

/// What the layout holds: only the fields of each resource type that
/// the compiled code can read (the compiler's read set). The other fields
/// of a laid-out resource are zero cells; a type no code reads is not laid
/// out at all (its rows read the zero block). Nothing reads them: the
/// generated code reads only fields the read set names, and a resource
/// used whole names all its fields.
pub type Wanted = pac_compiler::reads::ReadMask;

/// Writes a resource record with only the fields `mask` flags, each at its
/// slot (the others are zero cells, or have none).
fn write_masked<S: CellSink + ?Sized, I: Intern>(
    schemas: &Schemas,
    slots: &Slots,
    sink: &mut S,
    int: &mut I,
    rtype: RecordId,
    mask: &[bool],
    v: &Value,
) -> Result<Cell, Misfit> {
    let def = schemas.records.get(rtype.0 as usize).ok_or(Misfit)?;
    let Value::Record(fs) = v else {
        return Err(Misfit);
    };
    if def.fields.len() != fs.len() || mask.len() != fs.len() {
        return Err(Misfit);
    }
    let at = sink.alloc(slots.cells(rtype, fs.len()));
    for (k, ((f, x), &want)) in def.fields.iter().zip(fs.iter()).zip(mask).enumerate() {
        if let (true, Some(slot)) = (want, slots.slot(rtype, k)) {
            let c = write_value(schemas, sink, int, &f.ty, x)?;
            sink.set(at, slot, c);
        }
    }
    Ok(Cell::present(sink.offset(at)))
}

/// Reads cells back: the arena of a built layout and a run's scratch.
pub(crate) trait CellSource {
    /// Cell `k` of the block at byte offset `off`; `None` outside every
    /// block this source holds.
    fn cell(&self, off: u64, k: usize) -> Option<Cell>;
}

/// Converts a cell of static type `ty` back to a [`Value`] (for built-ins
/// and structural comparisons). `None` when the cell is not a well-formed
/// value of the type (never for cells the engine wrote).
pub(crate) fn read_value(layout: &Layout, src: &dyn CellSource, ty: &Ty, c: Cell) -> Option<Value> {
    Some(match ty {
        Ty::Opt(t) => {
            if c.is_missing() {
                Value::Missing
            } else {
                read_value(layout, src, t, c)?
            }
        }
        Ty::Bool => Value::Bool(c.bits != 0),
        Ty::Int | Ty::Float => match c.tag {
            INT => Value::Int(c.bits as i64),
            FLOAT => Value::Float(f64::from_bits(c.bits)),
            _ => return None,
        },
        Ty::Str => Value::Str(layout.strs.get(c.bits)?),
        Ty::Time => Value::Time(c.bits as i64),
        Ty::Dur => Value::Dur(c.bits as i64),
        Ty::Ip => Value::Ip(layout.ips.get(c.bits)?),
        Ty::Cidr => Value::Cidr(layout.cidrs.get(c.bits)?),
        Ty::List(t) => {
            let mut out = Vec::with_capacity(c.seq_len());
            for k in 0..c.seq_len() {
                out.push(read_value(layout, src, t, src.cell(c.bits, k)?)?);
            }
            Value::List(Arc::from(out))
        }
        Ty::Empty => Value::List(Arc::from(Vec::new())),
        Ty::Map(t) => {
            let mut out = BTreeMap::new();
            for k in 0..c.seq_len() {
                let key = layout.strs.get(src.cell(c.bits, 2 * k)?.bits)?;
                let v = read_value(layout, src, t, src.cell(c.bits, 2 * k + 1)?)?;
                out.insert(key, v);
            }
            Value::Map(Arc::new(out))
        }
        Ty::Record(r) => {
            let def = layout.schemas.records.get(r.0 as usize)?;
            let mut out = Vec::with_capacity(def.fields.len());
            for (k, f) in def.fields.iter().enumerate() {
                out.push(match layout.slots.slot(*r, k) {
                    Some(slot) => read_value(layout, src, &f.ty, src.cell(c.bits, slot)?)?,
                    // Not laid out: nothing reads it.
                    None => Value::Missing,
                });
            }
            Value::Record(Arc::from(out))
        }
        _ => return None,
    })
}

impl CellSource for Layout {
    fn cell(&self, off: u64, k: usize) -> Option<Cell> {
        if !off.is_multiple_of(16) {
            return None;
        }
        let i = usize::try_from(off / 16).ok()?.checked_add(k)?;
        self.arena.get(i).copied()
    }
}

/// Cells written during one run (built-in results, list literals). Chunks
/// never move once allocated, so offsets handed to the generated code stay
/// valid until the scratch is cleared between batches of rows. Memoised
/// built-in results go to pinned chunks, which live for the whole run.
pub struct Scratch {
    chunks: Vec<Vec<Cell>>,
    pinned: Vec<Vec<Cell>>,
    /// Allocations go to the pinned chunks.
    pub(crate) pinning: bool,
    /// The arena base the offsets are relative to.
    base: usize,
}

const CHUNK_CELLS: usize = 4096;

/// A reservation: which chunk list, which chunk, the first cell.
type At = (usize, usize);

impl Scratch {
    pub fn new(layout: &Layout) -> Scratch {
        Scratch {
            chunks: Vec::new(),
            pinned: Vec::new(),
            pinning: false,
            base: layout.arena.as_ptr() as usize,
        }
    }

    /// Forgets every cell but the pinned ones (the generated code holds no
    /// offset into them between batches).
    pub fn clear(&mut self) {
        // Keep one chunk to reuse.
        self.chunks.truncate(1);
        if let Some(c) = self.chunks.first_mut() {
            c.clear();
        }
    }

    fn list(&self, pinned: bool) -> &Vec<Vec<Cell>> {
        if pinned { &self.pinned } else { &self.chunks }
    }

    fn chunk_off(&self, chunk: &[Cell]) -> u64 {
        (chunk.as_ptr() as usize).wrapping_sub(self.base) as u64
    }

    fn all_chunks(&self) -> impl Iterator<Item = &Vec<Cell>> {
        self.chunks.iter().chain(&self.pinned)
    }
}

// A handle is (chunk index, cell index); pinned chunks are numbered after
// `PINNED`.
const PINNED: usize = 1 << 40;

impl CellSink for Scratch {
    fn alloc(&mut self, n: usize) -> At {
        let pinning = self.pinning;
        let list = if pinning {
            &mut self.pinned
        } else {
            &mut self.chunks
        };
        let fits = list.last().is_some_and(|c| c.capacity() - c.len() >= n);
        if !fits {
            list.push(Vec::with_capacity(n.max(CHUNK_CELLS)));
        }
        let ci = list.len() - 1;
        let chunk = &mut list[ci];
        let at = chunk.len();
        // Within capacity: the chunk does not move.
        chunk.resize(at + n, Cell::ZERO);
        (if pinning { PINNED + ci } else { ci }, at)
    }
    fn set(&mut self, at: At, k: usize, c: Cell) {
        let list = if at.0 >= PINNED {
            &mut self.pinned
        } else {
            &mut self.chunks
        };
        list[at.0 % PINNED][at.1 + k] = c;
    }
    fn offset(&self, at: At) -> u64 {
        let chunk = &self.list(at.0 >= PINNED)[at.0 % PINNED];
        self.chunk_off(chunk).wrapping_add((at.1 * 16) as u64)
    }
}

/// The layout's arena and a run's scratch, read together.
pub(crate) struct Cells<'a> {
    pub layout: &'a Layout,
    pub scratch: &'a Scratch,
}

impl CellSource for Cells<'_> {
    fn cell(&self, off: u64, k: usize) -> Option<Cell> {
        if let Some(c) = self.layout.cell(off, k) {
            return Some(c);
        }
        for chunk in self.scratch.all_chunks() {
            let start = self.scratch.chunk_off(chunk);
            let rel = off.wrapping_sub(start);
            if rel.is_multiple_of(16) && rel < (chunk.len() * 16) as u64 {
                let i = (rel / 16) as usize + k;
                return chunk.get(i).copied();
            }
        }
        None
    }
}

impl Layout {
    /// Builds the layout of `inv` for a program's schemas, with the
    /// engine's constants interned first; every field of every resource.
    pub fn build(schemas: &Arc<Schemas>, constants: &Constants, inv: &Inventory) -> Layout {
        Layout::build_for(schemas, constants, inv, None)
    }

    /// [`Layout::build`], laying out only what `wanted` names (see
    /// [`Wanted`]); `None` lays out everything.
    pub fn build_for(
        schemas: &Arc<Schemas>,
        constants: &Constants,
        inv: &Inventory,
        wanted: Option<&Wanted>,
    ) -> Layout {
        let mut b = LayoutBuilder::new(schemas, constants, wanted, inv.len());
        b.add(0, &inv.resources);
        b.finish()
    }
    /// Whether resources of this type all fit their schema.
    pub fn is_regular(&self, rtype: RecordId) -> bool {
        !self
            .irregular
            .get(rtype.0 as usize)
            .copied()
            .unwrap_or(true)
    }

    /// The arena's size in bytes.
    pub fn bytes(&self) -> usize {
        self.arena.len() * 16
    }
}

/// A layout built block by block, as an inventory is read: each block's
/// resources are written type by type (so a rule's scan over the rows of
/// its type reads runs of rows front to back), and may then drop their
/// records, which the layout now holds ([`LayoutBuilder::add_and_strip`]).
pub struct LayoutBuilder {
    schemas: Arc<Schemas>,
    wanted: Option<Arc<Wanted>>,
    arena: Vec<Cell>,
    strs: Interner<Arc<str>>,
    ips: Interner<IpAddr>,
    cidrs: Interner<IpNet>,
    consts: Vec<Cell>,
    irregular: Vec<bool>,
    type_rows: Vec<Vec<u64>>,
    row_off: Vec<u64>,
    /// Pieces laid out, for [`LayoutBuilder::pieces`] to give again.
    spare: Arc<Mutex<Vec<Piece>>>,
    slots: Arc<Slots>,
    /// See [`Layout::written`].
    written: usize,
}

impl LayoutBuilder {
    /// An empty layout for a program's schemas, with the engine's
    /// constants interned first; `hint`: the number of resources expected.
    pub fn new(
        schemas: &Arc<Schemas>,
        constants: &Constants,
        wanted: Option<&Wanted>,
        hint: usize,
    ) -> LayoutBuilder {
        let zero = schemas
            .records
            .iter()
            .map(|r| r.fields.len())
            .max()
            .unwrap_or(0)
            .max(2);
        // A rough size: the zero block, then ~32 cells per resource.
        let mut arena = Vec::with_capacity(zero + hint.saturating_mul(32));
        arena.resize(zero, Cell::ZERO);
        let mut strs = Interner::<Arc<str>>::default();
        strs.reserve(hint);
        let mut ips = Interner::<IpAddr>::default();
        let mut cidrs = Interner::<IpNet>::default();
        for s in &constants.strs {
            strs.intern(s);
        }
        for ip in &constants.ips {
            ips.intern(ip);
        }
        for n in &constants.cidrs {
            cidrs.intern(n);
        }
        // Id 0 exists in every table (the zero cell's value).
        if strs.base_len() == 0 {
            strs.intern(&Arc::from(""));
        }
        if ips.base_len() == 0 {
            ips.intern(&IpAddr::from([0u8, 0, 0, 0]));
        }
        if cidrs.base_len() == 0 {
            cidrs.intern(&IpNet::default());
        }
        let mut consts = Vec::with_capacity(constants.compound.len());
        {
            let mut int = BuildIntern {
                strs: &mut strs,
                ips: &mut ips,
                cidrs: &mut cidrs,
            };
            for (ty, v) in &constants.compound {
                let mut sink = ArenaSink(&mut arena);
                // A constant that does not fit its type reads as zero; the
                // engine only records constants it checked.
                consts.push(write_value(schemas, &mut sink, &mut int, ty, v).unwrap_or(Cell::ZERO));
            }
        }
        LayoutBuilder {
            schemas: schemas.clone(),
            wanted: wanted.map(|w| Arc::new(w.clone())),
            arena,
            strs,
            ips,
            cidrs,
            consts,
            irregular: vec![false; schemas.records.len()],
            type_rows: vec![Vec::new(); schemas.records.len()],
            row_off: Vec::with_capacity(hint),
            spare: Arc::default(),
            slots: Arc::new(Slots::of(schemas, wanted)),
            written: 0,
        }
    }

    /// A layout of `n` resources that starts from `earlier`'s arena and
    /// interned values: [`LayoutBuilder::carry`] then gives each resource
    /// its earlier record or writes a new one. Also returns `earlier`'s
    /// record offsets and resource types, by its inventory's indices.
    pub(crate) fn resume(
        earlier: Layout,
        wanted: Option<&Wanted>,
        n: usize,
    ) -> (LayoutBuilder, Vec<u64>, Vec<u32>) {
        let Layout {
            arena,
            row_off,
            mut type_rows,
            mut strs,
            mut ips,
            mut cidrs,
            consts,
            irregular,
            schemas,
            slots,
            written,
            row_types,
        } = earlier;
        for rows in &mut type_rows {
            rows.clear();
        }
        strs.forget_extra();
        ips.forget_extra();
        cidrs.forget_extra();
        let b = LayoutBuilder {
            schemas,
            wanted: wanted.map(|w| Arc::new(w.clone())),
            arena,
            strs,
            ips,
            cidrs,
            consts,
            irregular,
            type_rows,
            row_off: vec![0; n],
            spare: Arc::default(),
            slots,
            written,
        };
        (b, row_off, row_types)
    }

    /// Lays out every resource of `inv`: resource `i` with
    /// `same_as[i] == Some(o)` (its document unchanged since the earlier
    /// inventory, where it was `o`) keeps its record at `offsets[o]` if
    /// `types[o]` is its type; the others are written from their values.
    pub(crate) fn carry(
        &mut self,
        inv: &Inventory,
        same_as: &[Option<usize>],
        offsets: &[u64],
        types: &[u32],
    ) {
        for (i, r) in inv.resources.iter().enumerate() {
            let kept = same_as
                .get(i)
                .copied()
                .flatten()
                .filter(|&o| types.get(o) == Some(&r.rtype.0))
                .and_then(|o| offsets.get(o).copied());
            match kept {
                Some(off) => {
                    let Some(rows) = self.type_rows.get_mut(r.rtype.0 as usize) else {
                        continue;
                    };
                    rows.push(i as u64);
                    self.row_off[i] = off;
                }
                None => self.add_value(i, r),
            }
        }
    }

    /// Lays out `block`, the resources at inventory indices `first..`
    /// (blocks are added in inventory order, each once).
    pub fn add(&mut self, first: usize, block: &[Resource]) {
        if self.row_off.len() < first + block.len() {
            self.row_off.resize(first + block.len(), 0);
        }
        // This block's rows, type by type (a type outside the schemas has
        // no rows and reads the zero block).
        let mut order: Vec<(u32, usize)> = block
            .iter()
            .enumerate()
            .map(|(k, r)| (r.rtype.0, k))
            .collect();
        order.sort_by_key(|&(t, _)| t);
        for (_, k) in order {
            self.add_value(first + k, &block[k]);
        }
    }

    /// Lays out resource `i` from its value.
    fn add_value(&mut self, i: usize, r: &Resource) {
        let t = r.rtype.0 as usize;
        let Some(rows) = self.type_rows.get_mut(t) else {
            return;
        };
        rows.push(i as u64);
        self.written += 1;
        let mut int = BuildIntern {
            strs: &mut self.strs,
            ips: &mut self.ips,
            cidrs: &mut self.cidrs,
        };
        let schemas = &self.schemas;
        let ty = Ty::Record(r.rtype);
        let mut sink = ArenaSink(&mut self.arena);
        let written = match self.wanted.as_ref().map(|w| w.fields(r.rtype)) {
            None => write_value(schemas, &mut sink, &mut int, &ty, &r.value),
            // A type no code reads: its rows read the zero block.
            Some(None) => Ok(Cell::ZERO),
            Some(Some(mask)) => write_masked(
                schemas,
                &self.slots,
                &mut sink,
                &mut int,
                r.rtype,
                mask,
                &r.value,
            ),
        };
        self.row_off[i] = match written {
            Ok(c) => c.bits,
            Err(Misfit) => {
                if let Some(x) = self.irregular.get_mut(t) {
                    *x = true;
                }
                0
            }
        };
    }

    /// What makes the [`Piece`]s the reader builds documents into, for
    /// [`LayoutBuilder::add_built`]: pieces of earlier blocks, emptied, or
    /// new ones.
    pub fn pieces(&self) -> impl Fn() -> Piece + Send + Sync + 'static {
        let wanted = self.wanted.clone();
        let slots = self.slots.clone();
        let spare = self.spare.clone();
        move || {
            let used = spare.lock().ok().and_then(|mut s| s.pop());
            match used {
                Some(mut p) => {
                    p.clear();
                    p
                }
                None => Piece::new(wanted.clone(), slots.clone()),
            }
        }
    }

    /// Lays out a block read by `pac_runtime::Inventory::read_text_built`
    /// with pieces from [`LayoutBuilder::pieces`]: each piece is appended
    /// whole (see [`crate::ingest`]), and a resource the reader did not
    /// build is written from its value, which is then dropped as in
    /// [`LayoutBuilder::add_and_strip`]. Rows are laid out in the order
    /// read.
    pub fn add_built(&mut self, b: BuiltBlock<'_, Piece>) {
        let Pieces {
            block,
            pieces,
            built,
        } = b;
        let first = block.first;
        if self.row_off.len() < first + block.resources.len() {
            self.row_off.resize(first + block.resources.len(), 0);
        }
        let starts: Vec<u64> = pieces
            .iter()
            .map(|p| {
                p.append(
                    &mut self.arena,
                    &mut self.strs,
                    &mut self.ips,
                    &mut self.cidrs,
                )
            })
            .collect();
        for (k, r) in block.resources.iter().enumerate() {
            let i = first + k;
            match built.get(k).copied().flatten() {
                Some((p, root)) => {
                    let Some(rows) = self.type_rows.get_mut(r.rtype.0 as usize) else {
                        continue;
                    };
                    rows.push(i as u64);
                    self.written += 1;
                    if let (false, Some(start)) = (root.is_missing(), starts.get(p)) {
                        self.row_off[i] = root.offset() + start;
                    }
                }
                None => self.add_value(i, r),
            }
        }
        self.strip(first, block.resources);
        // The pieces serve the blocks to come (two blocks' worth at most).
        if let Ok(mut spare) = self.spare.lock()
            && spare.len() < 2 * pieces.len()
        {
            spare.extend(pieces);
        }
    }

    /// [`LayoutBuilder::add`], then drops the record of each resource laid
    /// out (its `value` becomes `Value::Missing`): the layout holds what
    /// the program reads of it, and [`crate::Prepared`] gives it back to
    /// the interpreter (`RuleEngine::resource_value`). A resource that did
    /// not fit its schema's layout keeps its record.
    pub fn add_and_strip(&mut self, first: usize, block: &mut [Resource]) {
        self.add(first, block);
        self.strip(first, block);
    }

    /// Drops the record of each resource of `block` (at `first..`) that
    /// the layout holds.
    fn strip(&mut self, first: usize, block: &mut [Resource]) {
        let mut records = Vec::with_capacity(block.len());
        for (k, r) in block.iter_mut().enumerate() {
            if matches!(r.value, Value::Missing) {
                continue;
            }
            if self.row_off.get(first + k).is_some_and(|&off| off != 0)
                || self
                    .wanted
                    .as_ref()
                    .is_some_and(|w| w.fields(r.rtype).is_none())
            {
                records.push(std::mem::replace(&mut r.value, Value::Missing));
            }
        }
        // Freeing a block's records is a tenth of reading it: done on the
        // pool, not on the thread that lays out the next block.
        if !records.is_empty() {
            rayon::spawn(move || drop(records));
        }
    }

    /// The layout of every block added.
    pub fn finish(self) -> Layout {
        Layout {
            arena: self.arena,
            row_off: self.row_off,
            type_rows: self.type_rows,
            strs: self.strs,
            ips: self.ips,
            cidrs: self.cidrs,
            consts: self.consts,
            irregular: self.irregular,
            schemas: self.schemas,
            slots: self.slots,
            written: self.written,
            row_types: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pac_compiler::types::{FieldDef, RecordDef};

    fn schemas() -> Arc<Schemas> {
        let field = |name: &str, ty: Ty| FieldDef {
            name: name.into(),
            ty,
            doc: None,
            file: 0,
            span: Default::default(),
        };
        let record = |name: &str, rtype: Option<&str>, fields| RecordDef {
            name: name.into(),
            resource_type: rtype.map(String::from),
            fields,
            doc: None,
            file: 0,
            span: Default::default(),
        };
        Arc::new(Schemas {
            records: vec![
                record(
                    "t.res",
                    Some("t.res"),
                    vec![
                        field("id", Ty::Str),
                        field("account", Ty::Str),
                        field("region", Ty::Str),
                        field("n", Ty::Int),
                        field("x", Ty::Float),
                        field("opt", Ty::Opt(Box::new(Ty::Str))),
                        field("tags", Ty::Map(Box::new(Ty::Str))),
                        field("inner", Ty::List(Box::new(Ty::Record(RecordId(1))))),
                    ],
                ),
                record(
                    "t.Inner",
                    None,
                    vec![
                        field("ip", Ty::Ip),
                        field("net", Ty::Cidr),
                        field("at", Ty::Time),
                        field("d", Ty::Dur),
                        field("b", Ty::Bool),
                        field("xs", Ty::List(Box::new(Ty::Float))),
                    ],
                ),
            ],
        })
    }

    fn resource(id: &str, x: Value, opt: Value) -> Value {
        let inner = Value::Record(Arc::from(vec![
            Value::Ip("10.0.0.1".parse().unwrap()),
            Value::Cidr("10.0.0.0/8".parse().unwrap()),
            Value::Time(1_700_000_000),
            Value::Dur(-5),
            Value::Bool(true),
            Value::List(Arc::from(vec![Value::Int(1), Value::Float(2.5)])),
        ]));
        let mut tags = BTreeMap::new();
        tags.insert(Arc::from("env"), Value::str("prod"));
        tags.insert(Arc::from("app"), Value::str(id));
        Value::Record(Arc::from(vec![
            Value::str(id),
            Value::str("1"),
            Value::str("r"),
            Value::Int(i64::MIN),
            x,
            opt,
            Value::Map(Arc::new(tags)),
            Value::List(Arc::from(vec![inner.clone(), inner])),
        ]))
    }

    fn inventory(values: Vec<Value>) -> (Arc<Schemas>, Inventory) {
        let s = schemas();
        let inv = Inventory::from_values(&s, values.into_iter().map(|v| (RecordId(0), v)));
        (s, inv)
    }

    #[test]
    fn every_value_reads_back_as_written() {
        let values = vec![
            resource("a", Value::Float(0.5), Value::str("o")),
            // An int where the schema says float keeps being an int.
            resource("b", Value::Int(3), Value::Missing),
        ];
        let (s, inv) = inventory(values.clone());
        let consts = Constants {
            strs: vec![Arc::from("prod"), Arc::from("absent")],
            ..Default::default()
        };
        let layout = Layout::build(&s, &consts, &inv);
        assert!(layout.is_regular(RecordId(0)));
        for (i, v) in values.iter().enumerate() {
            let c = Cell::present(layout.row_off[i]);
            let back = read_value(&layout, &layout, &Ty::Record(RecordId(0)), c).unwrap();
            assert_eq!(&back, v);
        }
        let x = layout.cell(layout.row_off[1], 4).unwrap();
        assert_eq!((x.tag, x.bits), (INT, 3));
        // Constants keep their ids; data equal to one shares it.
        assert_eq!(layout.strs.base_get(0).map(|s| &**s), Some("prod"));
        assert_eq!(layout.strs.base_get(1).map(|s| &**s), Some("absent"));
        let tags = layout.cell(layout.row_off[0], 6).unwrap();
        assert_eq!(tags.seq_len(), 2);
        // Maps are in key order: ("app", "a"), ("env", "prod").
        let env = layout.cell(tags.bits, 3).unwrap();
        assert_eq!(env.bits, 0);
        assert_eq!(layout.type_rows[0], vec![0, 1]);
    }

    #[test]
    fn a_read_set_lays_out_only_the_fields_read_each_at_its_slot() {
        let values = vec![resource("a", Value::Float(0.5), Value::str("o"))];
        let (s, inv) = inventory(values.clone());
        // `region`, `x` and `tags` read (fields 2, 4 and 6 of 8).
        let read = std::collections::BTreeMap::from([(RecordId(0), [2, 4, 6].into())]);
        let wanted = Wanted::new(&s, read);
        let layout = Layout::build_for(&s, &Constants::default(), &inv, Some(&wanted));
        let slots = &layout.slots;
        assert!(slots.compacts(RecordId(0)));
        assert_eq!(slots.cells(RecordId(0), 8), 3);
        let at: Vec<Option<usize>> = (0..8).map(|k| slots.slot(RecordId(0), k)).collect();
        assert_eq!(
            at,
            [None, None, Some(0), None, Some(1), None, Some(2), None]
        );
        // The record is three cells: `x` is the second.
        let x = layout.cell(layout.row_off[0], 1).unwrap();
        assert_eq!((x.tag, f64::from_bits(x.bits)), (FLOAT, 0.5));
        // Read back whole: the fields read, the others missing.
        let c = Cell::present(layout.row_off[0]);
        let back = read_value(&layout, &layout, &Ty::Record(RecordId(0)), c).unwrap();
        let Value::Record(fs) = &values[0] else {
            unreachable!()
        };
        let expected: Vec<Value> = (0..fs.len())
            .map(|k| match k {
                2 | 4 | 6 => fs[k].clone(),
                _ => Value::Missing,
            })
            .collect();
        assert_eq!(back, Value::Record(Arc::from(expected)));
        // Without a read set every field is at its index.
        let whole = Layout::build(&s, &Constants::default(), &inv);
        assert!(!whole.slots.compacts(RecordId(0)));
        assert_eq!(whole.slots.slot(RecordId(0), 5), Some(5));
    }

    #[test]
    fn misfits_mark_their_type_and_read_as_the_zero_block() {
        let mut bad = resource("a", Value::Float(0.5), Value::Missing);
        if let Value::Record(fs) = &mut bad {
            let mut v = fs.to_vec();
            v[3] = Value::str("not an int");
            *fs = Arc::from(v);
        }
        let (s, inv) = inventory(vec![resource("ok", Value::Float(1.0), Value::Missing), bad]);
        let layout = Layout::build(&s, &Constants::default(), &inv);
        assert!(!layout.is_regular(RecordId(0)));
        assert_eq!(layout.row_off[1], 0);
        // The zero block is as long as the longest record.
        for k in 0..8 {
            assert_eq!(layout.cell(0, k), Some(Cell::ZERO));
        }
    }

    #[test]
    fn scratch_cells_are_addressed_from_the_arena_base() {
        let (s, inv) = inventory(vec![resource("a", Value::Float(0.5), Value::Missing)]);
        let layout = Layout::build(&s, &Constants::default(), &inv);
        let mut scratch = Scratch::new(&layout);
        let list = Value::List(Arc::from(vec![Value::str("new"), Value::str("a")]));
        let ty = Ty::List(Box::new(Ty::Str));
        let c = {
            let mut int = SharedIntern(&layout);
            write_value(&s, &mut scratch, &mut int, &ty, &list).unwrap()
        };
        let cells = Cells {
            layout: &layout,
            scratch: &scratch,
        };
        assert_eq!(read_value(&layout, &cells, &ty, c), Some(list));
        // "a" was interned with the data; "new" in the overflow table.
        let a = cells.cell(c.bits, 1).unwrap().bits;
        assert!((a as usize) < layout.strs.base_len());
        let new = cells.cell(c.bits, 0).unwrap().bits;
        assert!((new as usize) >= layout.strs.base_len());
        assert_eq!(layout.strs.intern_shared_str("new") as u64, new);
        // Big allocations get chunks of their own; earlier cells stay.
        let at = scratch.alloc(CHUNK_CELLS * 2);
        scratch.set(at, CHUNK_CELLS * 2 - 1, Cell::present(7));
        let off = scratch.offset(at);
        let cells = Cells {
            layout: &layout,
            scratch: &scratch,
        };
        assert_eq!(cells.cell(off, CHUNK_CELLS * 2 - 1), Some(Cell::present(7)));
        assert_eq!(cells.cell(off, CHUNK_CELLS * 2), None);
        assert_eq!(
            read_value(&layout, &cells, &ty, c).map(|v| v.to_string()),
            Some("[\"new\", \"a\"]".into())
        );
        scratch.clear();
        let cells = Cells {
            layout: &layout,
            scratch: &scratch,
        };
        assert_eq!(cells.cell(off, 0), None);
    }
}
