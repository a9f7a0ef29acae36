//! Two-core work for big writes: a load's or a re-report's lookups,
//! shared-key search, sorts and merges each split into two halves, one
//! on a thread of its own.

/// The cores this process may use, asked once: the answer reads the
/// cgroup's limits (a single report's write took 28.8 → 41.8 µs when it
/// asked each time).
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Items (a write's elements, a view's new slots) from which such work
/// splits in two halves (chosen, not tuned: a thread costs tens of
/// microseconds, this many lookups, keys or merge steps milliseconds).
/// Two under the fuzzer (`cfg(fuzzing)`, set by cargo-fuzz), so that its
/// small writes with colliding keys take the two-thread paths too.
pub(crate) const PARALLEL_MIN: usize = if cfg!(fuzzing) { 2 } else { 16_384 };

/// Runs `a` on a thread of its own and `b` on this one, and returns both
/// results (a panic in `a` goes on in the caller).
pub(crate) fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}
