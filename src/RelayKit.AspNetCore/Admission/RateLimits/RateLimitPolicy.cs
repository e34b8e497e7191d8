namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Every limit one request must pass, and how long it may wait for them.</summary>
/// <param name="Rules">The applicable limits; a request is admitted only when it passes all of them.</param>
/// <param name="QueueTimeout">How long to wait instead of rejecting; zero rejects at once.</param>
internal sealed record RateLimitPolicy(IReadOnlyList<RateLimitRule> Rules, TimeSpan QueueTimeout)
{
    /// <summary>A policy with no limits.</summary>
    public static RateLimitPolicy Unlimited { get; } = new([], TimeSpan.Zero);
}
