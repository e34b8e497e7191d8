using System.Diagnostics;

namespace RelayKit.LoadBench;

/// <summary>What one phase measured: one target, JSON or stream, at a fixed rate or at saturation.</summary>
internal sealed record PhaseResult(
    string Target,
    bool Stream,
    string Load,
    int Requests,
    int Failed,
    string ErrorSummary,
    double Throughput,
    double P50Ms,
    double P99Ms,
    double FirstByteP50Ms,
    double FirstByteP99Ms,
    double AllocatedBytesPerRequest,
    double CpuMicrosecondsPerRequest,
    double GcPauseMsPerSecond,
    double WorkingSetMb,
    double HeapMb)
{
    /// <summary>Each round of the phase on its own, in order (empty when the phase ran in one piece).</summary>
    public IReadOnlyList<PhaseResult> Rounds { get; init; } = [];

    public static PhaseResult From(
        string target, bool stream, string load, PhaseRecorder recorder, TimeSpan elapsed, long allocatedBytes, TimeSpan cpuTime, TimeSpan gcPause, long workingSet, long heap)
    {
        var (latencies, firstBytes, errors) = recorder.Snapshot();
        Array.Sort(latencies);
        Array.Sort(firstBytes);
        var total = latencies.Length + errors.Values.Sum();
        return new PhaseResult(
            target,
            stream,
            load,
            latencies.Length,
            errors.Values.Sum(),
            string.Join(", ", errors.Select(e => $"{e.Key}×{e.Value}")),
            latencies.Length / elapsed.TotalSeconds,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            Percentile(firstBytes, 0.50),
            Percentile(firstBytes, 0.99),
            total == 0 ? 0 : (double)allocatedBytes / total,
            total == 0 ? 0 : cpuTime.TotalMicroseconds / total,
            gcPause.TotalMilliseconds / elapsed.TotalSeconds,
            workingSet / (1024.0 * 1024.0),
            heap / (1024.0 * 1024.0));
    }

    /// <summary>A phase whose load wrk sent: its counts and percentiles as wrk reported them; no time to first byte.</summary>
    public static PhaseResult FromWrk(
        string target, bool stream, string load, WrkSummary wrk, TimeSpan elapsed, long allocatedBytes, TimeSpan cpuTime, TimeSpan gcPause, long workingSet, long heap)
    {
        var total = wrk.Ok + wrk.Failed;
        return new PhaseResult(
            target,
            stream,
            load,
            wrk.Ok,
            wrk.Failed,
            wrk.Errors,
            wrk.Ok / elapsed.TotalSeconds,
            wrk.P50Ms,
            wrk.P99Ms,
            double.NaN,
            double.NaN,
            total == 0 ? 0 : (double)allocatedBytes / total,
            total == 0 ? 0 : cpuTime.TotalMicroseconds / total,
            gcPause.TotalMilliseconds / elapsed.TotalSeconds,
            workingSet / (1024.0 * 1024.0),
            heap / (1024.0 * 1024.0));
    }

    private static double Percentile(long[] sorted, double quantile)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var index = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}
