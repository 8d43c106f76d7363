//! The fast path of the reader: a document parsed straight into what it
//! becomes, driven by the schema, without building a JSON tree first.
//! What it becomes is a [`Build`]'s choice: the interpreter's record
//! value ([`ValueBuild`]), or the native engine's cells, written straight
//! into a block of its layout (`pac_jit::ingest`).
//!
//! It accepts only what the reference path ([`Reader::document`]) accepts,
//! and gives the same value: anything unusual — a syntax error, a
//! validation error, a member or field given twice, `attributes` before
//! `type` — makes it give up (`None`), and the caller runs the reference
//! path on the same text, which then says exactly what is wrong. So a bad
//! document gets the very diagnostics it always did, and the fast path
//! needs to be right only about documents that load.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use pac_compiler::types::{IMPLICIT_FIELDS, RecordId, Ty};
use pac_stdlib::Value;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Reader, Resource, parse_timestamp, snake_case, whole};

/// What the fast path builds a document into. Each method makes the
/// value of one JSON value already checked against its schema type.
pub trait Build {
    type V;
    /// A document starts.
    fn mark(&mut self) {}
    /// The document begun at the last `mark` was not built (the fast
    /// path gave up on it): what was built of it may be dropped.
    fn rollback(&mut self) {}
    /// An absent optional value.
    fn missing(&mut self) -> Self::V;
    fn bool(&mut self, b: bool) -> Self::V;
    fn int(&mut self, i: i64) -> Self::V;
    fn float(&mut self, f: f64) -> Self::V;
    fn str(&mut self, s: &str) -> Self::V;
    fn time(&mut self, t: i64) -> Self::V;
    fn dur(&mut self, d: i64) -> Self::V;
    fn ip(&mut self, ip: IpAddr) -> Self::V;
    fn cidr(&mut self, n: IpNet) -> Self::V;
    fn list(&mut self, items: Vec<Self::V>) -> Self::V;
    /// A map's entries, sorted by key, each key once.
    fn map(&mut self, entries: Vec<(Cow<'_, str>, Self::V)>) -> Self::V;
    /// A record's fields, in schema order.
    fn record(&mut self, fields: Vec<Self::V>) -> Self::V;
    /// A resource of type `rid`: its attributes' fields in schema order,
    /// the implicit ones (`missing` so far) to take `id`, `account` and
    /// `region`.
    fn resource(
        &mut self,
        rid: RecordId,
        fields: Vec<Self::V>,
        implicit: [&Arc<str>; 3],
    ) -> Self::V;
}

/// Builds the interpreter's values.
pub struct ValueBuild {
    empty_list: Value,
    empty_map: Value,
}

impl ValueBuild {
    pub(super) fn new(reader: &Reader<'_>) -> ValueBuild {
        ValueBuild {
            empty_list: reader.empty_list.clone(),
            empty_map: reader.empty_map.clone(),
        }
    }
}

impl Build for ValueBuild {
    type V = Value;
    fn missing(&mut self) -> Value {
        Value::Missing
    }
    fn bool(&mut self, b: bool) -> Value {
        Value::Bool(b)
    }
    fn int(&mut self, i: i64) -> Value {
        Value::Int(i)
    }
    fn float(&mut self, f: f64) -> Value {
        Value::Float(f)
    }
    fn str(&mut self, s: &str) -> Value {
        Value::str(s)
    }
    fn time(&mut self, t: i64) -> Value {
        Value::Time(t)
    }
    fn dur(&mut self, d: i64) -> Value {
        Value::Dur(d)
    }
    fn ip(&mut self, ip: IpAddr) -> Value {
        Value::Ip(ip)
    }
    fn cidr(&mut self, n: IpNet) -> Value {
        Value::Cidr(n)
    }
    fn list(&mut self, items: Vec<Value>) -> Value {
        if items.is_empty() {
            return self.empty_list.clone();
        }
        Value::List(Arc::from(items))
    }
    fn map(&mut self, entries: Vec<(Cow<'_, str>, Value)>) -> Value {
        if entries.is_empty() {
            return self.empty_map.clone();
        }
        Value::Map(Arc::new(
            entries
                .into_iter()
                .map(|(k, v)| (Arc::<str>::from(k), v))
                .collect(),
        ))
    }
    fn record(&mut self, fields: Vec<Value>) -> Value {
        Value::Record(Arc::from(fields))
    }
    fn resource(&mut self, _: RecordId, mut fields: Vec<Value>, implicit: [&Arc<str>; 3]) -> Value {
        for (slot, v) in fields.iter_mut().zip(implicit) {
            *slot = Value::Str(v.clone());
        }
        Value::Record(Arc::from(fields))
    }
}

/// Why the fast path stopped; the reference path takes over.
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("give up")
    }
}

fn give_up<E: de::Error>() -> E {
    E::custom(GiveUp)
}

/// A document's identity, as the fast path read it.
pub(super) struct Head {
    pub rtype: RecordId,
    pub type_name: Arc<str>,
    pub id: Arc<str>,
    pub account: Arc<str>,
    pub region: Arc<str>,
}

impl Head {
    pub(super) fn resource(self, value: Value, source: &Arc<str>, line: usize) -> Resource {
        Resource {
            rtype: self.rtype,
            type_name: self.type_name,
            id: self.id,
            account: self.account,
            region: self.region,
            value,
            source: source.clone(),
            line,
        }
    }
}

impl Reader<'_> {
    /// The resource of a document that loads, or `None` when the reference
    /// path must decide (see the module documentation).
    pub(super) fn document_fast(
        &self,
        source: &Arc<str>,
        line: usize,
        raw: &str,
    ) -> Option<Resource> {
        let mut b = ValueBuild::new(self);
        let (head, value) = self.document_built(&mut b, raw)?;
        Some(head.resource(value, source, line))
    }

