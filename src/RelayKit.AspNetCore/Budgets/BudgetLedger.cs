using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The money rules, written once over any <see cref="ILedgerStore"/> (in-memory, SQLite,
/// PostgreSQL). Each operation runs in one store transaction that holds the account's lock from
/// the check to the write.
/// </summary>
internal sealed partial class BudgetLedger : IBudgetLedger
{
    /// <summary>
    /// The most a key's balance may hold, in US dollars: far beyond any real budget, and far enough below
    /// <see cref="decimal.MaxValue"/> that no sum of balances, holds and charges can overflow.
    /// </summary>
    public const decimal MaxBalance = 1_000_000_000_000m;

    /// <summary>
    /// Decimal places the ledger keeps of an amount (10⁻¹⁵ USD). A decimal holds 28–29 digits and a balance up to
    /// <see cref="MaxBalance"/> takes 13 before the point, so with this scale every sum of amounts stays exact, in
    /// memory and in a PostgreSQL <c>numeric</c> read back as a decimal; a finer amount (a price with many places
    /// times a token count) would make sums that no longer fit, or round them.
    /// </summary>
    public const int AmountScale = 15;

    /// <summary>A hold, at the ledger's scale: rounded up, so it never holds less than asked.</summary>
    public static decimal Held(decimal amount) => decimal.Round(amount, AmountScale, MidpointRounding.ToPositiveInfinity);

    /// <summary>A charge, at the ledger's scale: rounded to the nearest (it is capped at its hold anyway).</summary>
    public static decimal Charged(decimal amount) => decimal.Round(amount, AmountScale, MidpointRounding.AwayFromZero);

    /// <summary>Whether a credit is at the ledger's scale; a finer one is refused rather than rounded (it is money paid).</summary>
    public static bool IsAtScale(decimal amount) => amount.Scale <= AmountScale || decimal.Round(amount, AmountScale) == amount;

    private const int SweepBatch = 100;

    private readonly ILedgerStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<BudgetLedger> _logger;

    /// <summary>Creates a ledger over a store.</summary>
    public BudgetLedger(ILedgerStore store, TimeProvider time, ILogger<BudgetLedger> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public Task<ReservationResult> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        amount = Held(amount);

        return _store is IConditionalReservationStore conditional
            ? TryReserveConditionallyAsync(conditional, keyId, requestId, amount, expiresAt, cancellationToken)
            : _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            if (await session.GetReservationAsync(requestId) is not null)
            {
                var current = await session.GetAccountAsync(keyId);
                return new ReservationResult(ReservationStatus.DuplicateRequest, current?.ToBalance().Available ?? 0m);
            }

            var account = await session.GetAccountAsync(keyId);
            if (account is null)
            {
                return new ReservationResult(ReservationStatus.AccountNotFound, 0m);
            }

            if (account.Closed)
            {
                return new ReservationResult(ReservationStatus.AccountClosed, 0m);
            }

            var available = account.Balance - account.Reserved;
            if (amount > available)
            {
                return new ReservationResult(ReservationStatus.InsufficientBalance, available);
            }

            await session.InsertReservationAsync(new BudgetReservation(requestId, keyId, amount, ReservationState.Open, null, null, now, expiresAt));
            await session.SaveAccountAsync(account with { Reserved = account.Reserved + amount }, now);
            await session.AppendAsync(Entry(keyId, BudgetEntryKind.Reservation, amount, now, requestId: requestId));
            return new ReservationResult(ReservationStatus.Granted, available - amount);
        }, cancellationToken);
    }

    private async Task<ReservationResult> TryReserveConditionallyAsync(
        IConditionalReservationStore store, string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var available = await store.TryReserveAsync(keyId, requestId, amount, _time.GetUtcNow(), expiresAt, cancellationToken);
        if (available is { } left)
        {
            return new ReservationResult(ReservationStatus.Granted, left);
        }

        // Nothing was held; this read only says why.
        return await _store.RunAsync(async session =>
        {
            var account = await session.GetAccountAsync(keyId);
            var status = await session.GetReservationAsync(requestId) is not null ? ReservationStatus.DuplicateRequest
                : account is null ? ReservationStatus.AccountNotFound
                : account.Closed ? ReservationStatus.AccountClosed
                : ReservationStatus.InsufficientBalance;
            return new ReservationResult(status, account?.ToBalance().Available ?? 0m);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default) =>
        SettleAsync(requestId, actualCost, null, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// A request held out of a lease (<see cref="SettleOrder.Carve"/>) settles through <see cref="SettleCarvedAsync"/>,
    /// so a settle that lands after its lease's process is gone still records it as if it had reserved alone.
    /// </remarks>
    public Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (order.Carve is { } carve)
        {
            return SettleCarvedAsync(
                carve.LeaseId, carve.KeyId, order.RequestId, carve.Held, carve.CreatedAt, carve.ExpiresAt,
                order.Charge is { } cost ? Charged(cost) : null, cancellationToken, order.Record);
        }

        return order.Charge is { } charge
            ? SettleAsync(order.RequestId, charge, order.Record, cancellationToken)
            : ReleaseAsync(order.RequestId, order.Record, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>This ledger holds nothing in memory: every reservation is a row of its own.</remarks>
    public CarvedHold? FindCarve(string requestId) => null;

    /// <inheritdoc />
    public Task RecordUsageAsync(UsageRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return _store.RunAsync(async session =>
        {
            await session.WriteOutboxAsync(record.RequestId, UsageOutboxJson.Serialize(record));
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Puts the request's usage record into the outbox in the settle's own unit, carrying what this settle charged, so the
    /// record exists exactly when the charge does (nothing when the usage is not stored).
    /// </summary>
    private static ValueTask WriteRecordAsync(ILedgerSession session, string requestId, UsageRecord? record, decimal charged) =>
        record is null ? ValueTask.CompletedTask : session.WriteOutboxAsync(requestId, UsageOutboxJson.Serialize(record with { Cost = charged }));

    private async Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, UsageRecord? record, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(actualCost);
        actualCost = Charged(actualCost);

        var result = await _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            if (await ReadReservationAsync(session, requestId) is not { } found)
            {
                // Nothing held, nothing charged: the record still exists, and says so.
                await WriteRecordAsync(session, requestId, record, 0m);
                return new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null);
            }

            var (reservation, account) = found;
            if (reservation.State is ReservationState.Settled or ReservationState.Released)
            {
                return AlreadySettled(reservation, account.Balance);
            }

            var stillHeld = reservation.State == ReservationState.Open;
            var charge = Charge(actualCost, reservation.Amount, stillHeld, account);
            var reserved = account.Reserved;
            var entries = new List<BudgetEntry>(2);
            if (stillHeld)
            {
                reserved -= reservation.Amount;
                entries.Add(Entry(reservation.KeyId, BudgetEntryKind.Release, reservation.Amount, now, requestId: requestId));
            }

            var balance = account.Balance - charge;
            var free = Math.Max(0m, account.FreeCredit - charge);
            entries.Add(Entry(reservation.KeyId, BudgetEntryKind.Charge, charge, now, requestId: requestId, reportedCost: actualCost));
            await session.AppendAsync(entries);
            await session.SaveAccountAsync(account with { Balance = balance, Reserved = reserved, FreeCredit = free }, now);
            await session.SaveReservationAsync(reservation with { State = ReservationState.Settled, Charged = charge, ReportedCost = actualCost }, now);
            await WriteRecordAsync(session, requestId, record, charge);
            return new SettlementResult(SettlementStatus.Applied, charge, actualCost - charge, balance);
        }, cancellationToken);

        if (result is { Status: SettlementStatus.Applied, Uncharged: > 0m })
        {
            LogUncharged(requestId, result.Charged, result.Charged + result.Uncharged);
        }

        return result;
    }

    /// <inheritdoc />
    public Task<SettlementResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default) =>
        ReleaseAsync(requestId, null, cancellationToken);

    private Task<SettlementResult> ReleaseAsync(string requestId, UsageRecord? record, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            if (await ReadReservationAsync(session, requestId) is not { } found)
            {
                await WriteRecordAsync(session, requestId, record, 0m);
                return new SettlementResult(SettlementStatus.NotFound, 0m, 0m, null);
            }

            var (reservation, account) = found;
            switch (reservation.State)
            {
                case ReservationState.Open:
                    await session.AppendAsync(Entry(reservation.KeyId, BudgetEntryKind.Release, reservation.Amount, now, requestId: requestId));
                    await session.SaveAccountAsync(account with { Reserved = account.Reserved - reservation.Amount }, now);
                    await session.SaveReservationAsync(reservation with { State = ReservationState.Released, Charged = 0m, ReportedCost = 0m }, now);
                    await WriteRecordAsync(session, requestId, record, 0m);
                    return new SettlementResult(SettlementStatus.Applied, 0m, 0m, account.Balance);
                case ReservationState.Expired:
                    // The sweep released the hold already; record that the request ended without a charge.
                    await session.SaveReservationAsync(reservation with { State = ReservationState.Released, Charged = 0m, ReportedCost = 0m }, now);
                    await WriteRecordAsync(session, requestId, record, 0m);
                    return new SettlementResult(SettlementStatus.Applied, 0m, 0m, account.Balance);
                default:
                    return new SettlementResult(SettlementStatus.AlreadySettled, reservation.Charged ?? 0m, 0m, account.Balance);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Settles, or with <paramref name="actualCost"/> null releases, a request whose hold was carved in memory out of
    /// the lease <paramref name="leaseId"/> (a reservation of the same key, see <see cref="LeasedBudgetLedger"/>). One
    /// unit records the request as if it had reserved on its own (its reservation row and its reservation, release and
    /// charge entries) and moves its hold out of the lease, so the lease's amount stays what its open requests and its
    /// unused rest hold. The rules are <see cref="SettleAsync(string, decimal, CancellationToken)"/>'s: the charge is capped at the hold, and a lease the
    /// sweep expired meanwhile (its hold is gone) lets a late settle take only what is still available. Idempotent: a
    /// request already recorded is charged nothing more.
    /// </summary>
    internal async Task<SettlementResult> SettleCarvedAsync(
        string leaseId, string keyId, string requestId, decimal held, DateTimeOffset createdAt, DateTimeOffset expiresAt, decimal? actualCost, CancellationToken cancellationToken,
        UsageRecord? record = null)
    {
        var result = await _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            if (await session.GetReservationAsync(requestId) is { } recorded)
            {
                return AlreadySettled(recorded, (await session.GetAccountAsync(recorded.KeyId))?.Balance);
            }

            var lease = await session.GetReservationAsync(leaseId);
            var current = await session.GetAccountAsync(keyId);
            if (lease is null || lease.KeyId != keyId || current is null)
            {
                throw new InvalidOperationException($"Lease {leaseId} of a carved request is missing: the ledger store is inconsistent.");
            }

            // A lease no longer open (expired, or returned) holds nothing for the request any more.
            var stillHeld = lease.State == ReservationState.Open;
            var charge = Charge(actualCost ?? 0m, held, stillHeld, current);
            var reserved = current.Reserved;
            var entries = new List<BudgetEntry>(4);
            if (stillHeld)
            {
                if (lease.Amount < held)
                {
                    throw new InvalidOperationException($"Lease {leaseId} holds less than its requests: the ledger store is inconsistent.");
                }

                // The request's hold leaves the lease: the same money, now shown as the request's own, then released.
                reserved -= held;
                entries.Add(Entry(keyId, BudgetEntryKind.Reservation, held, createdAt, requestId: requestId));
                entries.Add(Entry(keyId, BudgetEntryKind.Release, held, now, requestId: leaseId));
                entries.Add(Entry(keyId, BudgetEntryKind.Release, held, now, requestId: requestId));
                await session.SaveReservationAsync(lease with { Amount = lease.Amount - held }, now);
            }

            var state = actualCost is null ? ReservationState.Released : ReservationState.Settled;
            var balance = current.Balance - charge;
            if (actualCost is { } cost)
            {
                entries.Add(Entry(keyId, BudgetEntryKind.Charge, charge, now, requestId: requestId, reportedCost: cost));
            }

            if (entries.Count > 0)
            {
                await session.AppendAsync(entries);
            }

            await session.InsertReservationAsync(new BudgetReservation(requestId, keyId, held, state, charge, actualCost ?? 0m, createdAt, expiresAt));
            await session.SaveAccountAsync(current with { Balance = balance, Reserved = reserved, FreeCredit = Math.Max(0m, current.FreeCredit - charge) }, now);
            await WriteRecordAsync(session, requestId, record, charge);
            return new SettlementResult(SettlementStatus.Applied, charge, (actualCost ?? 0m) - charge, balance);
        }, cancellationToken);

        if (result is { Status: SettlementStatus.Applied, Uncharged: > 0m })
        {
            LogUncharged(requestId, result.Charged, result.Charged + result.Uncharged);
        }

        return result;
    }

    /// <summary>
    /// Gives back part of an open lease's hold (what no request in flight needs) and returns the key's available
    /// balance afterwards; a lease no longer open gives back nothing.
    /// </summary>
    internal Task<decimal> ShrinkLeaseAsync(string leaseId, decimal amount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        return _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            var lease = await session.GetReservationAsync(leaseId)
                ?? throw new InvalidOperationException($"Lease {leaseId} is missing: the ledger store is inconsistent.");
            var account = await session.GetAccountAsync(lease.KeyId)
                ?? throw new InvalidOperationException("A reservation without an account: the ledger store is inconsistent.");
            var giveBack = lease.State == ReservationState.Open ? Math.Min(amount, lease.Amount) : 0m;
            if (giveBack > 0m)
            {
                await session.AppendAsync(Entry(lease.KeyId, BudgetEntryKind.Release, giveBack, now, requestId: leaseId));
                await session.SaveReservationAsync(lease with { Amount = lease.Amount - giveBack }, now);
                account = account with { Reserved = account.Reserved - giveBack };
                await session.SaveAccountAsync(account, now);
            }

            return account.ToBalance().Available;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<CreditResult> TopUpAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
        CreditAsync(keyId, amount, reference, BudgetEntryKind.TopUp, cancellationToken);

    /// <inheritdoc />
    public Task<CreditResult> GrantFreeCreditAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
        CreditAsync(keyId, amount, reference, BudgetEntryKind.FreeCredit, cancellationToken);

    /// <inheritdoc />
    public Task<CreditResult> RefundAsync(string keyId, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(reference);
        return _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            var account = await session.GetAccountAsync(keyId);
            var earlier = await session.FindByReferenceAsync(reference);
            if (earlier is not null)
            {
                var status = earlier.KeyId == keyId && earlier.Kind == BudgetEntryKind.Refund
                    ? CreditStatus.AlreadyApplied
                    : CreditStatus.ReferenceConflict;
                return new CreditResult(status, earlier.Amount, account?.Balance);
            }

            if (account is null)
            {
                return new CreditResult(CreditStatus.AccountNotFound, 0m, null);
            }

            var refund = Math.Max(0m, account.Balance - account.Reserved - account.FreeCredit);
            var balance = account.Balance - refund;
            await session.AppendAsync(Entry(keyId, BudgetEntryKind.Refund, refund, now, reference: reference));
            await session.SaveAccountAsync(account with { Balance = balance, Closed = true }, now);
            return new CreditResult(CreditStatus.Applied, refund, balance);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken = default)
    {
        var released = 0;
        var failed = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var now = _time.GetUtcNow();
            var expired = await _store.FindExpiredAsync(now, SweepBatch, cancellationToken);
            foreach (var requestId in expired)
            {
                if (failed.Contains(requestId))
                {
                    continue;
                }

                // Initialised although the try assigns it: a mutant without that assignment must still compile, or
                // mutation testing drops every mutant of this method (stryker/SURVIVORS.md).
                var applied = false;
                try
                {
                    applied = await ReleaseExpiredAsync(requestId, now, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One reservation the store cannot release must not stop the sweep for every other one behind it.
                    failed.Add(requestId);
                    LogExpiryFailed(ex, requestId);
                    continue;
                }

                if (applied)
                {
                    released++;
                }
            }

            // A full batch of nothing but failures would be found again and again: the next sweep tries them anew.
            if (expired.Count < SweepBatch || expired.All(failed.Contains))
            {
                break;
            }
        }

        if (released > 0)
        {
            LogExpired(released);
        }

        return released;
    }

    /// <summary>Releases one expired reservation; false when another sweep or a late settle got to it first.</summary>
    private Task<bool> ReleaseExpiredAsync(string requestId, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.RunAsync(async session =>
        {
            // Another instance's sweep or a late settle may have got here first.
            var reservation = await session.GetReservationAsync(requestId);
            if (reservation is not { State: ReservationState.Open } || reservation.ExpiresAt > now)
            {
                return false;
            }

            var account = await session.GetAccountAsync(reservation.KeyId)
                ?? throw new InvalidOperationException("A reservation without an account: the ledger store is inconsistent.");
            await session.AppendAsync(Entry(reservation.KeyId, BudgetEntryKind.Expiry, reservation.Amount, now, requestId: requestId));
            await session.SaveAccountAsync(account with { Reserved = account.Reserved - reservation.Amount }, now);
            await session.SaveReservationAsync(reservation with { State = ReservationState.Expired }, now);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<BudgetBalance?> GetBalanceAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return _store.RunAsync(async session => (await session.GetAccountAsync(keyId))?.ToBalance(), cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return _store.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return _store.GetCreditsAsync(keyId, afterSequence, limit, cancellationToken);
    }

    /// <inheritdoc />
    public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return _store.RunAsync(session => session.GetReservationAsync(requestId), cancellationToken);
    }

    private Task<CreditResult> CreditAsync(string keyId, decimal amount, string reference, BudgetEntryKind kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        if (!IsAtScale(amount))
        {
            throw new ArgumentException($"A credit has at most {AmountScale} decimal places.", nameof(amount));
        }

        return _store.RunAsync(async session =>
        {
            var now = _time.GetUtcNow();
            var account = await session.GetOrCreateAccountAsync(keyId, now);
            var earlier = await session.FindByReferenceAsync(reference);
            if (earlier is not null)
            {
                var status = earlier.KeyId == keyId && earlier.Kind == kind && earlier.Amount == amount
                    ? CreditStatus.AlreadyApplied
                    : CreditStatus.ReferenceConflict;
                return new CreditResult(status, earlier.Amount, account.Balance);
            }

            if (account.Closed)
            {
                return new CreditResult(CreditStatus.AccountClosed, 0m, account.Balance);
            }

            // Written so that it cannot overflow a decimal itself, as the sum would.
            if (amount > MaxBalance - account.Balance)
            {
                return new CreditResult(CreditStatus.OverMaximum, 0m, account.Balance);
            }

            var free = kind == BudgetEntryKind.FreeCredit ? account.FreeCredit + amount : account.FreeCredit;
            await session.AppendAsync(Entry(keyId, kind, amount, now, reference: reference));
            await session.SaveAccountAsync(account with { Balance = account.Balance + amount, FreeCredit = free }, now);
            return new CreditResult(CreditStatus.Applied, amount, account.Balance + amount);
        }, cancellationToken);
    }

    /// <summary>
    /// What a settle charges, for a request's own reservation and for one held out of a lease alike. While the hold
    /// stands it is the worst case the caller was shown, so the charge never passes it; once it is gone (expired) others
    /// may have reserved the money since, so a late settle takes only what is still available.
    /// </summary>
    private static decimal Charge(decimal cost, decimal hold, bool stillHeld, LedgerAccount account) =>
        stillHeld ? Math.Min(cost, hold) : Math.Min(cost, Math.Min(hold, Math.Max(0m, account.Balance - account.Reserved)));

    /// <summary>A request's reservation and its key's account, read (and locked) in the unit; null when there is no such reservation.</summary>
    private static async ValueTask<(BudgetReservation Reservation, LedgerAccount Account)?> ReadReservationAsync(ILedgerSession session, string requestId)
    {
        var reservation = await session.GetReservationAsync(requestId);
        if (reservation is null)
        {
            return null;
        }

        var account = await session.GetAccountAsync(reservation.KeyId)
            ?? throw new InvalidOperationException("A reservation without an account: the ledger store is inconsistent.");
        return (reservation, account);
    }

    /// <summary>The answer to a settle or release of a request already settled or released: what it was charged then.</summary>
    private static SettlementResult AlreadySettled(BudgetReservation reservation, decimal? balance)
    {
        var charged = reservation.Charged ?? 0m;
        return new SettlementResult(SettlementStatus.AlreadySettled, charged, Math.Max(0m, (reservation.ReportedCost ?? 0m) - charged), balance);
    }

    private static BudgetEntry Entry(string keyId, BudgetEntryKind kind, decimal amount, DateTimeOffset at, string? requestId = null, string? reference = null, decimal? reportedCost = null) =>
        new(0, keyId, kind, amount, requestId, reference, reportedCost, at);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Request {RequestId} reported a cost of {ReportedCost} but was charged {Charged}: the excess is recorded, not charged.")]
    private partial void LogUncharged(string requestId, decimal charged, decimal reportedCost);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Error, Message = "Releasing the expired reservation {RequestId} failed; the sweep went on with the others and tries it again next time.")]
    private partial void LogExpiryFailed(Exception exception, string requestId);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Released {Count} expired budget reservations.")]
    private partial void LogExpired(int count);
}
