namespace RelayKit.AspNetCore.Status;

/// <summary>An upstream's traffic over a window (the last hour or day).</summary>
/// <param name="Window">The window's length.</param>
/// <param name="Attempts">Attempts made to the upstream.</param>
/// <param name="Failures">Attempts that failed.</param>
/// <param name="ErrorRate">Failures over attempts; <see langword="null"/> without traffic.</param>
/// <param name="Uptime">The share of minutes with traffic in which the upstream was up (error rate under the down threshold); <see langword="null"/> without traffic.</param>
/// <param name="P50">Median latency (an estimate within about 12%); <see langword="null"/> without traffic.</param>
/// <param name="P95">95th percentile latency.</param>
/// <param name="P99">99th percentile latency.</param>
internal sealed record UpstreamWindowStats(
    TimeSpan Window,
    long Attempts,
    long Failures,
    double? ErrorRate,
    double? Uptime,
    TimeSpan? P50,
    TimeSpan? P95,
    TimeSpan? P99);
