//! The shipped policy library (`policies/`) and the demo inventory
//! (`examples/demo/inventory.json`), embedded in the binary at build time,
//! and the one rule that decides when they are used:
//!
//! the default paths (`policies`, `examples/demo/inventory.json`) mean the
//! files on disk when they exist in the working directory (a checkout, where
//! a developer edits them), and the embedded copies otherwise (any other
//! directory, an installed binary). A path the user names that does not
//! exist is an error as before.
//!
//! Invariant: this crate does no I/O but reading (or mapping) the paths it
//! is given.

use std::path::{Path, PathBuf};

/// One embedded file: its path relative to the workspace root, its text.
pub struct BundledFile {
    pub path: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The default policy path of every command.
pub const POLICIES_DIR: &str = "policies";
/// The default inventory of `pacc eval` and `pacc serve`.
pub const DEMO_INVENTORY_PATH: &str = "examples/demo/inventory.json";
/// How embedded files are named in diagnostics and reports.
pub const PREFIX: &str = "<bundled>/";

/// Whether `paths` is the default policy path and it is absent here.
pub fn uses_bundled_policies(paths: &[PathBuf]) -> bool {
    matches!(paths, [p] if p == Path::new(POLICIES_DIR) && !p.exists())
}

/// Whether `path` is the default inventory path and it is absent here.
pub fn uses_bundled_inventory(path: &Path) -> bool {
    path == Path::new(DEMO_INVENTORY_PATH) && !path.exists()
}

/// The embedded policy library as (display path, text), sorted by path.
pub fn bundled_policies() -> Vec<(String, String)> {
    POLICIES
        .iter()
        .map(|f| (format!("{PREFIX}{}", f.path), f.text.to_string()))
        .collect()
}

/// The `.pac` sources under `paths` as (display path, text): the files on
/// disk, or the embedded library when `paths` is the absent default.
pub fn policy_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    if uses_bundled_policies(paths) {
        return Ok(bundled_policies());
    }
    let files = pac_compiler::files::pac_files(paths)?;
    pac_compiler::files::read_sources(&files)
}

/// The text of an inventory file, or the embedded demo inventory when
/// `path` is the absent default.
pub fn read_inventory(path: &Path) -> std::io::Result<String> {
    if uses_bundled_inventory(path) {
        return Ok(DEMO_INVENTORY.to_string());
    }
    std::fs::read_to_string(path)
}

/// An inventory's text: the embedded demo, or a file mapped into memory.
///
/// `pacc eval` reads inventories of a gigabyte: mapping the file shares the
/// kernel's page cache instead of copying the whole text into fresh memory
/// (which costs about as much as parsing it on the machines measured in
/// docs/benchmarks.md).
pub enum InventoryText {
    Embedded(&'static str),
    Mapped(memmap2::Mmap),
    /// Read as usual (not a regular file).
    Owned(String),
    /// An empty file (a zero-length mapping is not allowed).
    Empty,
}

impl std::ops::Deref for InventoryText {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            InventoryText::Embedded(s) => s,
            // SAFETY: checked to be UTF-8 when it was mapped (see
            // `map_inventory` on files changed while mapped).
            InventoryText::Mapped(m) => unsafe { std::str::from_utf8_unchecked(m) },
            InventoryText::Owned(s) => s,
            InventoryText::Empty => "",
        }
    }
}

/// [`read_inventory`] without copying the file: its text mapped into
/// memory. Errors are `read_inventory`'s (not found, not UTF-8, …).
pub fn map_inventory(path: &Path) -> std::io::Result<InventoryText> {
    if uses_bundled_inventory(path) {
        return Ok(InventoryText::Embedded(DEMO_INVENTORY));
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        // A directory or a pipe: the ordinary read says what is wrong.
        return std::fs::read_to_string(path).map(InventoryText::Owned);
    }
    if file.metadata()?.len() == 0 {
        return Ok(InventoryText::Empty);
    }
    // SAFETY: the map is only read, and only as the `str` checked below.
    // Another process truncating or rewriting the file while `pacc` reads
    // it is the hazard every memory-mapped reader accepts (the text would
    // change under the parser; a truncation raises SIGBUS), as for a file
    // changed while it is read.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let _ = map.advise(memmap2::Advice::Sequential);
    // Checked block by block, each block's pages given back after, so the
    // check does not make the whole file resident in this process; the
    // blocks on every core (a gigabyte is ~0.1 s of checking on one).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !utf8_in_blocks(&map, RELEASE_BLOCK, threads, &|r| release(&map, r)) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ));
    }
    Ok(InventoryText::Mapped(map))
}

/// `bytes` cut into blocks of about `block` bytes at character boundaries
/// (at most 3 continuation bytes back; an invalid run of more is caught
/// by the check of the block it starts).
fn utf8_blocks(bytes: &[u8], block: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut end = (at + block.max(4)).min(bytes.len());
        for _ in 0..3 {
            if end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
                end -= 1;
            }
        }
        out.push(at..end);
        at = end;
    }
    out
}

