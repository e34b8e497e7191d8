namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// A ledger session for a transaction that many units share (the SQLite store's group commit): an account or a
/// reservation row read or written in the transaction is kept here, later reads of it are answered from here, and an
/// update of it is written once, when the transaction is about to commit (<see cref="FlushAsync"/>), however many units
/// updated it. Appended entries, inserted reservations and outbox rows are written at once, as before.
/// </summary>
/// <remarks>
/// <para>
/// Why: under load a batch holds many settles of the same key, and each one read and rewrote the key's account row
/// and its lease's reservation row: four of a carved settle's eight statements (bench/README.md). Kept here, those
/// rows are read once and written once per batch.
/// </para>
/// <para>
/// Sound because every read of these rows inside the transaction goes through the session (units see nothing else),
/// readers on other connections see only committed rows anyway, and the rows are written before the commit, in the same
/// transaction: what commits is exactly what the units wrote, in their order. When the transaction rolls back (a unit
/// threw, the commit lost to another process), <see cref="Clear"/> drops everything kept, so the units' re-run reads the
/// file again. A row is kept as an immutable record, so a unit cannot change what another unit read.
/// </para>
/// </remarks>
internal sealed class WriteBehindSession(ILedgerSession inner) : ILedgerSession
{
    private readonly Dictionary<string, Kept<LedgerAccount>> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Kept<BudgetReservation>> _reservations = new(StringComparer.Ordinal);

    /// <summary>Forgets every kept row: at the start of a transaction and after a rollback.</summary>
    public void Clear()
    {
        _accounts.Clear();
        _reservations.Clear();
    }

    /// <summary>Writes every kept row that a unit updated, once each; called in the transaction, right before its commit.</summary>
    public async ValueTask FlushAsync()
    {
        foreach (var (_, kept) in _accounts)
        {
            if (kept.DirtyAt is { } now)
            {
                await inner.SaveAccountAsync(kept.Row, now).ConfigureAwait(false);
            }
        }

        foreach (var (_, kept) in _reservations)
        {
            if (kept.DirtyAt is { } now)
            {
                await inner.SaveReservationAsync(kept.Row, now).ConfigureAwait(false);
            }
        }

        Clear();
    }

    public async ValueTask<LedgerAccount?> GetAccountAsync(string keyId)
    {
        if (_accounts.TryGetValue(keyId, out var kept))
        {
            return kept.Row;
        }

        var account = await inner.GetAccountAsync(keyId).ConfigureAwait(false);
        if (account is not null)
        {
            _accounts[keyId] = new Kept<LedgerAccount>(account, null);
        }

        return account;
    }

    public async ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now)
    {
        if (_accounts.TryGetValue(keyId, out var kept))
        {
            return kept.Row;
        }

        var account = await inner.GetOrCreateAccountAsync(keyId, now).ConfigureAwait(false);
        _accounts[keyId] = new Kept<LedgerAccount>(account, null);
        return account;
    }

    public async ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
    {
        if (_accounts.ContainsKey(account.KeyId))
        {
            // The row exists (read or created in this transaction): written at the flush.
            _accounts[account.KeyId] = new Kept<LedgerAccount>(account, now);
            return;
        }

        // Never read here: written now, so a missing row fails this unit as it always did.
        await inner.SaveAccountAsync(account, now).ConfigureAwait(false);
        _accounts[account.KeyId] = new Kept<LedgerAccount>(account, null);
    }

    public async ValueTask<BudgetReservation?> GetReservationAsync(string requestId)
    {
        if (_reservations.TryGetValue(requestId, out var kept))
        {
            return kept.Row;
        }

        var reservation = await inner.GetReservationAsync(requestId).ConfigureAwait(false);
        if (reservation is not null)
        {
            _reservations[requestId] = new Kept<BudgetReservation>(reservation, null);
        }

        return reservation;
    }

    public async ValueTask InsertReservationAsync(BudgetReservation reservation)
    {
        // Written now: the primary key refuses a request id twice, at the insert, as before.
        await inner.InsertReservationAsync(reservation).ConfigureAwait(false);
        _reservations[reservation.RequestId] = new Kept<BudgetReservation>(reservation, null);
    }

    public async ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
    {
        if (_reservations.ContainsKey(reservation.RequestId))
        {
            _reservations[reservation.RequestId] = new Kept<BudgetReservation>(reservation, now);
            return;
        }

        await inner.SaveReservationAsync(reservation, now).ConfigureAwait(false);
        _reservations[reservation.RequestId] = new Kept<BudgetReservation>(reservation, null);
    }

    public ValueTask<BudgetEntry?> FindByReferenceAsync(string reference) => inner.FindByReferenceAsync(reference);

    public ValueTask AppendAsync(BudgetEntry entry) => inner.AppendAsync(entry);

    public ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries) => inner.AppendAsync(entries);

    public ValueTask WriteOutboxAsync(string requestId, string record) => inner.WriteOutboxAsync(requestId, record);

    public ValueTask DeleteOutboxAsync(string requestId) => inner.DeleteOutboxAsync(requestId);

    /// <summary>A row as the transaction last saw it; <see cref="DirtyAt"/> is when a unit last updated it (null: unchanged).</summary>
    private readonly record struct Kept<T>(T Row, DateTimeOffset? DirtyAt);
}
