using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// The rate-limit Redis going away mid-run (a proxy in front of the shared test Redis, cut and restored) or never
/// there (a dead port): requests do not wait for it, the outage is logged once at each end, the operator's
/// <c>RedisUnavailable</c> choice decides between unlimited and a retryable 503, and limits apply again once a
/// background probe finds Redis back.
/// </summary>
public sealed class RedisOutageTests
{
    // A behavioural bound, not a benchmark: a request that waited for Redis took the library's 5 s timeout.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(1);

    [SkippableFact]
    public async Task While_redis_is_cut_requests_go_through_unlimited_without_waiting_and_limits_return_with_it()
    {
        await using var proxy = new CuttableTcpProxy(TestServers.RequireRedis());
        await using var relay = RateLimitedRelay.Create(Settings(proxy.Configuration, rpm: 3, mode: null), realTime: true);

        // Limits hold while Redis is there.
        var statuses = await StatusesAsync(relay, 4);
        Assert.Equal([200, 200, 200, 429], statuses);

        proxy.Cut();
        var burst = await TimedBurstAsync(relay, 50);
        Assert.All(burst, r => Assert.Equal(200, r.Status));
        Assert.All(burst, r => Assert.True(r.Took < Quick, $"A request took {r.Took} while Redis was out."));

        var breaker = relay.Relay.App.Services.GetRequiredService<RedisOutageBreaker>();
        Assert.True(breaker.IsOpen);
        var outage = Assert.Single(OutageLines(relay, "RedisRateLimitOutage"));
        Assert.Equal(LogLevel.Warning, outage.Level);
        Assert.Null(outage.Exception);
        Assert.Contains("RedisUnavailable=Allow", outage.Message, StringComparison.Ordinal);

        proxy.Restore();
        await breaker.Probe.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(breaker.IsOpen);
        var restored = Assert.Single(OutageLines(relay, "RedisRateLimitRestored"));
        Assert.Contains("50 requests went through without limits and 0 were refused", restored.Message, StringComparison.Ordinal);
        Assert.Single(OutageLines(relay, "RedisRateLimitOutage"));

        // The counters kept in Redis are used again: the key used its 3 requests a moment ago.
        var (status, _, headers) = await relay.ChatAsync();
        Assert.Equal(429, status);
        Assert.True(headers.Contains("retry-after"));
    }

