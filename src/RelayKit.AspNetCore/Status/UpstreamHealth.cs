namespace RelayKit.AspNetCore.Status;

/// <summary>An upstream's current health, from the relay's recent traffic to it.</summary>
internal enum UpstreamHealth
{
    /// <summary>Neither a request nor a probe has reached it yet (since the relay started).</summary>
    Unknown,

    /// <summary>No traffic (nor probe) in the recent window, and the last attempt (or probe) before it succeeded: up, as far as anyone can tell.</summary>
    Idle,

    /// <summary>Answering, with an error rate under the degraded threshold; or, without traffic, its last probe in the recent window succeeded.</summary>
    Healthy,

    /// <summary>Answering, but with errors at or above the degraded threshold.</summary>
    Degraded,

    /// <summary>
    /// Failing: the error rate is at the down threshold, or the last attempts all failed (also when no traffic
    /// has come since: that is the last the relay knows of it).
    /// </summary>
    Down,
}
