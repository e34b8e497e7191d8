namespace RelayKit.AspNetCore.Status;

/// <summary>An upstream's current health, from the relay's recent traffic to it.</summary>
internal enum UpstreamHealth
{
    /// <summary>No traffic in the recent window to judge by.</summary>
    Unknown,

    /// <summary>Answering, with an error rate under the degraded threshold.</summary>
    Healthy,

    /// <summary>Answering, but with errors at or above the degraded threshold.</summary>
    Degraded,

    /// <summary>Failing: the error rate is at the down threshold, or the last attempts all failed.</summary>
    Down,
}
