using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// What every ledger store must guarantee, run against in-memory, SQLite and PostgreSQL. Each
/// test gets fresh storage; <see cref="CreateStore"/> called twice gives two instances over the
/// same storage (a restart, or a second relay host).
/// </summary>
public abstract partial class BudgetLedgerContract : IAsyncLifetime
{
    private readonly List<object> _stores = [];

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>What the test's ledgers logged.</summary>
    private protected FakeLogger<BudgetLedger> Log { get; } = new();

    /// <summary>A new store instance over this test's storage.</summary>
    internal abstract ILedgerStore CreateStore();

    internal BudgetLedger NewLedger(ILedgerStore? store = null)
    {
        store ??= CreateStore();
        _stores.Add(store);
        return new BudgetLedger(store, Time, Log);
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores.Distinct())
        {
            switch (store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    private DateTimeOffset InFiveMinutes => Time.GetUtcNow().AddMinutes(5);

    /// <summary>An amount as a log record carries it (a store may read <c>1</c> back as <c>1.0</c>: the same money).</summary>
    internal static decimal? Money(string? logged) =>
        logged is null ? null : decimal.Parse(logged, System.Globalization.CultureInfo.InvariantCulture);

    [SkippableFact]
    public async Task Amounts_finer_than_the_ledger_keeps_are_held_up_and_charged_near_and_every_sum_stays_exact()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("k", BudgetLedger.MaxBalance, "pay-max");
        await ledger.TopUpAsync("bob", 10m, "pay-bob");
        Assert.True((await ledger.TryReserveAsync("bob", "b1", 1m, Time.GetUtcNow().AddMinutes(2.5))).Granted);

        // Held together these would need 30 digits: each hold is kept to 15 places, rounded up.
        Assert.True((await ledger.TryReserveAsync("k", "r1", 900_000_000_000.1m, Time.GetUtcNow().AddMinutes(2))).Granted);
        Assert.True((await ledger.TryReserveAsync("k", "r2", 0.00000000000000001m, Time.GetUtcNow().AddMinutes(2))).Granted);
        Assert.Equal(0.000000000000001m, (await ledger.GetReservationAsync("r2"))!.Amount);
        Assert.Equal(900_000_000_000.100000000000001m, (await ledger.GetBalanceAsync("k"))!.Reserved);

        var settled = await ledger.SettleAsync("r1", 0.1234567890123456789m);
        await ledger.ReleaseAsync("r2");
        Assert.Equal(0.123456789012346m, settled.Charged);
        var after = (await ledger.GetBalanceAsync("k"))!;
        Assert.Equal((BudgetLedger.MaxBalance - 0.123456789012346m, 0m), (after.Balance, after.Reserved));

        // The sweep still works for every key.
        Time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("b1"))!.State);

