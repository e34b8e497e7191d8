namespace RelayKit.AspNetCore.Status;

/// <summary>
/// Log-spaced latency bins (each 25% wider than the last, from 1 ms to about 17 minutes), so a
/// percentile needs a fixed 64 counters per time slot instead of every sample. Hand-written rather
/// than HdrHistogram: this is all the status page needs, and it keeps the relay dependency-free.
/// </summary>
internal static class LatencyBins
{
    public const int Count = 64;
    private const double Growth = 1.25;
    private static readonly double LogGrowth = Math.Log(Growth);

    /// <summary>The bin of a latency: bin <c>i</c> holds latencies in (1.25^(i-1), 1.25^i] ms; bin 0 everything up to 1 ms.</summary>
    public static int IndexOf(TimeSpan latency)
    {
        var ms = latency.TotalMilliseconds;
        if (ms <= 1)
        {
            return 0;
        }

        // The small epsilon keeps an exact bin bound (like 1.25 ms) in its own bin despite rounding.
        var index = (int)Math.Ceiling((Math.Log(ms) / LogGrowth) - 1e-9);
        return Math.Min(index, Count - 1);
    }

    /// <summary>A representative latency of a bin: the geometric middle of its bounds.</summary>
    public static TimeSpan Middle(int index) =>
        index == 0 ? TimeSpan.FromMilliseconds(0.5) : TimeSpan.FromMilliseconds(Math.Pow(Growth, index - 0.5));

    /// <summary>The latency at quantile <paramref name="q"/> (nearest rank) of the counts, clamped to the observed range.</summary>
    public static TimeSpan? Percentile(ReadOnlySpan<long> counts, long total, double q, TimeSpan min, TimeSpan max)
    {
        if (total == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                var value = Middle(i);
                return value < min ? min : value > max ? max : value;
            }
        }

        return max;
    }
}
