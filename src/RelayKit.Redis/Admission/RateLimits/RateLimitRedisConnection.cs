using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The relay's own connection to the rate-limit Redis. Connecting starts once, asynchronously, when the
/// limiter is created: a burst of first requests awaits one connect instead of blocking threads on it.
/// </summary>
internal sealed class RateLimitRedisConnection : IAsyncDisposable
{
    public RateLimitRedisConnection(IOptions<RelayRateLimitsOptions> options)
    {
        var configuration = options.Value.Redis
            ?? throw new InvalidOperationException($"{RelayRateLimitsOptions.SectionPath}:Redis is not set.");

        // abortConnect=false: a relay that starts while Redis is down keeps retrying instead of failing to start.
        var redisOptions = ConfigurationOptions.Parse(configuration);
        redisOptions.AbortOnConnectFail = false;
        Connection = ConnectAsync(redisOptions);
    }

    /// <summary>The connection, once connected.</summary>
    public Task<IConnectionMultiplexer> Connection { get; }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await (await Connection).DisposeAsync();
        }
        catch (RedisException)
        {
            // Never connected: nothing to close.
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions options) =>
        await ConnectionMultiplexer.ConnectAsync(options);
}
