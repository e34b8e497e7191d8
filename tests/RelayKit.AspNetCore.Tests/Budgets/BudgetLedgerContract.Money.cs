using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The ledger's figures, pinned where mutation testing (stryker/money-path.json) found that a changed charge,
/// hold, balance or reply went unnoticed: each test asserts the money, on every store.
/// </summary>
public abstract partial class BudgetLedgerContract
{
    [SkippableFact]
    public async Task Negative_amounts_are_refused_before_any_money_moves()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 4m, InFiveMinutes)).Granted);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.TryReserveAsync("alice", "r2", -1m, InFiveMinutes));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.SettleAsync("r1", -3m));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.TopUpAsync("alice", -5m, "pay-negative"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.TopUpAsync("alice", 0m, "pay-zero"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.GrantFreeCreditAsync("alice", -5m, "gift-negative"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.ShrinkLeaseAsync("r1", -2m, CancellationToken.None));

        // Nothing of it reached the ledger: the hold is whole and open, no credit, no reservation r2.
        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var r1 = (await ledger.GetReservationAsync("r1"))!;
        Assert.Equal((ReservationState.Open, 4m), (r1.State, r1.Amount));
        Assert.Null(await ledger.GetReservationAsync("r2"));
        Assert.Equal(2, (await ledger.GetEntriesAsync("alice")).Count);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Empty_ids_and_references_are_refused_before_any_money_moves()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 4m, InFiveMinutes)).Granted);

        // Each would otherwise hold for a request no one can settle, credit or refund without a reference to repeat it
        // by, open an account for no key, or answer as if nothing were there.
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.TryReserveAsync("", "r2", 1m, InFiveMinutes));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.TryReserveAsync("alice", "", 1m, InFiveMinutes));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.SettleAsync("", 1m));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.ReleaseAsync(""));
        await Assert.ThrowsAsync<ArgumentNullException>(() => ledger.SettleAsync((SettleOrder)null!));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.TopUpAsync("", 5m, "pay-2"));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.TopUpAsync("alice", 5m, ""));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.RefundAsync("", "refund-1"));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.RefundAsync("alice", ""));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GetBalanceAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GetReservationAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GetEntriesAsync(""));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.GetEntriesAsync("alice", 0, 0));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GetCreditsAsync(""));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.GetCreditsAsync("alice", 0, 0));

        Assert.Equal(new BudgetBalance("alice", 10m, 4m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(ReservationState.Open, (await ledger.GetReservationAsync("r1"))!.State);
        Assert.Equal(2, (await ledger.GetEntriesAsync("alice")).Count);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Shrinking_a_lease_gives_back_at_most_its_hold_and_nothing_once_the_sweep_expired_it()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "lease-1", 5m, InFiveMinutes)).Granted);

        Assert.Equal(5m, await ledger.ShrinkLeaseAsync("lease-1", 0m, CancellationToken.None));
        Assert.Equal(7m, await ledger.ShrinkLeaseAsync("lease-1", 2m, CancellationToken.None));
        Assert.Equal(3m, (await ledger.GetReservationAsync("lease-1"))!.Amount);

        // More than it holds gives back what it holds.
        Assert.Equal(10m, await ledger.ShrinkLeaseAsync("lease-1", 8m, CancellationToken.None));
        Assert.Equal(0m, (await ledger.GetReservationAsync("lease-1"))!.Amount);
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var releases = (await ledger.GetEntriesAsync("alice")).Where(e => e.Kind == BudgetEntryKind.Release).Select(e => e.Amount);
        Assert.Equal([2m, 3m], releases);

        // A lease the sweep expired holds nothing: shrinking it must not hand its money back a second time.
        Assert.True((await ledger.TryReserveAsync("alice", "lease-2", 6m, Time.GetUtcNow().AddMinutes(1))).Granted);
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());
        Assert.Equal(10m, await ledger.ShrinkLeaseAsync("lease-2", 6m, CancellationToken.None));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var expired = (await ledger.GetReservationAsync("lease-2"))!;
        Assert.Equal((ReservationState.Expired, 6m), (expired.State, expired.Amount));

        // And a new hold sees exactly the balance, not the balance plus the lease given back twice.
        var refused = await ledger.TryReserveAsync("alice", "r3", 10.01m, InFiveMinutes);
        Assert.Equal((ReservationStatus.InsufficientBalance, 10m), (refused.Status, refused.Available));
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Replies_to_repeated_settles_releases_and_credits_report_the_money_as_it_stands()
    {
        var ledger = NewLedger();
        var first = await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.Equal(new CreditResult(CreditStatus.Applied, 10m, 10m), first);
        Assert.Equal(new CreditResult(CreditStatus.Applied, 5m, 15m), await ledger.TopUpAsync("alice", 5m, "pay-2"));
        Assert.Equal(new CreditResult(CreditStatus.Applied, 2m, 17m), await ledger.GrantFreeCreditAsync("alice", 2m, "gift-1"));
        Assert.Equal(new BudgetBalance("alice", 17m, 0m, 2m, false), await ledger.GetBalanceAsync("alice"));

        // A repeated credit reports what was credited then and the balance now.
        Assert.Equal(new CreditResult(CreditStatus.AlreadyApplied, 5m, 17m), await ledger.TopUpAsync("alice", 5m, "pay-2"));

        // A settle above its hold: the repeat reports the same charge and the same uncharged rest.
        await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 1m, 2.5m, 16m), await ledger.SettleAsync("r1", 3.5m));
        Assert.Equal(new SettlementResult(SettlementStatus.AlreadySettled, 1m, 2.5m, 16m), await ledger.SettleAsync("r1", 0.5m));

        // A release after a settle reports the charge that stands, and moves nothing.
        await ledger.TryReserveAsync("alice", "r2", 3m, InFiveMinutes);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0.75m, 0m, 15.25m), await ledger.SettleAsync("r2", 0.75m));
        Assert.Equal(new SettlementResult(SettlementStatus.AlreadySettled, 0.75m, 0m, 15.25m), await ledger.ReleaseAsync("r2"));

        // A release reports the balance, and a settle after it charges nothing and reports nothing uncharged.
        await ledger.TryReserveAsync("alice", "r3", 2m, InFiveMinutes);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 15.25m), await ledger.ReleaseAsync("r3"));
        Assert.Equal(new SettlementResult(SettlementStatus.AlreadySettled, 0m, 0m, 15.25m), await ledger.SettleAsync("r3", 1m));
        Assert.Equal(new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null), await ledger.SettleAsync("nobody", 1m));
        Assert.Equal(new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null), await ledger.ReleaseAsync("nobody"));

        // Charges spend the free credit first: 1 + 0.75 of the 2 granted.
        Assert.Equal(new BudgetBalance("alice", 15.25m, 0m, 0.25m, false), await ledger.GetBalanceAsync("alice"));
        var r1 = (await ledger.GetReservationAsync("r1"))!;
        Assert.Equal((ReservationState.Settled, 1m, 3.5m), (r1.State, r1.Charged, r1.ReportedCost));
        var r3 = (await ledger.GetReservationAsync("r3"))!;
        Assert.Equal((ReservationState.Released, 0m, 0m), (r3.State, r3.Charged, r3.ReportedCost));
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_release_after_the_sweep_records_the_end_without_handing_the_hold_back_twice()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", 4m, Time.GetUtcNow().AddMinutes(1))).Granted);
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));

        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 0m, 0m, 10m), await ledger.ReleaseAsync("r1"));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        var r1 = (await ledger.GetReservationAsync("r1"))!;
        Assert.Equal((ReservationState.Released, 0m, 0m), (r1.State, r1.Charged, r1.ReportedCost));
        Assert.Equal([BudgetEntryKind.TopUp, BudgetEntryKind.Reservation, BudgetEntryKind.Expiry], (await ledger.GetEntriesAsync("alice")).Select(e => e.Kind));
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task A_sweep_goes_on_past_a_full_batch_and_releases_only_what_expired()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 1000m, "pay-1");
        for (var i = 0; i < 150; i++)
        {
            Assert.True((await ledger.TryReserveAsync("alice", $"r{i:D3}", 1m, Time.GetUtcNow().AddSeconds(30 + i))).Granted);
        }

        Assert.True((await ledger.TryReserveAsync("alice", "later", 7m, Time.GetUtcNow().AddHours(1))).Granted);

        // Nothing has expired one tick before the first expiry; everything but "later" has three minutes on.
        Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await ledger.ReleaseExpiredAsync());
        Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await ledger.ReleaseExpiredAsync());
        Time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(149, await ledger.ReleaseExpiredAsync());

        Assert.Equal(new BudgetBalance("alice", 1000m, 7m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(ReservationState.Open, (await ledger.GetReservationAsync("later"))!.State);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r149"))!.State);
        Assert.Equal(150m, (await ledger.GetEntriesAsync("alice", 0, 1000)).Where(e => e.Kind == BudgetEntryKind.Expiry).Sum(e => e.Amount));
        Assert.Equal(0, await ledger.ReleaseExpiredAsync());
    }

    [SkippableFact]
    public async Task Refund_references_already_used_conflict_without_moving_money()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TopUpAsync("bob", 4m, "pay-bob");

        // A top-up's reference is not a refund's: a conflict that reports the earlier amount and refunds nothing.
        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 10m, 10m), await ledger.RefundAsync("alice", "pay-1"));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));

        Assert.Equal(new CreditResult(CreditStatus.Applied, 4m, 0m), await ledger.RefundAsync("bob", "refund-bob"));
        Assert.Equal(new CreditResult(CreditStatus.AlreadyApplied, 4m, 0m), await ledger.RefundAsync("bob", "refund-bob"));

        // Another key's refund reference is a conflict too, not an "already refunded".
        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 4m, 10m), await ledger.RefundAsync("alice", "refund-bob"));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(new CreditResult(CreditStatus.AccountNotFound, 0m, null), await ledger.RefundAsync("nobody", "refund-nobody"));
        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 10m, null), await ledger.RefundAsync("nobody", "pay-1"));
        await AssertConsistentAsync(ledger, "alice");
        await AssertConsistentAsync(ledger, "bob");
    }

    [SkippableFact]
    public async Task Credit_references_match_only_the_same_key_kind_and_amount()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");

        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 10m, 10m), await ledger.TopUpAsync("alice", 11m, "pay-1"));
        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 10m, 10m), await ledger.GrantFreeCreditAsync("alice", 10m, "pay-1"));
        Assert.Equal(new CreditResult(CreditStatus.ReferenceConflict, 10m, 0m), await ledger.TopUpAsync("bob", 10m, "pay-1"));
        Assert.Equal(new CreditResult(CreditStatus.AlreadyApplied, 10m, 10m), await ledger.TopUpAsync("alice", 10m, "pay-1"));
        Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));

        // A closed key takes no credit.
        await ledger.RefundAsync("alice", "refund-1");
        Assert.Equal(new CreditResult(CreditStatus.AccountClosed, 0m, 0m), await ledger.TopUpAsync("alice", 3m, "pay-2"));
        Assert.Equal(new BudgetBalance("alice", 0m, 0m, 0m, true), await ledger.GetBalanceAsync("alice"));
    }

    [SkippableFact]
    public async Task Credits_at_the_fifteenth_decimal_and_up_to_the_maximum_balance_are_taken_exactly()
    {
        var ledger = NewLedger();
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("alice", 0.000000000000001m, "pay-1")).Status);

        // Trailing zeros past the fifteenth place are the same amount: taken, not refused.
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("alice", 1.0000000000000010000m, "pay-2")).Status);
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.TopUpAsync("alice", 0.0000000000000001m, "pay-3"));
        await Assert.ThrowsAsync<ArgumentException>(() => ledger.GrantFreeCreditAsync("alice", 1.0000000000000015m, "gift-3"));
        Assert.Equal(new BudgetBalance("alice", 1.000000000000002m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));

        // Up to the maximum exactly; one more is refused whole.
        var rest = BudgetLedger.MaxBalance - 1.000000000000002m;
        Assert.Equal(new CreditResult(CreditStatus.Applied, rest, BudgetLedger.MaxBalance), await ledger.TopUpAsync("alice", rest, "pay-4"));
        Assert.Equal(new CreditResult(CreditStatus.OverMaximum, 0m, BudgetLedger.MaxBalance), await ledger.TopUpAsync("alice", 0.000000000000001m, "pay-5"));
        Assert.Equal(BudgetLedger.MaxBalance, (await ledger.GetBalanceAsync("alice"))!.Balance);
        await AssertConsistentAsync(ledger, "alice");
    }

    [SkippableFact]
    public async Task Reservations_report_what_is_left_and_refuse_closed_or_unknown_keys_with_nothing_available()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        var granted = await ledger.TryReserveAsync("alice", "r1", 2.5m, InFiveMinutes);
        Assert.Equal((ReservationStatus.Granted, 7.5m), (granted.Status, granted.Available));
        var duplicate = await ledger.TryReserveAsync("alice", "r1", 1m, InFiveMinutes);
        Assert.Equal((ReservationStatus.DuplicateRequest, 7.5m), (duplicate.Status, duplicate.Available));
        var r1 = (await ledger.GetReservationAsync("r1"))!;
        Assert.Equal((2.5m, ReservationState.Open, Time.GetUtcNow(), InFiveMinutes), (r1.Amount, r1.State, r1.CreatedAt, r1.ExpiresAt));

        await ledger.RefundAsync("alice", "refund-1");
        var closed = await ledger.TryReserveAsync("alice", "r2", 0.01m, InFiveMinutes);
        Assert.Equal((ReservationStatus.AccountClosed, 0m), (closed.Status, closed.Available));
        var unknown = await ledger.TryReserveAsync("nobody", "r3", 0.01m, InFiveMinutes);
        Assert.Equal((ReservationStatus.AccountNotFound, 0m), (unknown.Status, unknown.Available));
        Assert.Null(await ledger.GetReservationAsync("r2"));
        Assert.Equal(new BudgetBalance("alice", 2.5m, 2.5m, 0m, true), await ledger.GetBalanceAsync("alice"));
    }
}
