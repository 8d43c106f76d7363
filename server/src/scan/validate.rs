//! Stage 2, validate: every collected document as text and hash, read
//! against the compiled schemas (the warm state's unchanged documents are
//! taken over as they were). No I/O: runs on a blocking thread.

use std::collections::{HashMap, HashSet};

use pac_compiler::Program;
use pac_connectors::Scope;
use pac_runtime::{Incoming, IngestError, Inventory};
use rayon::prelude::*;

use super::judge::ReadFacts;
use super::{Warm, collect::Collected, hash_text, resource_key};
use crate::store::ScanBase;

pub(super) struct Input<'a> {
    pub program: &'a Program,
    /// The source's name.
    pub source: &'a str,
    pub collected: Collected,
    /// The stored state (the hashes of the known documents).
    pub base: &'a ScanBase,
    /// The previous scan's state, still current.
    pub warm: Option<&'a Warm>,
}

/// What this read said: its documents and its failures.
pub(super) struct Read {
    /// Documents collected, accepted or not.
    pub documents: usize,
    pub texts: Vec<String>,
    pub hashes: Vec<String>,
    /// Each accepted resource's document: its position in `texts`.
    pub fresh_doc: Vec<usize>,
    /// The keys of the accepted resources.
    pub fresh_keys: HashSet<String>,
    /// How many resources the store holds of this source, and the keys of
    /// those this read did not accept (worked out once, here: the judge
    /// counts them, the reconcile stage removes those that are known).
    pub own_stored: usize,
    pub unread: Vec<String>,
    pub failed_scopes: Vec<Scope>,
    /// The connector's errors, as the scan record keeps them.
    pub source_errors: serde_json::Value,
}

/// The resources the schemas accepted.
pub(super) struct Accepted {
    /// In document order.
    pub inv: Inventory,
    /// The documents they rejected.
    pub ingest: Vec<IngestError>,
    /// How many resources of `inv` this read accepted (all of it here;
    /// the evaluate stage appends the carried ones).
    pub fresh: usize,
    /// Each accepted resource's warm counterpart (its index there).
    pub same_as: Vec<Option<usize>>,
    /// Each accepted resource's key, in the order of `inv`.
    pub keys: Vec<String>,
}

/// The validate stage's output.
pub(super) struct Validated {
    pub read: Read,
    pub accepted: Accepted,
    pub parse_ms: u64,
}

/// A collected document's key, read from its JSON or its raw text (`None`
/// when a part is missing: such a document is parsed, and rejected, as
/// usual).
fn doc_key(d: &serde_json::Value) -> Option<String> {
    let h = super::doc_head(d)?;
    Some(resource_key(&h.rtype?, &h.account?, &h.region?, &h.id?))
}

/// One collected document, as the validate stage's parallel part gives it.
struct Doc {
    text: String,
    hash: String,
    key: Option<String>,
    /// The warm resource it is, unchanged.
    known: Option<usize>,
    item: Incoming,
}

/// Whether `key` is `type|account|region|id` of `r` (compared part by
/// part: no key is built).
fn key_is_of(key: &str, r: &pac_runtime::Resource) -> bool {
    let mut parts = key.splitn(4, '|');
    [&r.type_name, &r.account, &r.region, &r.id]
        .iter()
        .all(|want| parts.next() == Some(&***want))
}

