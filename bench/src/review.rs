//! `pacc bench-review`: the time `pacc review` takes for a one-policy
//! change on a generated inventory (the `estate` crate). Builds a scratch git
//! repository holding the policy library (base commit) and the library
//! with one rule's condition widened (head commit), then runs the review
//! pipeline `--runs` times in process and prints the median of each step
//! (docs/review.md, "Speed").

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::units::{fmt_dur, median};

/// The one change the benchmark reviews: `ebs_volume_gp2` also flags
/// magnetic volumes.
const BEFORE: &str = "violation when volume_type == \"gp2\"";
const AFTER: &str = "violation when volume_type in [\"gp2\", \"standard\"]";

/// The 2 s target of issue 15 for a one-policy change on 100k resources.
const TARGET: Duration = Duration::from_secs(2);

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args([
            "-c",
            "user.name=pacc bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A scratch repository: the library at `main~1`, the change at `main`.
fn scratch_repo(dir: &Path, policies: &[PathBuf]) -> Result<(), String> {
    let files = pac_bundle::policy_sources(policies)?;
    let mut changed = false;
    git(dir, &["init", "-q"])?;
    for (path, _) in &files {
        let rel = path.strip_prefix(pac_bundle::PREFIX).unwrap_or(path);
        let rel = Path::new(rel);
        if rel.is_absolute() || rel.components().any(|c| c.as_os_str() == "..") {
            return Err(format!(
                "{path}: run bench-review from the repository root with a relative --policies"
            ));
        }
    }
    let write = |path: &str, text: &str| -> Result<(), String> {
        let p = dir.join(path.strip_prefix(pac_bundle::PREFIX).unwrap_or(path));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    for (path, text) in &files {
        write(path, text)?;
    }
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "base"])?;
    for (path, text) in &files {
        if !changed && text.contains(BEFORE) {
            write(path, &text.replacen(BEFORE, AFTER, 1))?;
            changed = true;
        }
    }
    if !changed {
        return Err(format!(
            "no policy has `{BEFORE}` to change: bench-review needs the shipped library"
        ));
    }
    git(
        dir,
        &["commit", "-q", "-a", "-m", "head: widen ebs_volume_gp2"],
    )
}

pub fn run(count: u64, seed: u64, runs: usize, policies: &[PathBuf]) -> i32 {
    let dir = std::env::temp_dir().join(format!("pac-bench-review-{}", std::process::id()));
    let code = match bench(&dir, count, seed, runs.max(1), policies) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    code
}

fn bench(
    dir: &Path,
    count: u64,
    seed: u64,
    runs: usize,
    policies: &[PathBuf],
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    scratch_repo(dir, policies)?;
    let mut ndjson = Vec::new();
    let start = Instant::now();
    pac_estate::generate(count, seed, &mut ndjson).map_err(|e| e.to_string())?;
    let inventory = String::from_utf8(ndjson).map_err(|e| e.to_string())?;
    eprintln!(
        "generated {count} documents ({:.1} MB) in {}",
        inventory.len() as f64 / 1e6,
        fmt_dur(start.elapsed())
    );
    let mut steps: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    let mut record = |name: &'static str, d: Duration| match steps.iter_mut().find(|s| s.0 == name)
    {
        Some(s) => s.1.push(d),
        None => steps.push((name, vec![d])),
    };
    let mut last = None;
    for _ in 0..runs {
        for head_in_full in [true, false] {
            let total = Instant::now();
            let t = Instant::now();
            let (base, head) =
                pac_review::git::sources(dir, "main~1", "main", &[PathBuf::from("policies")])?;
            let git = t.elapsed();
            let review = pac_review::review(pac_review::Input {
                base,
                head,
                inventory_text: &inventory,
                inventory_name: "generated.ndjson",
                now: pac_estate::NOW,
                sample: 5,
                thresholds: pac_review::Thresholds::default(),
                gate: pac_review::Gate::default(),
                head_in_full,
            })
            .map_err(|pac_review::Error::Compile { broken, .. }| {
                format!("the {} does not compile", broken.side)
            })?;
            let t = Instant::now();
            // What a pull request's check renders: Markdown and SARIF.
            let _ = pac_review::markdown::render(&review);
            let _ = pac_review::sarif::render(
                "pacc-review/",
                &pac_review::findings::review_kinds(),
                &pac_review::findings::review_findings(&review),
            );
            let render = t.elapsed();
            if head_in_full {
                // The path before reuse.rs, measured in the same run; its
                // review must be the same.
                record("total, head evaluated in full (before)", total.elapsed());
                last = Some(review);
                continue;
            }
            if let Some(full) = &last {
                let same =
                    |r: &pac_review::Review| serde_json::to_string(&r.impact).unwrap_or_default();
                if same(full) != same(&review) {
                    return Err("the review with reused results differs from the full one".into());
                }
            }
            record("read both commits from git", git);
            for (name, d) in &review.timings {
                record(name, *d);
            }
            record("render markdown + sarif", render);
            record("total", total.elapsed());
            last = Some(review);
        }
    }
    let Some(review) = last else {
        return Err("no run".into());
    };
    println!(
        "pacc bench-review: {count} resources (seed {seed}), {} policies / {} rules, one rule's condition changed; median of {runs} run(s)\n",
        review.head.policies, review.head.rules
    );
    for (name, ds) in &steps {
        println!("{name:<40} {:>12}", fmt_dur(median(ds)));
    }
    let total = steps
        .iter()
        .find(|s| s.0 == "total")
        .map(|s| median(&s.1))
        .unwrap_or_default();
    println!(
        "\ntarget < {}: {}",
        fmt_dur(TARGET),
        if total < TARGET { "met" } else { "not met" }
    );
    let i = &review.impact;
    println!(
        "base: {} results, {} failing, overall {}; head: {} results, {} failing, overall {}",
        i.before.evaluated,
        i.before.failing,
        i.before.overall.map_or("-".into(), |x| format!("{x:.2}")),
        i.after.evaluated,
        i.after.failing,
        i.after.overall.map_or("-".into(), |x| format!("{x:.2}")),
    );
    for r in &i.rules {
        println!(
            "{}: {} newly failing, {} no longer failing",
            r.rule, r.newly_failing.count, r.no_longer_failing.count
        );
    }
    Ok(())
}
