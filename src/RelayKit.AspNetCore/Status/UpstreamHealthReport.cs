namespace RelayKit.AspNetCore.Status;

/// <summary>What the status page shows for one upstream.</summary>
/// <param name="Provider">The upstream's name.</param>
/// <param name="Health">Its current health.</param>
/// <param name="LastHour">Its traffic over the last hour.</param>
/// <param name="LastDay">Its traffic over the last day.</param>
/// <param name="LastSuccess">When an attempt last succeeded (within the tracker's memory).</param>
/// <param name="LastFailure">When an attempt last failed.</param>
/// <param name="ConsecutiveFailures">How many attempts in a row have failed.</param>
/// <param name="RecentAttempts">
/// Attempts in the recent window. Zero means <paramref name="Health"/> is the last-known state, not a current
/// one: the readiness check leaves such an upstream out, so an instance taken out of rotation can come back.
/// </param>
/// <param name="LastProbe">The provider's last probe (<c>Providers:&lt;name&gt;:Probe</c>); null when it is not probed or has not been yet.</param>
internal sealed record UpstreamHealthReport(
    string Provider,
    UpstreamHealth Health,
    UpstreamWindowStats LastHour,
    UpstreamWindowStats LastDay,
    DateTimeOffset? LastSuccess,
    DateTimeOffset? LastFailure,
    int ConsecutiveFailures,
    long RecentAttempts,
    UpstreamProbe? LastProbe = null);
