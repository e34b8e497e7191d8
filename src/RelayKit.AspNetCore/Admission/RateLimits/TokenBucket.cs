namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// A per-minute allowance that holds <c>limit</c> units and refills continuously at <c>limit</c> per
/// minute, brought up to date from <see cref="TimeProvider"/> timestamps whenever it is used. Not
/// thread-safe: the owner serialises access.
/// </summary>
/// <remarks>
/// Hand-written rather than <c>System.Threading.RateLimiting.TokenBucketRateLimiter</c> because that
/// limiter (1) refills from <c>Stopwatch</c> ticks or its own timer, never from a
/// <see cref="TimeProvider"/>, even with <c>AutoReplenishment = false</c>, and inside a
/// <c>PartitionedRateLimiter</c> a real-time 100 ms heartbeat calls <c>TryReplenish</c>, so
/// <c>FakeTimeProvider</c> cannot drive it; (2) cannot give permits back, which correcting a token
/// estimate downwards needs; (3) cannot go below zero, which correcting it upwards needs. The same
/// arithmetic runs in the Redis script, so one relay and many behave alike.
/// </remarks>
internal sealed class TokenBucket
{
    // Absorbs floating-point error so that waiting exactly the advertised retry-after is enough.
    private const double Tolerance = 1e-6;

    private long _limit;
    private double _level;
    private long _updatedAt;

    public TokenBucket(long limit, long timestamp)
    {
        _limit = limit;
        _level = limit;
        _updatedAt = timestamp;
    }

    public long Limit => _limit;

    public bool IsFull => _level + Tolerance >= _limit;

    /// <summary>
    /// Refills for the time passed since the last use. A changed limit keeps what has been used:
    /// raising it frees the difference at once, lowering it never hands out a fresh allowance.
    /// </summary>
    public void Advance(long limit, long timestamp, TimeProvider time)
    {
        if (limit != _limit)
        {
            _level += limit - _limit;
            _limit = limit;
        }

        var elapsed = time.GetElapsedTime(_updatedAt, timestamp);
        if (elapsed > TimeSpan.Zero)
        {
            _level = Math.Min(_limit, _level + (elapsed.TotalMinutes * _limit));
            _updatedAt = timestamp;
        }
    }

    public bool Has(long amount) => _level + Tolerance >= amount;

    /// <summary>How long until <paramref name="amount"/> is available, rounded up to a millisecond.</summary>
    public TimeSpan TimeUntil(double amount) => CeilingMilliseconds((amount - _level) * 60_000d / _limit);

    /// <summary>Takes <paramref name="amount"/>, which may be negative to give units back; may go below zero.</summary>
    public void Take(long amount) => _level = Math.Min(_limit, _level - amount);

    public RateLimitQuota Quota(DateTimeOffset utcNow)
    {
        var remaining = (long)Math.Clamp(Math.Floor(_level + Tolerance), 0, _limit);
        var resetAfter = TimeUntil(_limit);
        return new RateLimitQuota(_limit, remaining, resetAfter, utcNow + resetAfter);
    }

    internal static TimeSpan CeilingMilliseconds(double milliseconds) =>
        milliseconds <= Tolerance ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Ceiling(milliseconds - Tolerance));
}
