using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Status.History;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Status.History;

/// <summary>
/// The status history store on each database it runs on: minutes added by two instances sum up, hours and days are
/// rolled up from them (again, without double counting), uptime counts minutes under the down threshold, latency bins
/// merge, retention prunes each period, and incidents are saved and ended.
/// </summary>
public sealed class StatusStoreTests : IAsyncLifetime
{
    // 2026-03-10 12:00 UTC, a whole day and hour.
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly long NoonMinute = StatusResolution.MinuteOf(Noon);

    private readonly string _schema = PostgreSqlTestSchema.NewName("status_test");
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "relaykit-status-" + Guid.NewGuid().ToString("N"));
    private readonly List<IAsyncDisposable> _owned = [];
    private string? _postgres;

    public enum Kind
    {
        Sqlite,
        InMemory,
        PostgreSql,
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        await PostgreSqlTestSchema.DropAsync(_postgres, _schema);
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Two stores over one database, as two relay instances sharing it (in memory: the same store twice).</summary>
    private (IStatusStore First, IStatusStore Second) Stores(Kind kind)
    {
        switch (kind)
        {
            case Kind.Sqlite:
                var path = Path.Combine(_folder, "usage.db");
                return (StatusStores.Sqlite(path), StatusStores.Sqlite(path));
            case Kind.InMemory:
                var store = StatusStores.InMemory();
                _owned.Add(store);
                return (store, store);
            default:
                _postgres = TestServers.RequirePostgres();
                var storage = new PostgreSqlStorage();
                _owned.Add(storage);
                return (storage.CreateStatusStore(_postgres, _schema), new PostgreSqlStorage().CreateStatusStore(_postgres, _schema));
        }
    }

    private static StatusMinute Minute(long minute, long successes, long failures, string model = "", params (TimeSpan Latency, long Count)[] latencies)
    {
        var bins = new long[LatencyBins.Count];
        foreach (var (latency, count) in latencies)
        {
            bins[LatencyBins.IndexOf(latency)] += count;
        }

        return new StatusMinute("openai", model, minute, successes, failures, bins);
    }

    [SkippableTheory]
    [InlineData(Kind.Sqlite)]
    [InlineData(Kind.InMemory)]
    [InlineData(Kind.PostgreSql)]
    public async Task Two_instances_minutes_add_up_and_roll_up_to_hours_and_days_by_minutes_up(Kind kind)
    {
        var (first, second) = Stores(kind);

        // Minute 0: 3 ok (first) + 1 failure (second) = 25% errors: up. Minute 1: 1 ok + 1 failure from each = 50%: down
        // (the default down threshold is 0.5, reached). Minute 2 (next hour): 2 ok.
        await first.AddAsync([Minute(NoonMinute, 3, 0), Minute(NoonMinute + 1, 1, 0), Minute(NoonMinute, 3, 0, "gpt-4o")], [], default);
        await second.AddAsync([Minute(NoonMinute, 0, 1), Minute(NoonMinute + 1, 0, 1), Minute(NoonMinute + 60, 2, 0)], [], default);
        await first.RollUpAsync(Noon, Noon.AddHours(1), 0.5, default);

        var minutes = await second.ReadAsync(StatusResolution.Minute, Noon, default);
        var atNoon = Assert.Single(minutes, m => m.Start == NoonMinute && m.Model == "");
        Assert.Equal((3, 1), (atNoon.Successes, atNoon.Failures));

        var hours = (await first.ReadAsync(StatusResolution.Hour, Noon, default)).Where(h => h.Model == "").ToList();
        Assert.Equal([NoonMinute, NoonMinute + 60], hours.Select(h => h.Start));
        Assert.Equal((4, 2, 2, 1), (hours[0].Successes, hours[0].Failures, hours[0].TrafficMinutes, hours[0].UpMinutes));
        Assert.Equal((2, 0, 1, 1), (hours[1].Successes, hours[1].Failures, hours[1].TrafficMinutes, hours[1].UpMinutes));

        var day = Assert.Single(await first.ReadAsync(StatusResolution.Day, Noon.Date, default), d => d.Model == "");
        Assert.Equal(StatusResolution.Floor(NoonMinute, StatusResolution.Day), day.Start);
        Assert.Equal((6, 2, 3, 2), (day.Successes, day.Failures, day.TrafficMinutes, day.UpMinutes));
        var model = Assert.Single(await first.ReadAsync(StatusResolution.Day, Noon.Date, default), d => d.Model == "gpt-4o");
        Assert.Equal((3, 0, 1, 1), (model.Successes, model.Failures, model.TrafficMinutes, model.UpMinutes));

        // A late minute from one instance, and the rollup run again: replaced by the new sums, never added twice.
        await second.AddAsync([Minute(NoonMinute + 2, 0, 5)], [], default);
        await second.RollUpAsync(Noon, Noon.AddHours(1), 0.5, default);
        await first.RollUpAsync(Noon, Noon.AddHours(1), 0.5, default);
        day = Assert.Single(await first.ReadAsync(StatusResolution.Day, Noon.Date, default), d => d.Model == "");
        Assert.Equal((6, 7, 4, 2), (day.Successes, day.Failures, day.TrafficMinutes, day.UpMinutes));
    }

    [SkippableTheory]
    [InlineData(Kind.Sqlite)]
    [InlineData(Kind.InMemory)]
    [InlineData(Kind.PostgreSql)]
    public async Task Latency_bins_of_two_instances_merge_into_one_percentile(Kind kind)
    {
        var (first, second) = Stores(kind);
        var fast = TimeSpan.FromMilliseconds(100);
        var slow = TimeSpan.FromMilliseconds(2000);
        await first.AddAsync([Minute(NoonMinute, 90, 0, "", (fast, 90))], [], default);
        await second.AddAsync([Minute(NoonMinute, 10, 0, "", (slow, 10))], [], default);
        await second.RollUpAsync(Noon, Noon, 0.5, default);

        var hour = Assert.Single(await first.ReadAsync(StatusResolution.Hour, Noon, default));
        Assert.Equal(100, hour.LatencyBins.Sum());
        var p50 = LatencyBins.Percentile(hour.LatencyBins, 100, 0.50, TimeSpan.Zero, TimeSpan.MaxValue)!.Value;
        var p95 = LatencyBins.Percentile(hour.LatencyBins, 100, 0.95, TimeSpan.Zero, TimeSpan.MaxValue)!.Value;

        // Each within the bins' 12%: the median is the fast instance's, the 95th the slow one's.
        Assert.InRange(p50.TotalMilliseconds, 88, 112);
        Assert.InRange(p95.TotalMilliseconds, 1760, 2240);
    }

    [SkippableTheory]
    [InlineData(Kind.Sqlite)]
    [InlineData(Kind.InMemory)]
    [InlineData(Kind.PostgreSql)]
    public async Task Retention_keeps_minutes_two_days_hours_two_weeks_and_days_a_hundred(Kind kind)
    {
        var (store, _) = Stores(kind);
        var start = Noon.AddDays(-120);

        // One attempt every six hours for 120 days, rolled up as the writer would have, day by day.
        for (var at = start; at <= Noon; at = at.AddHours(6))
        {
            await store.AddAsync([Minute(StatusResolution.MinuteOf(at), 1, 0, "", (TimeSpan.FromMilliseconds(50), 1))], [], default);
        }

        await store.RollUpAsync(start, Noon, 0.5, default);
        await store.AddAsync([], [
            new StatusIncident("old", "openai", "", "probe", "old", Noon.AddDays(-110), Noon.AddDays(-110).AddMinutes(5)),
            new StatusIncident("recent", "openai", "", "probe", "recent", Noon.AddDays(-5), Noon.AddDays(-5).AddMinutes(5)),
        ], default);
        await store.PruneAsync(Noon, default);

        var minutes = await store.ReadAsync(StatusResolution.Minute, start, default);
        var hours = await store.ReadAsync(StatusResolution.Hour, start, default);
        var days = await store.ReadAsync(StatusResolution.Day, start, default);
        Assert.Equal(NoonMinute - (48 * 60), minutes.Min(m => m.Start));
        Assert.Equal(9, minutes.Count);
        Assert.Equal(NoonMinute - (14 * 24 * 60), hours.Min(h => h.Start));
        Assert.Equal(StatusResolution.Floor(NoonMinute, StatusResolution.Day) - (100 * 1440), days.Min(d => d.Start));
        Assert.Equal(101, days.Count);
        Assert.All(days.SkipLast(1), d => Assert.Equal(4, d.Successes));
        Assert.Equal(["recent"], (await store.IncidentsAsync(start, 10, default)).Select(i => i.Id));
    }

    [SkippableTheory]
    [InlineData(Kind.Sqlite)]
    [InlineData(Kind.InMemory)]
    [InlineData(Kind.PostgreSql)]
    public async Task An_incident_is_saved_while_it_lasts_and_again_when_it_ends(Kind kind)
    {
        var (first, second) = Stores(kind);
        var open = new StatusIncident("b1", "openai", "gpt-<b>", "breaker", "Breaker of openai#0 opened", Noon, null);
        await first.AddAsync([], [open], default);
        var lasting = Assert.Single(await second.IncidentsAsync(Noon.AddDays(-1), 10, default));
        Assert.Null(lasting.EndedAt);
        Assert.Equal("gpt-<b>", lasting.Model);

        await first.AddAsync([], [open with { EndedAt = Noon.AddMinutes(3) }], default);
        var ended = Assert.Single(await second.IncidentsAsync(Noon.AddDays(-1), 10, default));
        Assert.Equal(Noon.AddMinutes(3), ended.EndedAt);
        Assert.Equal(TimeSpan.FromMinutes(3), ended.Duration(Noon.AddHours(5)));
    }

    [SkippableTheory]
    [InlineData(Kind.Sqlite)]
    [InlineData(Kind.InMemory)]
    [InlineData(Kind.PostgreSql)]
    public async Task An_incident_its_instance_stopped_seeing_is_ended_when_last_seen_and_a_seen_one_lasts(Kind kind)
    {
        var (first, second) = Stores(kind);
        var gone = new StatusIncident("gone", "openai", "", "probe", "Probes of openai failed", Noon, null) { SeenAt = Noon.AddMinutes(1) };
        var alive = new StatusIncident("alive", "anthropic", "", "breaker", "Breaker of anthropic opened", Noon, null) { SeenAt = Noon.AddMinutes(10) };
        await first.AddAsync([], [gone, alive], default);

        Assert.Equal(0, await second.EndAbandonedAsync(Noon.AddMinutes(1), default));
        Assert.Equal(1, await second.EndAbandonedAsync(Noon.AddMinutes(9), default));
        var incidents = (await first.IncidentsAsync(Noon.AddDays(-1), 10, default)).ToDictionary(i => i.Id);
        Assert.Equal(Noon.AddMinutes(1), incidents["gone"].EndedAt);
        Assert.Null(incidents["alive"].EndedAt);

        // Its instance, back (its store was down, not the instance), sees it again: it lasts again.
        await first.AddAsync([], [gone with { SeenAt = Noon.AddMinutes(12) }], default);
        Assert.Null((await second.IncidentsAsync(Noon.AddDays(-1), 10, default)).Single(i => i.Id == "gone").EndedAt);
    }
}
