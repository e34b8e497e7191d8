namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Where a caller stands against one limit, for the rate-limit response headers: the limit, what is
/// left of it, and when it is back to full.
/// </summary>
/// <param name="Limit">The per-minute limit.</param>
/// <param name="Remaining">What may still be used now (never negative).</param>
/// <param name="ResetAfter">Time until the limit has refilled completely.</param>
/// <param name="ResetAt">The moment it has refilled completely.</param>
internal readonly record struct RateLimitQuota(long Limit, long Remaining, TimeSpan ResetAfter, DateTimeOffset ResetAt)
{
    /// <summary>
    /// The quota a caller is closer to running out of: fewest remaining, then the later reset. When a
    /// key, a model and a pair limit all apply, this is the one the headers should report.
    /// </summary>
    public static RateLimitQuota? Tighter(RateLimitQuota? current, RateLimitQuota candidate)
    {
        if (current is not { } existing)
        {
            return candidate;
        }

        if (candidate.Remaining != existing.Remaining)
        {
            return candidate.Remaining < existing.Remaining ? candidate : existing;
        }

        return candidate.ResetAfter > existing.ResetAfter ? candidate : existing;
    }
}
