namespace RelayKit.AspNetCore;

/// <summary>
/// How the relay retries, falls back and rests failing upstreams (<c>ModelRelay:Resilience</c>). It retries only while
/// nothing has reached the caller: on a connection failure, a timeout before the answer began, or an answer of 408, 409,
/// 429, 500, 502, 503, 504 or 529 (unless the upstream said <c>x-should-retry: false</c>). Only the attempt that
/// answered is charged.
/// </summary>
public sealed class ModelRelayResilienceOptions
{
    /// <summary>
    /// The most attempts for one request, over all its upstreams. Unset: one attempt at each upstream of the model (a
    /// model with one upstream is not retried: the official SDKs retry by themselves, and retrying on both sides multiplies
    /// the attempts). Set it higher to retry an upstream again once every upstream was tried.
    /// </summary>
    public int? MaxAttempts { get; set; }

    /// <summary>
    /// The longest <c>retry-after</c> the relay waits for before trying an upstream again; one that asks for longer is
    /// passed over for the next upstream. Default 5 s.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Failed attempts in a row that open an upstream's breaker (per provider, key and model); 0 turns breakers off. Default 5.</summary>
    public int BreakAfterFailures { get; set; } = 5;

    /// <summary>How long an open breaker keeps its upstream out of rotation before one trial request may test it. Default 30 s.</summary>
    public TimeSpan BreakFor { get; set; } = TimeSpan.FromSeconds(30);
}
