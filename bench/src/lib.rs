//! Pac's benchmarks, kept out of the product's modules: `pacc bench`
//! ([`engines`]: both engines and every phase of `pacc eval` on generated
//! estates or a given inventory), `pacc bench-review` ([`review`]),
//! `pacc bench-server` ([`server`]) and `pacc bench-search` ([`search`]).
//! `pacc` only parses their arguments.
//! See `docs/benchmarks.md`.

pub mod engines;
pub mod review;
pub mod search;
pub mod server;

mod units;
