namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>What the relay does with a rate-limited request while the rate-limit Redis cannot be reached.</summary>
internal enum RedisUnavailableMode
{
    /// <summary>Fail open: the request goes ahead without rate limits (budgets, which do not depend on Redis, still apply).</summary>
    Allow,

    /// <summary>Fail closed: the request is answered 503 <c>store_unavailable</c> with <c>retry-after</c>.</summary>
    Refuse,
}
