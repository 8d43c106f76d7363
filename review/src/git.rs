//! Reading one commit's `.pac` files out of a git repository, read-only,
//! without a checkout: the `git` binary, run with an argument vector (never
//! a shell string), asked for `rev-parse`, `ls-tree` and `cat-file --batch`.
//!
//! Refs and paths come from the command line of a CI job, which may take
//! them from a pull request: they are hostile. A ref must look like a ref
//! (no leading `-`, no control characters or spaces, bounded length) and is
//! passed after `--end-of-options`; paths are relative, without `..`, and
//! passed after `--`.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// The largest `.pac` file read from a commit; larger ones are an error.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// The most `.pac` files read from one commit.
pub const MAX_FILES: usize = 10_000;

/// A git working directory (any directory inside a repository).
pub struct Repo {
    dir: PathBuf,
}

/// Checks that `rev` can only be read as a revision, never as an option.
pub fn validate_rev(rev: &str) -> Result<(), String> {
    if rev.is_empty() {
        return Err("an empty git ref: name a branch, tag or commit".into());
    }
    if rev.starts_with('-') {
        return Err(format!(
            "git ref {rev:?} starts with `-`: refs that look like options are refused"
        ));
    }
    if rev.len() > 256 {
        return Err("git ref longer than 256 bytes refused".into());
    }
    if rev.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "git ref {rev:?} contains spaces or control characters"
        ));
    }
    Ok(())
}

/// Checks that `path` is relative and stays inside the repository.
pub fn validate_path(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err("an empty policy path".into());
    }
    if path.to_str().is_none_or(|s| s.starts_with('-')) {
        return Err(format!(
            "policy path `{shown}` must be valid UTF-8 and not start with `-`"
        ));
    }
    for c in path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "policy path `{shown}` leaves the repository (`..`): name a folder inside it"
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "policy path `{shown}` is absolute: give it relative to the repository's working directory"
                ));
            }
        }
    }
    Ok(())
}

impl Repo {
    /// A repository read from `dir`; fails when `dir` is not inside one.
    pub fn open(dir: &Path) -> Result<Repo, String> {
        let repo = Repo {
            dir: dir.to_path_buf(),
        };
        repo.run(&["rev-parse", "--git-dir"], None).map_err(|e| {
            format!(
                "{} is not inside a git repository ({e}): run `pacc review` in a checkout of the policy repository",
                dir.display()
            )
        })?;
        Ok(repo)
    }

