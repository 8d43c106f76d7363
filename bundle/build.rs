//! Embeds `policies/**/*.pac` and `examples/demo/inventory.json` (from the
//! workspace root) so that `pacc` runs from any directory and from an
//! installed binary. Generates `$OUT_DIR/bundled.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "pac") {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .parent()
        .expect("bundle/ sits in the workspace root");
    let policies = root.join("policies");
    let inventory = root.join("examples/demo/inventory.json");
    println!("cargo:rerun-if-changed={}", policies.display());
    println!("cargo:rerun-if-changed={}", inventory.display());

    let mut files = Vec::new();
    walk(&policies, &mut files);
    let mut code = String::from("pub static POLICIES: &[BundledFile] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(root).expect("under the root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        writeln!(
            code,
            "    BundledFile {{ path: {rel:?}, text: include_str!({:?}) }},",
            f.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    writeln!(
        code,
        "pub static DEMO_INVENTORY: &str = include_str!({:?});",
        inventory.display().to_string()
    )
    .expect("writing to a String");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("bundled.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}
