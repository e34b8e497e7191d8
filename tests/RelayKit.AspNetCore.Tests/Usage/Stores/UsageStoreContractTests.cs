using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage.Stores;

/// <summary>What every <see cref="IUsageStore"/> must do; each store's test class runs these against a real store.</summary>
public abstract class UsageStoreContractTests : IAsyncLifetime
{
    private IUsageStore? _store;

    /// <summary>The store under test; a test that touches it skips (fails under CI) when its server is missing.</summary>
    protected IUsageStore Store => _store ?? RequireServer();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    /// <summary>Creates the store, or returns <see langword="null"/> when its server is not available.</summary>
    protected abstract Task<IUsageStore?> CreateStoreAsync();

    /// <summary>Called when <see cref="CreateStoreAsync"/> found no server: skips the test (or fails it under CI).</summary>
    protected virtual IUsageStore RequireServer() => throw new InvalidOperationException("No store was created.");

    [SkippableFact]
    public async Task A_record_round_trips_with_every_field()
    {
        var record = new UsageRecord
        {
            RequestId = "req-all-fields",
            Timestamp = new DateTimeOffset(2025, 3, 10, 23, 59, 58, 123, TimeSpan.Zero).AddTicks(4560),
            KeyName = "team \"a\", ops",
            RequestedModel = "claude-sonnet",
            Provider = "anthropic",
            UpstreamModel = "claude-sonnet-4-20250514",
            Operation = "chat",
            Streamed = true,
            InputTokens = 1234,
            OutputTokens = 567,
            CachedInputTokens = 1000,
            CacheWriteTokens = 200,
            ReasoningTokens = 50,
            Cost = 0.000000037512m,
            StatusCode = 200,
            TimeToFirstByte = TimeSpan.FromMilliseconds(42.5),
            Duration = TimeSpan.FromSeconds(3.25),
            Prompt = "Say hi\nin two lines",
            Completion = "Hi\nthere",
        };

        await Store.AppendAsync([record], CancellationToken.None);
        var page = await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None);

