//! Finding and reading `.pac` files: the compiler's, shared with the server.

pub use pac_compiler::files::{pac_files, read_sources};
