import CMalloc

/// How the daemon asks glibc's allocator to give memory back, so RSS follows the load down again.
///
/// Every association thread and Dispatch worker otherwise gets an arena of its own, and freed slices stay in them:
/// under 8 consoles RSS climbed to 675 MiB and stayed near 470 MiB after the load (issue 16), with no leak behind it.
public enum AllocatorPolicy {
    /// Two arenas for the whole process (glibc's default is 8 per core); called once at start.
    public static func limitArenas() { _ = mallopt(M_ARENA_MAX, 2) }

    /// Returns free memory at the top of each arena and in whole free pages to the system.
    public static func trim() { _ = malloc_trim(0) }
}