    fn command(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    /// Runs git with `args`, returning stdout; `input` is written to stdin.
    fn run(&self, args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
        let mut cmd = self.command();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run `git` ({e}): is git installed and on PATH?"))?;
        // Feed stdin from a thread so that a full stdout pipe cannot
        // deadlock us against git.
        let writer = match (input, child.stdin.take()) {
            (Some(bytes), Some(mut stdin)) => Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            })),
            _ => None,
        };
        let mut out = Vec::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout
                .read_to_end(&mut out)
                .map_err(|e| format!("reading git's output: {e}"))?;
        }
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        if let Some(w) = writer {
            let _ = w.join();
        }
        let status = child.wait().map_err(|e| format!("waiting for git: {e}"))?;
        if !status.success() {
            let err = err.trim();
            return Err(if err.is_empty() {
                format!("`git {}` failed ({status})", args.first().unwrap_or(&""))
            } else {
                err.to_string()
            });
        }
        Ok(out)
    }

    /// The commit id `rev` names.
    pub fn resolve(&self, rev: &str) -> Result<String, String> {
        validate_rev(rev)?;
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .run(
                &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec],
                None,
            )
            .map_err(|_| {
                format!(
                    "`{rev}` names no commit in this repository (in CI, fetch it first: `git fetch origin {rev}`, or check out with fetch-depth: 0)"
                )
            })?;
        let oid = String::from_utf8_lossy(&out).trim().to_string();
        if oid.is_empty() || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{rev}` names no commit in this repository"));
        }
        Ok(oid)
    }

    /// The `.pac` files under `paths` in `commit` (an id from
    /// [`Repo::resolve`]), as (path from the repository root, text), sorted
    /// by path. A path that does not exist in the commit gives nothing.
    pub fn pac_files(
        &self,
        commit: &str,
        paths: &[PathBuf],
    ) -> Result<Vec<(String, String)>, String> {
        if !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("not a commit id: {commit:?}"));
        }
        let mut args: Vec<&str> = vec!["ls-tree", "-r", "-z", "-l", "--full-name", commit, "--"];
        let mut owned = Vec::new();
        for p in paths {
            validate_path(p)?;
            owned.push(p.to_string_lossy().into_owned());
        }
        args.extend(owned.iter().map(String::as_str));
        let listing = self.run(&args, None)?;
        let mut blobs: Vec<(String, String)> = Vec::new(); // (oid, path)
        for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            let Some(entry) = parse_ls_tree_entry(entry) else {
                return Err("unexpected output from `git ls-tree`".into());
            };
            // Regular files only: not symlinks (mode 120000), not submodules.
            if entry.kind != "blob" || entry.mode == "120000" || !entry.path.ends_with(".pac") {
                continue;
            }
            if entry.size > MAX_FILE_BYTES {
                return Err(format!(
                    "{} is {} bytes at {commit:.12}: policy files over {MAX_FILE_BYTES} bytes are refused",
                    entry.path, entry.size
                ));
            }
            blobs.push((entry.oid, entry.path));
        }
        if blobs.len() > MAX_FILES {
            return Err(format!(
                "{} .pac files at {commit:.12}: more than {MAX_FILES} are refused; narrow --policies",
                blobs.len()
            ));
        }
        blobs.sort_by(|a, b| a.1.cmp(&b.1));
        blobs.dedup_by(|a, b| a.1 == b.1);
        if blobs.is_empty() {
            return Ok(Vec::new());
        }
        let input: Vec<u8> = blobs
            .iter()
            .flat_map(|(oid, _)| format!("{oid}\n").into_bytes())
            .collect();
        let out = self.run(&["cat-file", "--batch"], Some(input))?;
        let texts = parse_cat_file_batch(&out, blobs.len())?;
        blobs
            .into_iter()
            .zip(texts)
            .map(|((_, path), bytes)| match String::from_utf8(bytes) {
                Ok(text) => Ok((path, text)),
                Err(_) => Err(format!(
                    "{path} at {commit:.12} is not UTF-8 text: policy files must be UTF-8"
                )),
            })
            .collect()
    }
}

struct LsTreeEntry {
    mode: String,
    kind: String,
    oid: String,
    size: u64,
    path: String,
}

/// `<mode> SP <type> SP <object> SP+ <size> TAB <path>` (`ls-tree -l -z`).
fn parse_ls_tree_entry(entry: &[u8]) -> Option<LsTreeEntry> {
    let tab = entry.iter().position(|&b| b == b'\t')?;
    let head = std::str::from_utf8(&entry[..tab]).ok()?;
    let path = std::str::from_utf8(&entry[tab + 1..]).ok()?.to_string();
    let mut parts = head.split_whitespace();
    let mode = parts.next()?.to_string();
    let kind = parts.next()?.to_string();
    let oid = parts.next()?.to_string();
    let size = parts.next()?.parse().unwrap_or(0); // `-` for non-blobs
    if !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(LsTreeEntry {
        mode,
        kind,
        oid,
        size,
        path,
    })
}

/// Splits `git cat-file --batch` output: `<oid> SP <type> SP <size> LF
/// <contents> LF`, `expected` times.
fn parse_cat_file_batch(out: &[u8], expected: usize) -> Result<Vec<Vec<u8>>, String> {
    let bad = || "unexpected output from `git cat-file --batch`".to_string();
    let mut texts = Vec::with_capacity(expected);
    let mut at = 0;
    while texts.len() < expected {
        let rest = out.get(at..).ok_or_else(bad)?;
        let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
        let header = std::str::from_utf8(&rest[..nl]).map_err(|_| bad())?;
        let mut parts = header.split(' ');
        let (_oid, kind, size) = (parts.next(), parts.next(), parts.next());
        if kind != Some("blob") {
            return Err(format!("git could not read an object: {header}"));
        }
        let size: usize = size.and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let start = at + nl + 1;
        let end = start.checked_add(size).ok_or_else(bad)?;
        texts.push(out.get(start..end).ok_or_else(bad)?.to_vec());
        at = end + 1; // the LF after the contents
    }
    Ok(texts)
}

