using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore;

/// <summary>Adds Redis rate limits (the RelayKit.Redis package) to the model relay.</summary>
public static class RedisModelRelayBuilderExtensions
{
    /// <summary>
    /// Makes Redis available to the relay's rate limits. They use it when <c>ModelRelay:RateLimits:Redis</c> (a
    /// StackExchange.Redis configuration string) is set: every instance then counts requests, tokens and concurrent
    /// requests against the same counters. Without that setting the counters stay in process.
    /// </summary>
    /// <param name="builder">The relay builder from <c>AddModelRelay()</c>.</param>
    /// <returns>The same builder.</returns>
    public static IModelRelayBuilder AddRedisRateLimits(this IModelRelayBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<RateLimitRedisConnection>();
        builder.Services.TryAddSingleton<RedisOutageBreaker>();
        builder.Services.TryAddSingleton<IRedisRateLimiterFactory, RedisRateLimiterFactory>();

        // With the Redis setting, the instances also share which upstream keys rest (breakers, 429 cool-downs).
        builder.Services.TryAddSingleton<Routing.IUpstreamRestShare>(services =>
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RelayRateLimitsOptions>>().Value.Redis is { Length: > 0 }
                ? ActivatorUtilities.CreateInstance<RedisUpstreamRestShare>(services)
                : NoRestShare.Instance);
        return builder;
    }

    /// <summary>Without the Redis setting: nothing to share with.</summary>
    private sealed class NoRestShare : Routing.IUpstreamRestShare
    {
        public static readonly NoRestShare Instance = new();

        public void Publish(Routing.UpstreamRest rest)
        {
        }

        public void Subscribe(Action<Routing.UpstreamRest> received)
        {
        }
    }

    /// <summary>Keeps the relay's rate-limit counters in Redis at <paramref name="configuration"/>, whatever configuration says.</summary>
    /// <param name="builder">The relay builder from <c>AddModelRelay()</c>.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>localhost:6379</c>.</param>
    /// <returns>The same builder.</returns>
    public static IModelRelayBuilder AddRedisRateLimits(this IModelRelayBuilder builder, string configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        builder.AddRedisRateLimits();
        builder.Services.Configure<RelayRateLimitsOptions>(options => options.Redis = configuration);
        return builder;
    }
}
