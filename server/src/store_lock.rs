//! One writer per store: an exclusive lock on a file beside the SQLite
//! database (`pac.db.lock` for `pac.db`), held for the server's lifetime.
//!
//! The lock is the operating system's (`flock` through std's
//! `File::try_lock`): it is released when the process ends however it
//! ends, so a crash never leaves a stale lock. The file's content only
//! names the holder (pid and listen address) for the error a second server
//! prints; it is not the lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held store lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    file: File,
    path: PathBuf,
}

/// The lock file of a store URL: `<database>.lock` beside a SQLite file;
/// `None` for an in-memory database (nothing to share).
pub fn lock_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || path.starts_with("file::memory:") {
        return None;
    }
    let mut name = Path::new(path).file_name()?.to_os_string();
    name.push(".lock");
    Some(Path::new(path).with_file_name(name))
}

impl StoreLock {
    /// Takes the lock of the store at `url` without waiting, creating its
    /// directory and lock file if needed (nothing else is touched). `Ok(None)`
    /// for a store without a file. A store another process holds is an
    /// error naming that process.
    pub fn acquire(url: &str) -> Result<Option<StoreLock>, String> {
        let Some(path) = lock_path(url) else {
            return Ok(None);
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: cannot open the store's lock file: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(format!(
                    "the store {} is in use by another server ({}); one server per store: stop that one first, or give this one its own --data-dir",
                    path.with_extension("").display(),
                    describe_holder(&holder)
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("{}: cannot lock the store: {e}", path.display()));
            }
        }
        let lock = StoreLock { file, path };
        lock.record(None)
            .map_err(|e| format!("{}: cannot write the lock file: {e}", lock.path.display()))?;
        Ok(Some(lock))
    }

    /// Writes the holder's pid and, once bound, its listen address.
    pub fn record(&self, listen: Option<&str>) -> std::io::Result<()> {
        let body = serde_json::json!({"pid": std::process::id(), "listen": listen});
        let mut f = &self.file;
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        writeln!(f, "{body}")?;
        f.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// "pid 1234, listening on 127.0.0.1:8080" from a lock file's content.
fn describe_holder(text: &str) -> String {
    let v: serde_json::Value = match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(_) => return "a process that has not said who it is yet".into(),
    };
    let pid = v["pid"]
        .as_u64()
        .map_or_else(|| "an unknown pid".to_string(), |p| format!("pid {p}"));
    match v["listen"].as_str() {
        Some(l) => format!("{pid}, listening on {l}"),
        None => format!("{pid}, still starting"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_sit_beside_the_database() {
        assert_eq!(
            lock_path("sqlite:///var/lib/pac/pac.db"),
            Some(PathBuf::from("/var/lib/pac/pac.db.lock"))
        );
        assert_eq!(
            lock_path("sqlite://data/pac.db?mode=rwc"),
            Some(PathBuf::from("data/pac.db.lock"))
        );
        assert_eq!(lock_path("sqlite::memory:"), None);
        assert_eq!(lock_path("postgres://x/y"), None);
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d/pac.db").display());
        let first = StoreLock::acquire(&url).unwrap().unwrap();
        first.record(Some("127.0.0.1:9999")).unwrap();
        let e = StoreLock::acquire(&url).unwrap_err();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("127.0.0.1:9999"),
            "{e}"
        );
        drop(first);
        let again = StoreLock::acquire(&url).unwrap().unwrap();
        assert!(again.path().ends_with("pac.db.lock"));
    }

    #[test]
    fn holders_are_described_from_hostile_content_without_panicking() {
        assert!(describe_holder("").contains("not said"));
        assert!(describe_holder("{\"pid\": \"x\"}").contains("unknown pid"));
        assert_eq!(
            describe_holder("{\"pid\": 7, \"listen\": null}"),
            "pid 7, still starting"
        );
    }
}
