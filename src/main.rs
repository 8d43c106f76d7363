//! `pacc`: the Pac command line. A thin layer over the library crates:
//! argument parsing, file discovery, output formats and exit codes.
//!
//! Exit codes: 0 ok; 1 violations found or tests failed; 2 usage, input or
//! compile errors.

mod cli;
mod collect;
mod fix;
mod framework;
mod review;
mod search;

/// The compiler, the language server and the scan allocate and free many
/// small nodes: under glibc's malloc half of the language server's time per
/// edit went to malloc, free and their consolidation (perf, 2026-12-03).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` and `mi_option_arena_eager_commit`
/// in the v3 sources libmimalloc-sys 0.1.49 builds (the crate exposes no
/// constants for them; `the_mimalloc_options_are_the_expected_ones`
/// checks their defaults, so a version that moves them fails the tests).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

fn main() {
    // Freed memory goes back to the OS at once rather than a second later,
    // and arenas are committed as used: at a million resources, evaluation
    // allocates and frees on both cores, and the delay kept ~130 MB of the
    // peak (docs/benchmarks.md). `pacc eval` shortens the delay instead of
    // dropping it ([`purge_after`]).
    purge_after(0);
    // SAFETY: sets an option of the global allocator before any thread but
    // this one exists; it is read at each use.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    let code = cli::run();
    std::process::exit(code);
}

/// Freed memory goes back to the OS `ms` milliseconds after it is freed
/// (0: at once). With no delay, the memory a block of an inventory frees
/// is faulted in again, zeroed, by the next block: at 1M resources
/// `pacc eval` spent ~10% more CPU reading (docs/benchmarks.md).
pub(crate) fn purge_after(ms: std::ffi::c_long) {
    // SAFETY: the option is read at each use, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mimalloc_options_are_the_expected_ones() {
        // Defaults of mimalloc v3's src/options.c: purge delay 1000 ms;
        // eager arena commit 2. Tests do not run `main`, which changes them.
        // SAFETY: reads two options of the global allocator.
        let (delay, eager) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(super::MI_OPTION_ARENA_EAGER_COMMIT),
            )
        };
        assert_eq!((delay, eager), (1000, 2));
    }
}
