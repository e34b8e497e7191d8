namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// A usage store that sums spend itself (SQL <c>GROUP BY</c>, or over its memory), so <c>GET spend</c> reads one row per
/// day, key and model instead of every record. Internal, beside the public <see cref="IUsageStore"/>: a host's own store
/// without it is still served, by reading its records.
/// </summary>
internal interface IUsageSpendTotals
{
    /// <summary>The records a filter selects, summed per UTC day, key and requested model, in no particular order.</summary>
    Task<IReadOnlyList<UsageSpendTotal>> GetSpendTotalsAsync(UsageFilter filter, CancellationToken cancellationToken);

    /// <summary>What every key's records cost in all, by key name (records without a key left out): one read for a key list.</summary>
    Task<IReadOnlyDictionary<string, decimal>> GetSpentByKeyAsync(CancellationToken cancellationToken);
}
