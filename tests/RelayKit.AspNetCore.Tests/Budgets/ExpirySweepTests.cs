using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class ExpirySweepTests
{
    [Fact]
    public async Task A_reservation_the_store_cannot_release_does_not_stop_the_sweep_for_the_others()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new FailingStore(new InMemoryLedgerStore(), id => id == "poisoned");
        var log = new FakeLogger<BudgetLedger>();
        var ledger = new BudgetLedger(store, time, log);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        foreach (var id in new[] { "poisoned", "r1", "r2" })
        {
            Assert.True((await ledger.TryReserveAsync("alice", id, 1m, time.GetUtcNow().AddMinutes(1))).Granted);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        time.Advance(TimeSpan.FromMinutes(2));
        store.Failing = true;
        var released = await ledger.ReleaseExpiredAsync();

        Assert.Equal(2, released);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r1"))!.State);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r2"))!.State);
        Assert.Equal(1m, (await ledger.GetBalanceAsync("alice"))!.Reserved);

        // The operator is told which hold failed (an error: it stays held until a sweep releases it) and how many went.
        var failed = Assert.Single(log.Collector.GetSnapshot(), r => r.Level == LogLevel.Error);
        Assert.Equal((5006, "poisoned"), (failed.Id.Id, failed.GetStructuredStateValue("RequestId")));
        Assert.NotNull(failed.Exception);
        var expired = Assert.Single(log.Collector.GetSnapshot(), r => r.Id.Id == 5002);
        Assert.Equal((LogLevel.Information, "2"), (expired.Level, expired.GetStructuredStateValue("Count")));

        // A sweep that finds nothing to release says nothing.
        log.Collector.Clear();
        store.Failing = false;
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());
        Assert.Equal("1", Assert.Single(log.Collector.GetSnapshot()).GetStructuredStateValue("Count"));
        log.Collector.Clear();
        Assert.Equal(0, await ledger.ReleaseExpiredAsync());
        Assert.Empty(log.Collector.GetSnapshot());
    }

    [Fact]
    public async Task A_sweep_tries_each_failing_reservation_once_and_releases_all_the_others_past_a_full_batch()
    {
        // 60 unreadable holds expire first, then 90 good ones: every batch of 100 holds the 60 again.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new FailingStore(new InMemoryLedgerStore(), id => id.StartsWith("bad-", StringComparison.Ordinal));
        var ledger = new BudgetLedger(store, time, NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 1000m, "pay-1");
        var ids = Enumerable.Range(0, 60).Select(i => $"bad-{i:D2}").Concat(Enumerable.Range(0, 90).Select(i => $"ok-{i:D2}")).ToList();
        foreach (var id in ids)
        {
            Assert.True((await ledger.TryReserveAsync("alice", id, 2m, time.GetUtcNow().AddMinutes(1))).Granted);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        time.Advance(TimeSpan.FromMinutes(5));
        store.Failing = true;
        Assert.Equal(90, await ledger.ReleaseExpiredAsync());

        Assert.All(ids.Take(60), id => Assert.Equal(1, store.Attempts.GetValueOrDefault(id)));
        Assert.Equal(new BudgetBalance("alice", 1000m, 120m, 0m, false), await ledger.GetBalanceAsync("alice"));

        // The next sweep tries them anew, and once the store reads them they are released.
        store.Failing = false;
        Assert.Equal(60, await ledger.ReleaseExpiredAsync());
        Assert.Equal(new BudgetBalance("alice", 1000m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task A_full_batch_of_nothing_but_failures_ends_the_sweep_after_one_try_each()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new FailingStore(new InMemoryLedgerStore(), id => id.StartsWith("bad-", StringComparison.Ordinal));
        var ledger = new BudgetLedger(store, time, NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 1000m, "pay-1");
        foreach (var id in Enumerable.Range(0, 100).Select(i => $"bad-{i:D3}").Append("ok-last"))
        {
            Assert.True((await ledger.TryReserveAsync("alice", id, 1m, time.GetUtcNow().AddMinutes(1))).Granted);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        time.Advance(TimeSpan.FromMinutes(5));
        store.Failing = true;
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await ledger.ReleaseExpiredAsync(bounded.Token));

        // The batch was all failures: the sweep stopped rather than find them again and again. "ok-last" waits for the next.
        Assert.Equal(100, store.Attempts.Count);
        Assert.All(store.Attempts.Values, n => Assert.Equal(1, n));
        Assert.Equal(101m, (await ledger.GetBalanceAsync("alice"))!.Reserved);
    }

    [Fact]
    public async Task A_settle_that_lands_between_the_sweeps_listing_and_its_release_is_not_released_again()
    {
        // The sweep lists r1 and r2 as expired; before it reaches them, r1's late settle lands (another instance, or
        // the request that was only slow). The sweep's own unit must see r1 is no longer open and leave it.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new InterleavingStore(new InMemoryLedgerStore());
        var ledger = new BudgetLedger(store, time, NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 1m, time.GetUtcNow().AddMinutes(1))).Granted);
        Assert.True((await ledger.TryReserveAsync("alice", "r2", 2m, time.GetUtcNow().AddMinutes(1))).Granted);
        time.Advance(TimeSpan.FromMinutes(2));
        store.AfterListing = async () => Assert.Equal(SettlementStatus.Applied, (await ledger.SettleAsync("r1", 0.5m)).Status);

        Assert.Equal(1, await ledger.ReleaseExpiredAsync());

        Assert.Equal(ReservationState.Settled, (await ledger.GetReservationAsync("r1"))!.State);
        Assert.Equal(0.5m, (await ledger.GetReservationAsync("r1"))!.Charged);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r2"))!.State);
        Assert.Equal(new BudgetBalance("alice", 9.5m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var kinds = (await ledger.GetEntriesAsync("alice")).Select(e => (e.Kind, e.RequestId, e.Amount));
        Assert.DoesNotContain((BudgetEntryKind.Expiry, "r1", 1m), kinds);
        Assert.Contains((BudgetEntryKind.Expiry, "r2", 2m), kinds);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    /// <summary>A store that runs <see cref="AfterListing"/> once, after the sweep has listed the expired reservations.</summary>
    private sealed class InterleavingStore(ILedgerStore inner) : DelegatingLedgerStore(inner)
    {
        public Func<Task>? AfterListing { get; set; }

        public override async Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
        {
            var expired = await Inner.FindExpiredAsync(now, limit, cancellationToken);
            if (AfterListing is { } interleave)
            {
                AfterListing = null;
                await interleave();
            }

            return expired;
        }

    }

    /// <summary>A store whose session fails on some reservations, as an unreadable row would, and counts the failed reads.</summary>
    private sealed class FailingStore(ILedgerStore inner, Func<string, bool> poisoned) : DelegatingLedgerStore(inner)
    {
        public bool Failing { get; set; }

        public Dictionary<string, int> Attempts { get; } = [];

        private bool Fails(string requestId)
        {
            if (!Failing || !poisoned(requestId))
            {
                return false;
            }

            lock (Attempts)
            {
                Attempts[requestId] = Attempts.GetValueOrDefault(requestId) + 1;
            }

            return true;
        }

        public override Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken) =>
            Inner.RunAsync(session => work(new Session(session, this)), cancellationToken);

        private sealed class Session(ILedgerSession inner, FailingStore store) : DelegatingLedgerSession(inner)
        {
            public override ValueTask<BudgetReservation?> GetReservationAsync(string requestId) =>
                store.Fails(requestId)
                    ? throw new OverflowException("Value was either too large or too small for a Decimal.")
                    : base.GetReservationAsync(requestId);
        }
    }
}
