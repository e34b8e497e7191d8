using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Routing;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Shares upstream rests (an opened breaker, a 429 cool-down) between the instances on one rate-limit Redis, over
/// pub/sub on <c>{RedisKeyPrefix}:upstream-rests</c>. Each instance still judges upstreams by its own traffic; what it
/// receives only makes it pass an upstream key over for as long as another instance does. A message lost while Redis is
/// down costs only that: the instances learn of the upstream again from their own attempts.
/// </summary>
/// <remarks>
/// A message is one line of text: kind, the rest's name (never a key's value) and its end in UTC ticks, separated by
/// tabs; names come from configuration (model entries, provider names), so they hold no tab.
/// </remarks>
internal sealed partial class RedisUpstreamRestShare(
    RateLimitRedisConnection connection,
    IOptions<RelayRateLimitsOptions> options,
    ILogger<RedisUpstreamRestShare> logger) : IUpstreamRestShare
{
    private readonly RedisChannel _channel = RedisChannel.Literal(options.Value.RedisKeyPrefix + ":upstream-rests");
    private int _failedOnce;

    public void Publish(UpstreamRest rest) => _ = PublishAsync(rest);

    public void Subscribe(Action<UpstreamRest> received) => _ = SubscribeAsync(received);

    private async Task PublishAsync(UpstreamRest rest)
    {
        try
        {
            var redis = await connection.Connection.ConfigureAwait(false);
            var message = string.Join('\t', rest.Kind, rest.Name, rest.Until.UtcTicks.ToString(CultureInfo.InvariantCulture));
            await redis.GetSubscriber().PublishAsync(_channel, message).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException)
        {
            if (Interlocked.Exchange(ref _failedOnce, 1) == 0)
            {
                LogPublishFailed(exception);
            }
        }
    }

    /// <summary>
    /// Subscribes, trying again every second until Redis takes it (a relay may start before Redis, and the connection fails
    /// fast while down); once subscribed, StackExchange.Redis subscribes again by itself after a reconnect.
    /// </summary>
    private async Task SubscribeAsync(Action<UpstreamRest> received)
    {
        var logged = false;
        while (true)
        {
            try
            {
                var redis = await connection.Connection.ConfigureAwait(false);
                await redis.GetSubscriber().SubscribeAsync(_channel, (_, message) =>
                {
                    if (Parse(message) is { } rest)
                    {
                        received(rest);
                    }
                }).ConfigureAwait(false);
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // the host is stopping
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                if (!logged)
                {
                    logged = true;
                    LogSubscribeFailed(exception);
                }

                await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The rest a message describes, or null for one this relay did not write.</summary>
    internal static UpstreamRest? Parse(RedisValue message)
    {
        var parts = ((string?)message)?.Split('\t');
        return parts is [var kind, var name, var ticks]
            && kind is UpstreamRest.Breaker or UpstreamRest.CoolDown
            && long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var utcTicks)
            && utcTicks is > 0 and <= 3155378975999999999
                ? new UpstreamRest(kind, name, new DateTimeOffset(utcTicks, TimeSpan.Zero))
                : null;
    }

    [LoggerMessage(1, LogLevel.Warning, "Sharing an upstream's rest with the other instances through Redis failed; each instance judges upstreams by its own traffic until Redis is back (logged once)")]
    private partial void LogPublishFailed(Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Listening for other instances' upstream rests on Redis failed; trying again every second, and until then this instance judges upstreams by its own traffic")]
    private partial void LogSubscribeFailed(Exception exception);
}
