//! Pac evaluation: the inventory reader, the reference interpreter over the
//! compiler's typed IR, explanations of failures, whole-inventory evaluation
//! with exceptions and asset groups, reports, and the policy test runner.
//!
//! Architecture invariants: nothing here panics on any data (bad documents
//! are reported and skipped; evaluation problems are `error` results with a
//! reason); results are deterministic (rule order, then inventory order)
//! however many threads evaluate them; explanations are the interpreter
//! re-run on one resource with tracing, so they cannot disagree with it.

pub mod compliance;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod framework;
pub mod interp;
pub mod inventory;
pub mod report;
pub mod testing;

pub use engine::{PrepareEngine, RawOutcome, RuleEngine};
pub use eval::{
    Earlier, EvalOptions, EvalReport, Messages, Outcome, RuleResult, evaluate,
    evaluate_failures_deferred, evaluate_failures_with, evaluate_from, evaluate_with,
};
pub use explain::Explanation;
pub use interp::{Coverage, Env, EvalError, Frame, eval};
pub use inventory::{
    Block, Build, BuiltBlock, Incoming, IngestError, IngestProblem, Inventory, Pieces, Resource,
};
pub use testing::{TestReport, run_tests, run_tests_with};
