//! Pac's native engine: rules compiled to machine code with Cranelift,
//! evaluated over a typed layout of the inventory.
//!
//! - [`layout`]: the typed resource layout (cells, interned strings,
//!   lists as offset ranges), built once per evaluation.
//! - [`codegen`](crate::engine): IR → Cranelift IR, one function per rule
//!   that runs over a batch of rows and writes one outcome byte per row.
//! - [`helpers`]: the Rust functions generated code calls (built-ins,
//!   string ordering, probes, coverage).
//! - [`engine`]: [`Engine::compile`] (per rule a native function or the
//!   reason it is interpreted), [`Engine::prepare`] (the layout of an
//!   inventory), and [`Prepared`], the runtime's `RuleEngine`.
//!
//! The interpreter (`pac_runtime::interp`) defines the semantics; this
//! engine agrees with it on every outcome, including `error` for integer
//! overflow, division by zero and missing values. Messages, error reasons
//! and explanations always come from the interpreter, re-run on the one
//! resource concerned.

mod codegen;
pub mod engine;
pub mod helpers;
pub mod ingest;
pub mod layout;

pub use engine::{
    CompileOptions, Engine, OUT_ERROR, OUT_FAIL, OUT_PASS, Prepared, fallback_report,
};
pub use ingest::Piece;
pub use layout::{Cell, Layout, LayoutBuilder};