    /// [`Reader::document_fast`] into `b`: the document's identity and
    /// what `b` built of its record.
    pub(super) fn document_built<B: Build>(&self, b: &mut B, raw: &str) -> Option<(Head, B::V)> {
        let mut de = serde_json::Deserializer::from_str(raw);
        let doc = DocSeed { reader: self, b }.deserialize(&mut de).ok()?;
        de.end().ok()?;
        let Doc {
            rtype,
            type_name,
            id,
            account,
            region,
            mut fields,
            later,
        } = doc;
        if let Some(text) = later {
            // `attributes` came before `type` (a JSON tree written back
            // sorts its keys): parse it now that the type is known.
            let mut de = serde_json::Deserializer::from_str(text);
            let seed = RecordSeed {
                reader: self,
                b,
                rid: rtype?,
                implicit: true,
            };
            fields = Some(seed.deserialize(&mut de).ok()?);
            de.end().ok()?;
        }
        let (id, account, region) = (id?, account?, region?);
        if id.is_empty() {
            return None;
        }
        let rtype = rtype?;
        let value = b.resource(rtype, fields?, [&id, &account, &region]);
        let head = Head {
            rtype,
            type_name: type_name?,
            id,
            account,
            region,
        };
        Some((head, value))
    }
}

/// What the document's members gave.
struct Doc<'de, V> {
    rtype: Option<RecordId>,
    type_name: Option<Arc<str>>,
    id: Option<Arc<str>>,
    account: Option<Arc<str>>,
    region: Option<Arc<str>>,
    /// The resource's fields, the implicit ones still to be filled.
    fields: Option<Vec<V>>,
    /// The text of `attributes` when it came before `type`.
    later: Option<&'de str>,
}

struct DocSeed<'r, 's, 'b, B> {
    reader: &'r Reader<'s>,
    b: &'b mut B,
}

