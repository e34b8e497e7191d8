using System.Runtime.CompilerServices;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>Usage records in process memory, for tests and demos; gone on restart.</summary>
internal sealed class InMemoryUsageStore : IUsageStore, IUsageSpendTotals
{
    private readonly Lock _gate = new();
    private readonly List<UsageRecord> _records = [];
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var record in records)
            {
                if (_ids.Add(record.RequestId))
                {
                    _records.Add(record);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<UsagePage> QueryAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken)
    {
        UsageStoreArguments.CheckPage(offset, limit);
        var matching = Select(filter).OrderByDescending(r => r.Timestamp).ThenByDescending(r => r.RequestId, StringComparer.Ordinal)
            .Skip(offset).Take(limit + 1).ToList();
        var hasMore = matching.Count > limit;
        if (hasMore)
        {
            matching.RemoveAt(limit);
        }

        return Task.FromResult(new UsagePage(matching, hasMore ? offset + limit : null));
    }

    public Task<IReadOnlyList<UsageDailyTotal>> GetDailyTotalsAsync(UsageFilter filter, CancellationToken cancellationToken)
    {
        IReadOnlyList<UsageDailyTotal> totals = Select(filter)
            .GroupBy(r => (Day: DateOnly.FromDateTime(r.Timestamp.UtcDateTime), Model: r.RequestedModel))
            .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
            .Select(g => new UsageDailyTotal(
                g.Key.Day,
                g.Key.Model,
                g.LongCount(),
                g.LongCount(r => r.IsError),
                g.Sum(r => r.InputTokens ?? 0),
                g.Sum(r => r.OutputTokens ?? 0),
                g.Sum(r => r.CachedInputTokens ?? 0),
                g.Sum(r => r.CacheWriteTokens ?? 0),
                g.Sum(r => r.ReasoningTokens ?? 0),
                g.Sum(r => r.Cost)))
            .ToList();
        return Task.FromResult(totals);
    }

    public Task<IReadOnlyList<UsageSpendTotal>> GetSpendTotalsAsync(UsageFilter filter, CancellationToken cancellationToken)
    {
        IReadOnlyList<UsageSpendTotal> totals = Select(filter)
            .GroupBy(r => (Day: DateOnly.FromDateTime(r.Timestamp.UtcDateTime), Key: r.KeyName, Model: r.RequestedModel))
            .Select(g => new UsageSpendTotal(
                g.Key.Day, g.Key.Key, g.Key.Model, g.LongCount(), g.LongCount(r => r.IsError),
                g.Sum(r => r.InputTokens ?? 0), g.Sum(r => r.OutputTokens ?? 0), g.Sum(r => r.Cost)))
            .ToList();
        return Task.FromResult(totals);
    }

    public Task<IReadOnlyDictionary<string, decimal>> GetSpentByKeyAsync(CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, decimal> spent = Select(UsageFilter.All).Where(r => r.KeyName is not null)
            .GroupBy(r => r.KeyName!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(r => r.Cost), StringComparer.Ordinal);
        return Task.FromResult(spent);
    }

    public async IAsyncEnumerable<UsageRecord> ReadAsync(UsageFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var records = Select(filter).OrderBy(r => r.Timestamp).ThenBy(r => r.RequestId, StringComparer.Ordinal).ToList();
        foreach (var record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask;
    }

    private List<UsageRecord> Select(UsageFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            return _records.Where(filter.Matches).ToList();
        }
    }
}
