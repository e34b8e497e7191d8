namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Every limit one request must pass, and how long it may wait for them.</summary>
/// <param name="Rules">The applicable limits; a request is admitted only when it passes all of them.</param>
/// <param name="QueueTimeout">How long to wait instead of rejecting; zero rejects at once.</param>
internal sealed record RateLimitPolicy(IReadOnlyList<RateLimitRule> Rules, TimeSpan QueueTimeout)
{
    private RateLimitPolicy? _asFallback;

    /// <summary>A policy with no limits.</summary>
    public static RateLimitPolicy Unlimited { get; } = new([], TimeSpan.Zero);

    /// <summary>
    /// The limits a request reaching this model as a fallback (a <c>models</c> entry) is held to: the model's and the
    /// key-and-model pair's, not the key's own (the request already counted once against those), and no waiting (a
    /// fallback over its limit is passed over, the caller is not kept waiting for it). Made once per policy.
    /// </summary>
    public RateLimitPolicy AsFallback => _asFallback ??= Rules.Any(r => r.Scope == RateLimitScope.Key) || QueueTimeout != TimeSpan.Zero
        ? new RateLimitPolicy([.. Rules.Where(r => r.Scope != RateLimitScope.Key)], TimeSpan.Zero)
        : this;

    /// <summary>
    /// <see cref="AsFallback"/> without the counters the request's own policy (<paramref name="counted"/>) already held it
    /// to: a pattern's limit that matches both the model asked for and the fallback (one counter) counts the request once,
    /// while a limit on the fallback alone counts it even when both are served by one model entry.
    /// </summary>
    public RateLimitPolicy AsFallbackAfter(RateLimitPolicy counted)
    {
        var fallback = AsFallback;
        if (!fallback.Rules.Any(r => Holds(counted, r.CounterId)))
        {
            return fallback;
        }

        return new RateLimitPolicy([.. fallback.Rules.Where(r => !Holds(counted, r.CounterId))], TimeSpan.Zero);
    }

    private static bool Holds(RateLimitPolicy policy, string counterId) =>
        policy.Rules.Any(r => string.Equals(r.CounterId, counterId, StringComparison.Ordinal));
}