impl<'de, B: Build> DeserializeSeed<'de> for DocSeed<'_, '_, '_, B> {
    type Value = Doc<'de, B::V>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, B: Build> Visitor<'de> for DocSeed<'_, '_, '_, B> {
    type Value = Doc<'de, B::V>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an inventory document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = Doc {
            rtype: None,
            type_name: None,
            id: None,
            account: None,
            region: None,
            fields: None,
            later: None,
        };
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let slot = match &*key.0 {
                "type" => {
                    if doc.type_name.is_some() {
                        return Err(give_up());
                    }
                    let name = map.next_value::<Key<'de>>()?;
                    let (rid, shared) = self.reader.types.get(&*name.0).ok_or_else(give_up)?;
                    doc.rtype = Some(*rid);
                    doc.type_name = Some(shared.clone());
                    continue;
                }
                "id" => &mut doc.id,
                "account" | "region" => {
                    let slot = if &*key.0 == "account" {
                        &mut doc.account
                    } else {
                        &mut doc.region
                    };
                    if slot.is_some() {
                        return Err(give_up());
                    }
                    let s = map.next_value::<Key<'de>>()?;
                    *slot = Some(super::shared_str(&s.0));
                    continue;
                }
                "attributes" => {
                    if doc.fields.is_some() || doc.later.is_some() {
                        return Err(give_up());
                    }
                    let Some(rid) = doc.rtype else {
                        let raw: &'de serde_json::value::RawValue = map.next_value()?;
                        doc.later = Some(raw.get());
                        continue;
                    };
                    let seed = RecordSeed {
                        reader: self.reader,
                        b: &mut *self.b,
                        rid,
                        implicit: true,
                    };
                    doc.fields = Some(map.next_value_seed(seed)?);
                    continue;
                }
                _ => {
                    map.next_value::<Skip>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(give_up());
            }
            let s = map.next_value::<Key<'de>>()?;
            *slot = Some(Arc::from(&*s.0));
        }
        Ok(doc)
    }
}

/// A string, borrowed from the text when it has no escapes; anything else
/// gives up.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(s.into()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(s.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(s.into()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, parsed in full (numbers included, as the reference
/// path's tree does) and dropped.
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// A record's fields, in schema order; with `implicit`, a resource's
/// attributes, the first three fields left to fill.
struct RecordSeed<'r, 's, 'b, B> {
    reader: &'r Reader<'s>,
    b: &'b mut B,
    rid: RecordId,
    implicit: bool,
}

impl<'de, B: Build> DeserializeSeed<'de> for RecordSeed<'_, '_, '_, B> {
    type Value = Vec<B::V>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<B::V>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, B: Build> Visitor<'de> for RecordSeed<'_, '_, '_, B> {
    type Value = Vec<B::V>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<B::V>, A::Error> {
        let reader = self.reader;
        let b = self.b;
        let def = reader.schemas.record(self.rid);
        let lookup = &reader.lookups[self.rid.0 as usize];
        let skip = if self.implicit {
            IMPLICIT_FIELDS.len()
        } else {
            0
        };
        let mut values: Vec<Option<B::V>> = Vec::with_capacity(def.fields.len());
        values.resize_with(def.fields.len(), || None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let k = &*key.0;
            let hit = lookup.keys.get(k).copied().or_else(|| {
                if k.chars().any(char::is_uppercase) {
                    lookup.keys.get(snake_case(k).as_str()).copied()
                } else {
                    None
                }
            });
            let Some(i) = hit.filter(|&i| skip == 0 || !reader.unread(self.rid, i as usize)) else {
                map.next_value::<Skip>()?;
                continue;
            };
            let slot = values.get_mut(i as usize).ok_or_else(give_up)?;
            if slot.is_some() {
                return Err(give_up());
            }
            let f = &def.fields[i as usize];
            *slot = Some(map.next_value_seed(ValueSeed {
                reader,
                b: &mut *b,
                ty: &f.ty,
                name: &f.name,
            })?);
        }
        let mut out = Vec::with_capacity(values.len());
        for (k, (v, f)) in values.into_iter().zip(&def.fields).enumerate() {
            if k < skip || (skip > 0 && reader.unread(self.rid, k)) {
                out.push(b.missing());
                continue;
            }
            out.push(match v {
                Some(v) => v,
                None => absent(b, &f.ty).ok_or_else(give_up)?,
            });
        }
        Ok(out)
    }
}

