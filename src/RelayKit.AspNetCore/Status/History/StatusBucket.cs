namespace RelayKit.AspNetCore.Status.History;

/// <summary>One upstream's traffic over one stored period (a minute, an hour or a day), every instance's counts summed.</summary>
/// <param name="Resolution">The period's length in minutes: 1, 60 or 1,440.</param>
/// <param name="Start">The period's first minute, as whole minutes since the Unix epoch (UTC).</param>
/// <param name="Provider">The provider's name.</param>
/// <param name="Model">The upstream model, or empty for the provider as a whole.</param>
/// <param name="Successes">Attempts that succeeded.</param>
/// <param name="Failures">Attempts that failed.</param>
/// <param name="TrafficMinutes">Minutes of the period with at least one attempt (hours and days only).</param>
/// <param name="UpMinutes">Of those, the minutes whose error rate was under the down threshold (hours and days only).</param>
/// <param name="LatencyBins">Attempts per <see cref="LatencyBins"/> bin.</param>
internal sealed record StatusBucket(
    int Resolution, long Start, string Provider, string Model, long Successes, long Failures, long TrafficMinutes, long UpMinutes, long[] LatencyBins);
