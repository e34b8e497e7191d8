namespace RelayKit.AspNetCore.Status;

/// <summary>One probe of one provider key.</summary>
/// <param name="Key">The key's name (<c>openai</c>, or <c>openai#0</c> within a pool), never its value.</param>
/// <param name="Ok">Whether the provider answered with success (2xx).</param>
/// <param name="Status">The provider's status; null when no answer came.</param>
/// <param name="Error">Why no answer came (<c>timeout</c>, <c>unreachable</c>); null when one came.</param>
/// <param name="Latency">Time until the answer's headers, or until the failure.</param>
internal sealed record UpstreamProbeResult(string Key, bool Ok, int? Status, string? Error, TimeSpan Latency);

/// <summary>One probe of a provider: each of its keys, probed together.</summary>
/// <param name="At">When the probe ended.</param>
/// <param name="Keys">Each key's result, in pool order.</param>
internal sealed record UpstreamProbe(DateTimeOffset At, IReadOnlyList<UpstreamProbeResult> Keys)
{
    /// <summary>Whether every key answered with success.</summary>
    public bool Ok => Keys.All(k => k.Ok);

    /// <summary>The slowest key's latency.</summary>
    public TimeSpan Latency => Keys.Count == 0 ? TimeSpan.Zero : Keys.Max(k => k.Latency);
}