        Assert.Equal([record], page.Records);
        Assert.Null(page.NextOffset);
    }

    [SkippableFact]
    public async Task Upstream_attempts_round_trip_in_order_with_awkward_names_and_a_record_without_any_has_none()
    {
        var attempts = new[]
        {
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(12.345) },
            new UsageAttempt { Provider = "edge \"eu\", <b>", UpstreamModel = "m\\odel\n'; DROP TABLE usage_records; --", ErrorType = "upstream_timeout", Latency = TimeSpan.FromSeconds(30) },
            new UsageAttempt { Provider = "azure", UpstreamModel = "gpt55-prod ключ 🔑", ErrorType = "client_aborted", Latency = TimeSpan.Zero },
            new UsageAttempt { Provider = "azure", UpstreamModel = "gpt55-prod", StatusCode = 200, Latency = TimeSpan.FromMilliseconds(250) },
        };
        var record = UsageRecords.Make("req-attempts", provider: "azure") with { Attempts = attempts };
        var single = UsageRecords.Make("req-one") with { Attempts = [attempts[0] with { StatusCode = 200 }] };
        var none = UsageRecords.Make("req-none", provider: null, status: 401);

        await Store.AppendAsync([record, single, none], CancellationToken.None);
        var stored = (await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records.ToDictionary(r => r.RequestId);

        Assert.Equal(record, stored["req-attempts"]);
        Assert.Equal(attempts, stored["req-attempts"].Attempts);
        Assert.Equal(single, stored["req-one"]);
        Assert.Single(stored["req-one"].Attempts);
        Assert.Empty(stored["req-none"].Attempts);
        Assert.Equal(none, stored["req-none"]);
    }

    [SkippableFact]
    public async Task Long_non_ascii_prompts_and_completions_round_trip_whole()
    {
        // Logged prompts can be long and in any script: SQLite's writer encodes long values in a pooled buffer.
        var prompt = string.Concat(Enumerable.Range(0, 2_000).Select(i => $"строка {i} 🔑 ")) + "end";
        var completion = new string('é', 5_000) + "∎";
        var record = UsageRecords.Make("req-long", key: "ключ-" + new string('k', 300)) with { Prompt = prompt, Completion = completion };

        await Store.AppendAsync([record], CancellationToken.None);
        var stored = Assert.Single((await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);

        Assert.Equal(record, stored);
        Assert.Equal(prompt, stored.Prompt);
        Assert.Equal(completion, stored.Completion);
    }

    [SkippableFact]
    public async Task Content_holding_NUL_is_stored_with_the_rest_of_its_batch()
    {
        // PostgreSQL text cannot hold NUL: it is stored as U+FFFD there, and as it is elsewhere; the batch never fails.
        var record = UsageRecords.Make("req-nul") with { Prompt = "before\0after", Completion = "\0" };
        var neighbour = UsageRecords.Make("req-neighbour");

        await Store.AppendAsync([record, neighbour], CancellationToken.None);
        var stored = (await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records;

        Assert.Equal(2, stored.Count);
        var nul = stored.Single(r => r.RequestId == "req-nul");
        Assert.Equal("before\uFFFDafter", nul.Prompt!.Replace('\0', '\uFFFD'));
        Assert.Equal("\uFFFD", nul.Completion!.Replace('\0', '\uFFFD'));
    }

    [SkippableFact]
    public async Task Missing_counts_stay_missing_rather_than_zero()
    {
        var record = UsageRecords.Make("req-nulls", input: null, output: null, provider: null, status: 401) with { TimeToFirstByte = null };

        await Store.AppendAsync([record], CancellationToken.None);
        var stored = Assert.Single((await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);

        Assert.Null(stored.InputTokens);
        Assert.Null(stored.OutputTokens);
        Assert.Null(stored.Provider);
        Assert.Null(stored.TimeToFirstByte);
        Assert.Equal("upstream_error", stored.ErrorType);
    }

    [SkippableFact]
    public async Task Appending_the_same_request_twice_stores_it_once()
    {
        var record = UsageRecords.Make("req-dup");

        await Store.AppendAsync([record], CancellationToken.None);
        await Store.AppendAsync([record, UsageRecords.Make("req-other")], CancellationToken.None);

        var page = await Store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None);
        Assert.Equal(["req-other", "req-dup"], page.Records.Select(r => r.RequestId).Order(StringComparer.Ordinal).Reverse());
        Assert.Equal(2, page.Records.Count);
    }

    [SkippableFact]
    public async Task Queries_filter_by_key_model_provider_and_day_range()
    {
        var day1 = UsageRecords.Day1;
        await Store.AppendAsync(
        [
            UsageRecords.Make("a1", day1, key: "team-a", model: "gpt-4o", provider: "openai"),
            UsageRecords.Make("a2", day1.AddDays(1), key: "team-a", model: "claude", provider: "anthropic"),
            UsageRecords.Make("a3", day1.AddDays(2), key: "team-a", model: "gpt-4o", provider: "azure"),
            UsageRecords.Make("b1", day1.AddDays(1), key: "team-b", model: "gpt-4o", provider: "openai"),
        ], CancellationToken.None);

        async Task<string[]> Ids(UsageFilter filter) =>
            (await Store.QueryAsync(filter, 0, 100, CancellationToken.None)).Records.Select(r => r.RequestId).Order(StringComparer.Ordinal).ToArray();

        var day = DateOnly.FromDateTime(day1.UtcDateTime);
        Assert.Equal(["a1", "a2", "a3"], await Ids(new UsageFilter { KeyName = "team-a" }));
        Assert.Equal(["a1", "a3", "b1"], await Ids(new UsageFilter { Model = "gpt-4o" }));
        Assert.Equal(["a1", "b1"], await Ids(new UsageFilter { Provider = "openai" }));
        Assert.Equal(["a2", "b1"], await Ids(new UsageFilter { FromDay = day.AddDays(1), ToDay = day.AddDays(1) }));
        Assert.Equal(["a2", "a3"], await Ids(new UsageFilter { KeyName = "team-a", FromDay = day.AddDays(1) }));
        Assert.Equal(["a1"], await Ids(new UsageFilter { KeyName = "team-a", ToDay = day, Model = "gpt-4o" }));
        Assert.Empty(await Ids(new UsageFilter { KeyName = "team-c" }));
    }

    [SkippableFact]
    public async Task Pages_run_newest_first_until_the_last()
    {
        var records = Enumerable.Range(0, 5).Select(i => UsageRecords.Make($"p{i}", UsageRecords.Day1.AddMinutes(i))).ToList();
        await Store.AppendAsync(records, CancellationToken.None);

        var first = await Store.QueryAsync(UsageFilter.All, 0, 2, CancellationToken.None);
        var second = await Store.QueryAsync(UsageFilter.All, first.NextOffset!.Value, 2, CancellationToken.None);
        var third = await Store.QueryAsync(UsageFilter.All, second.NextOffset!.Value, 2, CancellationToken.None);

        Assert.Equal(["p4", "p3"], first.Records.Select(r => r.RequestId));
        Assert.Equal(["p2", "p1"], second.Records.Select(r => r.RequestId));
        Assert.Equal(["p0"], third.Records.Select(r => r.RequestId));
        Assert.Null(third.NextOffset);
        Assert.Equal(["p4", "p3", "p2"], (await Store.GetRecentAsync("team-a", 3, CancellationToken.None)).Select(r => r.RequestId));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.QueryAsync(UsageFilter.All, 0, 1001, CancellationToken.None));
    }

    [SkippableFact]
    public async Task Daily_totals_sum_each_model_per_day_exactly()
    {
        var day1 = UsageRecords.Day1;
        await Store.AppendAsync(
        [
            UsageRecords.Make("t1", day1, model: "gpt-4o", input: 100, output: 10, cost: 0.1m) with { CachedInputTokens = 40, ReasoningTokens = 5 },
            UsageRecords.Make("t2", day1.AddHours(1), model: "gpt-4o", input: 200, output: 20, cost: 0.2m),
            UsageRecords.Make("t3", day1.AddHours(2), model: "claude", input: 7, output: null, cost: 0.000000000001m, status: 529) with { CacheWriteTokens = 3 },
            UsageRecords.Make("t4", day1.AddDays(1), model: "gpt-4o", input: 1, output: 1, cost: 0.000000037512m),
            UsageRecords.Make("other-key", day1, key: "team-b", model: "gpt-4o", input: 999, output: 999, cost: 9m),
        ], CancellationToken.None);

        var totals = await Store.GetDailyTotalsAsync(new UsageFilter { KeyName = "team-a" }, CancellationToken.None);

        var day = DateOnly.FromDateTime(day1.UtcDateTime);
        Assert.Equal(
        [
            new UsageDailyTotal(day, "claude", 1, 1, 7, 0, 0, 3, 0, 0.000000000001m),
            new UsageDailyTotal(day, "gpt-4o", 2, 0, 300, 30, 40, 0, 5, 0.3m),
            new UsageDailyTotal(day.AddDays(1), "gpt-4o", 1, 0, 1, 1, 0, 0, 0, 0.000000037512m),
        ], totals);
    }

    [SkippableFact]
    public async Task Spend_totals_are_summed_by_the_store_per_utc_day_key_and_model_as_the_records_add_up()
    {
        var lastTick = new DateTimeOffset(2025, 3, 10, 23, 59, 59, 999, TimeSpan.Zero);
        await Store.AppendAsync(
        [
            UsageRecords.Make("a1", lastTick, key: "team-a", model: "gpt-4o", input: 100, output: 20, cost: 0.1m),
            UsageRecords.Make("a2", lastTick.AddHours(-5), key: "team-a", model: "gpt-4o", input: null, output: 5, cost: 0.000000000001m, status: 502),
            UsageRecords.Make("a3", lastTick.AddMilliseconds(1), key: "team-a", model: "gpt-4o", input: 1, output: 1, cost: 0.2m),
            UsageRecords.Make("b1", lastTick, key: "team-b", model: "gpt-4o", input: 7, output: 0, cost: 1m),
            UsageRecords.Make("n1", lastTick, key: null, model: "claude", input: 3, output: 4, cost: 0.5m, status: 401),
            UsageRecords.Make("out", lastTick.AddDays(-3), key: "team-a", cost: 9m),
        ], CancellationToken.None);

        var filter = new UsageFilter { From = lastTick.AddDays(-1) };
        var totals = (await ((IUsageSpendTotals)Store).GetSpendTotalsAsync(filter, CancellationToken.None))
            .OrderBy(t => t.Day).ThenBy(t => t.KeyName, StringComparer.Ordinal).ThenBy(t => t.Model, StringComparer.Ordinal).ToList();

        var day = new DateOnly(2025, 3, 10);
        Assert.Equal(
        [
            new UsageSpendTotal(day, null, "claude", 1, 1, 3, 4, 0.5m),
            new UsageSpendTotal(day, "team-a", "gpt-4o", 2, 1, 100, 25, 0.100000000001m),
            new UsageSpendTotal(day, "team-b", "gpt-4o", 1, 0, 7, 0, 1m),
            new UsageSpendTotal(day.AddDays(1), "team-a", "gpt-4o", 1, 0, 1, 1, 0.2m),
        ], totals);

        // The same as summing the records one by one.
        var records = new List<UsageRecord>();
        await foreach (var record in Store.ReadAsync(filter, CancellationToken.None))
        {
            records.Add(record);
        }

        Assert.Equal(records.Sum(r => r.Cost), totals.Sum(t => t.Cost));
        Assert.Equal(records.Count, totals.Sum(t => t.Requests));

        // A key list's spend: every record of each key, in one read; records without a key are no key's.
        var spent = await ((IUsageSpendTotals)Store).GetSpentByKeyAsync(CancellationToken.None);
        Assert.Equal(2, spent.Count);
        Assert.Equal(9.300000000001m, spent["team-a"]);
        Assert.Equal(1m, spent["team-b"]);
    }

    [SkippableFact]
    public async Task Reading_streams_every_match_oldest_first()
    {
        await Store.AppendAsync(
        [
            UsageRecords.Make("r2", UsageRecords.Day1.AddMinutes(2)),
            UsageRecords.Make("r0", UsageRecords.Day1),
            UsageRecords.Make("x", UsageRecords.Day1, key: "team-b"),
            UsageRecords.Make("r1", UsageRecords.Day1.AddMinutes(1)),
        ], CancellationToken.None);

        var ids = new List<string>();
        await foreach (var record in Store.ReadAsync(new UsageFilter { KeyName = "team-a" }, CancellationToken.None))
        {
            ids.Add(record.RequestId);
        }

        Assert.Equal(["r0", "r1", "r2"], ids);
    }

    [SkippableFact]
    public async Task Ping_succeeds_on_a_reachable_store() =>
        await Store.PingAsync(CancellationToken.None);
}
