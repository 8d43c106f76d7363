//! The inventory reader never panics, whatever the bytes, and reading
//! only some fields (a read mask, drawn from the input) loads every
//! resource that reading all of them loads (by type, id, account and
//! region: a duplicate's first document may differ).
#![no_main]
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pac_compiler::reads::ReadMask;
use pac_compiler::types::Schemas;
use pac_runtime::Inventory;

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| pac_compiler::compile_sources(vec![]).program.schemas.as_ref().clone())
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let schemas = schemas();
    // Every resource type read, each field read when its bit of `seed`
    // (rotating) is set.
    let read: BTreeMap<_, BTreeSet<u32>> = schemas
        .resource_types()
        .map(|(rid, _)| {
            let n = schemas.record(rid).fields.len() as u32;
            (rid, (0..n).filter(|k| seed.rotate_left(*k) & 1 == 1).collect())
        })
        .collect();
    let mask = ReadMask::new(schemas, read);
    let (all, _) = Inventory::read_str(schemas, "f", text);
    let (some, _) = Inventory::read_text(schemas, Some(&mask), "f", text, &mut |_| {});
    let loaded = |inv: &Inventory| -> BTreeSet<[String; 4]> {
        inv.resources
            .iter()
            .map(|r| [&r.type_name, &r.id, &r.account, &r.region].map(|s| s.to_string()))
            .collect()
    };
    assert!(loaded(&all).is_subset(&loaded(&some)));
});
