//! Pac's omni search (docs/search.md): one full-text index (tantivy) of
//! every resource, policy, rule, issue and exception, queried with free
//! text (typos forgiven), `field:value` on any attribute path, ranges and
//! compliance filters, answering with facet counts and highlights, within
//! the caller's asset groups.
//!
//! The crate knows nothing of the store or the server: callers build
//! [`SearchDoc`]s from their records and apply [`Change`]s; each change is
//! one commit, so a crash leaves the last commit searchable, and the
//! commit carries the caller's own state (which scan it reflects) to bring
//! the index up to date after a restart.

pub mod compliance;
pub mod doc;
pub mod index;
pub mod policy;
pub mod query;

pub use doc::{Kind, Scalar, SearchDoc, VISIBLE_TO_ALL};
pub use index::{
    Answer, Change, Error, FACETS, FacetValue, Hit, Part, Request, SearchIndex, WriterOptions,
};
pub use query::{QueryError, parse};
