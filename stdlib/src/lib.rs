//! The Pac standard library: the resource schemas every workspace sees
//! (written in Pac itself, under `schemas/`) and the built-in functions.
//!
//! Architecture invariant: this crate knows nothing about syntax trees or the
//! compiler; built-in signatures are plain strings in Pac's own type syntax,
//! parsed by the compiler, and implementations work on [`Value`]s.

pub mod builtins;
pub mod schemas;
pub mod value;

pub use builtins::{BUILTINS, Builtin, Ctx, lookup};
pub use value::{Record, Value};
