namespace RelayKit.AspNetCore.Budgets;

/// <summary>One transaction of an <see cref="ILedgerStore"/>; what it reads is locked until commit.</summary>
/// <remarks>
/// Value tasks: on SQLite and in memory every call completes synchronously, and a task per call was a good part of
/// what a unit allocated. Each result is awaited once, at the call.
/// </remarks>
internal interface ILedgerSession
{
    ValueTask<LedgerAccount?> GetAccountAsync(string keyId);

    /// <summary>Creates an empty account unless one exists, then returns it (locked).</summary>
    ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now);

    ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now);

    ValueTask<BudgetReservation?> GetReservationAsync(string requestId);

    ValueTask InsertReservationAsync(BudgetReservation reservation);

    ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now);

    /// <summary>The entry carrying this idempotency reference, if any.</summary>
    ValueTask<BudgetEntry?> FindByReferenceAsync(string reference);

    /// <summary>Appends an entry; its sequence number is assigned by the store.</summary>
    ValueTask AppendAsync(BudgetEntry entry);

    /// <summary>Appends entries in their order, in one statement where the store can (a settle writes several).</summary>
    ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries);

    /// <summary>
    /// Puts a request's usage record (serialized) into the usage outbox, in this unit's transaction, so the record is
    /// committed exactly when the charge it describes is; a second record of the same request id is ignored.
    /// </summary>
    /// <remarks>The default is for test doubles that keep no outbox.</remarks>
    ValueTask WriteOutboxAsync(string requestId, string record) => throw new NotSupportedException("This ledger store keeps no usage outbox.");

    /// <summary>Removes a request's record from the usage outbox (the usage store has it).</summary>
    ValueTask DeleteOutboxAsync(string requestId) => throw new NotSupportedException("This ledger store keeps no usage outbox.");
}
