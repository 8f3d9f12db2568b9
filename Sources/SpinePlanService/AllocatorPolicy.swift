import CMalloc

/// How the daemon asks glibc's allocator to give memory back, so RSS follows the load down again.
///
/// Every association thread and Dispatch worker otherwise gets an arena of its own, and freed slices stay in them:
/// under 8 consoles RSS climbed to 675 MiB and stayed near 470 MiB after the load (issue 16), with no leak behind it.
public enum AllocatorPolicy {
    /// Two arenas for the whole process (glibc's default is 8 per core), and a fixed mmap threshold; called once at
    /// start. glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which slice and
    /// pixel buffers of a few MiB come from the arenas and stay there; fixed at 256 KiB they are mapped and unmapped.
    public static func limitArenas() {
        _ = mallopt(M_ARENA_MAX, 2)
        _ = mallopt(M_MMAP_THRESHOLD, 256 * 1024)
    }

    /// Returns free memory at the top of each arena and in whole free pages to the system.
    public static func trim() { _ = malloc_trim(0) }
}
