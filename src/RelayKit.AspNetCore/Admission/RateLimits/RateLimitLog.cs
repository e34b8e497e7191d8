using Microsoft.Extensions.Logging;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Log messages of rate limiting. Key names may appear (through <see cref="Usage.LogValue"/>); key secrets never do.
/// A Redis outage is logged once when it starts and once when it ends, never per request.
/// </summary>
internal static partial class RateLimitLog
{
    [LoggerMessage(EventId = 6001, EventName = "RedisRateLimitOutage", Level = LogLevel.Warning,
        Message = "The rate-limit Redis is unreachable ({Failure}: {Reason}); until it is back, requests with rate limits do not wait for it (RedisUnavailable={Mode})")]
    public static partial void RedisOutageStarted(ILogger logger, string failure, string reason, RedisUnavailableMode mode);

    [LoggerMessage(EventId = 6005, EventName = "RedisRateLimitRestored", Level = LogLevel.Information,
        Message = "The rate-limit Redis is back after {Duration}; meanwhile {Unlimited} requests went through without limits and {Refused} were refused")]
    public static partial void RedisOutageEnded(ILogger logger, TimeSpan duration, long unlimited, long refused);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Could not release {Count} Redis concurrency slots held over an outage; they free themselves when their lease expires.")]
    public static partial void ReleaseFailed(ILogger logger, int count);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Upstream {Upstream} is rate limited; no traffic until {BlockedUntil:O}.")]
    public static partial void UpstreamCoolingDown(ILogger logger, string upstream, DateTimeOffset blockedUntil);
}
