using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>The Redis limiter over the relay's own connection, for <see cref="IRedisRateLimiterFactory"/>.</summary>
internal sealed class RedisRateLimiterFactory : IRedisRateLimiterFactory
{
    public IRelayRateLimiter Create(IServiceProvider services) => new RedisRelayRateLimiter(
        services.GetRequiredService<RedisOutageBreaker>(),
        services.GetRequiredService<IRateLimitPolicySource>(),
        services.GetRequiredService<IOptionsMonitor<RelayRateLimitsOptions>>(),
        services.GetRequiredService<TimeProvider>());
}
