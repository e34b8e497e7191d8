using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Tests.Usage;

public sealed class UsageWriterServiceTests
{
    private static IHost BuildHost(Action<UsageOptions> configure, IUsageStore? store = null, TimeProvider? time = null, Action<IServiceCollection>? before = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddFakeLogging();
        before?.Invoke(builder.Services);
        if (store is not null)
        {
            builder.Services.AddSingleton(store);
        }

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddRelayUsage(configure);
        return builder.Build();
    }

    [Fact]
    public async Task A_graceful_stop_stores_every_queued_record_in_SQLite()
    {
        var path = Path.Combine(Path.GetTempPath(), "relaykit-usage-tests", Guid.NewGuid().ToString("N"), "usage.db");
        using var host = BuildHost(o => { o.SqlitePath = path; o.BatchSize = 64; });
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();

        for (var i = 0; i < 1000; i++)
        {
            await recorder.RecordAsync(UsageRecords.Make($"r{i:D4}", UsageRecords.Day1.AddSeconds(i)));
        }

        await host.StopAsync();

        var reopened = new SqliteUsageStore(path);
        var count = 0;
        await foreach (var _ in reopened.ReadAsync(UsageFilter.All, CancellationToken.None))
        {
            count++;
        }

        Assert.Equal(1000, count);
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public async Task Records_of_requests_that_finish_while_the_server_drains_are_stored()
    {
        var store = new InMemoryUsageStore();

        // Registered before the usage services, so the host stops it after the writer's StopAsync,
        // the way it stops the web server that drains in-flight requests.
        using var host = BuildHost(o => o.Store = UsageStoreKind.InMemory, store, before: s => s.AddHostedService<LateRequest>());
        await host.StartAsync();
        await host.StopAsync();

        var stored = Assert.Single((await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        Assert.Equal("late", stored.RequestId);
    }

    [Theory]
    [InlineData(UsageQueueFullMode.DropNewest, new[] { "r1", "r2", "r3" })]
    [InlineData(UsageQueueFullMode.DropOldest, new[] { "r1", "r3", "r4" })]
    public async Task A_full_queue_drops_by_policy_and_reports_it(UsageQueueFullMode mode, string[] expected)
    {
        var store = new GatedUsageStore();
        using var host = BuildHost(o => { o.QueueCapacity = 2; o.WhenQueueFull = mode; }, store);
        using var dropped = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "RelayKit", "relaykit.usage.dropped");
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();

        await recorder.RecordAsync(UsageRecords.Make("r1"));
        await store.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var pending = new[] { "r2", "r3", "r4" }.Select(id => recorder.RecordAsync(UsageRecords.Make(id))).ToList();

        Assert.All(pending, p => Assert.True(p.IsCompleted, "a drop policy must never make the request wait"));
        store.Open();
        await host.StopAsync();

        Assert.Equal(expected, await store.StoredIdsAsync());
        Assert.Equal(1, dropped.GetMeasurementSnapshot().Sum(m => m.Value));
        var warning = Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Name == "UsageRecordsDropped");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("1", warning.GetStructuredStateValue("Count"));
    }

    [Fact]
    public async Task The_wait_policy_holds_the_request_until_there_is_room_and_loses_nothing()
    {
        var store = new GatedUsageStore();
        using var host = BuildHost(o => { o.QueueCapacity = 1; o.WhenQueueFull = UsageQueueFullMode.Wait; }, store);
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();

        await recorder.RecordAsync(UsageRecords.Make("r1"));
        await store.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await recorder.RecordAsync(UsageRecords.Make("r2"));
        var third = recorder.RecordAsync(UsageRecords.Make("r3")).AsTask();

        Assert.False(third.IsCompleted);
        store.Open();
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        Assert.Equal(["r1", "r2", "r3"], await store.StoredIdsAsync());
    }

    [Fact]
    public async Task A_failing_store_is_retried_with_backoff_and_the_batch_lands()
    {
        var time = new FakeTimeProvider(UsageRecords.Day1);
        var store = new GatedUsageStore(open: true, failFirst: 2);
        using var host = BuildHost(o => o.Store = UsageStoreKind.InMemory, store, time);
        await host.StartAsync();

        await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(UsageRecords.Make("r1"));

        Assert.Equal(1, await store.Failures.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => store.Attempts >= 2);
        Assert.Equal(2, await store.Failures.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(await store.StoredIdsAsync());
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(2), () => store.Attempts >= 3);
        await host.StopAsync();

        Assert.Equal(["r1"], await store.StoredIdsAsync());
        Assert.Equal(2, host.Services.GetFakeLogCollector().GetSnapshot().Count(r => r.Id.Name == "UsageStoreWriteFailed"));
    }

    [Fact]
    public async Task One_record_the_store_refuses_is_dropped_alone_and_never_blocks_the_others()
    {
        var store = new RefusingStore("poison");
        using var host = BuildHost(o => { o.Store = UsageStoreKind.InMemory; o.WhenQueueFull = UsageQueueFullMode.Wait; }, store);
        using var dropped = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "RelayKit", "relaykit.usage.dropped");

        // Queued before the writer starts, so they go to the store as one batch.
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        foreach (var id in new[] { "r1", "r2", "poison", "r3", "r4" })
        {
            await recorder.RecordAsync(UsageRecords.Make(id));
        }

        await host.StartAsync();
        await store.Stored.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        Assert.Equal(["r1", "r2", "r3", "r4"], (await store.Inner.QueryAsync(UsageFilter.All, 0, 100, CancellationToken.None)).Records.Select(r => r.RequestId).Order(StringComparer.Ordinal));
        Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Name == "UsageRecordRejected");
        Assert.Equal(1, dropped.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task A_record_that_failed_for_a_passing_reason_is_retried_not_dropped_with_the_refused_one()
    {
        // After a store restart, a dead pooled connection fails one append while fresh ones take the others: that record
        // is tried again; only the record refused for what it is gets dropped.
        var store = new RefusingStore("poison", flaky: "flaky", flakyFailures: 2, storedAt: 4);
        using var host = BuildHost(o => { o.Store = UsageStoreKind.InMemory; o.WhenQueueFull = UsageQueueFullMode.Wait; }, store);
        using var dropped = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "RelayKit", "relaykit.usage.dropped");
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        foreach (var id in new[] { "r1", "flaky", "poison", "r3", "r4" })
        {
            await recorder.RecordAsync(UsageRecords.Make(id));
        }

        await host.StartAsync();
        await store.Stored.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await host.StopAsync();

        Assert.Equal(["flaky", "r1", "r3", "r4"], (await store.Inner.QueryAsync(UsageFilter.All, 0, 100, CancellationToken.None)).Records.Select(r => r.RequestId).Order(StringComparer.Ordinal));
        Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Name == "UsageRecordRejected");
        Assert.Equal(1, dropped.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    /// <summary>
    /// An in-memory store that refuses any batch holding the named record, as a database refuses a value out of range,
    /// and fails <paramref name="flakyFailures"/> times on any batch holding <paramref name="flaky"/>, as a dead pooled
    /// connection does.
    /// </summary>
    private sealed class RefusingStore(string refused, string? flaky = null, int flakyFailures = 0, int storedAt = 4) : IUsageStore
    {
        private int _flakyFailures = flakyFailures;

        public InMemoryUsageStore Inner { get; } = new();

        /// <summary>Completes once the store has taken <c>storedAt</c> records.</summary>
        public TaskCompletionSource Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
        {
            if (records.Any(r => r.RequestId == refused))
            {
                throw new OverflowException("numeric field overflow");
            }

            if (flaky is not null && records.Any(r => r.RequestId == flaky) && Interlocked.Decrement(ref _flakyFailures) >= 0)
            {
                throw new TimeoutException("The connection was closed by the server.");
            }

            await Inner.AppendAsync(records, cancellationToken);
            if ((await Inner.QueryAsync(UsageFilter.All, 0, 100, cancellationToken)).Records.Count >= storedAt)
            {
                Stored.TrySetResult();
            }
        }

        public Task PingAsync(CancellationToken cancellationToken) => Inner.PingAsync(cancellationToken);

        public Task<UsagePage> QueryAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken) =>
            Inner.QueryAsync(filter, offset, limit, cancellationToken);

        public Task<IReadOnlyList<UsageDailyTotal>> GetDailyTotalsAsync(UsageFilter filter, CancellationToken cancellationToken) =>
            Inner.GetDailyTotalsAsync(filter, cancellationToken);

        public IAsyncEnumerable<UsageRecord> ReadAsync(UsageFilter filter, CancellationToken cancellationToken) =>
            Inner.ReadAsync(filter, cancellationToken);
    }

