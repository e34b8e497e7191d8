using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>Two relay hosts sharing one real Redis hold one limit between them.</summary>
public sealed class RedisLimitsThroughRelayTests
{
    [SkippableFact]
    public async Task Two_relay_hosts_on_one_redis_hold_one_limit_under_concurrent_load()
    {
        var redis = TestServers.RequireRedis();
        var prefix = "relaykit-test-" + Guid.NewGuid().ToString("N");
        void Settings(Dictionary<string, string?> s) => s
            .With("ModelRelay:Keys:0:RequestsPerMinute", "6")
            .With("ModelRelay:RateLimits:Redis", redis)
            .With("ModelRelay:RateLimits:RedisKeyPrefix", prefix);
        await using var first = RateLimitedRelay.Create(Settings);
        await using var second = RateLimitedRelay.Create(Settings);

        // Each host's answer counts what the other host used.
        Assert.Equal("5", RateLimitedRelay.Header((await first.ChatAsync()).Headers, "x-ratelimit-remaining-requests"));
        Assert.Equal("4", RateLimitedRelay.Header((await second.ChatAsync()).Headers, "x-ratelimit-remaining-requests"));
        Assert.Equal("3", RateLimitedRelay.Header((await first.MessagesAsync()).Headers, "anthropic-ratelimit-requests-remaining"));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => i % 2 == 0
            ? (i % 4 == 0 ? first.ChatAsync() : first.MessagesAsync())
            : (i % 4 == 1 ? second.ChatAsync() : second.MessagesAsync())));

        Assert.Equal(3, results.Count(r => r.Status == 200));
        Assert.Equal(17, results.Count(r => r.Status == 429));
        Assert.Equal(6, first.Relay.Fake.Requests.Count + second.Relay.Fake.Requests.Count);
    }
}