    [SkippableFact]
    public async Task Refuse_answers_a_retryable_503_store_unavailable_in_both_formats_without_waiting_on_a_dead_port()
    {
        _ = TestServers.RequireRedis();
        await using var relay = RateLimitedRelay.Create(Settings($"127.0.0.1:{DeadPort()}", rpm: 3, mode: "Refuse"), realTime: true);

        // The very first request may wait for the first connect attempt to fail; none after it waits at all.
        _ = await relay.ChatAsync();
        var burst = await TimedBurstAsync(relay, 50);
        Assert.All(burst, r => Assert.True(r.Took < Quick, $"A request took {r.Took} while Redis was out."));

        foreach (var (status, body, headers) in burst.Where((_, i) => i % 2 == 0).Select(r => r.Response))
        {
            Assert.Equal(503, status);
            var error = body.GetProperty("error");
            Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
            Assert.Equal("server_error", error.GetProperty("type").GetString());
            Assert.Equal("2", RateLimitedRelay.Header(headers, "retry-after"));
            Assert.Equal("true", RateLimitedRelay.Header(headers, "x-should-retry"));
        }

        foreach (var (status, body, headers) in burst.Where((_, i) => i % 2 == 1).Select(r => r.Response))
        {
            Assert.Equal(503, status);
            Assert.Equal("error", body.GetProperty("type").GetString());
            Assert.Equal("overloaded_error", body.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("unavailable", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("2", RateLimitedRelay.Header(headers, "retry-after"));
        }

        Assert.Empty(relay.Relay.Fake.Requests);
        var outage = Assert.Single(OutageLines(relay, "RedisRateLimitOutage"));
        Assert.Contains("RedisUnavailable=Refuse", outage.Message, StringComparison.Ordinal);
        Assert.Empty(OutageLines(relay, "RedisRateLimitRestored"));
    }

    [SkippableFact]
    public async Task Refuse_ends_with_the_outage_and_counts_what_it_refused()
    {
        await using var proxy = new CuttableTcpProxy(TestServers.RequireRedis());
        await using var relay = RateLimitedRelay.Create(Settings(proxy.Configuration, rpm: 3, mode: "Refuse"), realTime: true);
        Assert.Equal(200, (await relay.ChatAsync()).Status);

        proxy.Cut();
        var burst = await TimedBurstAsync(relay, 10);
        Assert.All(burst, r => Assert.Equal(503, r.Status));

        proxy.Restore();
        var breaker = relay.Relay.App.Services.GetRequiredService<RedisOutageBreaker>();
        await breaker.Probe.WaitAsync(TimeSpan.FromSeconds(30));
        var restored = Assert.Single(OutageLines(relay, "RedisRateLimitRestored"));
        Assert.Contains("0 requests went through without limits and 10 were refused", restored.Message, StringComparison.Ordinal);
        var statuses = await StatusesAsync(relay, 3);
        Assert.Equal([200, 200, 429], statuses);
    }

    [SkippableFact]
    public async Task A_concurrency_slot_released_during_an_outage_is_freed_once_redis_is_back_and_only_once()
    {
        await using var proxy = new CuttableTcpProxy(TestServers.RequireRedis());
        var settings = RelayKit.AspNetCore.Tests.Admission.RateLimits.Settings.Key("alice", concurrent: 1);
        settings["ModelRelay:RateLimits:Redis"] = proxy.Configuration;
        settings["ModelRelay:RateLimits:RedisKeyPrefix"] = "relaykit-test-" + Guid.NewGuid().ToString("N");
        await using var host = new RateLimitTestHost(settings);
        var breaker = host.Services.GetRequiredService<RedisOutageBreaker>();

        var held = await host.Limiter.AcquireAsync("alice", "m", 0);
        Assert.True(held.IsAcquired);
        Assert.False((await host.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        proxy.Cut();
        var unlimited = await host.Limiter.AcquireAsync("alice", "m", 0);
        Assert.True(unlimited.IsAcquired);
        Assert.Null(unlimited.Slots);
        Assert.True(breaker.IsOpen);

        // Released twice while Redis is out: kept once, for when it is back.
        await held.DisposeAsync();
        await held.DisposeAsync();
        await unlimited.DisposeAsync();

        proxy.Restore();
        await breaker.Probe.WaitAsync(TimeSpan.FromSeconds(30));

        // The slot is free at once (not only when its 60 s lease expires), and the one taken now holds.
        var next = await host.Limiter.AcquireAsync("alice", "m", 0);
        Assert.True(next.IsAcquired);
        Assert.NotNull(next.Slots);
        Assert.False((await host.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        // The first lease disposed once more after the flush releases nothing the new holder has.
        await held.DisposeAsync();
        Assert.False((await host.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        await next.DisposeAsync();
        Assert.True((await host.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [Fact]
    public void An_unknown_RedisUnavailable_mode_is_refused_at_start()
    {
        var result = new RelayRateLimitsOptionsValidator("ModelRelay:RateLimits").Validate(null, new RelayRateLimitsOptions { RedisUnavailable = (RedisUnavailableMode)7 });
        Assert.True(result.Failed);
        Assert.Contains("RedisUnavailable must be Allow or Refuse", result.FailureMessage, StringComparison.Ordinal);
    }

    private static Action<Dictionary<string, string?>> Settings(string redis, int rpm, string? mode) => s =>
    {
        s["ModelRelay:Keys:0:RequestsPerMinute"] = rpm.ToString(System.Globalization.CultureInfo.InvariantCulture);
        s["ModelRelay:RateLimits:Redis"] = redis;
        s["ModelRelay:RateLimits:RedisKeyPrefix"] = "relaykit-test-" + Guid.NewGuid().ToString("N");
        if (mode is not null)
        {
            s["ModelRelay:RateLimits:RedisUnavailable"] = mode;
        }
    };

    private static async Task<int[]> StatusesAsync(RateLimitedRelay relay, int count)
    {
        var statuses = new int[count];
        for (var i = 0; i < count; i++)
        {
            statuses[i] = (await relay.ChatAsync()).Status;
        }

        return statuses;
    }

    /// <summary>Concurrent requests, even ones OpenAI and odd ones Anthropic, each with how long it took.</summary>
    private static Task<TimedResponse[]> TimedBurstAsync(RateLimitedRelay relay, int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var clock = Stopwatch.StartNew();
            var response = await (i % 2 == 0 ? relay.ChatAsync() : relay.MessagesAsync());
            return new TimedResponse(response, clock.Elapsed);
        }));

    private static List<Microsoft.Extensions.Logging.Testing.FakeLogRecord> OutageLines(RateLimitedRelay relay, string eventName) =>
        [.. relay.Relay.App.Logs.GetSnapshot().Where(r => r.Id.Name == eventName)];

    private static int DeadPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record TimedResponse((int Status, JsonElement Body, System.Net.Http.Headers.HttpResponseHeaders Headers) Response, TimeSpan Took)
    {
        public int Status => Response.Status;
    }
}
