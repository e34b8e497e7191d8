using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

public sealed class InProcessRelayRateLimiterTests
{
    [Fact]
    public async Task Registers_the_in_process_limiter_when_no_redis_is_configured()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 1));

        Assert.IsType<InProcessRelayRateLimiter>(host.Limiter);
    }

    [Fact]
    public async Task Requests_per_minute_hold_under_concurrent_load()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 50));
        var limiter = host.Limiter;

        var leases = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => limiter.AcquireAsync("alice", "gpt-4o", 0).AsTask())));

        Assert.Equal(50, leases.Count(l => l.IsAcquired));
        Assert.All(leases.Where(l => !l.IsAcquired), l =>
        {
            Assert.Equal(RateLimitDimension.Requests, l.Rejection!.Dimension);
            Assert.Equal(RateLimitScope.Key, l.Rejection.Scope);
            Assert.Equal(TimeSpan.FromMilliseconds(1200), l.Rejection.RetryAfter);
        });
    }

    [Fact]
    public async Task Remaining_counts_down_and_refills_as_time_passes()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 10));
        var limiter = host.Limiter;

        var remaining = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            remaining.Add((await limiter.AcquireAsync("alice", "m", 0)).Requests!.Value.Remaining);
        }

        Assert.Equal([9, 8, 7], remaining);

        // One request comes back every 6 seconds.
        host.Time.Advance(TimeSpan.FromSeconds(6));
        var afterRefill = await limiter.AcquireAsync("alice", "m", 0);
        Assert.Equal(7, afterRefill.Requests!.Value.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(18), afterRefill.Requests.Value.ResetAfter);
        Assert.Equal(host.Time.GetUtcNow() + TimeSpan.FromSeconds(18), afterRefill.Requests.Value.ResetAt);

        for (var i = 0; i < 7; i++)
        {
            Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        }

        var rejected = await limiter.AcquireAsync("alice", "m", 0);
        Assert.False(rejected.IsAcquired);
        Assert.Equal(TimeSpan.FromSeconds(6), rejected.Rejection!.RetryAfter);
        Assert.Equal(0, rejected.Requests!.Value.Remaining);

        host.Time.Advance(TimeSpan.FromMilliseconds(5999));
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        host.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        host.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(9, (await limiter.AcquireAsync("alice", "m", 0)).Requests!.Value.Remaining);
    }

    [Fact]
    public async Task Tokens_are_charged_by_the_estimate_then_corrected_to_actual_usage()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", tpm: 1000));
        var limiter = host.Limiter;

        var first = await limiter.AcquireAsync("alice", "m", 600);
        Assert.Equal(400, first.Tokens!.Value.Remaining);

        await limiter.CorrectTokensAsync(first, 100);
        var second = await limiter.AcquireAsync("alice", "m", 100);
        Assert.Equal(800, second.Tokens!.Value.Remaining);

        // Used far more than estimated: the counter goes below zero and later requests wait for it.
        await limiter.CorrectTokensAsync(second, 1100);
        var third = await limiter.AcquireAsync("alice", "m", 1);
        Assert.False(third.IsAcquired);
        Assert.Equal(RateLimitDimension.Tokens, third.Rejection!.Dimension);
        Assert.Equal(0, third.Tokens!.Value.Remaining);
        Assert.Equal(TimeSpan.FromMilliseconds(12_060), third.Rejection.RetryAfter);

        host.Time.Advance(TimeSpan.FromMilliseconds(12_060));
        Assert.True((await limiter.AcquireAsync("alice", "m", 1)).IsAcquired);
    }

    [Fact]
    public async Task A_request_larger_than_the_whole_token_limit_is_rejected_as_never_fitting()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", tpm: 1000));

        var lease = await host.Limiter.AcquireAsync("alice", "m", 1001);

        Assert.False(lease.IsAcquired);
        Assert.True(lease.Rejection!.RequestTooLarge);
        Assert.Null(lease.Rejection.RetryAfter);
        Assert.Equal(1000, lease.Tokens!.Value.Remaining);
    }

    [Fact]
    public async Task Concurrency_holds_under_load_and_slots_come_back_on_dispose()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", concurrent: 5));
        var limiter = host.Limiter;

        var leases = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => limiter.AcquireAsync("alice", "m", 0).AsTask())));

        var held = leases.Where(l => l.IsAcquired).ToList();
        Assert.Equal(5, held.Count);
        var rejection = leases.First(l => !l.IsAcquired).Rejection!;
        Assert.Equal(RateLimitDimension.Concurrency, rejection.Dimension);
        Assert.Equal(TimeSpan.FromSeconds(1), rejection.RetryAfter);

        await held[0].DisposeAsync();
        await held[0].DisposeAsync();
        Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [Fact]
    public async Task A_queued_request_waits_for_a_free_slot()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", concurrent: 1, queueSeconds: 10));
        var limiter = host.Limiter;
        var first = await limiter.AcquireAsync("alice", "m", 0);

        var second = limiter.AcquireAsync("alice", "m", 0).AsTask();
        Assert.False(second.IsCompleted);

        await first.DisposeAsync();
        Assert.True((await second.WaitAsync(TimeSpan.FromSeconds(10))).IsAcquired);
    }

    [Fact]
    public async Task A_queued_request_is_rejected_when_its_queue_timeout_passes()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", concurrent: 1, queueSeconds: 2));
        var limiter = host.Limiter;
        await using var first = await limiter.AcquireAsync("alice", "m", 0);

        var second = limiter.AcquireAsync("alice", "m", 0).AsTask();
        host.Time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(second.IsCompleted);
        host.Time.Advance(TimeSpan.FromMilliseconds(1));

        var lease = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(RateLimitDimension.Concurrency, lease.Rejection!.Dimension);
    }

    [Fact]
    public async Task A_caller_gone_while_queued_for_a_later_slot_gives_back_the_slots_it_already_took()
    {
        var settings = Settings.Key("alice", concurrent: 2, queueSeconds: 120);
        settings["ModelRelay:Models:gpt-4o:MaxConcurrentRequests"] = "1";
        await using var host = new RateLimitTestHost(settings);
        var limiter = host.Limiter;
        var holder = await limiter.AcquireAsync("alice", "gpt-4o", 0);
        Assert.True(holder.IsAcquired);

        // Takes alice's second slot, then queues for the model's only one, and its caller goes away.
        using var gone = new CancellationTokenSource();
        var queued = limiter.AcquireAsync("alice", "gpt-4o", 0, gone.Token).AsTask();
        Assert.False(queued.IsCompleted);
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await holder.DisposeAsync();

        // Both of alice's slots are free again: two requests to another model are admitted without queueing.
        var first = await limiter.AcquireAsync("alice", "other", 0).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var second = await limiter.AcquireAsync("alice", "other", 0).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(first.IsAcquired && second.IsAcquired);
    }

    [Fact]
    public async Task A_queued_request_waits_for_its_rate_limit_to_refill()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 1, queueSeconds: 90));
        var limiter = host.Limiter;
        Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        var second = limiter.AcquireAsync("alice", "m", 0).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(second.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.True((await second.WaitAsync(TimeSpan.FromSeconds(10))).IsAcquired);
    }

    [Fact]
    public async Task A_request_whose_wait_exceeds_its_queue_timeout_is_rejected_at_once()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 1, queueSeconds: 30));
        var limiter = host.Limiter;
        Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        var second = limiter.AcquireAsync("alice", "m", 0);

        Assert.True(second.IsCompleted);
        Assert.Equal(TimeSpan.FromSeconds(60), (await second).Rejection!.RetryAfter);
    }

    [Fact]
    public async Task A_rejected_request_uses_up_none_of_its_other_limits()
    {
        var settings = Settings.Key("alice", rpm: 10, concurrent: 10);
        settings["ModelRelay:Models:gpt-4o:RequestsPerMinute"] = "2";
        await using var host = new RateLimitTestHost(settings);
        var limiter = host.Limiter;

        Assert.True((await limiter.AcquireAsync("alice", "gpt-4o", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("alice", "gpt-4o", 0)).IsAcquired);
        var rejected = await limiter.AcquireAsync("alice", "gpt-4o", 0);
        Assert.Equal(RateLimitScope.Model, rejected.Rejection!.Scope);

        // The key was charged for the two admitted requests only, and holds no slot for the rejected one.
        var other = await limiter.AcquireAsync("alice", "claude-sonnet", 0);
        Assert.Equal(7, other.Requests!.Value.Remaining);
    }

    [Fact]
    public async Task A_request_given_back_before_forwarding_leaves_its_request_and_tokens_to_the_next_once()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 3, tpm: 1000));
        var limiter = host.Limiter;
        var first = await limiter.AcquireAsync("alice", "m", 800);
        var second = await limiter.AcquireAsync("alice", "m", 100);
        Assert.True(first.IsAcquired && second.IsAcquired);
        Assert.Equal(RateLimitDimension.Tokens, (await limiter.AcquireAsync("alice", "m", 800)).Rejection!.Dimension);

        await limiter.ReturnAsync(first);
        await limiter.ReturnAsync(first);

        // Given back once: one request of three and 100 tokens of 1,000 are still used, by the second.
        var third = await limiter.AcquireAsync("alice", "m", 800);
        Assert.True(third.IsAcquired);
        Assert.Equal(1, third.Requests!.Value.Remaining);
        Assert.Equal(100, third.Tokens!.Value.Remaining);
    }

    [Fact]
    public async Task A_model_limit_is_shared_by_every_key()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelRelay:Models:gpt-4o:RequestsPerMinute"] = "3",
        };
        await using var host = new RateLimitTestHost(settings);
        var limiter = host.Limiter;

        Assert.True((await limiter.AcquireAsync("alice", "gpt-4o", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("alice", "GPT-4o", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("bob", "gpt-4o", 0)).IsAcquired);
        Assert.False((await limiter.AcquireAsync("bob", "gpt-4o", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("bob", "gpt-4o-mini", 0)).IsAcquired);
    }

    [Fact]
    public async Task A_key_model_pattern_is_one_limit_for_all_the_models_it_matches()
    {
        var settings = Settings.Key("alice");
        settings["ModelRelay:Keys:0:ModelLimits:gpt-*:RequestsPerMinute"] = "2";
        await using var host = new RateLimitTestHost(settings);
        var limiter = host.Limiter;

        Assert.True((await limiter.AcquireAsync("alice", "gpt-4o", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("alice", "gpt-4.1", 0)).IsAcquired);
        var rejected = await limiter.AcquireAsync("alice", "gpt-5", 0);
        Assert.Equal(RateLimitScope.KeyModel, rejected.Rejection!.Scope);
        Assert.True((await limiter.AcquireAsync("alice", "claude-sonnet", 0)).IsAcquired);
        Assert.True((await limiter.AcquireAsync("bob", "gpt-5", 0)).IsAcquired);
    }

    [Fact]
    public async Task Headers_report_the_tightest_of_the_limits_that_apply()
    {
        var settings = Settings.Key("alice", rpm: 100, tpm: 10_000);
        settings["ModelRelay:Keys:0:ModelLimits:gpt-4o:RequestsPerMinute"] = "5";
        settings["ModelRelay:Models:gpt-4o:TokensPerMinute"] = "1000";
        await using var host = new RateLimitTestHost(settings);

        var lease = await host.Limiter.AcquireAsync("alice", "gpt-4o", 100);

        Assert.Equal(new RateLimitQuota(5, 4, TimeSpan.FromSeconds(12), host.Time.GetUtcNow().AddSeconds(12)), lease.Requests);
        Assert.Equal(new RateLimitQuota(1000, 900, TimeSpan.FromSeconds(6), host.Time.GetUtcNow().AddSeconds(6)), lease.Tokens);
    }

    [Fact]
    public async Task A_key_without_limits_is_admitted_without_quota_data()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 1));

        var lease = await host.Limiter.AcquireAsync("bob", "gpt-4o", 1_000_000);

        Assert.True(lease.IsAcquired);
        Assert.Null(lease.Requests);
        Assert.Null(lease.Tokens);
    }

    [Fact]
    public async Task A_limit_changed_while_running_takes_effect_and_keeps_what_was_used()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 2, concurrent: 1));
        var limiter = host.Limiter;
        await (await limiter.AcquireAsync("alice", "m", 0)).DisposeAsync();
        await (await limiter.AcquireAsync("alice", "m", 0)).DisposeAsync();
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);

        host.Change("ModelRelay:Keys:0:RequestsPerMinute", "5");
        host.Change("ModelRelay:Keys:0:MaxConcurrentRequests", "3");

        var leases = new List<RelayRateLimitLease>();
        for (var i = 0; i < 4; i++)
        {
            leases.Add(await limiter.AcquireAsync("alice", "m", 0));
        }

        Assert.Equal([true, true, true, false], leases.Select(l => l.IsAcquired));
        Assert.Equal(5, leases[0].Requests!.Value.Limit);
        Assert.Equal(RateLimitDimension.Concurrency, leases[3].Rejection!.Dimension);

        host.Change("ModelRelay:Keys:0:MaxConcurrentRequests", null);
        host.Change("ModelRelay:Keys:0:RequestsPerMinute", "6");
        var afterRaising = await limiter.AcquireAsync("alice", "m", 0);
        Assert.Equal(0, afterRaising.Requests!.Value.Remaining);
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [Fact]
    public async Task A_changed_concurrency_limit_counts_the_requests_already_in_flight()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", concurrent: 2));
        var limiter = host.Limiter;
        var first = await limiter.AcquireAsync("alice", "m", 0);
        var second = await limiter.AcquireAsync("alice", "m", 0);

        // Lowered to 1 with two in flight: nothing new until both have ended, one of them is not enough.
        host.Change("ModelRelay:Keys:0:MaxConcurrentRequests", "1");
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        await first.DisposeAsync();
        Assert.False((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
        await second.DisposeAsync();
        var third = await limiter.AcquireAsync("alice", "m", 0);
        Assert.True(third.IsAcquired);

        // Raised to 3 with one in flight: two more at once, not three.
        host.Change("ModelRelay:Keys:0:MaxConcurrentRequests", "3");
        var more = new List<RelayRateLimitLease>();
        for (var i = 0; i < 3; i++)
        {
            more.Add(await limiter.AcquireAsync("alice", "m", 0));
        }

        Assert.Equal([true, true, false], more.Select(l => l.IsAcquired));
    }

    [Fact]
    public async Task A_raised_concurrency_limit_lets_a_waiting_request_in_at_the_next_acquire()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", concurrent: 1, queueSeconds: 60));
        var limiter = host.Limiter;
        await using var holder = await limiter.AcquireAsync("alice", "m", 0);
        // Queued at once (a slot granted at once would have completed it already), and only a release or a raise moves it.
        var waiting = limiter.AcquireAsync("alice", "m", 0).AsTask();
        Assert.False(waiting.IsCompleted);

        // Raised to 2: the request that waited gets the new slot first, the one arriving now queues behind it.
        host.Change("ModelRelay:Keys:0:MaxConcurrentRequests", "2");
        host.Change("ModelRelay:Keys:0:QueueTimeout", null);
        var arriving = await limiter.AcquireAsync("alice", "m", 0);

        Assert.True((await waiting.WaitAsync(TimeSpan.FromSeconds(10))).IsAcquired);
        Assert.False(arriving.IsAcquired);
    }

    [Fact]
    public async Task Waiting_can_be_cancelled_and_gives_back_its_slot()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 1, concurrent: 1, queueSeconds: 120));
        var limiter = host.Limiter;
        await (await limiter.AcquireAsync("alice", "m", 0)).DisposeAsync();
        using var cancel = new CancellationTokenSource();

        var waiting = limiter.AcquireAsync("alice", "m", 0, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True((await limiter.AcquireAsync("alice", "m", 0)).IsAcquired);
    }

    [Fact]
    public async Task Counters_back_at_full_are_forgotten()
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < 10; i++)
        {
            settings[$"ModelRelay:Models:m{i}:RequestsPerMinute"] = "100000";
        }

        await using var host = new RateLimitTestHost(settings);
        var limiter = (InProcessRelayRateLimiter)host.Limiter;
        for (var i = 0; i < 10; i++)
        {
            await limiter.AcquireAsync("alice", $"m{i}", 0);
        }

        Assert.Equal(10, limiter.BucketCount);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 4096; i++)
        {
            await limiter.AcquireAsync("alice", "m0", 0);
        }

        Assert.Equal(1, limiter.BucketCount);
    }
}
