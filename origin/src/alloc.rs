//! Allocator settings, applied by `main` before any thread starts.
//!
//! Why: glibc's malloc gives each thread that contends for memory an arena of its own (up to
//! 8 per core) and, after a large block is freed, raises its mmap threshold so later large
//! blocks come from those arenas instead of fresh mappings. An image service allocates
//! exactly such blocks — tens of megabytes of pixels per decode, on whichever blocking
//! thread runs it — and the arenas keep the freed space, so resident memory ratchets up far
//! past what is ever live. The soak (`scripts/bench/soak.sh`, four 48 MP JPEGs in the mix) showed
//! it: with glibc's defaults RSS levelled off near 1 GB; with at most 2 arenas, blocks of
//! 1 MiB and more always mmap-ed (returned to the system on free) and trimming above 4 MiB of
//! free top space, it peaked at 357 MiB.
//!
//! A setting given in the environment (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
//! `MALLOC_TRIM_THRESHOLD_`) wins over these. Other C libraries are left alone.

/// At most this many malloc arenas.
pub const ARENA_MAX: i32 = 2;
/// Blocks of at least this size are mmap-ed, and unmapped when freed.
pub const MMAP_THRESHOLD: i32 = 1024 * 1024;
/// Free memory at the top of the heap beyond this is returned to the system.
pub const TRIM_THRESHOLD: i32 = 4 * 1024 * 1024;

/// Applies the settings above (glibc only; a no-op elsewhere). Call it first thing in
/// `main`, before the runtime's threads exist.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    for (env, param, value) in [
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENA_MAX),
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
        ),
        (
            "MALLOC_TRIM_THRESHOLD_",
            libc::M_TRIM_THRESHOLD,
            TRIM_THRESHOLD,
        ),
    ] {
        if std::env::var_os(env).is_none() {
            // SAFETY: `mallopt` only sets a malloc parameter; called before other threads
            // start, it races with nothing, and an unknown value is refused (returns 0).
            #[allow(unsafe_code)]
            let _ = unsafe { libc::mallopt(param, value) };
        }
    }
}
