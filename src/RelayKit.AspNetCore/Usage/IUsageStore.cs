namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Where usage records are kept: SQLite by default, PostgreSQL for many instances, in memory for
/// tests. Implementations are safe for concurrent use.
/// </summary>
public interface IUsageStore
{
    /// <summary>Checks that the store is reachable (creating its schema on first use).</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that fails when the store cannot be reached.</returns>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>Appends records. A record whose <see cref="UsageRecord.RequestId"/> is already stored is skipped, so a batch can be retried safely.</summary>
    /// <param name="records">The records to append.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the records are durable.</returns>
    Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken);

    /// <summary>Reads one page of the records a filter selects, newest first.</summary>
    /// <param name="filter">Which records.</param>
    /// <param name="offset">How many matching records to skip.</param>
    /// <param name="limit">The most records to return (1 to 1000).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    Task<UsagePage> QueryAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken);

    /// <summary>Totals of the records a filter selects, by UTC day and requested model, ordered by day then model.</summary>
    /// <param name="filter">Which records (usually one key and a day range).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One total per day and model that has records.</returns>
    Task<IReadOnlyList<UsageDailyTotal>> GetDailyTotalsAsync(UsageFilter filter, CancellationToken cancellationToken);

    /// <summary>Streams every record a filter selects, oldest first, without holding them in memory (for exports).</summary>
    /// <param name="filter">Which records.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<UsageRecord> ReadAsync(UsageFilter filter, CancellationToken cancellationToken);

    /// <summary>The most recent records, newest first.</summary>
    /// <param name="keyName">Only this key's records, or every key's when <see langword="null"/>.</param>
    /// <param name="count">How many (1 to 1000).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records.</returns>
    async Task<IReadOnlyList<UsageRecord>> GetRecentAsync(string? keyName, int count, CancellationToken cancellationToken) =>
        (await QueryAsync(new UsageFilter { KeyName = keyName }, 0, count, cancellationToken)).Records;
}
