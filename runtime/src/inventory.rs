//! Reading inventory documents into resources, validated against their
//! schemas.
//!
//! A document is `{"type", "id", "account", "region", "attributes"}` (see
//! `docs/inventory.md`); a file holds a JSON array of documents or one
//! document per line (NDJSON), detected from its first character. Each
//! document's attributes are checked against the schema of its type and
//! converted to a record value in schema field order (the implicit `id`,
//! `account`, `region` first). A document that does not fit is reported as an
//! [`IngestError`] (file, line, type, id, field path, what is wrong) and
//! skipped; the others are kept.
//!
//! The reader follows `docs/inventory.md`. It accepts the AWS API's
//! PascalCase keys (`IpPermissions`, `AccountMFAEnabled`) next to
//! snake_case (the same field spelled twice is an error); tag lists
//! (`[{"Key": …, "Value": …}]`) become `map<string>` fields, and `TagSet` is
//! read as `tags`; `null`, and `""` or `"N/A"` for optional timestamps, IPs
//! and CIDRs, mean absent; timestamps are RFC 3339 date-times; keys no
//! schema declares are ignored. A second document with the same type, id,
//! account and region is reported as a duplicate and skipped.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use pac_compiler::reads::ReadMask;
use pac_compiler::types::{IMPLICIT_FIELDS, RecordId, Schemas, Ty};
use pac_stdlib::Value;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

mod fast;

pub use fast::Build;

/// One resource of the inventory.
#[derive(Clone, Debug)]
pub struct Resource {
    pub rtype: RecordId,
    /// The resource type name, `aws.ec2.security_group`.
    pub type_name: Arc<str>,
    pub id: Arc<str>,
    pub account: Arc<str>,
    pub region: Arc<str>,
    /// The record: `Value::Record` in schema field order, implicit fields first.
    pub value: Value,
    /// Where the document was read: the file (empty for a test's `given`
    /// resources) and the line it starts on (0 when not from a file).
    pub source: Arc<str>,
    pub line: usize,
}

impl Resource {
    /// Implicit field `field` (`id`, `account`, `region`, the first three
    /// of every resource record), as the reader set it; `None` for any
    /// other field.
    pub fn implicit(&self, field: usize) -> Option<&Arc<str>> {
        [&self.id, &self.account, &self.region].get(field).copied()
    }
}

/// A document for [`Inventory::from_incoming`], with its line.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A document already read into this resource (it is unchanged).
    Known(usize, Resource),
    /// A document's JSON text, to be parsed and validated.
    Text(usize, String),
}

/// The resources an evaluation sees, in the order they were read.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub resources: Vec<Resource>,
}

/// A block of an inventory text read by [`Inventory::read_text`].
pub struct Block<'a> {
    /// Its bytes in the text.
    pub bytes: std::ops::Range<usize>,
    /// The inventory index of its first resource.
    pub first: usize,
    /// Its resources, in order (duplicates of earlier ones left out).
    pub resources: &'a mut [Resource],
}

/// A block read by [`Inventory::read_text_built`].
pub type BuiltBlock<'a, B> = Pieces<'a, B, <B as Build>::V>;

/// A block, and what builders of type `B` made of its documents.
pub struct Pieces<'a, B, V> {
    pub block: Block<'a>,
    /// The builders of the block's pieces, in order.
    pub pieces: Vec<B>,
    /// Per resource of the block: the piece that built it and what it
    /// built; `None` for a resource that keeps its value.
    pub built: Vec<Option<(usize, V)>>,
}

/// How [`Reader::read_pieces`] reads one document into a builder.
type ReadDoc<'f, B, V> = dyn Fn(&mut B, &Arc<str>, usize, &str) -> Read<V> + Sync + 'f;

/// A document that could not be read; it is skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestError {
    /// The file (or other source name) the document came from.
    pub source: String,
    /// 1-based line where the document starts (0 when the file is unreadable).
    pub line: usize,
    /// The document's `type`, when known.
    pub type_name: String,
    /// The document's `id`, when known.
    pub id: String,
    /// Path of the offending attribute, e.g. `ip_permissions[0].from_port`;
    /// empty when the problem is the document itself.
    pub field: String,
    pub message: String,
    /// The document's other problems, each attribute's first, in schema
    /// order (at most [`MAX_PROBLEMS`] in all), so that one pass over a
    /// bad export shows everything to fix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<IngestProblem>,
}

/// One more problem of a rejected document (see [`IngestError::also`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestProblem {
    /// As [`IngestError::field`]; empty for the count of problems left out.
    pub field: String,
    pub message: String,
}

/// The most problems reported for one document.
pub const MAX_PROBLEMS: usize = 20;