/// Reads both sides of a change (`base`, `head`: revisions) out of the
/// git repository around `dir`: the `.pac` files under `policies` at each.
pub fn sources(
    dir: &Path,
    base: &str,
    head: &str,
    policies: &[PathBuf],
) -> Result<(crate::Source, crate::Source), String> {
    let repo = Repo::open(dir)?;
    let side = |reference: &str| -> Result<crate::Source, String> {
        let commit = repo.resolve(reference)?;
        let files = repo.pac_files(&commit, policies)?;
        Ok(crate::Source {
            reference: reference.to_string(),
            commit,
            files,
        })
    };
    let (b, h) = (side(base)?, side(head)?);
    if b.files.is_empty() && h.files.is_empty() {
        let shown: Vec<String> = policies.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no .pac files under `{}` at `{base}` or at `{head}`: name the policy folder with --policies",
            shown.join(" ")
        ));
    }
    Ok((b, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_that_look_like_options_or_carry_spaces_are_refused() {
        for bad in ["", "-x", "--output=/tmp/x", "a b", "main\n", "a\u{0}b"] {
            assert!(validate_rev(bad).is_err(), "{bad:?}");
        }
        for good in [
            "main",
            "origin/main",
            "HEAD~1",
            "v1.2",
            "abc123",
            "refs/pull/7/head",
        ] {
            assert!(validate_rev(good).is_ok(), "{good:?}");
        }
        assert!(validate_rev(&"a".repeat(300)).is_err());
    }

    #[test]
    fn paths_must_stay_inside_the_repository() {
        for bad in ["/etc", "../x", "a/../../b", "-rf", ""] {
            assert!(validate_path(Path::new(bad)).is_err(), "{bad:?}");
        }
        for good in ["policies", "./policies/aws", "a/b.pac"] {
            assert!(validate_path(Path::new(good)).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn ls_tree_entries_parse() {
        let e = parse_ls_tree_entry(b"100644 blob 0123abcd     42\tpolicies/a b.pac").unwrap();
        assert_eq!(
            (e.mode.as_str(), e.kind.as_str(), e.oid.as_str(), e.size),
            ("100644", "blob", "0123abcd", 42)
        );
        assert_eq!(e.path, "policies/a b.pac");
        let sub = parse_ls_tree_entry(b"160000 commit 0123abcd       -\tvendor").unwrap();
        assert_eq!(sub.kind, "commit");
        assert!(parse_ls_tree_entry(b"garbage").is_none());
        assert!(parse_ls_tree_entry(b"100644 blob zz 1\tx").is_none());
    }

    #[test]
    fn cat_file_batch_output_splits_and_truncation_is_an_error() {
        let out = b"aa blob 3\nabc\nbb blob 0\n\n";
        assert_eq!(
            parse_cat_file_batch(out, 2).unwrap(),
            vec![b"abc".to_vec(), Vec::new()]
        );
        assert!(parse_cat_file_batch(b"aa blob 9\nabc\n", 1).is_err());
        assert!(parse_cat_file_batch(b"aa missing\n", 1).is_err());
        assert!(parse_cat_file_batch(b"", 1).is_err());
    }
}
