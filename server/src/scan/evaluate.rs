//! Stage 4, evaluate: the estate the rules see — this read's resources,
//! the stored documents of what could not be read, the other sources'
//! resources — and the rules and groups run on it, in full or taking over
//! the warm state's results for unchanged resources. No I/O.

use std::collections::HashSet;

use pac_compiler::Program;
use pac_runtime::{Env, EvalReport, Incoming, IngestError, Inventory};

use super::collect::StoredDocs;
use super::validate::{Accepted, Read};
use super::{Warm, key_in_scopes, resource_key};
use crate::program::Loaded;
use crate::store::ScanBase;

/// A rescan without the previous scan's layout evaluates with the
/// interpreter when fewer than this share of the resources changed:
/// building the native engine's layout for the whole inventory costs more
/// than interpreting the few rules that must run in full. With the layout
/// (kept by every scan that ran natively) only the changed resources are
/// laid out, and the rescan runs natively (docs/server.md, "The layout
/// kept").
const NATIVE_BELOW_REUSE: f64 = 0.9;

pub(super) struct Assemble<'a> {
    pub program: &'a Program,
    /// The scanned source's name.
    pub source: &'a str,
    pub base: &'a ScanBase,
    /// What this read accepted.
    pub accepted: Accepted,
    pub read: &'a Read,
    /// The other sources' stored documents (cold path).
    pub others: StoredDocs,
    /// This source's stored documents (when some are carried).
    pub own_stored: StoredDocs,
    pub warm: Option<&'a Warm>,
}

/// The estate the rules see.
pub(super) struct Estate {
    /// This read's resources first (`..fresh`), then the carried ones.
    pub inv: Inventory,
    /// Each resource's key.
    pub keys: Vec<String>,
    pub fresh: usize,
    /// Each resource's warm counterpart, if it is unchanged.
    pub same_as: Vec<Option<usize>>,
    /// The documents the schemas rejected (this read's and carried ones).
    pub ingest: Vec<IngestError>,
    /// The resources whose results are unknown: in a scope the source (or
    /// another source, at its last read) could not read.
    pub unknown_keys: HashSet<String>,
    /// The same, by position in `inv`.
    pub unknown: Vec<bool>,
}

/// Builds the estate: resources of failed scopes keep their last known
/// documents and are unknown; the other sources' resources are read back
/// (or taken from the warm state); those of another source's unread
/// scopes are unknown too (never compliant by default).
pub(super) fn assemble(a: Assemble<'_>) -> Estate {
    let Assemble {
        program,
        source,
        base,
        accepted,
        read,
        others,
        own_stored,
        warm,
    } = a;
    let schemas = &program.schemas;
    let Accepted {
        mut inv,
        mut ingest,
        fresh,
        mut same_as,
        keys: fresh_keys,
    } = accepted;
    let mut unknown_keys: HashSet<String> = HashSet::new();
    let mut carried = String::new();
    for (key, _, doc) in &own_stored {
        if !read.fresh_keys.contains(key) && key_in_scopes(key, &read.failed_scopes) {
            unknown_keys.insert(key.clone());
            carried.push_str(doc);
            carried.push('\n');
        }
    }
    for (_, _, doc) in &others {
        carried.push_str(doc);
        carried.push('\n');
    }
    if !carried.is_empty() {
        let (old, errs) = Inventory::read_str(schemas, "stored inventory", &carried);
        ingest.extend(errs);
        ingest.extend(inv.extend(old));
    }
    // Other sources' resources, as the previous scan held them (in the
    // stored order, by key, as the cold path reads them).
    if let Some(w) = warm {
        let mut theirs: Vec<(&str, usize)> = w
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| base.resources.get(*k).is_some_and(|(_, s)| s != source))
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        theirs.sort();
        let items: Vec<Incoming> = theirs
            .iter()
            .enumerate()
            .map(|(k, &(_, i))| Incoming::Known(k + 1, w.inv.resources[i].clone()))
            .collect();
        let (old, errs) = Inventory::from_incoming(schemas, "stored inventory", items);
        ingest.extend(errs);
        ingest.extend(inv.extend(old));
        // `extend` keeps them in order, minus those a fresh document replaced.
        same_as.extend(
            theirs
                .iter()
                .filter(|(k, _)| !read.fresh_keys.contains(*k))
                .map(|&(_, i)| Some(i)),
        );
    }
    same_as.resize(inv.len(), None);
    // The fresh resources' keys as validation read them; the carried
    // ones' built.
    let mut keys = fresh_keys;
    if keys.len() != fresh {
        keys.clear();
    }
    keys.extend(
        inv.resources[keys.len()..]
            .iter()
            .map(|r| resource_key(&r.type_name, &r.account, &r.region, &r.id)),
    );
    if base.unread.keys().any(|s| s != source) {
        for k in &keys {
            let Some(read) = base
                .resources
                .get(k)
                .filter(|(_, s)| s != source)
                .and_then(|(_, s)| base.unread.get(s))
            else {
                continue;
            };
            if key_in_scopes(k, &read.scopes) {
                unknown_keys.insert(k.clone());
            }
        }
    }
    let unknown: Vec<bool> = keys.iter().map(|k| unknown_keys.contains(k)).collect();
    Estate {
        inv,
        keys,
        fresh,
        same_as,
        ingest,
        unknown_keys,
        unknown,
    }
}