fn write_problem(f: &mut fmt::Formatter<'_>, field: &str, message: &str) -> fmt::Result {
    if !field.is_empty() && !message.contains(&format!("`{field}`")) {
        write!(f, "field `{field}`: ")?;
    }
    f.write_str(message)
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        f.write_str(": ")?;
        match (self.type_name.is_empty(), self.id.is_empty()) {
            (false, false) => write!(f, "{} {}: ", self.type_name, self.id)?,
            (false, true) => write!(f, "{} (no id): ", self.type_name)?,
            (true, false) => write!(f, "{}: ", self.id)?,
            (true, true) => {}
        }
        write_problem(f, &self.field, &self.message)?;
        for p in &self.also {
            f.write_str("; ")?;
            write_problem(f, &p.field, &p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

impl Inventory {
    pub fn new() -> Inventory {
        Inventory::default()
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Resources given as record values (a test's `given` resources): the
    /// implicit fields `id`, `account`, `region` are read from the record.
    pub fn from_values(
        schemas: &Schemas,
        values: impl IntoIterator<Item = (RecordId, Value)>,
    ) -> Inventory {
        let resources = values
            .into_iter()
            .map(|(rtype, value)| {
                let field = |i: usize| -> Arc<str> {
                    match &value {
                        Value::Record(fs) => match fs.get(i) {
                            Some(Value::Str(s)) => s.clone(),
                            _ => Arc::from(""),
                        },
                        _ => Arc::from(""),
                    }
                };
                let type_name = schemas
                    .records
                    .get(rtype.0 as usize)
                    .and_then(|r| r.resource_type.as_deref())
                    .unwrap_or("");
                Resource {
                    rtype,
                    type_name: Arc::from(type_name),
                    id: field(0),
                    account: field(1),
                    region: field(2),
                    value,
                    source: Arc::from(""),
                    line: 0,
                }
            })
            .collect();
        Inventory { resources }
    }

    /// Appends the resources of another inventory, except duplicates of
    /// resources already here (same type, id, account and region), which
    /// are returned as errors.
    pub fn extend(&mut self, other: Inventory) -> Vec<IngestError> {
        if other.resources.is_empty() {
            // Nothing to check: the duplicate table over what is here
            // would be built for nothing (a rescan's carry step).
            return Vec::new();
        }
        let mut seen = Seen::default();
        for i in 0..self.resources.len() {
            seen.first(&self.resources[..i], &self.resources[i]);
        }
        let mut errors = Vec::new();
        self.resources.reserve(other.resources.len());
        for r in other.resources {
            match seen.first(&self.resources, &r) {
                Some(earlier) => errors.push(duplicate(&self.resources[earlier], &r)),
                None => self.resources.push(r),
            }
        }
        errors
    }

    /// Reads a JSON array or NDJSON text; `source` names it in errors.
    pub fn read_str(schemas: &Schemas, source: &str, text: &str) -> (Inventory, Vec<IngestError>) {
        Reader::new(schemas).read(source, text)
    }

    /// [`Inventory::read_str`] block by block, and for one program when
    /// given its `mask` ([`pac_compiler::reads::ReadMask::of`]): a
    /// top-level field that no code of the program reads is skipped unread:
    /// it costs no memory (`Value::Missing` in its place) and is not
    /// validated, so a document whose only problem is in such a field
    /// loads. The document must still be JSON with a known type and an
    /// `attributes` object. For `pacc eval`, whose report shows nothing but
    /// what the program computes; anything that shows a resource whole
    /// reads it in full.
    ///
    /// NDJSON is read in blocks of a few megabytes
    /// (each block's documents parsed in parallel), and `done` is given
    /// each [`Block`] once it is read: the byte range nothing refers to any
    /// more (a mapped file's pages can then leave the process, see
    /// `pac_bundle::InventoryText::release`) and its resources, which it
    /// may lay out elsewhere and strip. A JSON array or a stream of
    /// pretty-printed documents is one block.
    pub fn read_text(
        schemas: &Schemas,
        mask: Option<&ReadMask>,
        source: &str,
        text: &str,
        done: &mut dyn FnMut(Block<'_>),
    ) -> (Inventory, Vec<IngestError>) {
        let mut reader = Reader::new(schemas);
        reader.mask = mask;
        reader.read_released(source, text, done)
    }

    /// [`Inventory::read_text`], with the documents the fast path takes
    /// built by a [`Build`] that `new` makes, one per piece of a block
    /// (in the native engine, straight into cells: no value per field).
    /// Their resources keep no value (`Value::Missing`); a document only
    /// the reference path reads (one with escapes it gave up on, or a JSON
    /// array's) keeps its value, and `built` says which is which.
    pub fn read_text_built<B: Build + Send>(
        schemas: &Schemas,
        mask: Option<&ReadMask>,
        source: &str,
        text: &str,
        new: &(dyn Fn() -> B + Sync),
        done: &mut dyn FnMut(BuiltBlock<'_, B>),
    ) -> (Inventory, Vec<IngestError>)
    where
        B::V: Send,
    {
        let mut reader = Reader::new(schemas);
        reader.mask = mask;
        let reader = &reader;
        reader.read_pieces(
            source,
            text,
            new,
            &|b, src, line, raw| reader.document_into(b, src, line, raw),
            done,
        )
    }

    /// Reads documents that are already parsed, such as a connector's
    /// output: each item is `(source, position, document)`, and an error
    /// names the source and the position (in [`IngestError::line`]) of the
    /// document it is about. Validation, PascalCase keys, tag lists and
    /// duplicate detection are those of [`Inventory::read_str`].
    pub fn from_documents<'a>(
        schemas: &Schemas,
        docs: impl IntoIterator<Item = (&'a str, usize, &'a Json)>,
    ) -> (Inventory, Vec<IngestError>) {
        let reader = Reader::new(schemas);
        let mut names: HashMap<&'a str, Arc<str>> = HashMap::new();
        let items: Vec<(Arc<str>, usize, String)> = docs
            .into_iter()
            .map(|(source, pos, doc)| {
                let src = names.entry(source).or_insert_with(|| Arc::from(source));
                (src.clone(), pos, doc.to_string())
            })
            .collect();
        let results: Vec<Result<Resource, Box<IngestError>>> = items
            .par_iter()
            .with_min_len(64)
            .map(|(src, pos, raw)| reader.document(src, *pos, raw))
            .collect();
        assemble(results, Vec::new())
    }

    /// Reads documents of which some are already known as resources (a
    /// rescan: documents unchanged since the last read are not parsed or
    /// validated again). `source` names them all; a document's position is
    /// its line. The result is what [`Inventory::read_str`] gives for the
    /// same documents one per line: same resources in the same order, same
    /// errors (duplicates included), sorted by line.
    pub fn from_incoming(
        schemas: &Schemas,
        source: &str,
        items: Vec<Incoming>,
    ) -> (Inventory, Vec<IngestError>) {
        let reader = Reader::new(schemas);
        let src: Arc<str> = Arc::from(source);
        let results: Vec<Result<Resource, Box<IngestError>>> = items
            .into_par_iter()
            .with_min_len(64)
            .map(|item| match item {
                Incoming::Known(line, mut r) => {
                    r.source = src.clone();
                    r.line = line;
                    Ok(r)
                }
                Incoming::Text(line, text) => reader.document(&src, line, &text),
            })
            .collect();
        let (inv, mut errors) = assemble(results, Vec::new());
        errors.sort_by_key(|e| e.line);
        (inv, errors)
    }

    /// Reads a file; an unreadable file is one error (line 0).
    pub fn read_path(schemas: &Schemas, path: &Path) -> (Inventory, Vec<IngestError>) {
        let source = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Inventory::read_str(schemas, &source, &text),
            Err(e) => (
                Inventory::new(),
                vec![IngestError {
                    source,
                    line: 0,
                    type_name: String::new(),
                    id: String::new(),
                    field: String::new(),
                    message: format!("cannot read the file: {e}"),
                    also: Vec::new(),
                }],
            ),
        }
    }

    /// The indices of the resources of each type, in inventory order,
    /// by `RecordId`: each type's list sized first (no hashing per
    /// resource, no list grown by doubling).
    pub fn by_type(&self) -> Vec<Vec<usize>> {
        let mut counts: Vec<usize> = Vec::new();
        for r in &self.resources {
            let t = r.rtype.0 as usize;
            if counts.len() <= t {
                counts.resize(t + 1, 0);
            }
            counts[t] += 1;
        }
        let mut out: Vec<Vec<usize>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for (i, r) in self.resources.iter().enumerate() {
            out[r.rtype.0 as usize].push(i);
        }
        out
    }

    /// The first resource with this type and id.
    pub fn find(&self, rtype: RecordId, id: &str) -> Option<usize> {
        self.resources
            .iter()
            .position(|r| r.rtype == rtype && &*r.id == id)
    }
}

type Identity = (RecordId, Arc<str>, Arc<str>, Arc<str>);

/// The inventory of read documents: the resources in order, the errors
/// after `errors`, duplicates (second and later) reported and skipped.
fn assemble(
    results: Vec<Result<Resource, Box<IngestError>>>,
    mut errors: Vec<IngestError>,
) -> (Inventory, Vec<IngestError>) {
    let mut loaded = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(res) => loaded.push(res),
            Err(e) => errors.push(*e),
        }
    }
    let mut inv = Inventory::new();
    errors.extend(inv.extend(Inventory { resources: loaded }));
    (inv, errors)
}

/// The resources kept so far, by identity: one 64-bit hash and an index
/// per resource (a million of them), the identities compared on a hit.
#[derive(Default)]
struct Seen {
    by_hash: rustc_hash::FxHashMap<u64, u32>,
    /// Identities whose hash an earlier, different one already has.
    collided: HashMap<Identity, u32>,
}

impl Seen {
    /// The index in `kept` of an earlier resource with `r`'s identity;
    /// `None` records `r` as the next one kept.
    fn first(&mut self, kept: &[Resource], r: &Resource) -> Option<usize> {
        self.first_hashed(kept, r, Seen::hash(r))
    }

    /// The hash of `r`'s identity, by reference: no identity is built per
    /// resource (computed where the resource is read, on the pool).
    fn hash(r: &Resource) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one((r.rtype, &*r.id, &*r.account, &*r.region))
    }

    /// [`Seen::first`] of `r`, whose identity hashes to `hash`.
    fn first_hashed(&mut self, kept: &[Resource], r: &Resource, hash: u64) -> Option<usize> {
        use std::collections::hash_map::Entry;
        let next = kept.len() as u32;
        match self.by_hash.entry(hash) {
            Entry::Vacant(v) => {
                v.insert(next);
                None
            }
            Entry::Occupied(o) => {
                let k = *o.get() as usize;
                if kept.get(k).is_some_and(|e| {
                    (e.rtype, &*e.id, &*e.account, &*e.region)
                        == (r.rtype, &*r.id, &*r.account, &*r.region)
                }) {
                    return Some(k);
                }
                match self.collided.entry(identity(r)) {
                    Entry::Occupied(c) => Some(*c.get() as usize),
                    Entry::Vacant(c) => {
                        c.insert(next);
                        None
                    }
                }
            }
        }
    }
}

/// A string that repeats across a whole inventory (an account, a region)
/// as one shared allocation: a small cache per reading thread, emptied
/// when it fills (an inventory of many accounts loses sharing, nothing
/// else).
fn shared_str(s: &str) -> Arc<str> {
    thread_local! {
        static SHARED: std::cell::RefCell<HashMap<Box<str>, Arc<str>>> =
            std::cell::RefCell::new(HashMap::new());
    }
    SHARED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(a) = cache.get(s) {
            return a.clone();
        }
        if cache.len() >= 4096 {
            cache.clear();
        }
        let a: Arc<str> = Arc::from(s);
        cache.insert(Box::from(s), a.clone());
        a
    })
}

fn identity(r: &Resource) -> Identity {
    (r.rtype, r.id.clone(), r.account.clone(), r.region.clone())
}

fn duplicate(first: &Resource, dup: &Resource) -> IngestError {
    let at = if first.source == dup.source {
        format!("line {}", first.line)
    } else {
        format!("{}:{}", first.source, first.line)
    };
    IngestError {
        source: dup.source.to_string(),
        line: dup.line,
        type_name: dup.type_name.to_string(),
        id: dup.id.to_string(),
        field: String::new(),
        message: format!(
            "duplicate of the document at {at} (same account {} and region {})",
            dup.account, dup.region
        ),
        also: Vec::new(),
    }
}

// ----- Index keys -------------------------------------------------------------

/// A value usable as a hash key of a field index: the types the compiler
/// plans probes on (strings, ints, bools, IPs, CIDRs, timestamps).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Bool(bool),
    Int(i64),
    Str(Arc<str>),
    Time(i64),
    Ip(IpAddr),
    Cidr(IpNet),
}

impl Key {
    /// The key of a value, when it has one whose hash equality is exactly
    /// Pac's `==` (floats have none: they compare by value with ints).
    pub fn of(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Str(s) => Key::Str(s.clone()),
            Value::Time(t) => Key::Time(*t),
            Value::Ip(ip) => Key::Ip(*ip),
            Value::Cidr(n) => Key::Cidr(*n),
            _ => return None,
        })
    }
}

/// An index of resources by the value of one field.
#[derive(Clone, Debug, Default)]
pub struct FieldIndex {
    pub map: HashMap<Key, Vec<usize>>,
    /// Resources whose field holds a value without a key (a float); they
    /// are candidates for every probe. Resources missing the field are in
    /// neither (see `build`).
    pub unkeyed: Vec<usize>,
}

impl FieldIndex {
    /// Indexes `resources` (inventory indices) by their field `field`:
    /// `value` gives a resource's field (`None` when its record is not
    /// held: unkeyed, a candidate for every key).
    pub fn build(resources: &[usize], value: impl Fn(usize) -> Option<Value>) -> FieldIndex {
        let mut idx = FieldIndex::default();
        for &i in resources {
            let key = match &value(i) {
                // A missing value never equals a key: the compiler probes
                // an optional field only where `has(v.f)` narrowed it, so
                // such a resource cannot satisfy the body (merging these
                // into every probe made optional joins quadratic).
                Some(Value::Missing) => continue,
                Some(v) => Key::of(v),
                None => None,
            };
            match key {
                Some(k) => idx.map.entry(k).or_default().push(i),
                None => idx.unkeyed.push(i),
            }
        }
        idx
    }

    /// The resources whose field may equal `key`, in inventory order.
    pub fn candidates(&self, key: &Key) -> Cow<'_, [usize]> {
        let hits = self.map.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if self.unkeyed.is_empty() {
            return Cow::Borrowed(hits);
        }
        let mut all: Vec<usize> = hits.iter().chain(&self.unkeyed).copied().collect();
        all.sort_unstable();
        Cow::Owned(all)
    }
}

