//! `pacc bench-server`: generates an inventory (the `estate` crate) and runs the
//! server's benchmark on it (server/src/bench.rs).

use std::path::PathBuf;

pub fn run(
    count: u64,
    seed: u64,
    concurrency: usize,
    requests: usize,
    policies: &[PathBuf],
) -> i32 {
    let dir = match tempfile_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot create a temporary directory: {e}");
            return 2;
        }
    };
    let inventory = dir.join("inventory.ndjson");
    let file = match std::fs::File::create(&inventory) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", inventory.display());
            return 2;
        }
    };
    if let Err(e) = pac_estate::generate(
        count,
        seed,
        std::io::BufWriter::with_capacity(1 << 20, file),
    ) {
        eprintln!("error: generating the inventory: {e}");
        return 2;
    }
    eprintln!("generated {count} documents into {}", inventory.display());
    let args = pac_server::bench::BenchArgs {
        inventory,
        policies: policies.to_vec(),
        data_dir: dir.join("data"),
        now: pac_estate::NOW,
        concurrency,
        requests,
    };
    let code = pac_server::bench::run_blocking(&args);
    let _ = std::fs::remove_dir_all(&dir);
    code
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("pac-bench-server-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
