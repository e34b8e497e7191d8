using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// Two relay instances, each with its own container and connection, sharing one real Redis and one
/// fake clock. Every test uses its own key prefix.
/// </summary>
public sealed class RedisRelayRateLimiterTests
{
    [SkippableFact]
    public async Task Two_instances_hold_one_requests_limit_under_concurrent_load()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", rpm: 40));

        var leases = await Task.WhenAll(
            Enumerable.Range(0, 200).Select(i => Task.Run(() => (i % 2 == 0 ? pair.A : pair.B).Limiter.AcquireAsync("alice", "gpt-4o", 0).AsTask())));

        Assert.IsType<RedisRelayRateLimiter>(pair.A.Limiter);
        Assert.Equal(40, leases.Count(l => l.IsAcquired));
        Assert.All(leases.Where(l => !l.IsAcquired), l => Assert.Equal(TimeSpan.FromMilliseconds(1500), l.Rejection!.RetryAfter));
    }

    [SkippableFact]
    public async Task Two_instances_share_concurrency_slots_and_release_them()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", concurrent: 3));

        var leases = await Task.WhenAll(
            Enumerable.Range(0, 40).Select(i => Task.Run(() => (i % 2 == 0 ? pair.A : pair.B).Limiter.AcquireAsync("alice", "m", 0).AsTask())));

        var held = leases.Where(l => l.IsAcquired).ToList();
        Assert.Equal(3, held.Count);
        Assert.Equal(RateLimitDimension.Concurrency, leases.First(l => !l.IsAcquired).Rejection!.Dimension);

        await held[0].DisposeAsync();
        Assert.True((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        Assert.False((await pair.A.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [SkippableFact]
    public async Task Remaining_counts_down_across_instances_and_refills_with_time()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", rpm: 10));

        var first = await pair.A.Limiter.AcquireAsync("alice", "m", 0);
        var second = await pair.B.Limiter.AcquireAsync("alice", "m", 0);
        Assert.Equal(9, first.Requests!.Value.Remaining);
        Assert.Equal(8, second.Requests!.Value.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(12), second.Requests.Value.ResetAfter);

        pair.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(8, (await pair.A.Limiter.AcquireAsync("alice", "m", 0)).Requests!.Value.Remaining);

        for (var i = 0; i < 8; i++)
        {
            Assert.True((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        }

        var rejected = await pair.A.Limiter.AcquireAsync("alice", "m", 0);
        Assert.Equal(TimeSpan.FromSeconds(6), rejected.Rejection!.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(60), rejected.Requests!.Value.ResetAfter);
        pair.Time.Advance(TimeSpan.FromMilliseconds(5999));
        Assert.False((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        pair.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [SkippableFact]
    public async Task Tokens_are_charged_by_the_estimate_then_corrected_on_another_instance()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", tpm: 1000));

        var first = await pair.A.Limiter.AcquireAsync("alice", "m", 600);
        Assert.Equal(400, first.Tokens!.Value.Remaining);
        await pair.A.Limiter.CorrectTokensAsync(first, 100);

        var second = await pair.B.Limiter.AcquireAsync("alice", "m", 100);
        Assert.Equal(800, second.Tokens!.Value.Remaining);
        await pair.B.Limiter.CorrectTokensAsync(second, 1100);

        var third = await pair.A.Limiter.AcquireAsync("alice", "m", 1);
        Assert.Equal(RateLimitDimension.Tokens, third.Rejection!.Dimension);
        Assert.Equal(TimeSpan.FromMilliseconds(12_060), third.Rejection.RetryAfter);
        var tooLarge = await pair.A.Limiter.AcquireAsync("alice", "m", 1001);
        Assert.True(tooLarge.Rejection!.RequestTooLarge);
    }

    [SkippableFact]
    public async Task A_rejected_request_uses_up_none_of_its_other_limits()
    {
        var settings = Settings.Key("alice", rpm: 10, concurrent: 10);
        settings["ModelRelay:Models:gpt-4o:RequestsPerMinute"] = "1";
        await using var pair = RedisPair.Start(settings);

        Assert.True((await pair.A.Limiter.AcquireAsync("alice", "gpt-4o", 0)).IsAcquired);
        Assert.Equal(RateLimitScope.Model, (await pair.B.Limiter.AcquireAsync("alice", "gpt-4o", 0)).Rejection!.Scope);

        Assert.Equal(8, (await pair.B.Limiter.AcquireAsync("alice", "other", 0)).Requests!.Value.Remaining);
    }

    [SkippableFact]
    public async Task A_request_given_back_before_forwarding_leaves_its_request_and_tokens_to_the_next_once()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", rpm: 3, tpm: 1000));
        var first = await pair.A.Limiter.AcquireAsync("alice", "m", 800);
        var second = await pair.B.Limiter.AcquireAsync("alice", "m", 100);
        Assert.True(first.IsAcquired && second.IsAcquired);
        Assert.Equal(RateLimitDimension.Tokens, (await pair.B.Limiter.AcquireAsync("alice", "m", 800)).Rejection!.Dimension);

        await pair.A.Limiter.ReturnAsync(first);
        await pair.A.Limiter.ReturnAsync(first);

        var third = await pair.B.Limiter.AcquireAsync("alice", "m", 800);
        Assert.True(third.IsAcquired);
        Assert.Equal(1, third.Requests!.Value.Remaining);
        Assert.Equal(100, third.Tokens!.Value.Remaining);
    }

    [SkippableFact]
    public async Task A_limit_changed_while_running_takes_effect()
    {
        await using var pair = RedisPair.Start(Settings.Key("alice", rpm: 2));
        Assert.True((await pair.A.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        Assert.True((await pair.A.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        Assert.False((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        pair.A.Change("ModelRelay:Keys:0:RequestsPerMinute", "4");

        var raised = await pair.A.Limiter.AcquireAsync("alice", "m", 0);
        Assert.Equal(4, raised.Requests!.Value.Limit);
        Assert.Equal(1, raised.Requests.Value.Remaining);
    }

    [SkippableFact]
    public async Task The_slots_of_a_crashed_instance_come_back_when_their_lease_expires()
    {
        var settings = Settings.Key("alice", concurrent: 1);
        settings["ModelRelay:RateLimits:ConcurrencyLeaseExpiry"] = "00:00:30";
        await using var pair = RedisPair.Start(settings);
        var orphan = await pair.A.Limiter.AcquireAsync("alice", "m", 0);
        Assert.True(orphan.IsAcquired);

        // The instance dies without releasing: its connection closes and renewals can no longer reach Redis.
        await pair.A.DisposeAsync();
        Assert.False((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        pair.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.False((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        pair.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.True((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [SkippableFact]
    public async Task A_live_lease_renews_its_slot_past_the_lease_expiry()
    {
        var settings = Settings.Key("alice", concurrent: 1);
        settings["ModelRelay:RateLimits:ConcurrencyLeaseExpiry"] = "00:00:30";
        await using var pair = RedisPair.Start(settings);
        var lease = await pair.A.Limiter.AcquireAsync("alice", "m", 0);
        var slots = Assert.IsType<RedisConcurrencySlots>(lease.Slots);

        for (var i = 0; i < 6; i++)
        {
            pair.Time.Advance(TimeSpan.FromSeconds(10));
            await slots.PendingRenewal;
        }

        Assert.False((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        await lease.DisposeAsync();
        Assert.True((await pair.B.Limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    /// <summary>Two relay instances on one Redis, a fresh key prefix, and one fake clock.</summary>
    private sealed class RedisPair : IAsyncDisposable
    {
        private RedisPair(RateLimitTestHost a, RateLimitTestHost b, FakeTimeProvider time)
        {
            A = a;
            B = b;
            Time = time;
        }

        public RateLimitTestHost A { get; }

        public RateLimitTestHost B { get; }

        public FakeTimeProvider Time { get; }

        public static RedisPair Start(Dictionary<string, string?> settings)
        {
            settings["ModelRelay:RateLimits:Redis"] = TestServers.RequireRedis();
            settings["ModelRelay:RateLimits:RedisKeyPrefix"] = "relaykit-test:" + Guid.NewGuid().ToString("N");
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
            return new RedisPair(new RateLimitTestHost(new Dictionary<string, string?>(settings), time), new RateLimitTestHost(new Dictionary<string, string?>(settings), time), time);
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }
}
