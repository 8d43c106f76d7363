//! Inventory documents read straight into cells (issue 16, part 1).
//!
//! The reader's fast path (`pac_runtime::inventory`) parses the documents
//! of a block in pieces on the pool, each piece into its own [`Piece`]:
//! the cells of its documents as they will sit in the layout (nested
//! blocks first, then the record), with offsets from the piece's start
//! and strings, addresses and networks interned in the piece's own tables.
//! No `Value` is made for a field. Each cell that must change when the
//! piece joins the layout (an offset, an id) is noted as it is written.
//!
//! The thread that builds the layout then appends each piece whole
//! ([`LayoutBuilder::add_built`](crate::LayoutBuilder::add_built)): it
//! interns the piece's distinct values in the layout's tables (one
//! look-up per distinct value of a piece, not per occurrence), copies the
//! cells, and fixes the noted ones. That is the only serial part of
//! reading, and it does no work per field.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use pac_compiler::types::RecordId;
use pac_runtime::Build;

use crate::Cell;
use hashbrown::HashTable;

use crate::layout::{FLOAT, INT, Interner, Slots, Wanted, hash_of};

/// How a cell changes when its piece joins the layout.
const PTR: u64 = 0;
const STR: u64 = 1;
const IP: u64 = 2;
const CIDR: u64 = 3;
/// Kept as it is.
const PLAIN: u64 = 4;

/// A cell a [`Piece`] built, and how it changes when the piece joins the
/// layout.
#[derive(Clone, Copy, Debug)]
pub struct Built {
    cell: Cell,
    fix: u64,
}

impl Built {
    fn plain(cell: Cell) -> Built {
        Built { cell, fix: PLAIN }
    }

    /// Whether nothing was laid out (a type no code reads).
    pub fn is_missing(&self) -> bool {
        self.cell.is_missing()
    }

    /// A record's byte offset from its piece's start.
    pub(crate) fn offset(&self) -> u64 {
        self.cell.bits
    }
}

/// The cells of the documents of one piece of a block; see the module
/// documentation.
pub struct Piece {
    wanted: Option<Arc<Wanted>>,
    slots: Arc<Slots>,
    cells: Vec<Cell>,
    /// The cells to fix: position << 3 | what to do (`PTR`, `STR`, …).
    fixups: Vec<u64>,
    /// The piece's own tables (their base tables only).
    strs: PieceStrs,
    ips: Interner<IpAddr>,
    cidrs: Interner<IpNet>,
    /// Where the document being read started (cells, fixups).
    mark: (usize, usize),
}

/// A piece's distinct strings: their text one after another in one
/// buffer, each with its [`hash_of`], which the layout then looks it up by
/// (no string is allocated for a piece, and none is hashed twice).
#[derive(Default)]
struct PieceStrs {
    text: String,
    /// (start, end, hash) by id.
    spans: Vec<(usize, usize, u64)>,
    index: HashTable<u32>,
}

impl PieceStrs {
    fn intern(&mut self, s: &str) -> u32 {
        let hash = hash_of(s);
        if let Some(&id) = (self.index).find(hash, |&id| self.get(id).0 == s) {
            return id;
        }
        let id = self.spans.len() as u32;
        let at = self.text.len();
        self.text.push_str(s);
        self.spans.push((at, self.text.len(), hash));
        let spans = &self.spans;
        (self.index).insert_unique(hash, id, |&k| spans[k as usize].2);
        id
    }

    /// String `id`'s text and hash.
    fn get(&self, id: u32) -> (&str, u64) {
        let (at, end, hash) = self.spans[id as usize];
        (&self.text[at..end], hash)
    }

    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.index.clear();
    }
}

impl Piece {
    /// An empty piece for a layout of what `wanted` names.
    pub fn new(wanted: Option<Arc<Wanted>>, slots: Arc<Slots>) -> Piece {
        Piece {
            wanted,
            slots,
            cells: Vec::with_capacity(4096),
            fixups: Vec::with_capacity(2048),
            strs: PieceStrs::default(),
            ips: Interner::default(),
            cidrs: Interner::default(),
            mark: (0, 0),
        }
    }

    /// Empties the piece for another block, keeping its memory: freed
    /// pages would be returned to the system and faulted in again.
    pub(crate) fn clear(&mut self) {
        self.cells.clear();
        self.fixups.clear();
        self.strs.clear();
        self.ips.clear_base();
        self.cidrs.clear_base();
        self.mark = (0, 0);
    }

    /// Appends a block of cells; the byte offset of its first one from
    /// the piece's start.
    fn block(&mut self, items: impl IntoIterator<Item = Built>) -> u64 {
        let at = self.cells.len();
        for b in items {
            if b.fix != PLAIN {
                self.fixups.push(((self.cells.len() as u64) << 3) | b.fix);
            }
            self.cells.push(b.cell);
        }
        (at * 16) as u64
    }

