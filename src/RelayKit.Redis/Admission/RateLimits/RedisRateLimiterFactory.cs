using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>The Redis limiter over the relay's own connection, for <see cref="IRedisRateLimiterFactory"/>.</summary>
internal sealed class RedisRateLimiterFactory : IRedisRateLimiterFactory
{
    public IRelayRateLimiter Create(IServiceProvider services) => new RedisRelayRateLimiter(
        services.GetRequiredService<RateLimitRedisConnection>().Connection,
        services.GetRequiredService<IRateLimitPolicySource>(),
        services.GetRequiredService<IOptionsMonitor<RelayRateLimitsOptions>>(),
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<ILogger<RedisRelayRateLimiter>>());
}
