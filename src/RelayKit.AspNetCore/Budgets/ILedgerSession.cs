namespace RelayKit.AspNetCore.Budgets;

/// <summary>One transaction of an <see cref="ILedgerStore"/>; what it reads is locked until commit.</summary>
internal interface ILedgerSession
{
    Task<LedgerAccount?> GetAccountAsync(string keyId);

    /// <summary>Creates an empty account unless one exists, then returns it (locked).</summary>
    Task<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now);

    Task SaveAccountAsync(LedgerAccount account, DateTimeOffset now);

    Task<BudgetReservation?> GetReservationAsync(string requestId);

    Task InsertReservationAsync(BudgetReservation reservation);

    Task SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now);

    /// <summary>The entry carrying this idempotency reference, if any.</summary>
    Task<BudgetEntry?> FindByReferenceAsync(string reference);

    /// <summary>Appends an entry; its sequence number is assigned by the store.</summary>
    Task AppendAsync(BudgetEntry entry);

    /// <summary>Appends entries in their order, in one statement where the store can (a settle writes several).</summary>
    Task AppendAsync(IReadOnlyList<BudgetEntry> entries);
}
