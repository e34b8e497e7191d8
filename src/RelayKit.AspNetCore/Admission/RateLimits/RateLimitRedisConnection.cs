using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>The relay's own connection to the rate-limit Redis, opened on first use and closed with the container.</summary>
internal sealed class RateLimitRedisConnection : IAsyncDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _connection;

    public RateLimitRedisConnection(IOptions<RelayRateLimitsOptions> options)
    {
        var configuration = options.Value.Redis
            ?? throw new InvalidOperationException($"{RelayRateLimitsOptions.SectionPath}:Redis is not set.");

        // abortConnect=false: a relay that starts while Redis is down keeps retrying instead of failing to start.
        var redisOptions = ConfigurationOptions.Parse(configuration);
        redisOptions.AbortOnConnectFail = false;
        _connection = new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(redisOptions));
    }

    public IConnectionMultiplexer Multiplexer => _connection.Value;

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await _connection.Value.DisposeAsync();
        }
    }
}
