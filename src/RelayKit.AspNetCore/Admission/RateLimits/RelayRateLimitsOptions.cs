namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Where rate-limit counters live and how the limiter behaves: the <c>RateLimits</c> subsection of the relay's
/// section (<c>ModelRelay:RateLimits</c> by default).
/// </summary>
internal sealed class RelayRateLimitsOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string. When set, counters live in Redis and every relay
    /// instance that points at the same Redis shares one limit; when empty, counters are in-process.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Prefix of every Redis key. It is used as a Redis Cluster hash tag, so all counters sit in one
    /// slot and one script can check a key's, a model's and a pair's limits atomically.
    /// </summary>
    public string RedisKeyPrefix { get; set; } = "relaykit:ratelimit";

    /// <summary>
    /// How long a concurrency slot in Redis survives without renewal. Live leases renew it every third
    /// of this time; the slots of a crashed instance free themselves after at most this long.
    /// </summary>
    public TimeSpan ConcurrencyLeaseExpiry { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The <c>retry-after</c> given when a request is rejected for concurrency, where no refill time
    /// exists; also how often a queued request polls Redis for a free slot.
    /// </summary>
    public TimeSpan ConcurrencyRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// What a request with rate limits gets while Redis cannot be reached: <see cref="RedisUnavailableMode.Allow"/>
    /// (the default: it goes through without limits) or <see cref="RedisUnavailableMode.Refuse"/> (a retryable 503).
    /// Either way it does not wait for Redis: an outage is noticed once and requests fail fast until a background
    /// probe finds Redis back.
    /// </summary>
    public RedisUnavailableMode RedisUnavailable { get; set; } = RedisUnavailableMode.Allow;

    /// <summary>How long an upstream that answered 429 without <c>retry-after</c> is left alone.</summary>
    public TimeSpan UpstreamDefaultCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest cool-down an upstream's <c>retry-after</c> can impose.</summary>
    public TimeSpan UpstreamMaxCooldown { get; set; } = TimeSpan.FromMinutes(5);
}