/// The value of an absent (or `null`) field of type `ty`, `None` for a
/// required one.
fn absent<B: Build>(b: &mut B, ty: &Ty) -> Option<B::V> {
    match ty {
        Ty::Opt(_) => Some(b.missing()),
        Ty::List(_) => Some(b.list(Vec::new())),
        Ty::Map(_) => Some(b.map(Vec::new())),
        _ => None,
    }
}

/// One value of static type `ty` (`name` is its field's name, for the
/// `last_used_*` rule of the reference path).
struct ValueSeed<'r, 's, 't, 'b, B> {
    reader: &'r Reader<'s>,
    b: &'b mut B,
    ty: &'t Ty,
    name: &'t str,
}

impl<'de, B: Build> DeserializeSeed<'de> for ValueSeed<'_, '_, '_, '_, B> {
    type Value = B::V;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<B::V, D::Error> {
        match self.ty {
            Ty::Record(rid) => {
                // `null` for a record is a missing required field.
                let b = self.b;
                let seed = RecordSeed {
                    reader: self.reader,
                    b: &mut *b,
                    rid: *rid,
                    implicit: false,
                };
                let fs = d.deserialize_map(seed)?;
                Ok(b.record(fs))
            }
            _ => d.deserialize_any(self),
        }
    }
}

/// The type with one optional layer removed (`T?` → `T`); whether it was
/// optional.
fn unopt(ty: &Ty) -> (&Ty, bool) {
    match ty {
        Ty::Opt(t) => (t, true),
        t => (t, false),
    }
}

