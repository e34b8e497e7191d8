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
        // Only created when the Redis setting is set (RateLimitServiceCollectionExtensions): null here is a wiring mistake.
        var configuration = options.Value.Redis
            ?? throw new InvalidOperationException("The rate limits' Redis setting is not set.");

        // abortConnect=false: a relay that starts while Redis is down keeps retrying instead of failing to start.
        var redisOptions = ConfigurationOptions.Parse(configuration);
        redisOptions.AbortOnConnectFail = false;

        // While disconnected a command fails at once instead of queueing until its timeout: the limiter does not wait
        // for an unreachable Redis (RedisOutageBreaker decides what the request gets instead).
        redisOptions.BacklogPolicy = BacklogPolicy.FailFast;

        // A rate-limit script takes a millisecond; the library's 5 s defaults would make the requests in flight when
        // Redis stops answering wait that long before the outage is noticed. The configuration string still wins.
        if (!Names(configuration, "connectTimeout"))
        {
            redisOptions.ConnectTimeout = 2000;
        }

        if (!Names(configuration, "syncTimeout"))
        {
            redisOptions.SyncTimeout = 1000;
        }

        if (!Names(configuration, "asyncTimeout"))
        {
            redisOptions.AsyncTimeout = 1000;
        }

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

    private static bool Names(string configuration, string option) =>
        configuration.Split(',').Any(part => part.TrimStart().StartsWith(option + "=", StringComparison.OrdinalIgnoreCase));

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions options) =>
        await ConnectionMultiplexer.ConnectAsync(options);
}
