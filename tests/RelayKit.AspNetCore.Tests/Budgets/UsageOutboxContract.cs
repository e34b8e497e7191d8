using Microsoft.Extensions.Logging.Abstractions;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The usage outbox and late settles, on every ledger store (memory, SQLite, PostgreSQL): a settle commits its usage
/// record with its charge or neither, a settle that lands late (after its reservation expired and was swept, or after the
/// process that held its lease is gone) charges what the rules allow and records exactly that, and replays add nothing.
/// </summary>
public abstract partial class BudgetLedgerContract
{
    private static UsageRecord Record(string requestId, decimal cost = 999m) => new()
    {
        RequestId = requestId,
        Timestamp = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero),
        KeyName = "alice",
        RequestedModel = "gpt-5.5",
        Provider = "openai",
        InputTokens = 1200,
        OutputTokens = 340,
        Cost = cost,
        StatusCode = 200,
        Duration = TimeSpan.FromMilliseconds(812),

        // The outbox keeps the attempts as they were: the one that failed, then the one that answered.
        Attempts =
        [
            new UsageAttempt { Provider = "azure", UpstreamModel = "gpt55-prod", StatusCode = 503, Latency = TimeSpan.FromTicks(123_456_7) },
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", ErrorType = "upstream_timeout", Latency = TimeSpan.FromSeconds(30) },
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", StatusCode = 200, Latency = TimeSpan.FromMilliseconds(95) },
        ],
    };

    private static async Task<Dictionary<string, UsageRecord>> OutboxAsync(ILedgerStore store) =>
        (await store.ReadOutboxAsync(1000, CancellationToken.None)).ToDictionary(r => r.RequestId, r => UsageOutboxJson.DeserializeRecord(r.Record));

    [SkippableFact]
    public async Task A_settle_commits_its_usage_record_with_what_it_charged_and_a_replay_adds_neither()
    {
        var store = CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 0.5m, InFiveMinutes)).Granted);
        Assert.True((await ledger.TryReserveAsync("alice", "r2", 0.5m, InFiveMinutes)).Granted);

        // r1 reports more than it held: the ledger charges the hold, and the record says so, not the reported 0.8.
        var first = await ledger.SettleAsync(new SettleOrder("r1", 0.8m, null, Record("r1", 0.8m)));
        var released = await ledger.SettleAsync(new SettleOrder("r2", null, null, Record("r2", 0.3m)));
        Assert.Equal((SettlementStatus.Applied, 0.5m), (first.Status, first.Charged));
        Assert.Equal((SettlementStatus.Applied, 0m), (released.Status, released.Charged));

        var outbox = await OutboxAsync(store);
        Assert.Equal(0.5m, outbox["r1"].Cost);
        Assert.Equal(0m, outbox["r2"].Cost);
        Assert.Equal(Record("r1") with { Cost = 0.5m }, outbox["r1"]);

        // Replays (a retried settle, a spooled one landing after the first did) charge and record nothing more.
        var again = await ledger.SettleAsync(new SettleOrder("r1", 0.1m, null, Record("r1", 0.1m)));
        Assert.Equal((SettlementStatus.AlreadySettled, 0.5m), (again.Status, again.Charged));
        Assert.Equal(0.5m, (await OutboxAsync(store))["r1"].Cost);
        Assert.Single(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);

        // Drained: deleted from the outbox; a replay after that does not bring the record back.
        await store.RunAsync(async session =>
        {
            await session.DeleteOutboxAsync("r1");
            await session.DeleteOutboxAsync("r2");
            return true;
        }, CancellationToken.None);
        await ledger.SettleAsync(new SettleOrder("r1", 0.5m, null, Record("r1")));
        Assert.Empty(await store.ReadOutboxAsync(10, CancellationToken.None));
        Assert.Equal(9.5m, (await ledger.GetBalanceAsync("alice"))!.Balance);
    }

    [SkippableFact]
    public async Task Ends_that_charge_nothing_still_commit_their_usage_record_at_no_cost()
    {
        var store = CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "swept", 1m, InFiveMinutes)).Granted);
        Time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());

        // A settle and a release of requests the ledger never held, and a release after the sweep: no charge, each recorded.
        Assert.Equal(new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null), await ledger.SettleAsync(new SettleOrder("unknown-settle", 0.4m, null, Record("unknown-settle", 0.4m))));
        Assert.Equal(new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null), await ledger.SettleAsync(new SettleOrder("unknown-release", null, null, Record("unknown-release", 0.4m))));
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 10m), await ledger.SettleAsync(new SettleOrder("swept", null, null, Record("swept", 0.4m))));

        var outbox = await OutboxAsync(store);
        Assert.Equal(Record("unknown-settle") with { Cost = 0m }, outbox["unknown-settle"]);
        Assert.Equal(Record("unknown-release") with { Cost = 0m }, outbox["unknown-release"]);
        Assert.Equal(Record("swept") with { Cost = 0m }, outbox["swept"]);
        Assert.Equal(ReservationState.Released, (await ledger.GetReservationAsync("swept"))!.State);
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task A_settle_whose_usage_record_cannot_be_written_charges_nothing()
    {
        var store = CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes)).Granted);

        var failing = new BudgetLedger(new OutboxFailingStore(store), Time, NullLogger<BudgetLedger>.Instance);
        await Assert.ThrowsAsync<IOException>(() => failing.SettleAsync(new SettleOrder("r1", 0.25m, null, Record("r1"))));

        // Rolled back whole: the hold stands, nothing was charged, no record claims a charge.
        var reservation = (await ledger.GetReservationAsync("r1"))!;
        Assert.Equal((ReservationState.Open, (decimal?)null), (reservation.State, reservation.Charged));
        Assert.Equal((10m, 1m), ((await ledger.GetBalanceAsync("alice"))!.Balance, (await ledger.GetBalanceAsync("alice"))!.Reserved));
        Assert.DoesNotContain(await ledger.GetEntriesAsync("alice"), e => e.Kind is BudgetEntryKind.Charge or BudgetEntryKind.Release);
        Assert.Empty(await store.ReadOutboxAsync(10, CancellationToken.None));

        // The retry lands both.
        Assert.Equal(0.25m, (await ledger.SettleAsync(new SettleOrder("r1", 0.25m, null, Record("r1")))).Charged);
        Assert.Equal(0.25m, (await OutboxAsync(store))["r1"].Cost);
    }

    [SkippableFact]
    public async Task A_settle_landing_after_its_reservation_expired_and_was_swept_charges_only_what_is_available_then()
    {
        var store = CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 2m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "late", 1.5m, InFiveMinutes)).Granted);
        Time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());

        // Meanwhile another request holds most of the balance back: 0.3 is all that is available.
        Assert.True((await ledger.TryReserveAsync("alice", "other", 1.7m, InFiveMinutes)).Granted);

        var landed = await ledger.SettleAsync(new SettleOrder("late", 1.2m, null, Record("late", 1.2m)));
        Assert.Equal((SettlementStatus.Applied, 0.3m, 0.9m), (landed.Status, landed.Charged, landed.Uncharged));
        Assert.Equal(0.3m, (await OutboxAsync(store))["late"].Cost);
        var balance = (await ledger.GetBalanceAsync("alice"))!;
        Assert.Equal((1.7m, 1.7m, 0m), (balance.Balance, balance.Reserved, balance.Available));
    }

    [SkippableFact]
    public async Task A_request_held_out_of_a_lease_settles_from_its_kept_facts_after_the_leasing_process_is_gone()
    {
        var store = CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        var leased = new LeasedBudgetLedger(ledger, Time, 4, NullLogger<LeasedBudgetLedger>.Instance);
        Assert.True((await leased.TryReserveAsync("alice", "c1", 0.5m, InFiveMinutes)).Granted);
        Assert.True((await leased.TryReserveAsync("alice", "c2", 0.5m, InFiveMinutes)).Granted);
        var carve = leased.FindCarve("c1")!;
        Assert.Equal(("alice", 0.5m), (carve.KeyId, carve.Held));
        Assert.Null(await ledger.GetReservationAsync("c1")); // held in memory only

        // The process dies (its leases' in-memory state is gone); a new one, over the same storage, lands the kept order.
        var restarted = NewLedger(CreateStore());
        var landed = await restarted.SettleAsync(new SettleOrder("c1", 0.2m, carve, Record("c1")));
        Assert.Equal((SettlementStatus.Applied, 0.2m), (landed.Status, landed.Charged));
        var reservation = (await restarted.GetReservationAsync("c1"))!;
        Assert.Equal((ReservationState.Settled, (decimal?)0.2m, 0.5m), (reservation.State, reservation.Charged, reservation.Amount));
        Assert.Equal(0.2m, (await OutboxAsync(store))["c1"].Cost);

        // Its hold left the lease, which still holds the rest (c2's and the unused) until it expires.
        var lease = (await restarted.GetReservationAsync(carve.LeaseId))!;
        Assert.Equal(1.5m, lease.Amount);
        Assert.Equal((9.8m, 1.5m), ((await restarted.GetBalanceAsync("alice"))!.Balance, (await restarted.GetBalanceAsync("alice"))!.Reserved));

        // Landing it again charges nothing more; after the lease expired, the other request's late settle takes what is available.
        Assert.Equal(SettlementStatus.AlreadySettled, (await restarted.SettleAsync(new SettleOrder("c1", 0.2m, carve, Record("c1")))).Status);
        Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await restarted.ReleaseExpiredAsync());
        var other = await restarted.SettleAsync(new SettleOrder("c2", 0.4m, leased.FindCarve("c2")!, Record("c2")));
        Assert.Equal(0.4m, other.Charged);
        Assert.Equal(0.4m, (await OutboxAsync(store))["c2"].Cost);
        var after = (await restarted.GetBalanceAsync("alice"))!;
        Assert.Equal((9.4m, 0m), (after.Balance, after.Reserved));
    }

    /// <summary>A store whose every outbox write fails (a full disk), inside the settle's unit.</summary>
    private sealed class OutboxFailingStore(ILedgerStore inner) : DelegatingLedgerStore(inner)
    {
        public override Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken) =>
            Inner.RunAsync(session => work(new Session(session)), cancellationToken);

        private sealed class Session(ILedgerSession inner) : DelegatingLedgerSession(inner)
        {
            public override ValueTask WriteOutboxAsync(string requestId, string record) => throw new IOException("disk I/O error");
        }
    }
}