        // A credit is money paid: one finer than the ledger keeps is refused, not rounded.
        var fine = await Assert.ThrowsAsync<ArgumentException>(() => ledger.TopUpAsync("bob", 1.0000000000000001m, "pay-fine"));
        Assert.Equal("amount", fine.ParamName);
        Assert.Contains("at most 15 decimal places", fine.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Reservation_is_granted_while_it_fits_and_refused_whole_when_it_does_not()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");

        Assert.Equal(ReservationStatus.Granted, (await ledger.TryReserveAsync("alice", "r1", 6m, InFiveMinutes)).Status);
        var refused = await ledger.TryReserveAsync("alice", "r2", 4.01m, InFiveMinutes);
        Assert.Equal(ReservationStatus.InsufficientBalance, refused.Status);
        Assert.Equal(4m, refused.Available);
        Assert.Null(await ledger.GetReservationAsync("r2"));
        var exact = await ledger.TryReserveAsync("alice", "r3", 4m, InFiveMinutes);
        Assert.True(exact.Granted);
        Assert.Equal(0m, exact.Available);

        var balance = await ledger.GetBalanceAsync("alice");
        Assert.Equal(new BudgetBalance("alice", 10m, 10m, 0m, false), balance);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Reservation_for_an_unknown_key_or_a_repeated_request_id_holds_nothing()
    {
        var ledger = NewLedger();
        Assert.Equal(ReservationStatus.AccountNotFound, (await ledger.TryReserveAsync("nobody", "r1", 0.01m, InFiveMinutes)).Status);

        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes)).Granted);
        Assert.Equal(ReservationStatus.DuplicateRequest, (await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes)).Status);
        Assert.Equal(1m, (await ledger.GetBalanceAsync("alice"))!.Reserved);
    }

    [SkippableFact]
    public async Task Settle_charges_the_reported_cost_and_releases_the_hold()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 5m, InFiveMinutes);

        var settled = await ledger.SettleAsync("r1", 2.000000123456789m);

        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 2.000000123456789m, 0m, 7.999999876543211m), settled);
        Assert.Equal(new BudgetBalance("alice", 7.999999876543211m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var reservation = await ledger.GetReservationAsync("r1");
        Assert.Equal(ReservationState.Settled, reservation!.State);
        Assert.Equal(2.000000123456789m, reservation.Charged);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Settle_above_the_reservation_charges_the_reservation_and_records_the_excess()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);

        var settled = await ledger.SettleAsync("r1", 3.5m);

        Assert.Equal(1m, settled.Charged);
        Assert.Equal(2.5m, settled.Uncharged);

        // The operator is warned once, with both figures: the upstream billed more than the hold let the relay charge.
        var warning = Assert.Single(Log.Collector.GetSnapshot());
        Assert.Equal((5001, LogLevel.Warning), (warning.Id.Id, warning.Level));
        Assert.Equal(("r1", 1m, 3.5m), (warning.GetStructuredStateValue("RequestId"), Money(warning.GetStructuredStateValue("Charged")), Money(warning.GetStructuredStateValue("ReportedCost"))));
        Assert.Equal(9m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        var charge = Assert.Single(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(1m, charge.Amount);
        Assert.Equal(3.5m, charge.ReportedCost);
        Assert.Equal("r1", charge.RequestId);
        await AssertConsistentAsync(ledger, "alice");

        // Not warned again: a repeated settle, and a charge of exactly the hold (nothing left uncharged).
        Assert.Equal(SettlementStatus.AlreadySettled, (await ledger.SettleAsync("r1", 3.5m)).Status);
        await ledger.TryReserveAsync("alice", "r2", 1m, InFiveMinutes);
        var exact = await ledger.SettleAsync("r2", 1m);
        Assert.Equal((1m, 0m), (exact.Charged, exact.Uncharged));
        Assert.Single(Log.Collector.GetSnapshot());
    }

    [SkippableFact]
    public async Task Settle_retried_concurrently_charges_once()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 5m, InFiveMinutes);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => ledger.SettleAsync("r1", 3m))));

        Assert.Single(results, r => r.Status == SettlementStatus.Applied);
        Assert.All(results, r => Assert.Equal(3m, r.Charged));
        Assert.Equal(19, results.Count(r => r.Status == SettlementStatus.AlreadySettled));
        Assert.Equal(7m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        Assert.Single(await ledger.GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(SettlementStatus.NotFound, (await ledger.SettleAsync("unknown", 1m)).Status);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Release_hands_back_the_hold_and_a_later_settle_charges_nothing()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 4m, InFiveMinutes);

        Assert.Equal(SettlementStatus.Applied, (await ledger.ReleaseAsync("r1")).Status);
        Assert.Equal(SettlementStatus.AlreadySettled, (await ledger.ReleaseAsync("r1")).Status);
        var late = await ledger.SettleAsync("r1", 2m);

        Assert.Equal(SettlementStatus.AlreadySettled, late.Status);
        Assert.Equal(0m, late.Charged);
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Top_up_webhook_delivered_twice_or_concurrently_credits_once()
    {
        var ledger = NewLedger();
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("alice", 25m, "stripe-evt-1")).Status);
        var again = await ledger.TopUpAsync("alice", 25m, "stripe-evt-1");
        Assert.Equal(new CreditResult(CreditStatus.AlreadyApplied, 25m, 25m), again);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => ledger.TopUpAsync("alice", 5m, "stripe-evt-2"))));
        Assert.Single(concurrent, r => r.Status == CreditStatus.Applied);
        Assert.All(concurrent, r => Assert.Contains(r.Status, new[] { CreditStatus.Applied, CreditStatus.AlreadyApplied }));

        Assert.Equal(CreditStatus.ReferenceConflict, (await ledger.TopUpAsync("bob", 25m, "stripe-evt-1")).Status);
        Assert.Equal(CreditStatus.ReferenceConflict, (await ledger.TopUpAsync("alice", 26m, "stripe-evt-1")).Status);
        Assert.Equal(30m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        Assert.Equal(0m, (await ledger.GetBalanceAsync("bob"))!.Balance);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Free_credit_is_spent_first_and_never_refunded()
    {
        var ledger = NewLedger();
        await ledger.GrantFreeCreditAsync("alice", 5m, "trial:alice");
        Assert.Equal(CreditStatus.AlreadyApplied, (await ledger.GrantFreeCreditAsync("alice", 5m, "trial:alice")).Status);
        await ledger.TopUpAsync("alice", 5m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 4m, InFiveMinutes);
        await ledger.SettleAsync("r1", 3m);

        Assert.Equal(new BudgetBalance("alice", 7m, 0m, 2m, false), await ledger.GetBalanceAsync("alice"));
        var refund = await ledger.RefundAsync("alice", "refund-1");

        Assert.Equal(new CreditResult(CreditStatus.Applied, 5m, 2m), refund);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Refund_pays_back_what_is_unused_closes_the_key_and_lets_open_requests_settle()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "r1", 3m, InFiveMinutes);

        Assert.Equal(new CreditResult(CreditStatus.Applied, 7m, 3m), await ledger.RefundAsync("alice", "refund-1"));
        Assert.Equal(CreditStatus.AlreadyApplied, (await ledger.RefundAsync("alice", "refund-1")).Status);
        Assert.Equal(ReservationStatus.AccountClosed, (await ledger.TryReserveAsync("alice", "r2", 0.01m, InFiveMinutes)).Status);
        Assert.Equal(CreditStatus.AccountClosed, (await ledger.TopUpAsync("alice", 1m, "pay-2")).Status);

        Assert.Equal(1m, (await ledger.SettleAsync("r1", 1m)).Charged);
        Assert.Equal(new CreditResult(CreditStatus.Applied, 2m, 0m), await ledger.RefundAsync("alice", "refund-2"));
        Assert.Equal(CreditStatus.AccountNotFound, (await ledger.RefundAsync("nobody", "refund-3")).Status);

        var balance = await ledger.GetBalanceAsync("alice");
        Assert.Equal(new BudgetBalance("alice", 0m, 0m, 0m, true), balance);
        Assert.Equal(0m, balance!.Available);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Two_hundred_concurrent_reservations_never_hold_or_charge_more_than_the_balance()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        var random = new Random(5);
        var amounts = Enumerable.Range(0, 200).Select(_ => random.Next(1, 21) / 100m).ToArray();
        var actuals = amounts.Select(a => Math.Round(a * (decimal)(random.NextDouble() * 1.5), 6)).ToArray();

        var reservations = await Task.WhenAll(amounts.Select((amount, i) =>
            Task.Run(() => ledger.TryReserveAsync("alice", $"r{i}", amount, InFiveMinutes))));

        var granted = Enumerable.Range(0, 200).Where(i => reservations[i].Granted).ToList();
        Assert.NotEmpty(granted);
        Assert.Contains(reservations, r => r.Status == ReservationStatus.InsufficientBalance);
        var held = granted.Sum(i => amounts[i]);
        Assert.True(held <= 10m, $"held {held}");
        Assert.Equal(held, (await ledger.GetBalanceAsync("alice"))!.Reserved);
        // Every request is either held in full (one reservation entry of its exact amount) or not at all.
        var heldEntries = (await ledger.GetEntriesAsync("alice"))
            .Where(e => e.Kind == BudgetEntryKind.Reservation)
            .ToDictionary(e => e.RequestId!, e => e.Amount);
        Assert.Equal(granted.ToDictionary(i => $"r{i}", i => amounts[i]), heldEntries);
        Assert.All(Enumerable.Range(0, 200).Where(i => !reservations[i].Granted),
            i => Assert.Equal(ReservationStatus.InsufficientBalance, reservations[i].Status));
        Assert.Null(await ledger.GetReservationAsync($"r{Enumerable.Range(0, 200).First(i => !reservations[i].Granted)}"));

        await Task.WhenAll(granted.Select(i => Task.Run(() => ledger.SettleAsync($"r{i}", actuals[i]))));

        var charged = granted.Sum(i => Math.Min(actuals[i], amounts[i]));
        var balance = (await ledger.GetBalanceAsync("alice"))!;
        Assert.Equal(10m - charged, balance.Balance);
        Assert.Equal(0m, balance.Reserved);
        Assert.True(balance.Balance >= 0m);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Two_instances_sharing_storage_never_overspend_under_concurrent_reserve_and_settle()
    {
        var first = NewLedger();
        var second = NewLedger();
        await first.TopUpAsync("alice", 5m, "pay-1");
        var random = new Random(7);
        var amounts = Enumerable.Range(0, 200).Select(_ => random.Next(1, 11) / 100m).ToArray();

        var outcomes = await Task.WhenAll(amounts.Select((amount, i) => Task.Run(async () =>
        {
            var ledger = i % 2 == 0 ? first : second;
            var reserved = await ledger.TryReserveAsync("alice", $"r{i}", amount, InFiveMinutes);
            if (!reserved.Granted)
            {
                return 0m;
            }

            // Some requests report more than they reserved; they must be capped.
            var settled = await (i % 2 == 0 ? second : first).SettleAsync($"r{i}", i % 5 == 0 ? amount * 2 : amount / 2);
            Assert.Equal(SettlementStatus.Applied, settled.Status);
            return settled.Charged;
        })));

        var balance = (await second.GetBalanceAsync("alice"))!;
        Assert.Equal(5m - outcomes.Sum(), balance.Balance);
        Assert.True(balance.Balance >= 0m);
        Assert.Equal(0m, balance.Reserved);
        Assert.Contains(outcomes, o => o == 0m);
        await AssertConsistentAsync(first, "alice");
    }

    [SkippableFact]
    public async Task After_a_restart_the_sweep_releases_reservations_that_expired_and_only_those()
    {
        var before = NewLedger();
        await before.TopUpAsync("alice", 10m, "pay-1");
        await before.TryReserveAsync("alice", "settled", 1m, Time.GetUtcNow().AddMinutes(5));
        await before.TryReserveAsync("alice", "lost-1", 2m, Time.GetUtcNow().AddMinutes(5));
        await before.TryReserveAsync("alice", "lost-2", 3m, Time.GetUtcNow().AddMinutes(5));
        await before.TryReserveAsync("alice", "long", 1.5m, Time.GetUtcNow().AddMinutes(30));
        await before.SettleAsync("settled", 0.5m);

        var after = NewLedger(); // a new instance over the same storage: the relay restarted
        Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(0, await after.ReleaseExpiredAsync());
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, await after.ReleaseExpiredAsync());
        Assert.Equal(0, await after.ReleaseExpiredAsync());

        Assert.Equal(new BudgetBalance("alice", 9.5m, 1.5m, 0m, false), await after.GetBalanceAsync("alice"));
        Assert.Equal(ReservationState.Expired, (await after.GetReservationAsync("lost-1"))!.State);
        Assert.Equal(ReservationState.Open, (await after.GetReservationAsync("long"))!.State);
        var expiries = (await after.GetEntriesAsync("alice")).Where(e => e.Kind == BudgetEntryKind.Expiry).ToList();
        Assert.Equal(new[] { "lost-1", "lost-2" }, expiries.Select(e => e.RequestId).Order());
        await AssertConsistentAsync(after, "alice");
    }

    [SkippableFact]
    public async Task Concurrent_sweeps_on_two_instances_expire_each_reservation_once()
    {
        var first = NewLedger();
        var second = NewLedger();
        await first.TopUpAsync("alice", 100m, "pay-1");
        for (var i = 0; i < 30; i++)
        {
            await first.TryReserveAsync("alice", $"r{i}", 1m, Time.GetUtcNow().AddMinutes(1));
        }

        Time.Advance(TimeSpan.FromMinutes(2));
        var counts = await Task.WhenAll(
            Task.Run(() => first.ReleaseExpiredAsync()),
            Task.Run(() => second.ReleaseExpiredAsync()));

        Assert.Equal(30, counts.Sum());
        Assert.Equal(new BudgetBalance("alice", 100m, 0m, 0m, false), await second.GetBalanceAsync("alice"));
        await AssertConsistentAsync(first, "alice");
    }

    [SkippableFact]
    public async Task A_late_settle_after_expiry_charges_only_what_is_still_available()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 1m, "pay-1");
        await ledger.TryReserveAsync("alice", "slow", 0.8m, Time.GetUtcNow().AddMinutes(1));
        Time.Advance(TimeSpan.FromMinutes(2));
        await ledger.ReleaseExpiredAsync();
        Assert.True((await ledger.TryReserveAsync("alice", "next", 0.9m, Time.GetUtcNow().AddMinutes(1))).Granted);

        var late = await ledger.SettleAsync("slow", 0.5m);

        Assert.Equal(SettlementStatus.Applied, late.Status);
        Assert.Equal(0.1m, late.Charged);
        Assert.Equal(0.4m, late.Uncharged);
        Assert.Equal(new BudgetBalance("alice", 0.9m, 0.9m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(SettlementStatus.AlreadySettled, (await ledger.SettleAsync("slow", 0.5m)).Status);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Entries_are_append_only_in_sequence_and_page()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 1m, "pay-1");
        await ledger.TopUpAsync("bob", 1m, "pay-2");
        await ledger.TryReserveAsync("alice", "r1", 0.5m, InFiveMinutes);
        await ledger.SettleAsync("r1", 0.25m);

        var all = await ledger.GetEntriesAsync("alice");
        Assert.Equal(
            new[] { BudgetEntryKind.TopUp, BudgetEntryKind.Reservation, BudgetEntryKind.Release, BudgetEntryKind.Charge },
            all.Select(e => e.Kind));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence));
        Assert.All(all, e => Assert.Equal(Time.GetUtcNow(), e.At));
        var page = await ledger.GetEntriesAsync("alice", afterSequence: all[1].Sequence, limit: 1);
        Assert.Equal(all[2], Assert.Single(page));
    }

    [SkippableFact]
    public async Task Credits_are_the_keys_top_ups_free_credit_and_refunds_in_sequence_and_page()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 1m, "pay-1");
        await ledger.TopUpAsync("bob", 1m, "pay-bob");
        await ledger.TryReserveAsync("alice", "r1", 0.5m, InFiveMinutes);
        await ledger.SettleAsync("r1", 0.25m);
        await ledger.GrantFreeCreditAsync("alice", 0.5m, "trial-alice");
        await ledger.RefundAsync("alice", "refund-alice");

        var credits = await ledger.GetCreditsAsync("alice");
        Assert.Equal(["pay-1", "trial-alice", "refund-alice"], credits.Select(e => e.Reference));
        Assert.Equal([BudgetEntryKind.TopUp, BudgetEntryKind.FreeCredit, BudgetEntryKind.Refund], credits.Select(e => e.Kind));
        Assert.Equal(0.75m, credits[2].Amount);
        Assert.Equal((await ledger.GetEntriesAsync("alice")).Where(e => e.Reference is not null), credits);
        var page = await ledger.GetCreditsAsync("alice", afterSequence: credits[0].Sequence, limit: 1);
        Assert.Equal(credits[1], Assert.Single(page));
        Assert.Empty(await ledger.GetCreditsAsync("alice", afterSequence: credits[2].Sequence));
    }

    internal static async Task AssertConsistentAsync(IBudgetLedger ledger, string keyId)
    {
        var entries = new List<BudgetEntry>();
        long after = 0;
        while (true)
        {
            var page = await ledger.GetEntriesAsync(keyId, after, 100);
            entries.AddRange(page);
            if (page.Count < 100)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        var stored = await ledger.GetBalanceAsync(keyId);
        Assert.Equal(BudgetBalance.FromEntries(keyId, entries), stored);
        Assert.True(stored!.Balance >= 0m, $"balance {stored.Balance}");
        Assert.True(stored.Reserved >= 0m, $"reserved {stored.Reserved}");
        Assert.True(stored.Closed || stored.Balance >= stored.Reserved, "reserved beyond the balance");
    }
}