/// Whether `bytes` are UTF-8, checked in blocks of about `block` bytes
/// cut at character boundaries, on up to `threads` threads; `done` is
/// given each block found valid (in no particular order).
fn utf8_in_blocks(
    bytes: &[u8],
    block: usize,
    threads: usize,
    done: &(dyn Fn(std::ops::Range<usize>) + Sync),
) -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    let blocks = utf8_blocks(bytes, block);
    let threads = threads.clamp(1, blocks.len().max(1));
    let bad = AtomicBool::new(false);
    let check = |k: usize| {
        for r in blocks.iter().skip(k).step_by(threads) {
            if bad.load(Ordering::Relaxed) {
                return;
            }
            if std::str::from_utf8(&bytes[r.clone()]).is_err() {
                bad.store(true, Ordering::Relaxed);
                return;
            }
            done(r.clone());
        }
    };
    std::thread::scope(|s| {
        for k in 1..threads {
            s.spawn(move || check(k));
        }
        check(0);
    });
    !bad.load(Ordering::Relaxed)
}

/// How much of a mapped inventory is checked (or read) before its pages
/// are given back.
const RELEASE_BLOCK: usize = 32 << 20;

impl InventoryText {
    /// Tells the kernel this process is done with the bytes in `range` of
    /// a mapped file: their pages leave the process's resident memory (the
    /// page cache keeps them; reading them again maps them back in, with
    /// the same contents). Nothing for other texts.
    pub fn release(&self, range: std::ops::Range<usize>) {
        if let InventoryText::Mapped(m) = self {
            release(m, range);
        }
    }
}

/// [`InventoryText::release`] of a mapped file.
fn release(m: &memmap2::Mmap, range: std::ops::Range<usize>) {
    if range.start < range.end && range.end <= m.len() {
        // SAFETY: the map is a read-only shared mapping of a file, never
        // written through: MADV_DONTNEED only drops its pages, and a later
        // read faults in the file's same bytes again.
        let _ = unsafe {
            m.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                range.start,
                range.end - range.start,
            )
        };
    }
}

/// How an inventory path is shown: the embedded one is marked as such.
pub fn inventory_display(path: &Path) -> String {
    if uses_bundled_inventory(path) {
        format!("{PREFIX}{DEMO_INVENTORY_PATH}")
    } else {
        path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_checked_in_blocks_cut_at_character_boundaries() {
        let samples: [&[u8]; 6] = [
            "a é ü € 𝄞 z".as_bytes(),
            "𝄞𝄞𝄞𝄞".as_bytes(),
            b"abc\xff",
            b"\xe2\x82",
            b"ab\x80\x80\x80\x80cd",
            b"",
        ];
        for bytes in samples {
            let whole = std::str::from_utf8(bytes).is_ok();
            for block in 1..10 {
                let blocks = utf8_blocks(bytes, block);
                let mut covered = 0;
                for r in &blocks {
                    assert_eq!(r.start, covered, "blocks are contiguous");
                    covered = r.end;
                }
                assert_eq!(covered, bytes.len());
                for threads in [1, 3] {
                    let seen = std::sync::Mutex::new(Vec::new());
                    let ok = utf8_in_blocks(bytes, block, threads, &|r| {
                        seen.lock().unwrap().push(r);
                    });
                    assert_eq!(ok, whole, "{bytes:?} in blocks of {block} on {threads}");
                    if ok {
                        let mut seen = seen.into_inner().unwrap();
                        seen.sort_by_key(|r| r.start);
                        assert_eq!(seen, blocks, "every block released once");
                    }
                }
            }
        }
    }

    #[test]
    fn the_library_and_the_demo_inventory_are_embedded_whole() {
        // At run time, not `env!`: a target directory shared between
        // checkouts keeps test binaries built in another.
        let crate_dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        );
        let root = crate_dir.parent().unwrap();
        let on_disk =
            pac_compiler::files::pac_files(&[root.join(POLICIES_DIR)]).expect("policies/ exists");
        assert_eq!(POLICIES.len(), on_disk.len());
        for (f, p) in POLICIES.iter().zip(&on_disk) {
            assert_eq!(root.join(f.path), *p);
            assert_eq!(f.text, std::fs::read_to_string(p).unwrap());
        }
        let demo = std::fs::read_to_string(root.join(DEMO_INVENTORY_PATH)).unwrap();
        assert_eq!(DEMO_INVENTORY, demo);
    }

    #[test]
    fn named_paths_are_read_from_disk_and_missing_ones_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.pac");
        std::fs::write(&f, "// one\n").unwrap();
        let got = policy_sources(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(got, vec![(f.display().to_string(), "// one\n".to_string())]);
        let missing = dir.path().join("nope");
        assert!(policy_sources(std::slice::from_ref(&missing)).is_err());
        assert!(!uses_bundled_inventory(&missing));
        assert!(read_inventory(&missing).is_err());
    }
}