/// The validate stage.
pub(super) fn validate(input: Input<'_>) -> Validated {
    let Input {
        program,
        source,
        collected,
        base,
        warm,
    } = input;
    let schemas = &program.schemas;
    let phase = std::time::Instant::now();
    let warm_index: HashMap<&str, usize> = warm
        .map(|w| {
            w.keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    // Text, hash and key of every document, and whether it is the warm
    // state's (same key, same hash, same source), on all cores; the parsed
    // JSON is freed there too.
    let per_doc: Vec<Doc> = collected
        .docs
        .into_par_iter()
        .enumerate()
        .map(|(k, d)| {
            let key = doc_key(&d);
            let text = match d {
                // A document's raw text (an inventory line, or what a
                // connector could not parse): as it is, on one line, so
                // that the reader parses it once and reports its errors.
                // (memchr: `str::contains` with a char set decodes every
                // character, a third of this stage's time at 100k.)
                serde_json::Value::String(raw)
                    if memchr::memchr2(b'\n', b'\r', raw.as_bytes()).is_some() =>
                {
                    raw.replace(['\n', '\r'], " ")
                }
                serde_json::Value::String(raw) => raw,
                other => other.to_string(),
            };
            let hash = hash_text(&text);
            let line = k + 1;
            let known = warm.and_then(|w| {
                let key = key.as_ref()?;
                let i = *warm_index.get(key.as_str())?;
                let (h, s) = base.resources.get(key)?;
                (*h == hash && s == source).then_some((w, i))
            });
            let item = match known {
                Some((w, i)) => Incoming::Known(line, w.inv.resources[i].clone()),
                None => Incoming::Text(line, text.clone()),
            };
            Doc {
                text,
                hash,
                key,
                known: known.map(|(_, i)| i),
                item,
            }
        })
        .collect();
    let t_hash = phase.elapsed();
    let failed_scopes: Vec<Scope> = collected.failed.iter().map(|e| e.scope.clone()).collect();
    let source_errors = serde_json::to_value(&collected.failed).unwrap_or_default();
    let n = per_doc.len();
    let (mut texts, mut hashes, mut doc_keys) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // Line (1-based position) → the warm resource it is.
    let mut known_at: Vec<Option<usize>> = Vec::with_capacity(n + 1);
    known_at.push(None);
    let mut items = Vec::with_capacity(n);
    for d in per_doc {
        texts.push(d.text);
        hashes.push(d.hash);
        doc_keys.push(d.key);
        known_at.push(d.known);
        items.push(d.item);
    }
    let t_match = phase.elapsed();
    let label = format!("source `{source}` document");
    let (inv, ingest) = Inventory::from_incoming(schemas, &label, items);
    let fresh = inv.len();
    let t_read = phase.elapsed();
    let same_as: Vec<Option<usize>> = inv.resources.iter().map(|r| known_at[r.line]).collect();
    // Each fresh resource's document: its position among `texts`.
    let fresh_doc: Vec<usize> = inv
        .resources
        .iter()
        .map(|r| r.line.wrapping_sub(1))
        .collect();
    // Each fresh resource's key: its document's, read from the header,
    // when it is the one the resource was read with (it is, unless the
    // header was unreadable).
    let keys: Vec<String> = inv
        .resources
        .iter()
        .map(|r| {
            let doc = doc_keys.get_mut(r.line.wrapping_sub(1));
            match doc.and_then(Option::take) {
                Some(k) if key_is_of(&k, r) => k,
                _ => resource_key(&r.type_name, &r.account, &r.region, &r.id),
            }
        })
        .collect();
    let fresh_keys: HashSet<String> = keys.iter().cloned().collect();
    let (own_stored, unread) = own_unread(base, source, &fresh_keys);
    let documents = texts.len();
    tracing::debug!(
        hash_ms = t_hash.as_millis() as u64,
        match_ms = (t_match - t_hash).as_millis() as u64,
        read_ms = (t_read - t_match).as_millis() as u64,
        keys_ms = (phase.elapsed() - t_read).as_millis() as u64,
        "validate: timings"
    );
    Validated {
        read: Read {
            documents,
            texts,
            hashes,
            fresh_doc,
            fresh_keys,
            own_stored,
            unread,
            failed_scopes,
            source_errors,
        },
        accepted: Accepted {
            inv,
            ingest,
            fresh,
            same_as,
            keys,
        },
        parse_ms: phase.elapsed().as_millis() as u64,
    }
}

/// How many resources the store holds of `source`, and the keys of those
/// not among `fresh` (this read's).
pub(super) fn own_unread(
    base: &ScanBase,
    source: &str,
    fresh: &HashSet<String>,
) -> (usize, Vec<String>) {
    let mut own = 0;
    let mut unread = Vec::new();
    for (k, (_, s)) in &base.resources {
        if s == source {
            own += 1;
            if !fresh.contains(k) {
                unread.push(k.clone());
            }
        }
    }
    (own, unread)
}

impl Validated {
    /// What the judge stage needs to know about this read of `source`.
    pub fn facts(&self, base: &ScanBase, source: &str) -> ReadFacts {
        if self.read.failed_scopes.is_empty() {
            // What `ReadFacts::new` counts when no scope failed, counted
            // already.
            return ReadFacts {
                documents: self.read.documents,
                accepted: self.accepted.fresh,
                known: self.read.own_stored,
                would_remove: self.read.unread.len(),
                partial: false,
                whole_source_failed: false,
            };
        }
        let own = base
            .resources
            .iter()
            .filter(|(_, (_, s))| s == source)
            .map(|(k, _)| k.as_str());
        ReadFacts::new(
            own,
            &self.read.fresh_keys,
            &self.read.failed_scopes,
            self.read.documents,
            self.accepted.fresh,
        )
    }

    /// Drops everything this read accepted, and marks the whole source
    /// unread: its stored resources are carried as they are (unknown).
    pub fn hold(&mut self) {
        self.accepted.inv = Inventory::default();
        self.accepted.fresh = 0;
        self.accepted.same_as.clear();
        self.read.fresh_doc.clear();
        self.read.fresh_keys.clear();
        // Nothing of a held read is removed (all of it is unknown).
        self.read.unread.clear();
        self.accepted.keys.clear();
        self.read.failed_scopes = vec![Scope::default()];
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, Fixture};
    use super::*;

    fn run(f: &Fixture, docs: Vec<serde_json::Value>, base: &ScanBase) -> Validated {
        validate(Input {
            program: f.loaded.program(),
            source: "s",
            collected: Collected {
                docs,
                failed: Vec::new(),
            },
            base,
            warm: None,
        })
    }

    #[test]
    fn accepted_and_rejected_documents_are_counted_apart() {
        let f = Fixture::new();
        let bad = serde_json::json!({"type": "t.box", "id": "x", "account": "1", "region": "r",
            "attributes": {"name": 7}});
        let garbage = serde_json::Value::String("{not json\nat all".into());
        let v = run(
            &f,
            vec![fixture::doc("b1", "a", None), bad, garbage],
            &ScanBase::default(),
        );
        assert_eq!(v.read.documents, 3);
        assert_eq!(v.accepted.fresh, 1);
        assert_eq!(v.accepted.ingest.len(), 2, "{:?}", v.accepted.ingest);
        assert_eq!(v.read.fresh_doc, vec![0]);
        assert!(
            v.read
                .fresh_keys
                .contains(&resource_key("t.box", "1", "r", "b1"))
        );
        // The raw text of an unparsable document is kept on one line.
        assert_eq!(v.read.texts[2], "{not json at all");
        assert_eq!(v.read.hashes[0], hash_text(&v.read.texts[0]));
        assert!(v.read.failed_scopes.is_empty());
    }

    /// The fresh resources' keys, in order, are those built from their
    /// parsed fields: read from a raw line's header (escapes and all), or
    /// from a JSON object, or built when the header is unreadable.
    #[test]
    fn the_fresh_resources_keys_are_their_own() {
        let f = Fixture::new();
        let raw = |id: &str| {
            serde_json::Value::String(format!(
                r#"{{"type":"t.box","id":"{id}","account":"1","region":"r","attributes":{{"name":"n"}}}}"#
            ))
        };
        let twice = serde_json::Value::String(
            r#"{"type":"t.box","id":"a","id":"b2","account":"1","region":"r","attributes":{"name":"n"}}"#
                .into(),
        );
        let v = run(
            &f,
            vec![
                raw(r#"q\"u|o\u0074e"#),
                fixture::doc("x|y", "", None),
                raw("plain"),
                twice,
            ],
            &ScanBase::default(),
        );
        let built: Vec<String> = v
            .accepted
            .inv
            .resources
            .iter()
            .map(|r| resource_key(&r.type_name, &r.account, &r.region, &r.id))
            .collect();
        assert_eq!(v.accepted.keys, built);
        assert_eq!(
            built[0],
            resource_key("t.box", "1", "r", "q\"u|ote"),
            "{:?}",
            v.accepted.ingest
        );
        assert_eq!((built.len(), v.accepted.fresh), (4, 4));
        assert_eq!(
            built[3],
            resource_key("t.box", "1", "r", "b2"),
            "the last `id`"
        );
        assert_eq!(v.read.fresh_keys, built.iter().cloned().collect());
    }

    #[test]
    fn unchanged_documents_are_taken_from_the_warm_state() {
        let f = Fixture::new();
        let docs = vec![fixture::doc("b1", "a", None), fixture::doc("b2", "b", None)];
        let first = run(&f, docs.clone(), &ScanBase::default());
        // The stored state knows b1 as read; b2 is stored with another hash.
        let mut base = ScanBase::default();
        let k1 = resource_key("t.box", "1", "r", "b1");
        let k2 = resource_key("t.box", "1", "r", "b2");
        base.resources
            .insert(k1.clone(), (first.read.hashes[0].clone(), "s".into()));
        base.resources
            .insert(k2.clone(), ("other".into(), "s".into()));
        let warm = f.warm(first.accepted.inv, vec![k1, k2], base.clone());
        let v = validate(Input {
            program: f.loaded.program(),
            source: "s",
            collected: Collected {
                docs,
                failed: Vec::new(),
            },
            base: &base,
            warm: Some(&warm),
        });
        assert_eq!(v.accepted.same_as, vec![Some(0), None]);
        assert_eq!(v.accepted.fresh, 2);
    }

    #[test]
    fn raw_lines_are_keyed_hashed_as_they_are_and_taken_from_the_warm_state() {
        let f = Fixture::new();
        // What the inventory source sends: each line's text, unparsed (key
        // order and spacing as in the file).
        let line = |id: &str, name: &str| {
            serde_json::Value::String(format!(
                r#"{{"id": "{id}", "type": "t.box", "region": "r", "account": "1", "attributes": {{"name": "{name}"}}}}"#
            ))
        };
        let docs = vec![line("b1", "a"), line("b2", "b")];
        let first = run(&f, docs.clone(), &ScanBase::default());
        assert_eq!(first.accepted.fresh, 2);
        let serde_json::Value::String(raw) = &docs[0] else {
            unreachable!()
        };
        assert_eq!(&first.read.texts[0], raw, "stored as read");
        assert_eq!(first.read.hashes[0], hash_text(raw));
        let (k1, k2) = (fixture::key("b1"), fixture::key("b2"));
        assert!(first.read.fresh_keys.contains(&k1));
        let mut base = ScanBase::default();
        base.resources
            .insert(k1.clone(), (first.read.hashes[0].clone(), "s".into()));
        base.resources
            .insert(k2.clone(), (first.read.hashes[1].clone(), "s".into()));
        let warm = f.warm(first.accepted.inv, vec![k1, k2], base.clone());
        // b2's line changes: only b1 is taken over.
        let v = validate(Input {
            program: f.loaded.program(),
            source: "s",
            collected: Collected {
                docs: vec![line("b1", "a"), line("b2", "c")],
                failed: Vec::new(),
            },
            base: &base,
            warm: Some(&warm),
        });
        assert_eq!(v.accepted.same_as, vec![Some(0), None]);
    }

    #[test]
    fn a_held_read_accepts_nothing_and_leaves_the_whole_source_unread() {
        let f = Fixture::new();
        let mut v = run(
            &f,
            vec![fixture::doc("b1", "a", None)],
            &ScanBase::default(),
        );
        v.hold();
        assert_eq!(v.accepted.inv.len(), 0);
        assert_eq!(v.accepted.fresh, 0);
        assert!(v.read.fresh_keys.is_empty() && v.read.fresh_doc.is_empty());
        assert_eq!(v.read.failed_scopes, vec![Scope::default()]);
        // The documents stay: the record still counts them.
        assert_eq!(v.read.documents, 1);
    }
}