// ----- The reader -------------------------------------------------------------

/// How the keys of a JSON object map to the fields of one record.
struct FieldLookup {
    /// Field names and API aliases to field indices.
    keys: rustc_hash::FxHashMap<Box<str>, u32>,
}

struct Reader<'s> {
    schemas: &'s Schemas,
    /// The fields some loaded code reads; the others of a resource are
    /// skipped unread (`Value::Missing`), see [`Inventory::read_text`].
    mask: Option<&'s ReadMask>,
    /// NDJSON is read in blocks of about this many bytes.
    block: usize,
    /// Resource type names to their schema (and a shared name).
    types: rustc_hash::FxHashMap<String, (RecordId, Arc<str>)>,
    lookups: Vec<FieldLookup>,
    empty_list: Value,
    empty_map: Value,
}

/// Where a value sits in a document, rendered only for errors.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Root,
    Field(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
    Key(&'a Loc<'a>, &'a str),
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => Ok(()),
            Loc::Field(p, name) => {
                if matches!(p, Loc::Root) {
                    f.write_str(name)
                } else {
                    write!(f, "{p}.{name}")
                }
            }
            Loc::Index(p, i) => write!(f, "{p}[{i}]"),
            Loc::Key(p, k) => write!(f, "{p}[{k:?}]"),
        }
    }
}

struct FieldError {
    field: String,
    message: String,
    /// Further problems of the same record or list (see
    /// [`IngestError::also`]).
    also: Vec<IngestProblem>,
    /// Problems beyond [`MAX_PROBLEMS`], counted only.
    dropped: usize,
}

fn field_err(path: &Loc<'_>, message: String) -> FieldError {
    FieldError {
        field: path.to_string(),
        message,
        also: Vec::new(),
        dropped: 0,
    }
}

/// Adds `e` to the problems found so far (the first one leads).
fn gather(first: &mut Option<FieldError>, e: FieldError) {
    let Some(f) = first else {
        *first = Some(e);
        return;
    };
    let incoming = std::iter::once(IngestProblem {
        field: e.field,
        message: e.message,
    })
    .chain(e.also);
    for p in incoming {
        if f.also.len() + 1 < MAX_PROBLEMS {
            f.also.push(p);
        } else {
            f.dropped += 1;
        }
    }
    f.dropped += e.dropped;
}

impl FieldError {
    /// The first problem's field and message, and the problems after it
    /// with the count of those left out.
    fn into_parts(mut self) -> (String, String, Vec<IngestProblem>) {
        if self.dropped > 0 {
            self.also.push(IngestProblem {
                field: String::new(),
                message: format!("and {} more problem(s) not listed", self.dropped),
            });
        }
        (self.field, self.message, self.also)
    }
}

/// API member names the schemas spell differently (see docs/schemas.md).
const ALIASES: &[(&str, &str)] = &[
    ("TagSet", "tags"),
    ("tag_set", "tags"),
    ("LoggingEnabled", "logging"),
    ("logging_enabled", "logging"),
    ("ServiceName", "last_used_service"),
    ("service_name", "last_used_service"),
    ("Region", "last_used_region"),
];

/// `IpPermissions` → `ip_permissions`, `AccountMFAEnabled` →
/// `account_mfa_enabled`, `MFADevices` → `mfa_devices`, `Ipv6Ranges` →
/// `ipv6_ranges`: a word starts at an upper-case letter after a lower-case
/// letter or digit, and at the last capital of an acronym followed by
/// lower case (the AWS SDK's rule).
/// A float with no fractional part that an `i64` holds (`22.0` → 22):
/// an integer field written through a float. `None` otherwise.
pub(crate) fn whole(f: f64) -> Option<i64> {
    // 2^63 is exact as a float; every float below it in magnitude with no
    // fraction is an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

pub fn snake_case(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut out = String::with_capacity(key.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let boundary = match i.checked_sub(1).map(|p| chars[p]) {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => chars.get(i + 1).is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn json_kind(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("bool {b}"),
        Json::Number(n) if n.is_f64() => format!("float {n}"),
        Json::Number(n) => format!("integer {n}"),
        Json::String(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("string {shown:?}")
        }
        Json::Array(_) => "array".into(),
        Json::Object(_) => "object".into(),
    }
}

/// Parses a timestamp: an RFC 3339 date-time with a zone
/// (`2026-01-15T09:30:00Z`, `2026-03-04T12:20:30+02:00`, fractional seconds
/// allowed; also a space for `T` and `+0000`-style offsets). Seconds since
/// the epoch, UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp());
        }
    }
    None
}

/// Collects the elements of a JSON array as raw slices of the text, keeping
/// those before a syntax error.
struct Elements<'a, 'v>(&'v mut Vec<&'a RawValue>);

impl<'de> serde::de::Visitor<'de> for Elements<'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of inventory documents")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(x) = seq.next_element::<&'de RawValue>()? {
            self.0.push(x);
        }
        Ok(())
    }
}

/// NDJSON is read in blocks of about this many bytes.
const BLOCK: usize = 8 << 20;

/// Counts lines incrementally over increasing byte offsets.
struct LineCounter<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.pos..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = offset;
        self.line
    }
}

impl<'s> Reader<'s> {
    fn new(schemas: &'s Schemas) -> Reader<'s> {
        let lookups = schemas
            .records
            .iter()
            .map(|r| {
                let skip = if r.resource_type.is_some() {
                    IMPLICIT_FIELDS.len()
                } else {
                    0
                };
                let mut keys = rustc_hash::FxHashMap::default();
                for (i, f) in r.fields.iter().enumerate().skip(skip) {
                    keys.insert(Box::from(f.name.as_str()), i as u32);
                }
                for (alias, target) in ALIASES {
                    if keys.contains_key(*alias) {
                        continue;
                    }
                    if let Some((i, _)) = r.field(target)
                        && (i as usize) >= skip
                    {
                        keys.insert(Box::from(*alias), i);
                    }
                }
                FieldLookup { keys }
            })
            .collect();
        let types = schemas
            .resource_types()
            .map(|(id, name)| (name.to_string(), (id, Arc::from(name))))
            .collect();
        Reader {
            schemas,
            mask: None,
            block: BLOCK,
            types,
            lookups,
            empty_list: Value::List(Arc::from(Vec::new())),
            empty_map: Value::Map(Arc::new(BTreeMap::new())),
        }
    }

    /// Whether field `field` of resource type `rid` is left unread.
    fn unread(&self, rid: RecordId, field: usize) -> bool {
        self.mask.is_some_and(|m| !m.reads(rid, field))
    }

    fn read(&self, source: &str, text: &str) -> (Inventory, Vec<IngestError>) {
        self.read_released(source, text, &mut |_| {})
    }

    /// [`Reader::read`] in blocks where the text is NDJSON (see
    /// [`Inventory::read_text`]).
    fn read_released(
        &self,
        source: &str,
        whole: &str,
        done: &mut dyn FnMut(Block<'_>),
    ) -> (Inventory, Vec<IngestError>) {
        self.read_pieces(
            source,
            whole,
            &|| (),
            &|(), src, line, raw| self.document(src, line, raw).map(|r| (r, None::<()>)),
            &mut |p| done(p.block),
        )
    }

    /// [`Reader::read_released`] with each piece of a block (a run of
    /// [`PIECE`] documents) read by `doc` into a builder `new` makes: a
    /// document gives its resource and, when `doc` built it, what it built.
    /// `done` is given each block, its pieces' builders and, per resource
    /// kept, the piece that built it and what was built.
    fn read_pieces<B: Send, V: Send>(
        &self,
        source: &str,
        whole: &str,
        new: &(dyn Fn() -> B + Sync),
        doc: &ReadDoc<'_, B, V>,
        done: &mut dyn FnMut(Pieces<'_, B, V>),
    ) -> (Inventory, Vec<IngestError>) {
        let text = whole.strip_prefix('\u{feff}').unwrap_or(whole);
        let base = whole.len() - text.len();
        // NDJSON when the first non-blank line is a JSON document on its own.
        let first = text.lines().find(|l| !l.trim().is_empty());
        let ndjson = !text.trim_start().starts_with('[')
            && first.is_some_and(|l| serde_json::from_str::<&RawValue>(l).is_ok());
        if !ndjson {
            let (mut inv, errors) = self.read_whole(source, text);
            let built = (0..inv.len()).map(|_| None).collect();
            let block = Block {
                bytes: base..whole.len(),
                first: 0,
                resources: &mut inv.resources,
            };
            done(Pieces {
                block,
                pieces: Vec::new(),
                built,
            });
            return (inv, errors);
        }
        let src: Arc<str> = Arc::from(source);
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        let mut seen = Seen::default();
        // Two stages: another thread cuts the blocks and parses each one's
        // documents (in parallel, on the pool), while this one takes the
        // parsed blocks in order, drops duplicates and hands each to
        // `done` (in `pacc eval`, the native layout, written on one
        // thread). So the layout of one block overlaps the parse of the
        // next; at most two parsed blocks wait between the stages.
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Parsed<B, V>>(1);
            let src = &src;
            scope.spawn(move || {
                let (mut at, mut line) = (0, 1);
                while at < text.len() {
                    let mut end = (at + self.block.max(1)).min(text.len());
                    end = match memchr::memchr(b'\n', &text.as_bytes()[end..]) {
                        Some(k) => end + k + 1,
                        None => text.len(),
                    };
                    let docs = block_lines(&text[at..end], &mut line);
                    let pieces = docs
                        .par_chunks(PIECE)
                        .map(|piece| {
                            let mut b = new();
                            let read = piece
                                .iter()
                                .map(|&(line, raw)| {
                                    let r = doc(&mut b, src, line, raw);
                                    // The identity's hash here, for the
                                    // duplicate check on the merging thread.
                                    let hash = r.as_ref().map_or(0, |(res, _)| Seen::hash(res));
                                    (r, hash)
                                })
                                .collect::<Vec<_>>();
                            (b, read)
                        })
                        .collect();
                    // The taker stopped (it panicked): nothing to do.
                    if tx.send((at..end, pieces)).is_err() {
                        return;
                    }
                    at = end;
                }
            });
            for (range, pieces) in rx {
                let first = loaded.len();
                if first == 0 {
                    // As many resources again per block's worth of text:
                    // the list grows once, not by doubling.
                    let per_byte = pieces.iter().map(|p| p.1.len()).sum::<usize>() as f64
                        / range.len().max(1) as f64;
                    // (A document takes 64 bytes at the very least.) Only
                    // an estimate: when the memory is not there the lists
                    // grow as they go, as they did.
                    let expected =
                        ((per_byte * text.len() as f64 * 1.05) as usize).min(text.len() / 64);
                    let _ = loaded.try_reserve(expected);
                    let _ = seen.by_hash.try_reserve(expected);
                }
                let mut builders = Vec::with_capacity(pieces.len());
                let mut built = Vec::new();
                for (p, (b, read)) in pieces.into_iter().enumerate() {
                    builders.push(b);
                    for (r, hash) in read {
                        match r {
                            Ok((res, v)) => match seen.first_hashed(&loaded, &res, hash) {
                                Some(earlier) => errors.push(duplicate(&loaded[earlier], &res)),
                                None => {
                                    loaded.push(res);
                                    built.push(v.map(|v| (p, v)));
                                }
                            },
                            Err(e) => errors.push(*e),
                        }
                    }
                }
                let block = Block {
                    bytes: base + range.start..base + range.end,
                    first,
                    resources: &mut loaded[first..],
                };
                done(Pieces {
                    block,
                    pieces: builders,
                    built,
                });
            }
        });
        errors.sort_by_key(|e| e.line);
        (Inventory { resources: loaded }, errors)
    }

    /// A document read into `b` when the fast path takes it (its resource
    /// keeps no value), else by the reference path.
    fn document_into<B: Build>(
        &self,
        b: &mut B,
        source: &Arc<str>,
        line: usize,
        raw: &str,
    ) -> Read<B::V> {
        b.mark();
        match self.document_built(b, raw) {
            Some((head, v)) => Ok((head.resource(Value::Missing, source, line), Some(v))),
            None => {
                b.rollback();
                self.document_reference(source, line, raw)
                    .map(|r| (r, None))
            }
        }
    }

    fn read_whole(&self, source: &str, text: &str) -> (Inventory, Vec<IngestError>) {
        let src: Arc<str> = Arc::from(source);
        let mut errors = Vec::new();
        let docs: Vec<(usize, &str)> = if text.trim_start().starts_with('[') {
            self.split_array(source, text, &mut errors)
        } else {
            self.split_lines(text)
        };
        let results: Vec<Result<Resource, Box<IngestError>>> = docs
            .par_iter()
            .with_min_len(64)
            .map(|&(line, raw)| self.document(&src, line, raw))
            .collect();
        let (inv, mut errors) = assemble(results, errors);
        errors.sort_by_key(|e| e.line);
        (inv, errors)
    }

    fn split_array<'t>(
        &self,
        source: &str,
        text: &'t str,
        errors: &mut Vec<IngestError>,
    ) -> Vec<(usize, &'t str)> {
        let mut raws: Vec<&'t RawValue> = Vec::new();
        let mut de = serde_json::Deserializer::from_str(text);
        let res = serde::Deserializer::deserialize_seq(&mut de, Elements(&mut raws))
            .and_then(|()| de.end());
        // A file that does not parse cannot be split into documents: it is
        // one error, and nothing of it is loaded.
        if let Err(e) = res {
            errors.push(IngestError {
                source: source.to_string(),
                line: e.line(),
                type_name: String::new(),
                id: String::new(),
                field: String::new(),
                message: format!("not a JSON array of documents: {e}"),
                also: Vec::new(),
            });
            return Vec::new();
        }
        let mut lines = LineCounter {
            text,
            pos: 0,
            line: 1,
        };
        let base = text.as_ptr() as usize;
        raws.into_iter()
            .map(|raw| {
                let s = raw.get();
                let offset = (s.as_ptr() as usize).saturating_sub(base);
                (lines.line_at(offset), s)
            })
            .collect()
    }

