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
    /// The key's credits and refunds (the entries that carry a reference: top-ups, free credit, refunds) after a sequence
    /// number, oldest first: what its holder's billing page lists, without reading past every reservation and charge.
    /// </summary>
    /// <remarks>The default pages through <see cref="GetEntriesAsync"/>; it is for test doubles, the stores filter in their query.</remarks>
    async Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        var credits = new List<BudgetEntry>();
        while (credits.Count < limit)
        {
            var page = await GetEntriesAsync(keyId, afterSequence, 1000, cancellationToken);
            credits.AddRange(page.Where(e => e.Reference is not null).Take(limit - credits.Count));
            if (page.Count < 1000)
            {
                break;
            }

            afterSequence = page[^1].Sequence;
        }

        return credits;
    }

    /// <summary>
    /// The oldest usage records waiting in the outbox (written with their charge, see
    /// <see cref="ILedgerSession.WriteOutboxAsync"/>), for the drainer to move to the usage store.
    /// </summary>
    /// <remarks>The default (an empty outbox) is for test doubles that keep none.</remarks>
    Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<OutboxRecord>>([]);
}
