using System.ComponentModel.DataAnnotations;

namespace RelayKit.AspNetCore.Status;

/// <summary>When an upstream counts as healthy, degraded or down, judged from the relay's real traffic to it.</summary>
public sealed class UpstreamHealthOptions
{
    /// <summary>How far back the current health looks. Default: 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan RecentWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The error rate over <see cref="RecentWindow"/> from which an upstream is degraded. Default: 0.1.</summary>
    [Range(0.0, 1.0)]
    public double DegradedErrorRate { get; set; } = 0.1;

    /// <summary>
    /// The error rate from which an upstream is down (given at least <see cref="MinimumAttempts"/>
    /// attempts); also the rate from which a minute counts as down for uptime. Default: 0.5.
    /// </summary>
    [Range(0.0, 1.0)]
    public double DownErrorRate { get; set; } = 0.5;

    /// <summary>How many attempts it takes to call an upstream down: that many in the window at <see cref="DownErrorRate"/>, or that many failures in a row. Default: 3.</summary>
    [Range(1, 1000)]
    public int MinimumAttempts { get; set; } = 3;
}
