namespace RelayKit.LoadBench;

/// <summary>
/// Counters of the process that serves a target, read before and after a phase: CPU time (user + kernel, every
/// thread), bytes allocated and time paused by the GC since it started, its working set and managed heap.
/// </summary>
internal readonly record struct ProcessStats(TimeSpan Cpu, long Allocated, TimeSpan GcPause, long WorkingSet, long Heap);
