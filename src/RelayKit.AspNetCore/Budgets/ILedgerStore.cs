namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Storage under <see cref="BudgetLedger"/>: runs a unit of work as one transaction in which every
/// account and reservation it reads stays locked until it commits, so the money rules (written once,
/// in <see cref="BudgetLedger"/>) hold on every store.
/// </summary>
internal interface ILedgerStore
{
    /// <summary>Runs <paramref name="work"/> atomically; it may run again after a write conflict, so it must have no other side effects.</summary>
    Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken);

    /// <summary>Request ids of open reservations that expired at or before <paramref name="now"/>.</summary>
    Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>The key's entries after a sequence number, oldest first.</summary>
    Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The oldest usage records waiting in the outbox (written with their charge, see
    /// <see cref="ILedgerSession.WriteOutboxAsync"/>), for the drainer to move to the usage store.
    /// </summary>
    /// <remarks>The default (an empty outbox) is for test doubles that keep none.</remarks>
    Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<OutboxRecord>>([]);
}
