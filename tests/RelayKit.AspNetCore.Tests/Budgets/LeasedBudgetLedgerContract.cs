using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// Reservation leases (<see cref="LeasedBudgetLedger"/>) keep every money rule of the ledger under them: never a hold
/// past the balance, refusals exactly when short (within one instance), every request charged at most its hold and
/// recorded as if it had reserved alone, nothing lost to a crash or a failed write. Run on each store.
/// </summary>
public abstract class LeasedBudgetLedgerContract : IAsyncLifetime
{
    private readonly List<object> _disposables = [];

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>What the ledgers under the leases logged.</summary>
    private FakeLogger<BudgetLedger> LedgerLog { get; } = new();

    /// <summary>What the lease ledgers logged.</summary>
    private FakeLogger<LeasedBudgetLedger> LeaseLog { get; } = new();

    private DateTimeOffset InFiveMinutes => Time.GetUtcNow().AddMinutes(5);

    /// <summary>A new store instance over this test's storage (twice: a second relay instance, or a restart).</summary>
    internal abstract ILedgerStore CreateStore();

    /// <summary>The ledger under the leases, over its own store instance.</summary>
    internal BudgetLedger NewLedger(ILedgerStore? store = null)
    {
        store ??= CreateStore();
        _disposables.Add(store);
        return new BudgetLedger(store, Time, LedgerLog);
    }