    fn split_lines<'t>(&self, text: &'t str) -> Vec<(usize, &'t str)> {
        let docs: Vec<(usize, &'t str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect();
        // A single pretty-printed document (or several) rather than NDJSON:
        // the first line alone is not JSON, but the whole text is a stream.
        if let Some((_, first)) = docs.first()
            && serde_json::from_str::<&RawValue>(first).is_err()
        {
            let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
            let mut out = Vec::new();
            let mut lines = LineCounter {
                text,
                pos: 0,
                line: 1,
            };
            let base = text.as_ptr() as usize;
            let mut ok = true;
            for item in stream.by_ref() {
                match item {
                    Ok(raw) => {
                        let s = raw.get();
                        let offset = (s.as_ptr() as usize).saturating_sub(base);
                        out.push((lines.line_at(offset), s));
                    }
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && !out.is_empty() {
                return out;
            }
        }
        docs
    }

    /// The resource of one document, or what is wrong with it: the fast
    /// path for documents that load, the reference path (a JSON tree, then
    /// the schema) for the others, which names the problem.
    fn document(
        &self,
        source: &Arc<str>,
        line: usize,
        raw: &str,
    ) -> Result<Resource, Box<IngestError>> {
        match self.document_fast(source, line, raw) {
            Some(r) => Ok(r),
            None => self.document_reference(source, line, raw),
        }
    }

    fn document_reference(
        &self,
        source: &Arc<str>,
        line: usize,
        raw: &str,
    ) -> Result<Resource, Box<IngestError>> {
        let json: Json = match serde_json::from_str(raw) {
            Ok(j) => j,
            Err(e) => {
                return Err(self.fail(
                    source,
                    line,
                    None,
                    String::new(),
                    format!("not a JSON document: {e}"),
                ));
            }
        };
        let Json::Object(doc) = json else {
            return Err(self.fail(
                source,
                line,
                None,
                String::new(),
                format!(
                    "a document must be a JSON object, found {}",
                    json_kind(&json)
                ),
            ));
        };
        let fail =
            |field: String, message: String| self.fail(source, line, Some(&doc), field, message);
        let mut header = [""; 4];
        for (slot, key) in header.iter_mut().zip(["type", "id", "account", "region"]) {
            match doc.get(key) {
                Some(Json::String(s)) => *slot = s,
                None | Some(Json::Null) => {
                    return Err(fail(
                        String::new(),
                        format!("missing document member `{key}` (string)"),
                    ));
                }
                Some(other) => {
                    return Err(fail(
                        String::new(),
                        format!(
                            "document member `{key}` must be a string, found {}",
                            json_kind(other)
                        ),
                    ));
                }
            }
        }
        let [type_name, id, account, region] = header;
        if id.is_empty() {
            return Err(fail(
                String::new(),
                "document member `id` must not be empty".into(),
            ));
        }
        let Some((rtype, type_arc)) = self.types.get(type_name) else {
            return Err(fail(
                String::new(),
                format!("unknown resource type `{type_name}`"),
            ));
        };
        let attrs = match doc.get("attributes") {
            Some(Json::Object(m)) => m,
            None | Some(Json::Null) => {
                return Err(fail(
                    String::new(),
                    "missing document member `attributes` (object)".into(),
                ));
            }
            Some(other) => {
                return Err(fail(
                    String::new(),
                    format!(
                        "document member `attributes` must be an object, found {}",
                        json_kind(other)
                    ),
                ));
            }
        };
        let (id, account, region) = (
            Arc::<str>::from(id),
            shared_str(account),
            shared_str(region),
        );
        let implicit = [
            Value::Str(id.clone()),
            Value::Str(account.clone()),
            Value::Str(region.clone()),
        ];
        match self.record(*rtype, attrs, &Loc::Root, Some(implicit)) {
            Ok(value) => Ok(Resource {
                rtype: *rtype,
                type_name: type_arc.clone(),
                id,
                account,
                region,
                value,
                source: source.clone(),
                line,
            }),
            Err(e) => {
                let (field, message, also) = e.into_parts();
                let mut err = fail(field, message);
                err.also = also;
                Err(err)
            }
        }
    }

    fn fail(
        &self,
        source: &str,
        line: usize,
        doc: Option<&serde_json::Map<String, Json>>,
        field: String,
        message: String,
    ) -> Box<IngestError> {
        let text = |k: &str| match doc.and_then(|d| d.get(k)) {
            Some(Json::String(s)) => s.clone(),
            _ => String::new(),
        };
        Box::new(IngestError {
            source: source.to_string(),
            line,
            type_name: text("type"),
            id: text("id"),
            field,
            message,
            also: Vec::new(),
        })
    }

    fn record(
        &self,
        rid: RecordId,
        obj: &serde_json::Map<String, Json>,
        path: &Loc<'_>,
        implicit: Option<[Value; 3]>,
    ) -> Result<Value, FieldError> {
        let def = self.schemas.record(rid);
        let lookup = &self.lookups[rid.0 as usize];
        let mut chosen: Vec<Option<(&str, &Json)>> = vec![None; def.fields.len()];
        for (k, v) in obj {
            let hit = lookup.keys.get(k.as_str()).copied().or_else(|| {
                if k.chars().any(char::is_uppercase) {
                    lookup.keys.get(snake_case(k).as_str()).copied()
                } else {
                    None
                }
            });
            if let Some(i) = hit {
                if implicit.is_some() && self.unread(rid, i as usize) {
                    continue;
                }
                let slot = &mut chosen[i as usize];
                if let Some((first, _)) = slot {
                    let f = &def.fields[i as usize];
                    return Err(field_err(
                        &Loc::Field(path, &f.name),
                        format!("the field is given twice (`{first}` and `{k}`)"),
                    ));
                }
                *slot = Some((k, v));
            }
        }
        let mut values = Vec::with_capacity(def.fields.len());
        let skip = match implicit {
            Some(imp) => {
                values.extend(imp);
                IMPLICIT_FIELDS.len()
            }
            None => 0,
        };
        // Every field is read, so that every problem is reported.
        let mut problems = None;
        for (k, (f, chosen)) in def.fields.iter().zip(&chosen).enumerate().skip(skip) {
            if skip > 0 && self.unread(rid, k) {
                values.push(Value::Missing);
                continue;
            }
            let fpath = Loc::Field(path, &f.name);
            let v = match chosen {
                Some((_, j)) => self.value(j, &f.ty, &f.name, &fpath),
                None => self.absent(&f.ty, &fpath),
            };
            match v {
                Ok(v) => values.push(v),
                Err(e) => gather(&mut problems, e),
            }
        }
        match problems {
            Some(e) => Err(e),
            None => Ok(Value::Record(Arc::from(values))),
        }
    }

    fn absent(&self, ty: &Ty, path: &Loc<'_>) -> Result<Value, FieldError> {
        match ty {
            Ty::Opt(_) => Ok(Value::Missing),
            Ty::List(_) => Ok(self.empty_list.clone()),
            Ty::Map(_) => Ok(self.empty_map.clone()),
            t => Err(field_err(
                path,
                format!(
                    "missing required field `{path}` (expected {})",
                    self.schemas.display(t)
                ),
            )),
        }
    }

    fn mismatch(&self, ty: &Ty, j: &Json, path: &Loc<'_>) -> FieldError {
        field_err(
            path,
            format!(
                "expected {}, found {}",
                self.schemas.display(ty),
                json_kind(j)
            ),
        )
    }

    fn value(&self, j: &Json, ty: &Ty, name: &str, path: &Loc<'_>) -> Result<Value, FieldError> {
        match (ty, j) {
            (Ty::Opt(_), Json::Null) => Ok(Value::Missing),
            (
                Ty::Bool
                | Ty::Int
                | Ty::Float
                | Ty::Str
                | Ty::Time
                | Ty::Dur
                | Ty::Ip
                | Ty::Cidr
                | Ty::Record(_),
                Json::Null,
            ) => self.absent(ty, path),
            (Ty::Opt(inner), Json::String(s))
                if matches!(**inner, Ty::Time | Ty::Ip | Ty::Cidr)
                    && (s.is_empty() || s == "N/A") =>
            {
                Ok(Value::Missing)
            }
            (Ty::Opt(inner), Json::String(s))
                if **inner == Ty::Str && s == "N/A" && name.starts_with("last_used_") =>
            {
                Ok(Value::Missing)
            }
            (Ty::Opt(inner), _) => self.value(j, inner, name, path),
            (Ty::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
            (Ty::Int, Json::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Value::Int(i)),
                None if n.is_u64() => Err(field_err(
                    path,
                    format!("expected int, found integer {n} (out of range)"),
                )),
                // `22.0`, as exports written through floats give it.
                None => match n.as_f64().and_then(whole) {
                    Some(i) => Ok(Value::Int(i)),
                    None => Err(self.mismatch(ty, j, path)),
                },
            },
            (Ty::Float, Json::Number(n)) => match n.as_f64() {
                Some(f) => Ok(Value::Float(f)),
                None => Err(self.mismatch(ty, j, path)),
            },
            (Ty::Str, Json::String(s)) => Ok(Value::str(s)),
            (Ty::Time, Json::String(s)) => match parse_timestamp(s) {
                Some(t) => Ok(Value::Time(t)),
                None => Err(field_err(
                    path,
                    format!(
                        "expected timestamp, found {s:?} (not an RFC 3339 date-time such as 2026-01-15T09:30:00Z)"
                    ),
                )),
            },
            (Ty::Dur, Json::Number(n)) => match n.as_i64().or_else(|| n.as_f64().and_then(whole)) {
                Some(d) => Ok(Value::Dur(d)),
                None => Err(self.mismatch(ty, j, path)),
            },
            (Ty::Ip, Json::String(s)) => match s.parse::<IpAddr>() {
                Ok(ip) => Ok(Value::Ip(ip)),
                Err(_) => Err(field_err(
                    path,
                    format!("expected ip, found {s:?} (not an IPv4 or IPv6 address)"),
                )),
            },
            (Ty::Cidr, Json::String(s)) => match s.parse::<IpNet>() {
                Ok(n) => Ok(Value::Cidr(n)),
                Err(_) => Err(field_err(
                    path,
                    format!("expected cidr, found {s:?} (not an address with a prefix length)"),
                )),
            },
            (Ty::List(_), Json::Null) => Ok(self.empty_list.clone()),
            (Ty::List(el), Json::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut problems = None;
                for (i, item) in items.iter().enumerate() {
                    match self.value(item, el, name, &Loc::Index(path, i)) {
                        Ok(v) => out.push(v),
                        Err(e) => gather(&mut problems, e),
                    }
                }
                match problems {
                    Some(e) => Err(e),
                    None => Ok(Value::List(Arc::from(out))),
                }
            }
            (Ty::Map(_), Json::Null) => Ok(self.empty_map.clone()),
            (Ty::Map(el), Json::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let v = self.value(v, el, name, &Loc::Key(path, k))?;
                    out.insert(Arc::from(k.as_str()), v);
                }
                Ok(Value::Map(Arc::new(out)))
            }
            // AWS tag lists: [{"Key": "env", "Value": "prod"}].
            (Ty::Map(el), Json::Array(items)) => {
                let mut out = BTreeMap::new();
                for (i, item) in items.iter().enumerate() {
                    let ipath = Loc::Index(path, i);
                    let Json::Object(kv) = item else {
                        return Err(field_err(
                            &ipath,
                            format!(
                                "expected a {{\"Key\": …, \"Value\": …}} object, found {}",
                                json_kind(item)
                            ),
                        ));
                    };
                    let key = match kv.get("Key").or_else(|| kv.get("key")) {
                        Some(Json::String(k)) => k,
                        Some(other) => {
                            return Err(field_err(
                                &ipath,
                                format!("expected a string `Key`, found {}", json_kind(other)),
                            ));
                        }
                        None => {
                            return Err(field_err(&ipath, "missing `Key`".to_string()));
                        }
                    };
                    let v = match kv.get("Value").or_else(|| kv.get("value")) {
                        None | Some(Json::Null) if **el == Ty::Str => Value::str(""),
                        None => return Err(field_err(&ipath, "missing `Value`".to_string())),
                        Some(v) => self.value(v, el, name, &Loc::Key(path, key))?,
                    };
                    out.insert(Arc::from(key.as_str()), v);
                }
                Ok(Value::Map(Arc::new(out)))
            }
            (Ty::Record(r), Json::Object(m)) => self.record(*r, m, path, None),
            (Ty::Regex | Ty::Glob | Ty::Var | Ty::Empty | Ty::Error, _) => Err(field_err(
                path,
                format!(
                    "the schema type `{}` cannot be read from data",
                    self.schemas.display(ty)
                ),
            )),
            _ => Err(self.mismatch(ty, j, path)),
        }
    }
}

/// A document read: its resource and what was built of it, or why it
/// was not read.
type Read<V> = Result<(Resource, Option<V>), Box<IngestError>>;

/// A parsed block of NDJSON: its byte range in the text and its pieces,
/// each a builder and its documents (with the hash of each resource's
/// identity, for the duplicate check).
type Parsed<B, V> = (std::ops::Range<usize>, Vec<(B, Vec<(Read<V>, u64)>)>);

/// The documents of a block that one task of the pool reads, into one
/// builder.
const PIECE: usize = 128;

/// The lines of an NDJSON block, as `str::lines` cuts them (a `\r` before
/// the `\n` dropped), numbered from `line`, the blank ones left out.
fn block_lines<'t>(block: &'t str, line: &mut usize) -> Vec<(usize, &'t str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let cuts = memchr::memchr_iter(b'\n', block.as_bytes())
        .chain((!block.ends_with('\n')).then_some(block.len()));
    for cut in cuts {
        let l = &block[start..cut];
        let l = match l.strip_suffix('\r') {
            Some(x) if cut < block.len() => x,
            _ => l,
        };
        if !l.trim().is_empty() {
            docs.push((*line, l));
        }
        *line += 1;
        start = cut + 1;
    }
    docs
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pac_compiler::types::{FieldDef, RecordDef};
    use pac_lang::Span;

    fn field(name: &str, ty: Ty) -> FieldDef {
        FieldDef {
            name: name.into(),
            ty,
            doc: None,
            file: 0,
            span: Span::default(),
        }
    }

    fn resource(type_name: &str, fields: Vec<FieldDef>) -> RecordDef {
        let mut all = vec![
            field("id", Ty::Str),
            field("account", Ty::Str),
            field("region", Ty::Str),
        ];
        all.extend(fields);
        RecordDef {
            name: type_name.into(),
            resource_type: Some(type_name.into()),
            fields: all,
            doc: None,
            file: 0,
            span: Span::default(),
        }
    }

    fn record(name: &str, fields: Vec<FieldDef>) -> RecordDef {
        RecordDef {
            name: name.into(),
            resource_type: None,
            fields,
            doc: None,
            file: 0,
            span: Span::default(),
        }
    }

    fn opt(t: Ty) -> Ty {
        Ty::Opt(Box::new(t))
    }

    /// A small schema set: security groups (record 0) with permissions
    /// (record 1) and ranges (record 2); account summaries (record 3);
    /// access keys (record 4).
    pub(crate) fn schemas() -> Schemas {
        Schemas {
            records: vec![
                resource(
                    "aws.ec2.security_group",
                    vec![
                        field("group_id", Ty::Str),
                        field("description", opt(Ty::Str)),
                        field(
                            "ip_permissions",
                            Ty::List(Box::new(Ty::Record(RecordId(1)))),
                        ),
                        field("tags", Ty::Map(Box::new(Ty::Str))),
                    ],
                ),
                record(
                    "aws.ec2.IpPermission",
                    vec![
                        field("ip_protocol", Ty::Str),
                        field("from_port", opt(Ty::Int)),
                        field("to_port", opt(Ty::Int)),
                        field("ip_ranges", Ty::List(Box::new(Ty::Record(RecordId(2))))),
                    ],
                ),
                record("aws.ec2.IpRange", vec![field("cidr_ip", Ty::Cidr)]),
                resource(
                    "aws.iam.account_summary",
                    vec![
                        field("account_mfa_enabled", Ty::Int),
                        field("mfa_devices", Ty::Int),
                        field("mfa_devices_in_use", Ty::Int),
                    ],
                ),
                resource(
                    "aws.iam.access_key",
                    vec![
                        field("access_key_id", Ty::Str),
                        field("create_date", Ty::Time),
                        field("last_used_date", opt(Ty::Time)),
                        field("last_used_service", opt(Ty::Str)),
                        field("last_used_region", opt(Ty::Str)),
                        field("score", Ty::Float),
                        field("address", opt(Ty::Ip)),
                    ],
                ),
            ],
        }
    }

    fn read(text: &str) -> (Inventory, Vec<IngestError>) {
        Inventory::read_str(&schemas(), "inv.json", text)
    }

    fn fields(r: &Resource) -> &[Value] {
        match &r.value {
            Value::Record(f) => f,
            _ => panic!("not a record"),
        }
    }

    /// A mask reading `group_id` (field 3) and `tags` (field 6) of
    /// security groups, and no other type.
    fn sg_mask() -> ReadMask {
        ReadMask::new(
            &schemas(),
            BTreeMap::from([(RecordId(0), std::collections::BTreeSet::from([0, 3, 6]))]),
        )
    }

    #[test]
    fn a_problem_in_a_field_no_code_reads_does_not_reject_the_document() {
        // `ip_permissions` is not a list and `description` not a string,
        // but nothing reads them; the access key lacks its required fields,
        // but no code reads access keys.
        let text = r#"{"type":"aws.ec2.security_group","id":"sg-1","account":"1","region":"r","attributes":{"group_id":"sg-1","description":7,"ip_permissions":"oops","tags":{"env":"prod"}}}
{"type":"aws.iam.access_key","id":"AKIA1","account":"1","region":"r","attributes":{"score":"high"}}
{"type":"aws.ec2.security_group","id":"sg-2","account":"1","region":"r","attributes":{"group_id":5,"tags":{}}}
{"type":"aws.ec2.security_group","id":"sg-3","account":"1","region":"r","attributes":"none"}
{"type":"aws.iam.access_key","id":"AKIA2","account":"1","region":"r","attributes":{"score":1.0,"score":2.0}
"#;
        let mask = sg_mask();
        let (inv, errors) =
            Inventory::read_text(&schemas(), Some(&mask), "inv.json", text, &mut |_| {});
        let ids: Vec<&str> = inv.resources.iter().map(|r| &*r.id).collect();
        assert_eq!(ids, ["sg-1", "AKIA1"]);
        let f = fields(&inv.resources[0]);
        assert_eq!(f[3], Value::str("sg-1"));
        assert_eq!(f[4], Value::Missing, "unread: not kept");
        assert_eq!(f[5], Value::Missing, "unread: not kept");
        assert!(matches!(&f[6], Value::Map(m) if m.len() == 1));
        assert_eq!(
            fields(&inv.resources[1])[..3],
            [Value::str("AKIA1"), Value::str("1"), Value::str("r")]
        );
        // A read field is still checked, attributes must be an object and
        // the document JSON.
        let what: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(what, [(3, "group_id"), (4, ""), (5, "")]);
        assert!(
            errors[0].message.contains("expected string"),
            "{}",
            errors[0]
        );
        // Read in full, the first two are rejected.
        let (full, errors) = read(text);
        assert_eq!(full.len(), 0, "{errors:?}");
        assert_eq!(errors.len(), 5);
    }

    #[test]
    fn ndjson_read_in_blocks_is_ndjson_read_whole() {
        let sg = |id: &str, port: &str| {
            format!(
                r#"{{"type":"aws.ec2.security_group","id":"{id}","account":"1","region":"r","attributes":{{"group_id":"{id}","ip_permissions":[{{"ip_protocol":"tcp","from_port":{port}}}],"tags":{{}}}}}}"#
            )
        };
        let text = format!(
            "\u{feff}{}\r\n\n{}\n  \n{}\n{{\"type\": \"aws.ec2.security_group\"\n{}\n{}\r\n{}",
            sg("sg-1", "22"),
            sg("sg-2", "\"x\""),
            sg("sg-1", "23"),
            sg("sg-3", "1"),
            sg("sg-2", "2"),
            sg("sg-4", "4"),
        );
        let schemas = schemas();
        let summary = |(inv, errors): (Inventory, Vec<IngestError>)| {
            let kept: Vec<(String, usize)> = inv
                .resources
                .iter()
                .map(|r| (r.id.to_string(), r.line))
                .collect();
            let errs: Vec<(usize, String)> =
                errors.into_iter().map(|e| (e.line, e.message)).collect();
            (kept, errs)
        };
        let whole =
            summary(Reader::new(&schemas).read_whole("t", text.trim_start_matches('\u{feff}')));
        assert_eq!(
            whole.0,
            [
                ("sg-1".into(), 1),
                ("sg-3".into(), 7),
                ("sg-2".into(), 8),
                ("sg-4".into(), 9)
            ]
        );
        assert_eq!(whole.1.len(), 3, "{:?}", whole.1);
        for block in [1, 2, 7, 50, 200, 1 << 20] {
            let mut reader = Reader::new(&schemas);
            reader.block = block;
            let mut covered = 0;
            let mut next = 0;
            let got = reader.read_released("t", &text, &mut |b| {
                assert_eq!(
                    b.bytes.start,
                    covered.max(3),
                    "blocks follow each other after the BOM"
                );
                covered = b.bytes.end;
                assert_eq!(b.first, next, "resources follow each other");
                next += b.resources.len();
            });
            assert_eq!(covered, text.len());
            assert_eq!(summary(got), whole, "blocks of {block}");
        }
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Any text, cut into blocks of any size, reads as it reads whole:
        /// documents, duplicates, bad lines, blank lines, `\r\n`, with and
        /// without a read mask.
        #[test]
        fn blocks_of_any_size_read_any_text_as_the_whole(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    (0u8..4, proptest::prop_oneof![
                        proptest::strategy::Just("22".to_string()),
                        proptest::strategy::Just("\"x\"".to_string()),
                        proptest::strategy::Just("null".to_string()),
                    ]).prop_map(|(id, port)| format!(
                        r#"{{"type":"aws.ec2.security_group","id":"sg-{id}","account":"1","region":"r","attributes":{{"group_id":"sg-{id}","ip_permissions":[{{"ip_protocol":"tcp","from_port":{port}}}],"tags":{{}}}}}}"#
                    )),
                    "[ -~]{0,30}",
                    proptest::strategy::Just(String::new()),
                    proptest::strategy::Just("  ".to_string()),
                ],
                0..14,
            ),
            crlf in proptest::bool::ANY,
            bom in proptest::bool::ANY,
            block in 1usize..400,
            masked in proptest::bool::ANY,
        ) {
            use proptest::prop_assert_eq;
            let body = lines.join(if crlf { "\r\n" } else { "\n" });
            let text = if bom { format!("\u{feff}{body}") } else { body.clone() };
            let schemas = schemas();
            let mask = sg_mask();
            let summary = |(inv, errors): (Inventory, Vec<IngestError>)| {
                let kept: Vec<(String, usize, String)> = inv
                    .resources
                    .iter()
                    .map(|r| (r.id.to_string(), r.line, format!("{:?}", r.value)))
                    .collect();
                let errs: Vec<(usize, String)> =
                    errors.into_iter().map(|e| (e.line, e.message)).collect();
                (kept, errs)
            };
            let mut whole = Reader::new(&schemas);
            let mut cut = Reader::new(&schemas);
            if masked {
                whole.mask = Some(&mask);
                cut.mask = Some(&mask);
            }
            cut.block = block;
            let expected = summary(whole.read_whole("t", &body));
            let mut covered = if bom { 3 } else { 0 };
            let got = summary(cut.read_released("t", &text, &mut |b| {
                assert_eq!(b.bytes.start, covered);
                covered = b.bytes.end;
            }));
            prop_assert_eq!(covered, text.len().max(if bom { 3 } else { 0 }));
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_document_nested_too_deep_is_one_error_and_the_next_loads() {
        // 100,000 nested arrays in a field no schema declares, then in one
        // the mask leaves unread: serde_json's depth limit stops both
        // paths; nothing overflows the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let good = r#"{"type":"aws.ec2.security_group","id":"sg-2","account":"1","region":"r","attributes":{"group_id":"sg-2","tags":{}}}"#;
        for field in ["unmodelled", "description"] {
            let text = format!(
                r#"{{"type":"aws.ec2.security_group","id":"sg-1","account":"1","region":"r","attributes":{{"group_id":"sg-1","{field}":{deep}}}}}
{good}
"#
            );
            let mask = sg_mask();
            for mask in [None, Some(&mask)] {
                let (inv, errors) = Inventory::read_text(&schemas(), mask, "t", &text, &mut |_| {});
                let ids: Vec<&str> = inv.resources.iter().map(|r| &*r.id).collect();
                assert_eq!(ids, ["sg-2"], "{field}");
                assert_eq!(errors.len(), 1, "{field}: {errors:?}");
                assert_eq!(errors[0].line, 1);
                assert!(
                    errors[0].message.contains("recursion limit"),
                    "{}",
                    errors[0]
                );
            }
        }
    }

    #[test]
    fn snake_case_follows_the_sdk() {
        assert_eq!(snake_case("IpPermissions"), "ip_permissions");
        assert_eq!(snake_case("CidrIp"), "cidr_ip");
        assert_eq!(snake_case("AccountMFAEnabled"), "account_mfa_enabled");
        assert_eq!(snake_case("MFADevices"), "mfa_devices");
        assert_eq!(snake_case("MFADevicesInUse"), "mfa_devices_in_use");
        assert_eq!(snake_case("Ipv6Ranges"), "ipv6_ranges");
        assert_eq!(snake_case("CidrIpv6"), "cidr_ipv6");
        assert_eq!(snake_case("KMSMasterKeyID"), "kms_master_key_id");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn reads_ndjson_with_pascal_case_and_tags() {
        let text = r#"
{"type":"aws.ec2.security_group","id":"sg-1","account":"1","region":"r","attributes":{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}],"Tags":[{"Key":"env","Value":"prod"}],"Unmodelled":1}}
{"type":"aws.iam.account_summary","id":"1","account":"1","region":"r","attributes":{"AccountMFAEnabled":1,"MFADevices":2,"MFADevicesInUse":1,"UsersQuota":5000}}
"#;
        let (inv, errors) = read(text);
        assert_eq!(errors, vec![]);
        assert_eq!(inv.len(), 2);
        let sg = &inv.resources[0];
        assert_eq!(&*sg.id, "sg-1");
        let f = fields(sg);
        assert_eq!(f[3], Value::str("sg-1"));
        assert_eq!(f[4], Value::Missing);
        let Value::List(perms) = &f[5] else { panic!() };
        let Value::Record(p) = &perms[0] else {
            panic!()
        };
        assert_eq!(p[1], Value::Int(22));
        let Value::List(ranges) = &p[3] else { panic!() };
        let Value::Record(r) = &ranges[0] else {
            panic!()
        };
        assert_eq!(r[0], Value::Cidr("0.0.0.0/0".parse().unwrap()));
        let Value::Map(tags) = &f[6] else { panic!() };
        assert_eq!(tags.get("env"), Some(&Value::str("prod")));
        let sum = fields(&inv.resources[1]);
        assert_eq!(&sum[3..], &[Value::Int(1), Value::Int(2), Value::Int(1)]);
    }

    #[test]
    fn mixed_spellings_are_read_but_a_field_given_twice_is_an_error() {
        let text = r#"{"type":"aws.ec2.security_group","id":"sg-1","account":"1","region":"r","attributes":{"GroupId":"sg-1","description":"d","TagSet":{"a":"b"}}}
{"type":"aws.ec2.security_group","id":"sg-2","account":"1","region":"r","attributes":{"GroupId":"pascal","group_id":"snake"}}"#;
        let (inv, errors) = read(text);
        assert_eq!(inv.len(), 1);
        let f = fields(&inv.resources[0]);
        assert_eq!(f[3], Value::str("sg-1"));
        assert_eq!(f[4], Value::str("d"));
        let Value::Map(tags) = &f[6] else { panic!() };
        assert_eq!(tags.get("a"), Some(&Value::str("b")));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "group_id");
        assert_eq!(
            errors[0].message,
            "the field is given twice (`GroupId` and `group_id`)"
        );
    }

    #[test]
    fn tags_as_lowercase_lists_and_objects() {
        let text = r#"[
{"type":"aws.ec2.security_group","id":"a","account":"1","region":"r","attributes":{"group_id":"a","tags":[{"key":"env","value":"dev"},{"key":"empty"}]}},
{"type":"aws.ec2.security_group","id":"b","account":"1","region":"r","attributes":{"group_id":"b","tags":{"env":"prod"}}}
]"#;
        let (inv, errors) = read(text);
        assert_eq!(errors, vec![]);
        let Value::Map(a) = &fields(&inv.resources[0])[6] else {
            panic!()
        };
        assert_eq!(a.get("env"), Some(&Value::str("dev")));
        assert_eq!(a.get("empty"), Some(&Value::str("")));
        let Value::Map(b) = &fields(&inv.resources[1])[6] else {
            panic!()
        };
        assert_eq!(b.get("env"), Some(&Value::str("prod")));
    }

    #[test]
    fn bad_documents_are_reported_with_line_and_field_and_skipped() {
        let text = r#"{"type":"aws.ec2.security_group","id":"ok","account":"1","region":"r","attributes":{"group_id":"ok"}}
{"type":"aws.ec2.security_group","id":"sg-2","account":"1","region":"r","attributes":{"group_id":"x","ip_permissions":[{"ip_protocol":"tcp","from_port":"22"}]}}
{"type":"aws.workspaces.workspace","id":"ws","account":"1","region":"r","attributes":{}}
{"type": "aws.ec2.security_group", "id": "trunc", "attri

{"type":"aws.ec2.security_group","account":"1","region":"r","attributes":{"group_id":"x"}}
{"type":"aws.ec2.security_group","id":"sg-6","account":"1","region":"r","attributes":{}}
{"type":"aws.ec2.security_group","id":"sg-7","account":"1","region":"r","attributes":{"group_id":"x","ip_permissions":[{"ip_protocol":"tcp","ip_ranges":[{"cidr_ip":"10.0.0.300/8"}]}]}}
{"type":"aws.iam.access_key","id":"k","account":"1","region":"r","attributes":{"access_key_id":"k","create_date":"yesterday","score":1}}
{"type":"aws.iam.account_summary","id":"1","account":"1","region":"r","attributes":{"AccountMFAEnabled":1.5,"MFADevices":2,"MFADevicesInUse":1}}
{"type":"aws.ec2.security_group","id":"ok","account":"1","region":"r","attributes":{"group_id":"again"}}
{"type":"aws.ec2.security_group","id":"sg-12","account":"1","region":"r"}
{"type":"aws.ec2.security_group","id":"sg-13","account":"1","region":"r","attributes":{"group_id":null}}
"#;
        let (inv, errors) = read(text);
        assert_eq!(inv.len(), 1);
        assert_eq!(&*inv.resources[0].id, "ok");
        let summary: Vec<(usize, &str, &str)> = errors
            .iter()
            .map(|e| (e.line, e.field.as_str(), e.message.as_str()))
            .collect();
        let expected: Vec<(usize, &str, &str)> = vec![
            (
                2,
                "ip_permissions[0].from_port",
                "expected int, found string \"22\"",
            ),
            (3, "", "unknown resource type `aws.workspaces.workspace`"),
            (
                4,
                "",
                "not a JSON document: EOF while parsing a string at line 1 column 56",
            ),
            (6, "", "missing document member `id` (string)"),
            (
                7,
                "group_id",
                "missing required field `group_id` (expected string)",
            ),
            (
                8,
                "ip_permissions[0].ip_ranges[0].cidr_ip",
                "expected cidr, found \"10.0.0.300/8\" (not an address with a prefix length)",
            ),
            (
                9,
                "create_date",
                "expected timestamp, found \"yesterday\" (not an RFC 3339 date-time such as 2026-01-15T09:30:00Z)",
            ),
            (10, "account_mfa_enabled", "expected int, found float 1.5"),
            (
                11,
                "",
                "duplicate of the document at line 1 (same account 1 and region r)",
            ),
            (12, "", "missing document member `attributes` (object)"),
            (
                13,
                "group_id",
                "missing required field `group_id` (expected string)",
            ),
        ];
        assert_eq!(summary, expected);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown[0],
            "inv.json:2: aws.ec2.security_group sg-2: field `ip_permissions[0].from_port`: expected int, found string \"22\""
        );
        assert_eq!(
            shown[3],
            "inv.json:6: aws.ec2.security_group (no id): missing document member `id` (string)"
        );
        assert_eq!(
            shown[4],
            "inv.json:7: aws.ec2.security_group sg-6: missing required field `group_id` (expected string)"
        );
    }

    #[test]
    fn every_problem_of_a_document_is_reported_not_just_the_first() {
        // Two bad top-level fields and two bad list items.
        let doc = r#"{"type": "aws.ec2.security_group", "id": "sg-1", "account": "1", "region": "r",
            "attributes": {"group_id": 5, "description": [],
              "ip_permissions": [{"ip_protocol": "tcp", "from_port": "x"},
                                 {"ip_protocol": 6, "ip_ranges": [{"cidr_ip": "nope"}]}]}}"#;
        let (inv, errs) = read(doc);
        assert!(inv.is_empty());
        assert_eq!(errs.len(), 1, "one document, one error: {errs:?}");
        let e = &errs[0];
        assert_eq!(e.field, "group_id");
        let rest: Vec<&str> = e.also.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            rest,
            [
                "description",
                "ip_permissions[0].from_port",
                "ip_permissions[1].ip_protocol",
                "ip_permissions[1].ip_ranges[0].cidr_ip",
            ]
        );
        let text = e.to_string();
        for f in [
            "group_id",
            "description",
            "from_port",
            "ip_protocol",
            "cidr_ip",
        ] {
            assert!(text.contains(f), "{f} in {text}");
        }
        assert_eq!(text.lines().count(), 1, "one line per document: {text}");

        // Many problems: the first MAX_PROBLEMS, then how many more.
        let perms: Vec<String> = (0..30)
            .map(|_| r#"{"ip_protocol": "tcp", "from_port": "x"}"#.to_string())
            .collect();
        let doc = format!(
            r#"{{"type": "aws.ec2.security_group", "id": "sg-2", "account": "1", "region": "r",
                "attributes": {{"group_id": "sg-2", "ip_permissions": [{}]}}}}"#,
            perms.join(",")
        );
        let (_, errs) = read(&doc);
        let e = &errs[0];
        assert_eq!(e.also.len(), MAX_PROBLEMS, "{e}");
        assert_eq!(
            e.also.last().unwrap().message,
            "and 10 more problem(s) not listed"
        );
        // A document with one problem has no others.
        let (_, errs) = read(
            r#"{"type": "aws.ec2.security_group", "id": "sg-3", "account": "1", "region": "r",
                "attributes": {"group_id": 7}}"#,
        );
        assert!(errs[0].also.is_empty(), "{:?}", errs[0]);
    }

    #[test]
    fn timestamps_floats_and_not_available() {
        let text = r#"[{"type":"aws.iam.access_key","id":"k","account":"1","region":"r","attributes":{
  "AccessKeyId":"k","CreateDate":"2026-01-15T09:30:00.123Z","LastUsedDate":"N/A",
  "ServiceName":"N/A","Region":"N/A","score":7,"address":""}},
 {"type":"aws.iam.access_key","id":"k2","account":"1","region":"r","attributes":{
  "access_key_id":"k2","create_date":"2026-01-15T11:30:00+02:00","last_used_date":"2026-01-15 00:00:00+0000","last_used_service":"s3","Region":"eu-west-1","score":7.5,"address":"10.0.0.1"}},
 {"type":"aws.iam.access_key","id":"k3","account":"1","region":"r","attributes":{
  "access_key_id":"k3","create_date":1768469400,"score":1}},
 {"type":"aws.iam.access_key","id":"k4","account":"1","region":"r","attributes":{
  "access_key_id":"k4","create_date":"2026-01-15","score":1}},
 {"type":"aws.iam.access_key","id":"k5","account":"1","region":"r","attributes":{
  "access_key_id":"k5","create_date":"2026-01-15T09:30:00Z","score":1.0,"count":22.0}}]"#;
        let (inv, errors) = read(text);
        // Epoch numbers and bare dates are not timestamps.
        let bad: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.id.as_str(), e.field.as_str()))
            .collect();
        assert_eq!(bad, vec![("k3", "create_date"), ("k4", "create_date")]);
        assert_eq!(
            errors[0].message,
            "expected timestamp, found integer 1768469400"
        );
        assert_eq!(inv.len(), 3);
        let a = fields(&inv.resources[0]);
        assert_eq!(a[4], Value::Time(1_768_469_400));
        assert_eq!(&a[5..8], &[Value::Missing, Value::Missing, Value::Missing]);
        assert_eq!(a[8], Value::Float(7.0));
        assert_eq!(a[9], Value::Missing);
        let b = fields(&inv.resources[1]);
        assert_eq!(b[4], Value::Time(1_768_469_400));
        assert_eq!(b[5], Value::Time(1_768_435_200));
        assert_eq!(b[6], Value::str("s3"));
        assert_eq!(b[7], Value::str("eu-west-1"));
        assert_eq!(b[8], Value::Float(7.5));
        assert_eq!(b[9], Value::Ip("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn array_documents_report_their_starting_line() {
        let text = "[\n{\"type\":\"aws.ec2.security_group\",\"id\":\"a\",\"account\":\"1\",\"region\":\"r\",\"attributes\":{\"group_id\":\"a\"}},\n\n{\"type\":\"nope\",\"id\":\"b\",\"account\":\"1\",\"region\":\"r\"}\n]";
        let (inv, errors) = read(text);
        assert_eq!(inv.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
        assert_eq!(errors[0].id, "b");
    }

    #[test]
    fn a_broken_array_is_one_error_and_loads_nothing() {
        let text = "[\n{\"type\":\"aws.ec2.security_group\",\"id\":\"a\",\"account\":\"1\",\"region\":\"r\",\"attributes\":{\"group_id\":\"a\"}},\n{\"type\": \n";
        let (inv, errors) = read(text);
        assert_eq!(inv.len(), 0);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
        assert!(
            errors[0]
                .message
                .starts_with("not a JSON array of documents: EOF"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_pretty_printed_document_is_read() {
        let text = "{\n  \"type\": \"aws.ec2.security_group\",\n  \"id\": \"a\", \"account\": \"1\", \"region\": \"r\",\n  \"attributes\": {\"group_id\": \"a\"}\n}\n";
        let (inv, errors) = read(text);
        assert_eq!(errors, vec![]);
        assert_eq!(inv.len(), 1);
    }

    #[test]
    fn parsed_documents_are_validated_with_source_and_position() {
        let good: Json = serde_json::json!({"type": "aws.ec2.security_group", "id": "sg-1", "account": "1", "region": "r", "attributes": {"GroupId": "sg-1"}});
        let bad: Json = serde_json::json!({"type": "aws.ec2.security_group", "id": "sg-2", "account": "1", "region": "r", "attributes": {"group_id": 7}});
        let (inv, errors) = Inventory::from_documents(
            &schemas(),
            [
                ("aws-prod", 1, &good),
                ("aws-prod", 2, &bad),
                ("files", 1, &good),
            ],
        );
        assert_eq!(inv.len(), 1);
        assert_eq!(&*inv.resources[0].source, "aws-prod");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!((errors[0].source.as_str(), errors[0].line), ("aws-prod", 2));
        assert_eq!(errors[0].field, "group_id");
        assert_eq!((errors[1].source.as_str(), errors[1].line), ("files", 1));
        assert!(errors[1].message.contains("duplicate"), "{}", errors[1]);
    }

    #[test]
    fn from_values_reads_the_implicit_fields() {
        let s = schemas();
        let v = Value::Record(Arc::from(vec![
            Value::str("sg-9"),
            Value::str("123"),
            Value::str("eu-west-1"),
            Value::str("sg-9"),
            Value::Missing,
            Value::List(Arc::from(Vec::new())),
            Value::Map(Arc::new(BTreeMap::new())),
        ]));
        let mut inv = Inventory::from_values(&s, vec![(RecordId(0), v)]);
        assert_eq!(&*inv.resources[0].type_name, "aws.ec2.security_group");
        assert_eq!(&*inv.resources[0].account, "123");
        let dups = inv.extend(inv.clone());
        assert_eq!(inv.len(), 1);
        assert_eq!(dups.len(), 1);
        assert!(dups[0].message.starts_with("duplicate of the document"));
        assert_eq!(inv.find(RecordId(0), "sg-9"), Some(0));
    }

    #[test]
    fn the_resources_of_each_type_are_listed_in_order() {
        let text = r#"{"type":"aws.ec2.security_group","id":"a","account":"1","region":"r","attributes":{"group_id":"x"}}
{"type":"aws.iam.account_summary","id":"s","account":"1","region":"r","attributes":{"account_mfa_enabled":1,"mfa_devices":0,"mfa_devices_in_use":0}}
{"type":"aws.ec2.security_group","id":"b","account":"1","region":"r","attributes":{"group_id":"y"}}"#;
        let (inv, errors) = read(text);
        assert!(errors.is_empty(), "{errors:?}");
        let by_type = inv.by_type();
        let listed: Vec<&Vec<usize>> = by_type.iter().filter(|rows| !rows.is_empty()).collect();
        assert_eq!(listed, [&vec![0, 2], &vec![1]]);
        assert_eq!(by_type[0], vec![0, 2]);
    }

    #[test]
    fn field_index_groups_by_key() {
        let text = r#"{"type":"aws.ec2.security_group","id":"a","account":"1","region":"r","attributes":{"group_id":"x"}}
{"type":"aws.ec2.security_group","id":"b","account":"1","region":"r","attributes":{"group_id":"y"}}
{"type":"aws.ec2.security_group","id":"c","account":"1","region":"r","attributes":{"group_id":"x"}}"#;
        let (inv, _) = read(text);
        let ids = inv.by_type()[0].clone();
        let idx = FieldIndex::build(&ids, |i| match &inv.resources[i].value {
            Value::Record(fs) => fs.get(3).cloned(),
            _ => None,
        });
        assert_eq!(&*idx.candidates(&Key::Str(Arc::from("x"))), &[0, 2]);
        assert!(idx.candidates(&Key::Str(Arc::from("z"))).is_empty());
    }

    #[test]
    fn the_demo_inventories_read_as_documented() {
        // Uses the real stdlib schemas when the compiler can build them.
        let compiled = pac_compiler::compile_sources(vec![]);
        let schemas = &compiled.program.schemas;
        if schemas.resource("aws.ec2.instance").is_none() {
            return;
        }
        let root = std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../examples/demo");
        let good = root.join("inventory.json");
        if good.exists() {
            let (inv, errors) = Inventory::read_path(schemas, &good);
            assert_eq!(
                errors,
                vec![],
                "{}",
                errors
                    .iter()
                    .map(|e| e.to_string() + "\n")
                    .collect::<String>()
            );
            assert!(inv.len() > 300);
        }
        let bad = root.join("bad-inventory.ndjson");
        if bad.exists() {
            let (inv, errors) = Inventory::read_path(schemas, &bad);
            let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
            assert_eq!(lines, vec![2, 3, 4, 5, 6, 7], "{errors:#?}");
            assert_eq!(inv.len(), 2);
            assert_eq!(errors[1].field, "ip_permissions[0].from_port");
        }
    }
}