    [Theory]
    [InlineData(UsageQueueFullMode.Wait, true)]
    [InlineData(UsageQueueFullMode.DropNewest, false)]
    public async Task A_store_down_past_five_attempts_loses_the_batch_unless_the_policy_is_wait(UsageQueueFullMode mode, bool stored)
    {
        var time = new FakeTimeProvider(UsageRecords.Day1);
        var store = new GatedUsageStore(open: true, failFirst: 8);
        using var host = BuildHost(o => { o.Store = UsageStoreKind.InMemory; o.WhenQueueFull = mode; }, store, time);
        await host.StartAsync();

        await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(UsageRecords.Make("r1"));

        // The backoff doubles up to 30 s between attempts; under Wait the ninth attempt finds the store back.
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(30), () => store.Attempts >= (stored ? 9 : 5));
        if (!stored)
        {
            await AdvanceUntilAsync(time, TimeSpan.FromSeconds(30), () =>
                host.Services.GetFakeLogCollector().GetSnapshot().Any(r => r.Id.Name == "UsageRecordsLost"));
        }

        await host.StopAsync();
        Assert.Equal(stored ? ["r1"] : [], await store.StoredIdsAsync());
        Assert.Equal(stored ? 9 : 5, store.Attempts);
    }

    [Fact]
    public async Task Records_that_arrive_within_the_flush_interval_are_written_in_one_batch()
    {
        var store = new GatedUsageStore(open: true);
        using var host = BuildHost(o => { o.Store = UsageStoreKind.InMemory; o.FlushInterval = TimeSpan.FromMilliseconds(500); }, store);
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();

        for (var i = 0; i < 5; i++)
        {
            await recorder.RecordAsync(UsageRecords.Make($"r{i}"));
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await store.StoredIdsAsync()).Length < 5)
        {
            Assert.True(DateTime.UtcNow < deadline, "the records were not written");
            await Task.Delay(20);
        }

        Assert.Equal(1, store.Attempts);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_graceful_stop_writes_at_once_rather_than_wait_out_the_flush_interval()
    {
        var store = new GatedUsageStore(open: true);
        using var host = BuildHost(o => { o.Store = UsageStoreKind.InMemory; o.FlushInterval = TimeSpan.FromSeconds(10); }, store);
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        await recorder.RecordAsync(UsageRecords.Make("r1"));
        await recorder.RecordAsync(UsageRecords.Make("r2"));

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync();

        Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(["r1", "r2"], await store.StoredIdsAsync());
    }

    /// <summary>Advances fake time by the backoff once the writer is waiting on it (its timer exists only after the failure is handled).</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider time, TimeSpan step, Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "the writer did not retry");
            time.Advance(step);
            await Task.Yield();
            await Task.Delay(5);
        }
    }

    private sealed class LateRequest(UsageRecorder recorder) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) =>
            recorder.RecordAsync(UsageRecords.Make("late"), cancellationToken).AsTask();
    }
}