impl<'de, B: Build> Visitor<'de> for ValueSeed<'_, '_, '_, '_, B> {
    type Value = B::V;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value of the field's type")
    }

    fn visit_unit<E: de::Error>(self) -> Result<B::V, E> {
        absent(self.b, self.ty).ok_or_else(give_up)
    }

    fn visit_none<E: de::Error>(self) -> Result<B::V, E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<B::V, E> {
        match unopt(self.ty).0 {
            Ty::Bool => Ok(self.b.bool(v)),
            _ => Err(give_up()),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<B::V, E> {
        match unopt(self.ty).0 {
            Ty::Int => Ok(self.b.int(v)),
            Ty::Float => Ok(self.b.float(v as f64)),
            Ty::Dur => Ok(self.b.dur(v)),
            _ => Err(give_up()),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<B::V, E> {
        match unopt(self.ty).0 {
            Ty::Float => Ok(self.b.float(v as f64)),
            _ => match i64::try_from(v) {
                Ok(i) => self.visit_i64(i),
                Err(_) => Err(give_up()),
            },
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<B::V, E> {
        let ty = unopt(self.ty).0;
        let b = self.b;
        match ty {
            Ty::Float => Ok(b.float(v)),
            // `22.0` in an integer field, as the reference path reads it.
            Ty::Int => whole(v).map(|i| b.int(i)).ok_or_else(give_up),
            Ty::Dur => whole(v).map(|d| b.dur(d)).ok_or_else(give_up),
            _ => Err(give_up()),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<B::V, E> {
        let (ty, optional) = unopt(self.ty);
        let b = self.b;
        if optional {
            // "" and "N/A" mean absent for optional timestamps, IPs and
            // networks, and "N/A" for an access key's `last_used_*`.
            let none = match ty {
                Ty::Time | Ty::Ip | Ty::Cidr => s.is_empty() || s == "N/A",
                Ty::Str => s == "N/A" && self.name.starts_with("last_used_"),
                _ => false,
            };
            if none {
                return Ok(b.missing());
            }
        }
        match ty {
            Ty::Str => Ok(b.str(s)),
            Ty::Time => parse_timestamp(s).map(|t| b.time(t)).ok_or_else(give_up),
            Ty::Ip => s
                .parse::<IpAddr>()
                .map(|ip| b.ip(ip))
                .map_err(|_| give_up()),
            Ty::Cidr => s.parse::<IpNet>().map(|n| b.cidr(n)).map_err(|_| give_up()),
            _ => Err(give_up()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B::V, A::Error> {
        let reader = self.reader;
        let (ty, name) = (self.ty, self.name);
        let b = self.b;
        match unopt(ty).0 {
            Ty::List(el) => {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element_seed(ValueSeed {
                    reader,
                    b: &mut *b,
                    ty: el,
                    name,
                })? {
                    out.push(v);
                }
                Ok(b.list(out))
            }
            // AWS tag lists: [{"Key": "env", "Value": "prod"}]; a later
            // entry with the same key wins, as in the reference path.
            Ty::Map(el) => {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element_seed(TagSeed {
                    reader,
                    b: &mut *b,
                    el,
                    name,
                })? {
                    out.push(entry);
                }
                // Stable: of equal keys, the last one is kept.
                out.sort_by(|x, y| x.0.cmp(&y.0));
                let mut unique: Vec<(Cow<'de, str>, B::V)> = Vec::with_capacity(out.len());
                for e in out {
                    match unique.last_mut() {
                        Some(last) if last.0 == e.0 => *last = e,
                        _ => unique.push(e),
                    }
                }
                Ok(b.map(unique))
            }
            _ => Err(give_up()),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<B::V, A::Error> {
        let reader = self.reader;
        let (ty, name) = (self.ty, self.name);
        let b = self.b;
        match unopt(ty).0 {
            Ty::Map(el) => {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let v = map.next_value_seed(ValueSeed {
                        reader,
                        b: &mut *b,
                        ty: el,
                        name,
                    })?;
                    out.push((key.0, v));
                }
                out.sort_by(|x, y| x.0.cmp(&y.0));
                // A key given twice: the reference path decides.
                if out.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(give_up());
                }
                Ok(b.map(out))
            }
            Ty::Record(rid) => {
                let fs = RecordSeed {
                    reader,
                    b: &mut *b,
                    rid: *rid,
                    implicit: false,
                }
                .visit_map(map)?;
                Ok(b.record(fs))
            }
            _ => Err(give_up()),
        }
    }
}

/// One `{"Key": …, "Value": …}` entry of a tag list (`key`/`value` also).
struct TagSeed<'r, 's, 't, 'b, B> {
    reader: &'r Reader<'s>,
    b: &'b mut B,
    el: &'t Ty,
    name: &'t str,
}

impl<'de, B: Build> DeserializeSeed<'de> for TagSeed<'_, '_, '_, '_, B> {
    type Value = (Cow<'de, str>, B::V);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, B: Build> Visitor<'de> for TagSeed<'_, '_, '_, '_, B> {
    type Value = (Cow<'de, str>, B::V);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let b = self.b;
        // `Key` wins over `key`, `Value` over `value`; each given once.
        let (mut upper_k, mut lower_k) = (None, None);
        let (mut upper_v, mut lower_v) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let (slot_k, slot_v) = match &*key.0 {
                "Key" => (Some(&mut upper_k), None),
                "key" => (Some(&mut lower_k), None),
                "Value" => (None, Some(&mut upper_v)),
                "value" => (None, Some(&mut lower_v)),
                _ => {
                    map.next_value::<Skip>()?;
                    continue;
                }
            };
            if let Some(slot) = slot_k {
                if slot.is_some() {
                    return Err(give_up());
                }
                let k = map.next_value::<Key<'de>>()?;
                *slot = Some(k.0);
            } else if let Some(slot) = slot_v {
                if slot.is_some() {
                    return Err(give_up());
                }
                let v = map.next_value_seed(ValueSeed {
                    reader: self.reader,
                    b: &mut *b,
                    ty: self.el,
                    name: self.name,
                })?;
                *slot = Some(v);
            }
        }
        let key = upper_k.or(lower_k).ok_or_else(give_up)?;
        let value = match upper_v.or(lower_v) {
            Some(v) => v,
            None if *self.el == Ty::Str => b.str(""),
            None => return Err(give_up()),
        };
        Ok((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use proptest::prelude::Strategy;

    /// The fast path gives the reference path's resource, or gives up.
    fn agree(reader: &Reader<'_>, raw: &str) -> bool {
        let src: Arc<str> = Arc::from("t");
        let reference = reader.document_reference(&src, 1, raw);
        match reader.document_fast(&src, 1, raw) {
            None => false,
            Some(fast) => {
                let r =
                    reference.unwrap_or_else(|e| panic!("fast accepted, reference: {e}\n{raw}"));
                assert_eq!(fast.value, r.value, "{raw}");
                assert_eq!(
                    (
                        &fast.id,
                        &fast.account,
                        &fast.region,
                        &fast.type_name,
                        fast.rtype
                    ),
                    (&r.id, &r.account, &r.region, &r.type_name, r.rtype)
                );
                true
            }
        }
    }

    fn stdlib() -> Option<pac_compiler::types::Schemas> {
        let compiled = pac_compiler::compile_sources(vec![]);
        let schemas = compiled.program.schemas.as_ref().clone();
        schemas.resource("aws.ec2.instance").map(|_| schemas)
    }

    #[test]
    fn the_fast_path_agrees_with_the_reference_on_the_demo_files() {
        let Some(schemas) = stdlib() else { return };
        let reader = Reader::new(&schemas);
        let root = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../examples/demo");
        let good = std::fs::read_to_string(root.join("inventory.json")).expect("demo inventory");
        let docs: Vec<serde_json::Value> = serde_json::from_str(&good).expect("a JSON array");
        let mut fast = 0;
        for d in &docs {
            fast += usize::from(agree(&reader, &d.to_string()));
        }
        // Every good document takes the fast path.
        assert_eq!(fast, docs.len());
        let bad = std::fs::read_to_string(root.join("bad-inventory.ndjson")).expect("fixture");
        for line in bad.lines().filter(|l| !l.trim().is_empty()) {
            agree(&reader, line);
        }
        // And the whole files read as before (errors from the reference).
        let (inv, errors) = Inventory::read_str(&schemas, "bad", &bad);
        assert_eq!(inv.len(), 2);
        assert_eq!(errors.len(), 6);
        // Reading part of the fields (every other one of each resource
        // type), the two paths still agree, on good and bad documents.
        let half = pac_compiler::reads::ReadMask::new(
            &schemas,
            schemas
                .resource_types()
                .map(|(rid, _)| {
                    let n = schemas.record(rid).fields.len() as u32;
                    (rid, (0..n).step_by(2).collect())
                })
                .collect(),
        );
        let mut reader = Reader::new(&schemas);
        reader.mask = Some(&half);
        let fast = docs
            .iter()
            .filter(|d| agree(&reader, &d.to_string()))
            .count();
        assert_eq!(fast, docs.len());
        for line in bad.lines().filter(|l| !l.trim().is_empty()) {
            agree(&reader, line);
        }
    }

    /// `PAC_AGREE_FILE=/tmp/estate.ndjson cargo test -p pac-runtime --lib
    /// -- --ignored agrees_on_a_file`: both paths on every line of a file.
    #[test]
    #[ignore]
    fn agrees_on_a_file() {
        let Some(schemas) = stdlib() else { return };
        let Ok(path) = std::env::var("PAC_AGREE_FILE") else {
            return;
        };
        let reader = Reader::new(&schemas);
        let text = std::fs::read_to_string(path).expect("readable");
        let (mut fast, mut all) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            all += 1;
            fast += usize::from(agree(&reader, line));
        }
        eprintln!("{fast} of {all} documents took the fast path");
        assert_eq!(fast, all);
    }

    proptest::proptest! {
        /// Any number in an int, float or optional int field: the fast
        /// path gives the reference path's value, or leaves it to it.
        #[test]
        fn numbers_agree(
            x in proptest::prop_oneof![
                proptest::num::f64::ANY.prop_map(|f| format!("{f:?}")),
                proptest::num::i64::ANY.prop_map(|i| i.to_string()),
                proptest::num::i64::ANY.prop_map(|i| format!("{i}.0")),
                proptest::num::u64::ANY.prop_map(|i| i.to_string()),
                (-1e20f64..1e20).prop_map(|f| format!("{}", f.trunc())),
                (-1e20f64..1e20).prop_map(|f| format!("{:e}", f.trunc())),
            ],
            field in proptest::sample::select(vec!["size", "iops", "throughput"]),
        ) {
            let Some(schemas) = stdlib() else { return Ok(()) };
            let reader = Reader::new(&schemas);
            let head = r#""type":"aws.ec2.volume","id":"vol-1","account":"1","region":"r""#;
            let ok = r#""volume_id":"vol-1","size":8,"volume_type":"gp3","state":"in-use","availability_zone":"a","create_time":"2026-01-01T00:00:00Z","encrypted":true"#;
            let attrs = if field == "size" {
                ok.replace("8", &x)
            } else {
                format!(r#"{ok},"{field}":{x}"#)
            };
            agree(&reader, &format!("{{{head},\"attributes\":{{{attrs}}}}}"));
        }
    }

    #[test]
    fn the_fast_path_gives_up_on_what_it_does_not_decide() {
        let Some(schemas) = stdlib() else { return };
        let reader = Reader::new(&schemas);
        let head = r#""type":"aws.ec2.volume","id":"vol-1","account":"1","region":"r""#;
        let attrs = |a: &str| format!("{{{head},\"attributes\":{{{a}}}}}");
        let ok = r#""volume_id":"vol-1","size":8,"volume_type":"gp3","state":"in-use","availability_zone":"a","create_time":"2026-01-01T00:00:00Z","encrypted":true"#;
        assert!(agree(&reader, &attrs(ok)));
        // PascalCase, tag lists both ways, nulls, unknown keys, escapes.
        assert!(agree(
            &reader,
            &attrs(&format!(
                r#"{ok},"Tags":[{{"Key":"env","Value":"prod"}},{{"key":"a\"b","value":"x"}},{{"Key":"env","Value":"dev"}}],"attachments":null,"Extra":{{"deep":[1,2.5e3,null,"s"]}}"#
            ))
        ));
        assert!(agree(
            &reader,
            &attrs(&format!(r#"{ok},"tags":{{"env":"prod"}},"iops":null"#))
        ));
        // `attributes` before `type`, as a JSON tree written back has it.
        assert!(agree(
            &reader,
            &format!(r#"{{"attributes":{{{ok}}},{head}}}"#)
        ));
        assert!(!agree(
            &reader,
            &format!(r#"{{"attributes":{{"volume_id":1}},{head}}}"#)
        ));
        // An integer written as a float with no fraction is that integer.
        for n in ["8.0", "8e0", "-0.0", "0.8e1"] {
            assert!(agree(&reader, &attrs(&ok.replace("8", n))), "{n}");
        }
        // Every EC2 member is optional: a volume with only its ID reads.
        assert!(agree(&reader, &attrs(r#""volume_id":"vol-1""#)));
        let give_up = [
            // Errors of every kind: the reference path names them.
            r#"{"type":"aws.iam.user","id":"u","account":"1","region":"r","attributes":{"user_name":"u"}}"#
                .to_string(),
            attrs(&ok.replace("8", "\"8\"")),
            attrs(&ok.replace("8", "8.5")),
            attrs(&ok.replace("8", "1e19")),
            attrs(&ok.replace("2026-01-01T00:00:00Z", "yesterday")),
            attrs(&format!(r#"{ok},"VolumeId":"vol-2""#)),
            attrs(&format!(r#"{ok},"size":9"#)),
            attrs(&format!(r#"{ok},"tags":{{"a":"1","a":"2"}}"#)),
            attrs(&format!(r#"{ok},"tags":[{{"Value":"x"}}]"#)),
            attrs(&format!(r#"{ok},"x":1e999"#)),
            format!(r#"{{{head},"type":"aws.ec2.volume","attributes":{{{ok}}}}}"#),
            format!(r#"{{{head},"attributes":{{{ok}}}}} x"#),
            format!(r#"{{{head},"attributes":{{{ok}}}"#),
            format!(
                r#"{{{}, "attributes":{{{ok}}}}}"#,
                head.replace("vol-1", "")
            ),
            format!(
                r#"{{{}, "attributes":{{{ok}}}}}"#,
                head.replace("volume", "nothing")
            ),
            "[]".to_string(),
        ];
        for raw in &give_up {
            assert!(!agree(&reader, raw), "the fast path accepted {raw}");
        }
    }
}
