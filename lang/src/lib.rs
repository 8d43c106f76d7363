//! The Pac language front end: tokens (logos), grammar (lalrpop, with error
//! recovery), the syntax tree with spans, and the formatter.
//!
//! Architecture invariants: the parser does no I/O and never panics, whatever
//! the input; every node has a span; comments are kept (beside the tree) so
//! that the formatter loses none.

pub mod ast;
pub mod chunks;
pub mod fmt;
pub mod lexer;
pub mod nesting;
pub mod parse;

pub use ast::Span;
pub use fmt::format;
pub use nesting::MAX_NESTING;
pub use parse::{Parsed, SyntaxError, parse_file, parse_template};
