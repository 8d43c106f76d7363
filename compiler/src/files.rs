//! Finding `.pac` files under the paths a user names.

use std::path::{Path, PathBuf};

/// Every `.pac` file under `paths` (files as given, directories walked),
/// sorted for deterministic output.
pub fn pac_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "pac") {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads the files as (display path, text). Invalid UTF-8 is an error with
/// the file's name.
pub fn read_sources(files: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| format!("{}: not UTF-8 text ({e})", f.display()))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}