/// The evaluate stage's output.
pub(super) struct Evaluation {
    pub report: EvalReport,
    /// Resources taken over from the warm state.
    pub reused: usize,
    /// Evaluated with the native engine.
    pub native: bool,
    /// The native engine's layout of `estate.inv`, for the next scan.
    pub layout: Option<pac_jit::Layout>,
}

/// Runs the rules and groups on the estate (`env` is over `estate.inv`):
/// in full, or taking over the results the warm state holds for
/// unchanged resources. `layout` is the warm state's layout (of its
/// inventory), carried over to this one.
pub(super) fn evaluate(
    loaded: &Loaded,
    env: &Env,
    estate: &Estate,
    warm: Option<&Warm>,
    layout: Option<pac_jit::Layout>,
) -> Evaluation {
    let p = loaded.program();
    let inv = &estate.inv;
    let reused = estate.same_as.iter().filter(|s| s.is_some()).count();
    let native = warm.is_none()
        || layout.is_some()
        || (reused as f64) < NATIVE_BELOW_REUSE * inv.len() as f64;
    let prepared = native.then(|| match (layout, warm) {
        (Some(l), Some(_)) => {
            let started = std::time::Instant::now();
            let l = loaded.engine.relayout(l, inv, &estate.same_as);
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                written = l.written,
                resources = inv.len(),
                "layout carried over"
            );
            loaded.engine.prepare_with(inv, l)
        }
        _ => loaded.engine.prepare(inv),
    });
    let report = {
        let engine = prepared.as_ref().map(|p| p as &dyn pac_runtime::RuleEngine);
        let earlier = warm.map(|w| pac_runtime::Earlier {
            report: &w.report,
            same_as: &estate.same_as,
        });
        pac_runtime::evaluate_from(p, env, false, engine, earlier.as_ref())
    };
    Evaluation {
        report,
        reused,
        native,
        layout: prepared.map(pac_jit::Prepared::into_layout),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, NOW, doc, key};
    use super::super::validate::{self, Validated};
    use super::*;
    use crate::store::SourceRead;
    use pac_connectors::Scope;
    use pac_runtime::Outcome;

    fn validated(f: &Fixture, docs: Vec<serde_json::Value>, failed: Vec<Scope>) -> Validated {
        let mut v = validate::validate(validate::Input {
            program: f.loaded.program(),
            source: "s",
            collected: super::super::collect::Collected {
                docs,
                failed: Vec::new(),
            },
            base: &ScanBase::default(),
            warm: None,
        });
        v.read.failed_scopes = failed;
        v
    }

    fn stored(id: &str, source: &str, name: &str) -> (String, String, String) {
        (key(id), source.into(), doc(id, name, None).to_string())
    }

    fn region(r: &str) -> Scope {
        Scope {
            region: Some(r.into()),
            ..Scope::default()
        }
    }

    #[test]
    fn a_failed_scope_keeps_its_stored_documents_as_unknown() {
        let f = Fixture::new();
        let v = validated(&f, vec![doc("b1", "a", None)], vec![region("r")]);
        let base = ScanBase::default();
        let e = assemble(Assemble {
            program: f.loaded.program(),
            source: "s",
            base: &base,
            accepted: v.accepted,
            read: &v.read,
            others: vec![stored("o1", "other", "x")],
            // b1 was read again (fresh wins); b2 was not: carried, unknown.
            own_stored: vec![stored("b1", "s", "old"), stored("b2", "s", "")],
            warm: None,
        });
        assert_eq!(e.fresh, 1);
        // This source's carried documents come before the other sources'.
        assert_eq!(e.keys, vec![key("b1"), key("b2"), key("o1")]);
        assert_eq!(e.unknown, vec![false, true, false]);
        assert_eq!(e.unknown_keys, HashSet::from([key("b2")]));
        assert_eq!(e.same_as, vec![None; 3]);
        assert!(e.ingest.is_empty(), "{:?}", e.ingest);
    }

    #[test]
    fn another_sources_unread_scopes_are_unknown_here_too() {
        let f = Fixture::new();
        let v = validated(&f, vec![doc("b1", "a", None)], Vec::new());
        let mut base = ScanBase::default();
        base.resources
            .insert(key("o1"), ("h".into(), "other".into()));
        base.unread.insert(
            "other".into(),
            SourceRead {
                status: crate::store::ReadStatus::Failed,
                scan_id: 1,
                since: 0,
                scopes: vec![Scope::default()],
                message: None,
            },
        );
        let e = assemble(Assemble {
            program: f.loaded.program(),
            source: "s",
            base: &base,
            accepted: v.accepted,
            read: &v.read,
            others: vec![stored("o1", "other", "x")],
            own_stored: Vec::new(),
            warm: None,
        });
        assert_eq!(e.unknown, vec![false, true]);
    }

    #[test]
    fn evaluation_gives_every_rule_on_every_resource() {
        let f = Fixture::new();
        let e = f.estate(&[doc("b1", "", None), doc("b2", "web", None)], &[]);
        let env = Env::for_program(f.loaded.program(), &e.inv, NOW);
        let ev = evaluate(&f.loaded, &env, &e, None, None);
        assert!(ev.native, "a cold scan runs the native engine");
        assert_eq!(ev.reused, 0);
        let outcomes: Vec<(usize, Outcome)> = ev
            .report
            .results
            .iter()
            .map(|r| (r.resource, r.outcome.clone()))
            .collect();
        assert_eq!(outcomes, vec![(0, Outcome::Fail), (1, Outcome::Pass)]);
        assert_eq!(ev.report.groups[0].members, vec![1]);
    }
}
