//! Pac's benchmarks, kept out of the product's modules: `pacc bench`
//! ([`engines`]: both engines and every phase of `pacc eval` on generated
//! estates or a given inventory), `pacc bench-review` ([`review`]) and
//! `pacc bench-server` ([`server`]). `pacc` only parses their arguments.
//! See `docs/benchmarks.md`.

pub mod engines;
pub mod review;
pub mod server;

mod units;
