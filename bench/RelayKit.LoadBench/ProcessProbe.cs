namespace RelayKit.LoadBench;

/// <summary>Reads <see cref="ProcessStats"/> of the process that serves a target.</summary>
internal abstract class ProcessProbe
{
    /// <summary>The counters now; with <paramref name="collect"/>, after a full garbage collection (for the heap).</summary>
    public abstract ValueTask<ProcessStats> ReadAsync(bool collect);
}
