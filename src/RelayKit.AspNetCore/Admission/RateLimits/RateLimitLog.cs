using Microsoft.Extensions.Logging;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Log messages of rate limiting. Key names may appear; key secrets never do.</summary>
internal static partial class RateLimitLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Redis rate-limit store unavailable; admitting the request without limits.")]
    public static partial void RedisUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Could not release Redis concurrency slots; they free themselves when their lease expires.")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Could not renew Redis concurrency slots.")]
    public static partial void RenewFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Upstream {Upstream} is rate limited; no traffic until {BlockedUntil:O}.")]
    public static partial void UpstreamCoolingDown(ILogger logger, string upstream, DateTimeOffset blockedUntil);
}