    internal LeasedBudgetLedger NewLeased(BudgetLedger ledger, int leaseRequests = 4)
    {
        var leased = new LeasedBudgetLedger(ledger, Time, leaseRequests, LeaseLog);
        _disposables.Insert(0, leased);
        return leased;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        // Leases first (they write to their stores as they go), then the stores.
        foreach (var disposable in _disposables.Distinct())
        {
            switch (disposable)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable plain:
                    plain.Dispose();
                    break;
            }
        }
    }

    [SkippableFact]
    public async Task Requests_after_the_lease_write_nothing_until_they_settle_and_read_as_if_reserved_alone()
    {
        var (ledger, leased) = await FundedAsync(100m, leaseRequests: 8);

        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(ReservationStatus.Granted, (await leased.TryReserveAsync("alice", $"r{i}", 1m, InFiveMinutes)).Status);
        }

        // One store write for four requests: the lease.
        var entries = await ledger.GetEntriesAsync("alice");
        Assert.Equal([BudgetEntryKind.TopUp, BudgetEntryKind.Reservation], entries.Select(e => e.Kind));
        var firstLease = entries[1];
        Assert.StartsWith("lease_", firstLease.RequestId, StringComparison.Ordinal);
        Assert.Equal(8m, firstLease.Amount);
        var inFlight = await leased.GetReservationAsync("r2");
        Assert.Equal(new BudgetReservation("r2", "alice", 1m, ReservationState.Open, null, null, Time.GetUtcNow(), InFiveMinutes), inFlight);
        Assert.Null(await ledger.GetReservationAsync("r2"));
        Assert.Equal(4m, (await leased.GetBalanceAsync("alice"))!.Reserved);

        // The fifth does not fit what is left of the lease: a second one is taken, of eight times its worst case.
        Assert.True((await leased.TryReserveAsync("alice", "r5", 5m, InFiveMinutes)).Granted);
        Assert.Equal([8m, 40m], (await ledger.GetEntriesAsync("alice")).Where(e => e.Kind == BudgetEntryKind.Reservation).Select(e => e.Amount));
        Assert.Equal(9m, (await leased.GetBalanceAsync("alice"))!.Reserved);
        Assert.Equal(48m, (await ledger.GetBalanceAsync("alice"))!.Reserved);

        var settled = await leased.SettleAsync("r1", 0.25m);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0.25m, 0m, 99.75m), settled);
        var r1 = (await ledger.GetEntriesAsync("alice")).Where(e => e.RequestId == "r1").Select(e => (e.Kind, e.Amount, e.ReportedCost));
        Assert.Equal([(BudgetEntryKind.Reservation, 1m, null), (BudgetEntryKind.Release, 1m, null), (BudgetEntryKind.Charge, 0.25m, 0.25m)], r1);
        var stored = await ledger.GetReservationAsync("r1");
        Assert.Equal(ReservationState.Settled, stored!.State);
        Assert.Equal(0.25m, stored.Charged);
        Assert.Equal(1m, stored.Amount);
        Assert.Equal(ReservationState.Settled, (await leased.GetReservationAsync("r1"))!.State);

        // Above the hold: capped at it, the excess recorded; a release charges nothing.
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 1m, 2m, 98.75m), await leased.SettleAsync("r2", 3m));
        var capped = Assert.Single(LedgerLog.Collector.GetSnapshot());
        Assert.Equal((5001, "r2", 1m, 3m), (capped.Id.Id, capped.GetStructuredStateValue("RequestId"), BudgetLedgerContract.Money(capped.GetStructuredStateValue("Charged")), BudgetLedgerContract.Money(capped.GetStructuredStateValue("ReportedCost"))));
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 98.75m), await leased.ReleaseAsync("r3"));
        Assert.Equal(ReservationState.Released, (await ledger.GetReservationAsync("r3"))!.State);

        Assert.Equal(6m, (await leased.GetBalanceAsync("alice"))!.Reserved);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_lease_a_quarter_full_is_renewed_ahead_so_requests_never_wait_for_a_store_write()
    {
        var (ledger, leased) = await FundedAsync(100m, leaseRequests: 4);
        async Task<int> LeasesAsync() => (await ledger.GetEntriesAsync("alice")).Count(e => e.Kind == BudgetEntryKind.Reservation);

        // Three of four taken: a quarter left, so the next block is taken in the background.
        for (var i = 1; i <= 3; i++)
        {
            Assert.True((await leased.TryReserveAsync("alice", $"r{i}", 1m, InFiveMinutes)).Granted);
        }

        await UntilAsync(async () => await LeasesAsync() == 2);

        // The requests after it carve from the new block; the old one's last quarter is no longer used.
        for (var i = 4; i <= 6; i++)
        {
            Assert.True((await leased.TryReserveAsync("alice", $"r{i}", 1m, InFiveMinutes)).Granted);
        }

        await UntilAsync(async () => await LeasesAsync() == 3);
        Assert.Equal(6m, (await leased.GetBalanceAsync("alice"))!.Reserved);
        Assert.Equal(12m, (await ledger.GetBalanceAsync("alice"))!.Reserved);

        // Once the old blocks' requests end, the old blocks go back whole.
        for (var i = 1; i <= 6; i++)
        {
            await leased.SettleAsync($"r{i}", 0.5m);
        }

        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 4m);
        Assert.Equal(97m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        await leased.DisposeAsync();
        Assert.Equal(0m, (await ledger.GetBalanceAsync("alice"))!.Reserved);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Many_requests_at_once_never_hold_past_the_balance_are_refused_only_when_short_and_add_up()
    {
        var ledger = NewLedger();
        var leased = NewLeased(ledger, leaseRequests: 8);
        const decimal budget = 50m;
        await ledger.TopUpAsync("alice", budget, "pay-1");
        var random = new Random(20261202);
        var amounts = Enumerable.Range(0, 300).Select(_ => random.Next(1, 200) / 100m).ToArray();

        var results = await Task.WhenAll(amounts.Select((amount, i) => Task.Run(() => leased.TryReserveAsync("alice", $"r{i}", amount, InFiveMinutes))));

        var granted = Enumerable.Range(0, amounts.Length).Where(i => results[i].Granted).ToList();
        var held = granted.Sum(i => amounts[i]);
        Assert.True(held <= budget, $"held {held} of {budget}");
        Assert.True(granted.Count > 10, $"only {granted.Count} granted");
        foreach (var i in Enumerable.Range(0, amounts.Length).Where(i => !results[i].Granted))
        {
            Assert.Equal(ReservationStatus.InsufficientBalance, results[i].Status);

            // Holds only grew while these ran, so each refusal saw at most what is free now: it did not fit.
            Assert.True(amounts[i] > budget - held, $"{amounts[i]} was refused with {budget - held} free at the end");
        }

        var store = (await ledger.GetBalanceAsync("alice"))!;
        Assert.True(store.Reserved >= held && store.Reserved <= budget, $"store holds {store.Reserved}");

        // Settle all at once: some above their hold, some released, some settled twice.
        var costs = granted.ToDictionary(i => i, _ => random.Next(0, 4) == 0 ? (decimal?)null : random.Next(0, 300) / 100m);
        var settles = granted.Select(i => Task.Run(() => costs[i] is { } cost ? leased.SettleAsync($"r{i}", cost) : leased.ReleaseAsync($"r{i}")))
            .Concat(granted.Take(20).Select(i => Task.Run(() => costs[i] is { } cost ? leased.SettleAsync($"r{i}", cost) : leased.ReleaseAsync($"r{i}"))))
            .ToList();
        await Task.WhenAll(settles);

        var charged = 0m;
        foreach (var i in granted)
        {
            var reservation = (await ledger.GetReservationAsync($"r{i}"))!;
            var expected = Math.Min(costs[i] ?? 0m, amounts[i]);
            Assert.Equal(expected, reservation.Charged);
            Assert.Equal(costs[i] is null ? ReservationState.Released : ReservationState.Settled, reservation.State);
            charged += expected;
        }

        Assert.Equal(granted.Count(i => costs[i] is not null), (await ledger.GetEntriesAsync("alice", 0, 10_000)).Count(e => e.Kind == BudgetEntryKind.Charge));
        await leased.DisposeAsync();
        var after = (await ledger.GetBalanceAsync("alice"))!;
        Assert.Equal(budget - charged, after.Balance);
        Assert.Equal(0m, after.Reserved);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Two_instances_on_one_store_never_hold_past_the_balance_together()
    {
        var first = NewLedger();
        var second = NewLedger();
        var leases = new[] { NewLeased(first, 8), NewLeased(second, 8) };
        await first.TopUpAsync("alice", 20m, "pay-1");

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => leases[i % 2].TryReserveAsync("alice", $"r{i}", 0.5m, InFiveMinutes))));
        var granted = Enumerable.Range(0, 200).Where(i => results[i].Granted).ToList();
        Assert.True(granted.Count * 0.5m <= 20m, $"{granted.Count} granted");
        Assert.NotEmpty(granted);

        await Task.WhenAll(granted.Select(i => Task.Run(() => leases[i % 2].SettleAsync($"r{i}", 0.4m))));
        foreach (var leased in leases)
        {
            await leased.DisposeAsync();
        }

        var after = (await second.GetBalanceAsync("alice"))!;
        Assert.Equal(20m - (granted.Count * 0.4m), after.Balance);
        Assert.Equal(0m, after.Reserved);
        await BudgetLedgerContract.AssertConsistentAsync(second, "alice");
    }

    [SkippableFact]
    public async Task Short_of_a_lease_the_request_reserves_alone_and_is_refused_exactly_as_without_leases()
    {
        var (ledger, leased) = await FundedAsync(1m, leaseRequests: 32);

        // 32 × 0.4 is not there: the lease takes what is (1), the third request no longer fits it.
        Assert.True((await leased.TryReserveAsync("alice", "r1", 0.4m, InFiveMinutes)).Granted);
        var lease = (await ledger.GetEntriesAsync("alice"))[^1];
        Assert.StartsWith("lease_", lease.RequestId, StringComparison.Ordinal);
        Assert.Equal(1m, lease.Amount);
        Assert.True((await leased.TryReserveAsync("alice", "r2", 0.4m, InFiveMinutes)).Granted);
        var refused = await leased.TryReserveAsync("alice", "r3", 0.4m, InFiveMinutes);
        Assert.Equal(new ReservationResult(ReservationStatus.InsufficientBalance, 0.2m), refused);
        Assert.Null(await leased.GetReservationAsync("r3"));

        await leased.SettleAsync("r1", 0.4m);
        Assert.Equal(ReservationStatus.InsufficientBalance, (await leased.TryReserveAsync("alice", "r4", 0.4m, InFiveMinutes)).Status);
        await leased.ReleaseAsync("r2");

        // 0.6 left is less than two requests' worth: this one reserves on its own, as without leases.
        var alone = await leased.TryReserveAsync("alice", "r5", 0.4m, InFiveMinutes);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0.2m), alone);
        Assert.Equal(ReservationState.Open, (await ledger.GetReservationAsync("r5"))!.State);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0.1m, 0m, 0.5m), await leased.SettleAsync("r5", 0.1m));
        Assert.Equal(ReservationStatus.AccountNotFound, (await leased.TryReserveAsync("bob", "r6", 0.4m, InFiveMinutes)).Status);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Short_of_a_lease_by_exactly_two_requests_worth_the_lease_takes_all_that_is_left()
    {
        var (ledger, leased) = await FundedAsync(0.8m, leaseRequests: 32);

        // 0.8 is two requests' worth, the least a lease is worth taking: the lease holds all of it, the requests carve it.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0.4m), await leased.TryReserveAsync("alice", "r1", 0.4m, InFiveMinutes));
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0m), await leased.TryReserveAsync("alice", "r2", 0.4m, InFiveMinutes));
        var entries = await ledger.GetEntriesAsync("alice");
        Assert.Equal([BudgetEntryKind.TopUp, BudgetEntryKind.Reservation], entries.Select(e => e.Kind));
        Assert.StartsWith("lease_", entries[1].RequestId, StringComparison.Ordinal);
        Assert.Equal(0.8m, entries[1].Amount);
        Assert.Null(await ledger.GetReservationAsync("r1"));
        Assert.Equal(0.8m, (await leased.GetBalanceAsync("alice"))!.Reserved);
    }

    [SkippableFact]
    public async Task A_crash_leaves_the_lease_to_expire_charging_nothing_and_a_late_settle_takes_only_what_is_available()
    {
        var (ledger, crashed) = await FundedAsync(10m, leaseRequests: 4);
        Assert.True((await crashed.TryReserveAsync("alice", "r1", 1m, InFiveMinutes)).Granted);
        Assert.True((await crashed.TryReserveAsync("alice", "r2", 1m, InFiveMinutes)).Granted);

        // The next start, on the same storage: the lease is held until the last request it may hold expires.
        var restarted = NewLedger();
        Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await restarted.ReleaseExpiredAsync());
        Assert.Equal(4m, (await restarted.GetBalanceAsync("alice"))!.Reserved);
        Time.Advance(LeasedBudgetLedger.LeaseWindow);
        Assert.Equal(1, await restarted.ReleaseExpiredAsync());
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await restarted.GetBalanceAsync("alice"));
        Assert.Null(await restarted.GetReservationAsync("r1"));

        // The instance was only stalled and settles now: its hold is gone, so it takes what is available.
        Assert.True((await restarted.TryReserveAsync("alice", "other", 9.5m, Time.GetUtcNow().AddMinutes(5))).Granted);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0.5m, 0.5m, 9.5m), await crashed.SettleAsync("r1", 1m));
        var r1 = (await restarted.GetReservationAsync("r1"))!;
        Assert.Equal((ReservationState.Settled, 1m, 0.5m, 1m), (r1.State, r1.Amount, r1.Charged, r1.ReportedCost));

        // A release on the expired lease writes no entry at all (nothing held, nothing charged), only r2's record.
        var entries = (await restarted.GetEntriesAsync("alice")).Count;
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 9.5m), await crashed.ReleaseAsync("r2"));
        var r2 = (await restarted.GetReservationAsync("r2"))!;
        Assert.Equal((ReservationState.Released, 1m, 0m, 0m), (r2.State, r2.Amount, r2.Charged, r2.ReportedCost));
        Assert.Equal(entries, (await restarted.GetEntriesAsync("alice")).Count);
        Assert.Equal(new BudgetBalance("alice", 9.5m, 9.5m, 0m, false), await restarted.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(restarted, "alice");
    }

    [SkippableFact]
    public async Task A_carved_settle_naming_a_missing_lease_or_another_keys_lease_is_refused_and_moves_no_money()
    {
        var (ledger, leased) = await FundedAsync(10m);
        await ledger.TopUpAsync("bob", 10m, "pay-2");
        Assert.True((await leased.TryReserveAsync("bob", "b1", 1m, InFiveMinutes)).Granted);
        var bobsLease = (await ledger.GetEntriesAsync("bob")).Single(e => e.Kind == BudgetEntryKind.Reservation).RequestId!;
        var alice = await ledger.GetBalanceAsync("alice");
        var bob = await ledger.GetBalanceAsync("bob");

        // A settle order whose carve facts are wrong (a corrupt spool file): the store is not what it says, so nothing moves.
        var now = Time.GetUtcNow();
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.SettleAsync(new SettleOrder("r1", 1m, new CarvedHold("lease_missing", "alice", 1m, now, InFiveMinutes), null)));
        Assert.Contains("lease_missing", missing.Message, StringComparison.Ordinal); // the operator is told which lease
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.SettleAsync(new SettleOrder("r1", 1m, new CarvedHold(bobsLease, "alice", 1m, now, InFiveMinutes), null)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.SettleAsync(new SettleOrder("r1", 1m, new CarvedHold(bobsLease, "carol", 1m, now, InFiveMinutes), null)));

        // A carve larger than all its lease holds (bob's lease is 4) would take money no hold covers.
        var larger = await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.SettleAsync(new SettleOrder("b2", 1m, new CarvedHold(bobsLease, "bob", 5m, now, InFiveMinutes), null)));
        Assert.Contains(bobsLease, larger.Message, StringComparison.Ordinal);
        Assert.Null(await ledger.GetReservationAsync("b2"));

        Assert.Null(await ledger.GetReservationAsync("r1"));
        Assert.Equal(alice, await ledger.GetBalanceAsync("alice"));
        Assert.Equal(bob, await ledger.GetBalanceAsync("bob"));
        Assert.Equal(4m, (await ledger.GetBalanceAsync("bob"))!.Reserved);
    }

    [SkippableFact]
    public async Task An_idle_lease_is_given_back_and_a_stale_one_is_given_back_after_its_last_request()
    {
        var (ledger, leased) = await FundedAsync(10m, leaseRequests: 4);
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.SettleAsync("r1", 1m);
        Assert.Equal(3m, (await ledger.GetBalanceAsync("alice"))!.Reserved);

        // One tick finds it used since the last, the next finds it idle.
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 0m);

        // A lease takes requests for one window; the next request after it takes a new one, and the old one goes back
        // when its last request ends.
        await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);
        Time.Advance(LeasedBudgetLedger.LeaseWindow / 2);
        await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes);
        Time.Advance(LeasedBudgetLedger.LeaseWindow);
        await leased.TryReserveAsync("alice", "r4", 1m, InFiveMinutes);
        Assert.Equal(3, (await ledger.GetEntriesAsync("alice")).Count(e => e.Kind == BudgetEntryKind.Reservation && e.RequestId!.StartsWith("lease_", StringComparison.Ordinal)));
        await leased.SettleAsync("r2", 0.5m);
        await leased.SettleAsync("r3", 0.5m);
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 4m);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Settling_twice_at_once_charges_once()
    {
        var (ledger, leased) = await FundedAsync(10m);
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);

        var both = await Task.WhenAll(Task.Run(() => leased.SettleAsync("r1", 0.5m)), Task.Run(() => leased.SettleAsync("r1", 0.5m)));

        Assert.Equal([SettlementStatus.Applied, SettlementStatus.AlreadySettled], both.Select(r => r.Status).Order());
        Assert.All(both, r => Assert.Equal(0.5m, r.Charged));
        Assert.Equal(SettlementStatus.AlreadySettled, (await leased.SettleAsync("r1", 0.5m)).Status);
        Assert.Equal(SettlementStatus.AlreadySettled, (await leased.ReleaseAsync("r1")).Status);
        Assert.Single(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(9.5m, (await ledger.GetBalanceAsync("alice"))!.Balance);
    }

    [SkippableFact]
    public async Task A_settle_whose_write_failed_keeps_the_hold_and_can_run_again()
    {
        var store = new FailingStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);

        store.FailNext = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => leased.SettleAsync("r1", 0.5m));
        Assert.Equal(ReservationState.Open, (await leased.GetReservationAsync("r1"))!.State);
        Assert.Equal(10m, (await ledger.GetBalanceAsync("alice"))!.Balance);

        Assert.Equal(SettlementStatus.Applied, (await leased.SettleAsync("r1", 0.5m)).Status);
        Assert.Equal(9.5m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Refund_pays_out_what_the_lease_held_unused_and_stopping_keeps_only_what_requests_in_flight_hold()
    {
        var (ledger, leased) = await FundedAsync(10m);
        await ledger.TopUpAsync("bob", 10m, "pay-2");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.SettleAsync("r1", 0.5m);

        var refund = await leased.RefundAsync("alice", "refund-1");
        Assert.Equal(new CreditResult(CreditStatus.Applied, 9.5m, 0m), refund);

        // The refund closed the key: its lease no longer serves, not even a request that holds nothing.
        Assert.Equal(ReservationStatus.AccountClosed, (await leased.TryReserveAsync("alice", "free", 0m, InFiveMinutes)).Status);

        await leased.TryReserveAsync("bob", "r2", 1m, InFiveMinutes);
        await leased.DisposeAsync();
        Assert.Equal(1m, (await ledger.GetBalanceAsync("bob"))!.Reserved);

        // Stopped: no request is held any more, and no lease is taken for one.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => leased.TryReserveAsync("bob", "r3", 1m, InFiveMinutes));
        Assert.Equal(new BudgetBalance("bob", 10m, 1m, 0m, false), await ledger.GetBalanceAsync("bob"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "bob");
    }

    [SkippableFact]
    public async Task A_lease_used_since_the_last_tick_is_kept_and_goes_back_only_after_a_whole_tick_unused()
    {
        var (ledger, leased) = await FundedAsync(10m, leaseRequests: 8);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 7m), await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes));
        await leased.SettleAsync("r1", 1m);

        // Taken and used since: the first tick keeps it. Used again by r2 since that tick: the second keeps it too.
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 6m), await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes));
        await leased.SettleAsync("r2", 1m);
        Time.Advance(LeasedBudgetLedger.IdleTimeout);

        // r3 is held out of the same lease: still one lease, holding 8 less the two settled requests' holds.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 5m), await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes));
        Assert.Equal([8m], await LeaseAmountsAsync(ledger));
        Assert.Equal(new BudgetBalance("alice", 8m, 6m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(1m, (await leased.GetBalanceAsync("alice"))!.Reserved);
        await leased.SettleAsync("r3", 0.5m);

        // A tick that finds it used (by r3), then one that finds it unused: given back whole.
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 0m);
        Assert.Equal(new BudgetBalance("alice", 7.5m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_lease_in_use_is_kept_to_the_end_of_its_window_and_takes_a_request_expiring_with_it()
    {
        var (ledger, leased) = await FundedAsync(10m, leaseRequests: 8);
        var start = Time.GetUtcNow();
        Assert.True((await leased.TryReserveAsync("alice", "r1", 1m, start.AddMinutes(5))).Granted);

        // r1 is in flight through 59 ticks: none gives its lease back.
        Time.Advance(TimeSpan.FromSeconds(59.5));
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 6m), await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes));
        Assert.Equal([8m], await LeaseAmountsAsync(ledger));
        await leased.SettleAsync("r1", 1m);
        await leased.SettleAsync("r2", 0.5m);

        // The tick at exactly one window after the lease was taken: used since the last tick and not yet past its
        // window, so it stays. r3 expires exactly when the lease does (r1's expiry plus the window): it still fits it.
        Time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(start + LeasedBudgetLedger.LeaseWindow, Time.GetUtcNow());
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 5m), await leased.TryReserveAsync("alice", "r3", 1m, start.AddMinutes(5) + LeasedBudgetLedger.LeaseWindow));
        Assert.Equal([8m], await LeaseAmountsAsync(ledger));
        Assert.Equal(new BudgetBalance("alice", 8.5m, 6m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await leased.SettleAsync("r3", 0.25m);

        // Past its window a lease goes back at the next tick, although r3 used it since the last one.
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 0m);
        Assert.Equal(new BudgetBalance("alice", 8.25m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Under_a_quarter_left_the_next_lease_is_the_carving_requests_worth_and_is_kept_until_used()
    {
        var (ledger, leased) = await FundedAsync(100m, leaseRequests: 4);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 3m), await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes));

        // 0.5 left of 4, below a quarter without ever being exactly one: the next lease, 4 × 2.5, is taken ahead.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0.5m), await leased.TryReserveAsync("alice", "r2", 2.5m, InFiveMinutes));
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 14m && (await leased.GetBalanceAsync("alice"))!.Reserved == 3.5m);
        Assert.Equal([4m, 10m], await LeaseAmountsAsync(ledger));

        // A tick before any request used the new lease does not give it back: it was taken for them.
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 9m), await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes));
        Assert.Equal([4m, 10m], await LeaseAmountsAsync(ledger));
        Assert.Null(await ledger.GetReservationAsync("r3"));

        // The old lease goes back once its requests end; the new one holds the rest of its block.
        await leased.SettleAsync("r1", 1m);
        await leased.SettleAsync("r2", 2m);
        await leased.SettleAsync("r3", 0.5m);
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 9m);
        Assert.Equal(new BudgetBalance("alice", 96.5m, 9m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 96.5m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Short_of_a_whole_lease_what_the_old_lease_gives_back_counts_toward_leasing_what_is_left()
    {
        var (ledger, leased) = await FundedAsync(20m, leaseRequests: 4);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 9m), await leased.TryReserveAsync("alice", "r1", 3m, InFiveMinutes));
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 4m), await leased.TryReserveAsync("alice", "r2", 5m, InFiveMinutes));

        // r3 does not fit the 4 left; a lease of 20 does not fit the 8 available. Giving back the old lease's 4 makes
        // 12 available, two requests' worth and more: the new lease takes all 12 and r3 is held out of it.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 7m), await leased.TryReserveAsync("alice", "r3", 5m, InFiveMinutes));
        Assert.Null(await ledger.GetReservationAsync("r3"));
        Assert.Equal([12m, 12m], await LeaseAmountsAsync(ledger));
        Assert.Contains(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Release && e.Amount == 4m && e.RequestId!.StartsWith("lease_", StringComparison.Ordinal));
        Assert.Equal(new BudgetBalance("alice", 20m, 20m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(13m, (await leased.GetBalanceAsync("alice"))!.Reserved);

        await leased.SettleAsync("r1", 3m);
        await leased.SettleAsync("r2", 1m);
        await leased.SettleAsync("r3", 5m);
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 11m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_request_id_already_held_out_of_a_lease_is_a_duplicate_and_holds_nothing_more()
    {
        var (ledger, leased) = await FundedAsync(10m, leaseRequests: 4);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 3m), await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes));

        Assert.Equal(new ReservationResult(ReservationStatus.DuplicateRequest, 3m), await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes));
        Assert.Equal([4m], await LeaseAmountsAsync(ledger));
        Assert.Null(await ledger.GetReservationAsync("r1"));
        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(1m, (await leased.GetBalanceAsync("alice"))!.Reserved);

        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 1m, 0m, 9m), await leased.SettleAsync("r1", 1m));
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 9m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task A_request_with_nothing_to_hold_reserves_on_its_own_and_takes_no_lease()
    {
        var (ledger, leased) = await FundedAsync(10m, leaseRequests: 4);

        Assert.Equal(ReservationStatus.Granted, (await leased.TryReserveAsync("alice", "free", 0m, InFiveMinutes)).Status);
        Assert.Empty(await LeaseAmountsAsync(ledger));
        var free = (await ledger.GetReservationAsync("free"))!;
        Assert.Equal((ReservationState.Open, 0m), (free.State, free.Amount));
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 10m), await leased.SettleAsync("free", 0m));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task An_idle_lease_too_small_for_the_next_request_goes_back_whole_when_the_next_lease_is_taken()
    {
        var (ledger, leased) = await FundedAsync(100m, leaseRequests: 4);
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.SettleAsync("r1", 1m);

        // 3 left, idle; r2 needs 3.5: a lease of 14 is taken and the idle one gives its 3 back.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 10.5m), await leased.TryReserveAsync("alice", "r2", 3.5m, InFiveMinutes));
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 14m);
        Assert.Equal([4m, 14m], await LeaseAmountsAsync(ledger));
        Assert.Equal(new BudgetBalance("alice", 99m, 3.5m, 0m, false), await leased.GetBalanceAsync("alice"));
        await leased.SettleAsync("r2", 2m);
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 97m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_settle_arriving_while_the_first_is_in_the_store_gets_its_result_or_its_failure_and_charges_nothing_more()
    {
        var store = new GatedStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);

        // The first settle's write fails while the second waits on it: both fail, nothing is charged, r1 stays held.
        var (entered, gate) = store.HoldNext();
        var first = leased.SettleAsync("r1", 0.5m);
        await entered;
        var second = leased.SettleAsync("r1", 0.75m);
        gate.SetException(new InvalidOperationException("the database is gone"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        await Assert.ThrowsAsync<InvalidOperationException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ReservationState.Open, (await leased.GetReservationAsync("r1"))!.State);
        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));

        // Run again: the one that reaches the store charges, the one that waited is told it is settled, at that charge.
        (entered, gate) = store.HoldNext();
        first = leased.SettleAsync("r1", 0.5m);
        await entered;
        second = leased.SettleAsync("r1", 0.75m);
        Assert.False(second.IsCompleted);
        gate.SetResult();
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0.5m, 0m, 9.5m), await first);
        Assert.Equal(new SettlementResult(SettlementStatus.AlreadySettled, 0.5m, 0m, 9.5m), await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(new BudgetBalance("alice", 9.5m, 3m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_request_queued_behind_a_lease_being_taken_is_held_out_of_that_lease()
    {
        var store = new GatedStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger);
        await ledger.TopUpAsync("alice", 10m, "pay-1");

        var (entered, gate) = store.HoldNext();
        var first = leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await entered;
        var second = leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);
        gate.SetResult();

        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 3m), await first);
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 2m), await second);
        Assert.Equal([4m], await LeaseAmountsAsync(ledger));
        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task A_renewal_that_lands_after_the_old_leases_requests_ended_gives_the_old_lease_back()
    {
        var store = new GatedStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger, leaseRequests: 4);
        await ledger.TopUpAsync("alice", 100m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);

        // r3 leaves a quarter: the renewal goes to the store and waits there while every request of the old lease ends.
        var (entered, gate) = store.HoldNext();
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 1m), await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes));
        await entered;
        foreach (var id in new[] { "r1", "r2", "r3" })
        {
            await leased.SettleAsync(id, 1m);
        }

        Assert.Equal(new BudgetBalance("alice", 97m, 1m, 0m, false), await ledger.GetBalanceAsync("alice"));
        gate.SetResult();

        // The new lease replaces the old, which no request holds any more: its last 1 goes back.
        await UntilAsync(async () => (await ledger.GetBalanceAsync("alice"))!.Reserved == 4m && (await LeaseAmountsAsync(ledger)).Length == 2);
        Assert.Equal([4m, 4m], await LeaseAmountsAsync(ledger));
        Assert.Equal(new BudgetBalance("alice", 97m, 0m, 0m, false), await leased.GetBalanceAsync("alice"));
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 97m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_refund_waits_for_an_idle_lease_on_its_way_back_and_pays_out_its_money_too()
    {
        var store = new GatedStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger, leaseRequests: 4);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.SettleAsync("r1", 0.5m);

        // Idle for a whole tick: the lease's 3 go back in the background, and that write waits in the store.
        var (entered, gate) = store.HoldNext();
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        await entered;
        var refund = leased.RefundAsync("alice", "refund-1");
        await Task.Delay(50);
        Assert.False(refund.IsCompleted);
        gate.SetResult();

        Assert.Equal(new CreditResult(CreditStatus.Applied, 9.5m, 0m), await refund);
        Assert.Equal(new BudgetBalance("alice", 0m, 0m, 0m, true), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_lease_that_cannot_go_back_is_logged_by_key_name_and_its_hold_is_released_when_it_expires()
    {
        var store = new FailingStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger, leaseRequests: 4);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TopUpAsync("bob", 10m, "pay-2");

        // alice's lease goes idle (kept by the first tick, as used since; given back by the second) and that write fails.
        await leased.TryReserveAsync("alice", "a1", 1m, InFiveMinutes);
        await leased.SettleAsync("a1", 0.5m);
        store.FailNext = true;
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        Time.Advance(LeasedBudgetLedger.IdleTimeout);
        await UntilAsync(() => Task.FromResult(LeaseLog.Collector.Count > 0));
        var returnFailed = Assert.Single(LeaseLog.Collector.GetSnapshot());
        Assert.Equal((5004, LogLevel.Warning, "alice"), (returnFailed.Id.Id, returnFailed.Level, returnFailed.GetStructuredStateValue("KeyName")));
        Assert.NotNull(returnFailed.Exception);
        Assert.Equal(new BudgetBalance("alice", 9.5m, 3m, 0m, false), await ledger.GetBalanceAsync("alice"));

        // bob's lease has a request in flight when the instance stops: giving back its unused rest fails too. Stopping
        // does not throw for it; it is logged, and the rest stays held.
        await leased.TryReserveAsync("bob", "b1", 1m, InFiveMinutes);
        store.FailNext = true;
        await leased.DisposeAsync();
        Assert.Equal(2, LeaseLog.Collector.Count);
        Assert.Equal((5004, "bob"), (LeaseLog.LatestRecord.Id.Id, LeaseLog.LatestRecord.GetStructuredStateValue("KeyName")));
        Assert.Equal(new BudgetBalance("bob", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("bob"));

        // Both holds are released when their leases expire; nothing is charged for them (b1 ended with the instance).
        Time.Advance(TimeSpan.FromMinutes(7));
        Assert.Equal(2, await ledger.ReleaseExpiredAsync());
        Assert.Equal(new BudgetBalance("alice", 9.5m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(new BudgetBalance("bob", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("bob"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "bob");
    }

    [SkippableFact]
    public async Task A_renewal_ahead_of_need_that_fails_is_logged_once_and_a_later_one_is_taken_without_a_warning()
    {
        var store = new FailingStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger, leaseRequests: 4);
        await ledger.TopUpAsync("alice", 100m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);

        // r3 leaves a quarter: the renewal goes to the store in the background and fails there. r3 itself is served.
        store.FailNext = true;
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 1m), await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes));
        await UntilAsync(() => Task.FromResult(LeaseLog.Collector.Count > 0));
        var failed = Assert.Single(LeaseLog.Collector.GetSnapshot());
        Assert.Equal((5005, LogLevel.Warning, "alice"), (failed.Id.Id, failed.Level, failed.GetStructuredStateValue("KeyName")));
        Assert.Equal([4m], await LeaseAmountsAsync(ledger));

        // The requests go on: r4 takes the lease's last, r5 gets a new lease (renewed, or taken on the usual path), and
        // when that one runs low a renewal ahead of need is taken again, quietly.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0m), await leased.TryReserveAsync("alice", "r4", 1m, InFiveMinutes));
        for (var i = 5; i <= 7; i++)
        {
            Assert.Equal(new ReservationResult(ReservationStatus.Granted, 8m - i), await leased.TryReserveAsync("alice", $"r{i}", 1m, InFiveMinutes));
        }

        await UntilAsync(async () => (await LeaseAmountsAsync(ledger)).Length == 3);
        for (var i = 1; i <= 7; i++)
        {
            Assert.Equal(1m, (await leased.SettleAsync($"r{i}", 1m)).Charged);
        }

        await leased.DisposeAsync();
        Assert.Single(LeaseLog.Collector.GetSnapshot());
        Assert.Equal(new BudgetBalance("alice", 93m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_renewal_due_while_a_request_holds_the_keys_lease_lock_is_left_to_the_next_request()
    {
        var store = new GatedStore(CreateStore());
        var ledger = NewLedger(store);
        var leased = NewLeased(ledger, leaseRequests: 4);
        await ledger.TopUpAsync("alice", 100m, "pay-1");
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);

        // A request that holds nothing and outlives the lease reserves on its own under the key's lease lock (one
        // lease write per key at a time); its write waits in the store.
        var (entered, gate) = store.HoldNext();
        var free = leased.TryReserveAsync("alice", "free", 0m, InFiveMinutes + LeasedBudgetLedger.LeaseWindow + TimeSpan.FromMinutes(1));
        await entered;

        // r3 leaves a quarter meanwhile: no renewal runs beside the lock's holder, and the holder ends cleanly.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 1m), await leased.TryReserveAsync("alice", "r3", 1m, InFiveMinutes));
        Assert.Equal([4m], await LeaseAmountsAsync(ledger));
        gate.SetResult();
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 100m - 4m), await free.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([4m], await LeaseAmountsAsync(ledger));

        // The next request to find the lease low renews it.
        Assert.Equal(new ReservationResult(ReservationStatus.Granted, 0m), await leased.TryReserveAsync("alice", "r4", 1m, InFiveMinutes));
        await UntilAsync(async () => (await LeaseAmountsAsync(ledger)).Length == 2);
        for (var i = 1; i <= 4; i++)
        {
            await leased.SettleAsync($"r{i}", 1m);
        }

        Assert.Equal(SettlementStatus.Applied, (await leased.ReleaseAsync("free")).Status);
        await leased.DisposeAsync();
        Assert.Empty(LeaseLog.Collector.GetSnapshot());
        Assert.Equal(new BudgetBalance("alice", 96m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await BudgetLedgerContract.AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_missing_id_is_refused_naming_the_callers_argument_before_any_money_moves()
    {
        var (ledger, leased) = await FundedAsync(10m);
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        var before = await leased.GetBalanceAsync("alice");

        Assert.Equal("keyId", (await Assert.ThrowsAsync<ArgumentNullException>(() => leased.TryReserveAsync(null!, "r2", 1m, InFiveMinutes))).ParamName);
        Assert.Equal("requestId", (await Assert.ThrowsAsync<ArgumentNullException>(() => leased.SettleAsync((string)null!, 1m))).ParamName);
        Assert.Equal("requestId", (await Assert.ThrowsAsync<ArgumentNullException>(() => leased.ReleaseAsync(null!))).ParamName);
        Assert.Equal("requestId", (await Assert.ThrowsAsync<ArgumentNullException>(() => leased.GetReservationAsync(null!))).ParamName);
        Assert.Equal("keyId", (await Assert.ThrowsAsync<ArgumentNullException>(() => leased.RefundAsync(null!, "refund-1"))).ParamName);

        Assert.Equal(before, await leased.GetBalanceAsync("alice"));
        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task After_stopping_a_refund_still_pays_out_what_the_leases_gave_back()
    {
        var (ledger, leased) = await FundedAsync(10m);
        await leased.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        await leased.SettleAsync("r1", 0.5m);
        await leased.DisposeAsync();

        // A refund that comes in while the host stops is served (not left waiting on the stopped leases).
        var refund = await leased.RefundAsync("alice", "refund-1").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new CreditResult(CreditStatus.Applied, 9.5m, 0m), refund);
        Assert.Equal(new BudgetBalance("alice", 0m, 0m, 0m, true), await ledger.GetBalanceAsync("alice"));
    }

    /// <summary>A ledger with alice's account funded, and leases over it.</summary>
    [SkippableFact]
    public async Task Negative_amounts_through_the_leases_are_refused_before_any_money_moves()
    {
        var (ledger, leased) = await FundedAsync(100m);
        Assert.Equal(ReservationStatus.Granted, (await leased.TryReserveAsync("alice", "r1", 2m, InFiveMinutes)).Status);
        var before = await leased.GetBalanceAsync("alice");

        // A negative hold would add to what a lease has left; a negative charge would credit the balance.
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => leased.TryReserveAsync("alice", "r2", -1m, InFiveMinutes));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => leased.SettleAsync("r1", -3m));

        // An empty request id would be held out of the lease, where no store checks it; no settle order, no lease size.
        await Assert.ThrowsAsync<ArgumentException>(() => leased.TryReserveAsync("alice", "", 1m, InFiveMinutes));
        await Assert.ThrowsAsync<ArgumentNullException>(() => leased.SettleAsync((SettleOrder)null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeasedBudgetLedger(NewLedger(), Time, 0, NullLogger<LeasedBudgetLedger>.Instance));
        Assert.Null(await leased.GetReservationAsync("r2"));
        Assert.Equal(before, await leased.GetBalanceAsync("alice"));

        // The hold of r1 is whole: it settles at its real cost, and only that is taken.
        var settled = await leased.SettleAsync("r1", 1.5m);
        Assert.Equal((SettlementStatus.Applied, 1.5m), (settled.Status, settled.Charged));
        await leased.DisposeAsync();
        Assert.Equal(new BudgetBalance("alice", 98.5m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
    }

    private async Task<(BudgetLedger Ledger, LeasedBudgetLedger Leased)> FundedAsync(decimal balance, int leaseRequests = 4)
    {
        var ledger = NewLedger();
        var leased = NewLeased(ledger, leaseRequests);
        await ledger.TopUpAsync("alice", balance, "pay-1");
        return (ledger, leased);
    }

    private static async Task<decimal[]> LeaseAmountsAsync(BudgetLedger ledger) =>
        (await ledger.GetEntriesAsync("alice"))
            .Where(e => e.Kind == BudgetEntryKind.Reservation && e.RequestId!.StartsWith("lease_", StringComparison.Ordinal))
            .Select(e => e.Amount)
            .ToArray();

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never held");
            await Task.Delay(10);
        }
    }

    /// <summary>A store whose next unit waits, when told to, until the test lets it run (or fail).</summary>
    private sealed class GatedStore(ILedgerStore inner) : DelegatingLedgerStore(inner), IAsyncDisposable
    {
        private TaskCompletionSource? _gate;
        private TaskCompletionSource? _entered;

        /// <summary>The next unit waits on the returned gate; <c>Entered</c> completes when it has started waiting.</summary>
        public (Task Entered, TaskCompletionSource Gate) HoldNext()
        {
            _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _gate, gate);
            return (_entered.Task, gate);
        }

        public override async Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _gate, null) is { } gate)
            {
                _entered!.TrySetResult();
                try
                {
                    await gate.Task.WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    // A test that failed before opening the gate: run the unit, so that tearing down does not hang.
                }
            }

            return await Inner.RunAsync(work, cancellationToken);
        }

        public ValueTask DisposeAsync() => DisposeInnerAsync();
    }

    /// <summary>A store whose next unit fails before it writes anything, when told to.</summary>
    private sealed class FailingStore(ILedgerStore inner) : DelegatingLedgerStore(inner), IAsyncDisposable
    {
        public bool FailNext { get; set; }

        public override Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken)
        {
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("the database is gone");
            }

            return Inner.RunAsync(work, cancellationToken);
        }

        public ValueTask DisposeAsync() => DisposeInnerAsync();
    }
}

public sealed class InMemoryLeasedBudgetLedgerTests : LeasedBudgetLedgerContract
{
    private readonly InMemoryLedgerStore _store = new();

    internal override ILedgerStore CreateStore() => _store;
}

public sealed class SqliteLeasedBudgetLedgerTests : LeasedBudgetLedgerContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relaykit-tests", Guid.NewGuid().ToString("N"));

    internal override ILedgerStore CreateStore() => new SqliteLedgerStore(Path.Combine(_directory, "ledger.db"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class PostgreSqlLeasedBudgetLedgerTests : LeasedBudgetLedgerContract
{
    private readonly string _schema = PostgreSqlTestSchema.NewName("lease_test");
    private string? _connectionString;

    internal override ILedgerStore CreateStore()
    {
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 20 }.ToString();
        return new PostgreSqlLedgerStore(_connectionString, _schema);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgreSqlTestSchema.DropAsync(_connectionString, _schema);
    }
}