    /// Appends this piece to a layout's `arena`, its values interned in
    /// the layout's tables; the byte offset of its start, which the
    /// offsets of its cells are relative to.
    pub(crate) fn append(
        &self,
        arena: &mut Vec<Cell>,
        strs: &mut Interner<Arc<str>>,
        ips: &mut Interner<IpAddr>,
        cidrs: &mut Interner<IpNet>,
    ) -> u64 {
        let str_ids: Vec<u64> = (0..self.strs.spans.len() as u32)
            .map(|id| {
                let (s, hash) = self.strs.get(id);
                u64::from(strs.intern_text_hashed(s, hash))
            })
            .collect();
        let ip_ids: Vec<u64> = (self.ips.base().iter())
            .map(|v| u64::from(ips.intern(v)))
            .collect();
        let cidr_ids: Vec<u64> = (self.cidrs.base().iter())
            .map(|v| u64::from(cidrs.intern(v)))
            .collect();
        let base = arena.len();
        let offset = (base * 16) as u64;
        arena.extend_from_slice(&self.cells);
        let cells = &mut arena[base..];
        for &f in &self.fixups {
            let c = &mut cells[(f >> 3) as usize];
            let id = c.bits as usize;
            c.bits = match f & 7 {
                PTR => c.bits + offset,
                STR => str_ids[id],
                IP => ip_ids[id],
                _ => cidr_ids[id],
            };
        }
        offset
    }
}

impl Build for Piece {
    type V = Built;
    fn mark(&mut self) {
        self.mark = (self.cells.len(), self.fixups.len());
    }
    fn rollback(&mut self) {
        self.cells.truncate(self.mark.0);
        self.fixups.truncate(self.mark.1);
    }
    fn missing(&mut self) -> Built {
        Built::plain(Cell::ZERO)
    }
    fn bool(&mut self, b: bool) -> Built {
        Built::plain(Cell::present(u64::from(b)))
    }
    fn int(&mut self, i: i64) -> Built {
        Built::plain(Cell {
            tag: INT,
            bits: i as u64,
        })
    }
    fn float(&mut self, f: f64) -> Built {
        Built::plain(Cell {
            tag: FLOAT,
            bits: f.to_bits(),
        })
    }
    fn str(&mut self, s: &str) -> Built {
        Built {
            cell: Cell::present(u64::from(self.strs.intern(s))),
            fix: STR,
        }
    }
    fn time(&mut self, t: i64) -> Built {
        Built::plain(Cell::present(t as u64))
    }
    fn dur(&mut self, d: i64) -> Built {
        Built::plain(Cell::present(d as u64))
    }
    fn ip(&mut self, ip: IpAddr) -> Built {
        Built {
            cell: Cell::present(u64::from(self.ips.intern(&ip))),
            fix: IP,
        }
    }
    fn cidr(&mut self, n: IpNet) -> Built {
        Built {
            cell: Cell::present(u64::from(self.cidrs.intern(&n))),
            fix: CIDR,
        }
    }
    fn list(&mut self, items: Vec<Built>) -> Built {
        if items.is_empty() {
            return Built::plain(Cell::seq(0, 0));
        }
        let n = items.len();
        Built {
            cell: Cell::seq(n, self.block(items)),
            fix: PTR,
        }
    }
    fn map(&mut self, entries: Vec<(Cow<'_, str>, Built)>) -> Built {
        if entries.is_empty() {
            return Built::plain(Cell::seq(0, 0));
        }
        let n = entries.len();
        let mut cells = Vec::with_capacity(2 * n);
        for (k, v) in entries {
            cells.push(Built {
                cell: Cell::present(u64::from(self.strs.intern(&k))),
                fix: STR,
            });
            cells.push(v);
        }
        Built {
            cell: Cell::seq(n, self.block(cells)),
            fix: PTR,
        }
    }
    fn record(&mut self, fields: Vec<Built>) -> Built {
        Built {
            cell: Cell::present(self.block(fields)),
            fix: PTR,
        }
    }
    fn resource(
        &mut self,
        rid: RecordId,
        mut fields: Vec<Built>,
        implicit: [&Arc<str>; 3],
    ) -> Built {
        // The mask borrows `wanted` alone: no count changed per document
        // on a shared `Arc`.
        let mask = match self.wanted.as_deref() {
            None => None,
            // A type no code reads is not laid out.
            Some(w) => match w.fields(rid) {
                None => return Built::plain(Cell::ZERO),
                Some(m) => Some(m),
            },
        };
        for (k, v) in implicit.into_iter().enumerate() {
            let read = mask.is_none_or(|m| m.get(k).copied().unwrap_or(false));
            if read && let Some(slot) = fields.get_mut(k) {
                *slot = Built {
                    cell: Cell::present(u64::from(self.strs.intern(v))),
                    fix: STR,
                };
            }
        }
        if self.slots.compacts(rid) {
            // Only the fields read, in order: their slots.
            let read = mask.unwrap_or(&[]);
            fields = fields
                .into_iter()
                .zip(read)
                .filter_map(|(f, &r)| r.then_some(f))
                .collect();
        }
        self.record(fields)
    }
}
