namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// One upstream's attempts in one minute, as one instance saw them: what the writer adds to the store. The store adds
/// it to what is there (other instances' counts of the same minute), so the figures of every instance sum up.
/// </summary>
/// <param name="Provider">The provider's name.</param>
/// <param name="Model">The upstream model, or empty for the provider as a whole.</param>
/// <param name="Minute">The minute, as whole minutes since the Unix epoch (UTC).</param>
/// <param name="Successes">Attempts that succeeded.</param>
/// <param name="Failures">Attempts that failed (5xx, 429, timeout, broken connection).</param>
/// <param name="LatencyBins">Attempts per <see cref="LatencyBins"/> bin (<see cref="LatencyBins.Count"/> counters).</param>
internal sealed record StatusMinute(string Provider, string Model, long Minute, long Successes, long Failures, long[] LatencyBins);
