//! Reading documents straight into the native layout's cells (what
//! `pacc eval` does) never panics, whatever the bytes, and gives what
//! reading them into values and writing those gives: the same resources
//! and errors, and every resource reads back from the layout as the same
//! value.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pac_compiler::Compiled;
use pac_jit::Engine;
use pac_runtime::{Inventory, RuleEngine};

/// A policy that reads the fields of several types, lists, maps, nested
/// records, addresses and networks among them.
const POLICY: &str = r#"
policy fuzz {
  title "fuzz"
  severity low
  category security
  rule groups on aws.ec2.security_group {
    violation when any p in ip_permissions: any r in p.ip_ranges: (r.cidr_ip ?? 10.0.0.0/8) == 0.0.0.0/0
    message "{id} {group_name} {tags}"
  }
  rule instances on aws.ec2.instance {
    violation when has(public_ip_address) and (tags["env"] ?? "") == "prod"
    message "{id} {instance_type}"
  }
}
"#;

fn compiled() -> &'static (Compiled, Engine) {
    static C: OnceLock<(Compiled, Engine)> = OnceLock::new();
    C.get_or_init(|| {
        let c = pac_compiler::compile_sources(vec![("fuzz.pac".into(), POLICY.into())]);
        assert_eq!(c.program.rules.len(), 2, "the fuzz policy compiles");
        let e = Engine::compile(&c.program);
        (c, e)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (c, engine) = compiled();
    let schemas = &c.program.schemas;
    let mask = pac_compiler::reads::ReadMask::of(&c.program);
    let (mut values, errors) = Inventory::read_text(schemas, Some(&mask), "f", text, &mut |_| {});
    let mut b = engine.layout_builder(values.len());
    b.add_and_strip(0, &mut values.resources);
    let written = engine.prepare_with(&values, b.finish());
    let mut b = engine.layout_builder(0);
    let pieces = b.pieces();
    let (cells, cell_errors) =
        Inventory::read_text_built(schemas, Some(&mask), "f", text, &pieces, &mut |block| {
            b.add_built(block)
        });
    assert_eq!(errors, cell_errors);
    assert_eq!(values.len(), cells.len());
    let read = engine.prepare_with(&cells, b.finish());
    for (i, r) in values.resources.iter().enumerate() {
        assert_eq!(r.id, cells.resources[i].id);
        assert_eq!(
            written.resource_value(i, r.rtype, None),
            read.resource_value(i, r.rtype, None)
        );
    }
});
