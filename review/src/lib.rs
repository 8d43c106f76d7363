//! Policy review for pull requests (`pacc review`), and the output formats
//! CI systems read.
//!
//! A review reads the `.pac` files of two commits out of git ([`git`]),
//! compiles both sides, compares what they declare ([`facts`] →
//! [`diff`]), evaluates both over the same inventory with the native
//! engine ([`impact`]), raises what a reviewer must not miss
//! ([`warnings`]) and checks the merge gates ([`gate`]). The [`Review`]
//! is rendered as Markdown for a PR comment ([`markdown`]), JSON
//! (`docs/review.md` documents it), SARIF 2.1.0 ([`sarif`], which also
//! renders `pacc check` diagnostics) or GitHub workflow commands
//! ([`github`]); [`junit`] renders `pacc test` reports.
//!
//! Architecture invariants: git is only read (rev-parse, ls-tree,
//! cat-file), through an argument vector, never a shell; refs and paths
//! are validated before git sees them; nothing here panics on any input;
//! both sides are evaluated over one inventory, so every difference in
//! results comes from the policies.

pub mod broken;
pub mod diff;
pub mod facts;
pub mod findings;
pub mod gate;
pub mod git;
pub mod github;
pub mod impact;
pub mod junit;
pub mod markdown;
pub mod reuse;
pub mod sarif;
pub mod warnings;

use std::time::{Duration, Instant};

use pac_compiler::Compiled;
use serde::Serialize;

pub use broken::Broken;
pub use diff::Diff;
pub use gate::{Gate, GateResult};
pub use impact::Impact;
pub use warnings::{Thresholds, Warning};

/// The version of the JSON document (`docs/review.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// One side's sources: what the user called it, the commit, the files.
pub struct Source {
    pub reference: String,
    pub commit: String,
    pub files: Vec<(String, String)>,
}

/// What to review against.
pub struct Input<'a> {
    pub base: Source,
    pub head: Source,
    /// The inventory's text and its name for messages.
    pub inventory_text: &'a str,
    pub inventory_name: &'a str,
    /// The evaluation clock, Unix seconds.
    pub now: i64,
    /// How many resource ids each movement lists.
    pub sample: usize,
    pub thresholds: Thresholds,
    pub gate: Gate,
    /// Evaluate every head rule instead of taking the base's results for
    /// rules that cannot differ (`reuse.rs`): for benchmarks and checks.
    pub head_in_full: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct SideInfo {
    /// As given (`origin/main`, `HEAD`).
    #[serde(rename = "ref")]
    pub reference: String,
    pub commit: String,
    pub files: usize,
    pub policies: usize,
    pub rules: usize,
}

/// Everything a review found (the JSON document).
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    pub schema_version: u32,
    pub base: SideInfo,
    pub head: SideInfo,
    pub diff: Diff,
    pub impact: Impact,
    pub warnings: Vec<Warning>,
    pub gate: GateResult,
    /// How long each step took (not in the JSON).
    #[serde(skip)]
    pub timings: Vec<(&'static str, Duration)>,
}

/// Why a review could not be made.
pub enum Error {
    /// A side does not compile (the head is reported when both do not):
    /// its errors in the review's formats, and the compile result for
    /// the terminal.
    Compile {
        broken: Box<Broken>,
        compiled: Box<Compiled>,
    },
}

fn side_info(s: &Source, c: &Compiled) -> SideInfo {
    SideInfo {
        reference: s.reference.clone(),
        commit: s.commit.clone(),
        files: s.files.len(),
        policies: c.program.policies.len(),
        rules: c.program.rules.len(),
    }
}

/// Makes the review.
pub fn review(input: Input) -> Result<Review, Error> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let Input {
        base,
        head,
        inventory_text,
        inventory_name,
        now,
        sample,
        thresholds,
        gate,
        head_in_full,
    } = input;
    let (cb, ch) = rayon::join(
        || pac_compiler::compile_sources(base.files.clone()),
        || pac_compiler::compile_sources(head.files.clone()),
    );
    for (side, src, c) in [("head", &head, &ch), ("base", &base, &cb)] {
        if c.diagnostics.iter().any(|d| d.is_error()) {
            return Err(Error::Compile {
                broken: Box::new(Broken::of(side, &src.reference, &src.commit, c)),
                compiled: Box::new(c.clone()),
            });
        }
    }
    lap("compile both sides", &mut timings);
    let (fb, fh) = (facts::Facts::of(&cb.program), facts::Facts::of(&ch.program));
    let diff = diff::diff(&fb, &fh);
    lap("diff", &mut timings);

    // One inventory for both sides when their schemas agree (the usual
    // case: the stdlib's); else each side reads it and resources are
    // matched by type and id.
    let (inv_b, errs_b) =
        pac_runtime::Inventory::read_str(&cb.program.schemas, inventory_name, inventory_text);
    let inv_h = (cb.program.schemas != ch.program.schemas).then(|| {
        pac_runtime::Inventory::read_str(&ch.program.schemas, inventory_name, inventory_text).0
    });
    lap("read the inventory", &mut timings);
    let inv_h_ref = inv_h.as_ref().unwrap_or(&inv_b);
    let keys = inv_h.as_ref().map(|h| impact::align(&inv_b, h));
    let (eb, eh) = if inv_h.is_none() && !head_in_full {
        // One inventory: the head evaluates only the rules whose results
        // can differ (reuse.rs), beside the base's full evaluation.
        let plan = reuse::plan(&cb.program, &ch.program);
        let (eb, sub) = rayon::join(
            || impact::evaluate(&cb.program, &inv_b, now),
            || {
                plan.program
                    .as_ref()
                    .map(|p| impact::evaluate(p, &inv_b, now).report)
            },
        );
        let eh = reuse::compose(&eb, &ch.program, &plan, sub);
        (eb, eh)
    } else {
        // The two sides at once: each builds its own layout (mostly one
        // thread) and then evaluates on the pool.
        rayon::join(
            || impact::evaluate(&cb.program, &inv_b, now),
            || impact::evaluate(&ch.program, inv_h_ref, now),
        )
    };
    lap("evaluate both sides (native engine)", &mut timings);
    let impact = impact::compare(
        &eb,
        &eh,
        keys.as_deref(),
        &diff.pairs,
        sample,
        inventory_name,
        errs_b.len(),
    );
    let warnings = warnings::warnings(&diff, &impact, &fh, now, &thresholds);
    let gate = gate.check(&impact, &warnings);
    lap("compare", &mut timings);
    Ok(Review {
        schema_version: SCHEMA_VERSION,
        base: side_info(&base, &cb),
        head: side_info(&head, &ch),
        diff,
        impact,
        warnings,
        gate,
        timings,
    })
}
