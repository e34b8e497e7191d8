using System.Globalization;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// <c>GET {prefix}/spend</c>: what the usage records a filter selects (<c>key</c>, <c>model</c>, <c>from</c>, <c>to</c>,
/// as <c>GET usage</c> takes them) cost, by key, by model and by day, for the operator console's charts. The relay's stores
/// sum them in the database (one row per day, key and model, <see cref="IUsageSpendTotals"/>); a host's own store is read
/// as a stream of records, holding only the totals.
/// </summary>
internal sealed class RelayAdminSpendEndpoint(IUsageStore store)
{
    public async Task<IResult> QueryAsync(HttpContext http)
    {
        var query = http.Request.Query;
        foreach (var name in query.Keys)
        {
            if (name is not ("key" or "model" or "status" or "from" or "to"))
            {
                return RelayAdminEndpoints.Invalid($"Unknown query parameter '{name}'; the spend query takes key, model, status, from and to.");
            }
        }

        if (!RelayAdminUsageEndpoint.TryParseTime(query["from"], endOfDay: false, out var from)
            || !RelayAdminUsageEndpoint.TryParseTime(query["to"], endOfDay: true, out var until))
        {
            return RelayAdminEndpoints.Invalid(
                "'from' and 'to' must be ISO 8601 dates (2026-11-01: 'to' includes that whole UTC day) or times with an offset (2026-11-01T12:00:00Z: 'to' excludes it).");
        }

        if (from is not null && until is not null && from >= until)
        {
            return RelayAdminEndpoints.Invalid("'from' must be before 'to'.");
        }

        if (!RelayAdminUsageEndpoint.TryParseStatus(query["status"], out var failed))
        {
            return RelayAdminEndpoints.Invalid(RelayAdminUsageEndpoint.StatusMessage);
        }

        var filter = new UsageFilter
        {
            KeyName = RelayAdminUsageEndpoint.NonEmpty(query["key"]), Model = RelayAdminUsageEndpoint.NonEmpty(query["model"]), Failed = failed,
            From = from, Until = until,
        };
        var byKey = new Dictionary<string, Total>(StringComparer.Ordinal);
        var noKey = new Total();
        var byModel = new Dictionary<string, Total>(StringComparer.Ordinal);
        var byDay = new SortedDictionary<DateOnly, Total>();
        var all = new Total();
        await foreach (var total in TotalsAsync(filter, http.RequestAborted))
        {
            all.Add(total);
            (total.KeyName is null ? noKey : Get(byKey, total.KeyName)).Add(total);
            Get(byModel, total.Model).Add(total);
            Get(byDay, total.Day).Add(total);
        }

        if (byDay.Count > 0)
        {
            for (var day = byDay.Keys.First(); day < byDay.Keys.Last(); day = day.AddDays(1))
            {
                Get(byDay, day);
            }
        }

        var keys = Ranked(byKey);
        if (noKey.Requests > 0)
        {
            keys.Add(noKey.View(null));
        }

        return RelayAdminEndpoints.Json(StatusCodes.Status200OK, new SpendView(
            all.Requests, all.Errors, all.Cost, keys, Ranked(byModel),
            [.. byDay.Select(d => d.Value.View(d.Key.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)))]));
    }

    /// <summary>The filter's spend per day, key and model: summed by the store when it can, else from its records one by one.</summary>
    private async IAsyncEnumerable<UsageSpendTotal> TotalsAsync(UsageFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (store is IUsageSpendTotals summing)
        {
            foreach (var total in await summing.GetSpendTotalsAsync(filter, cancellationToken))
            {
                yield return total;
            }

            yield break;
        }

        await foreach (var record in store.ReadAsync(filter, cancellationToken))
        {
            yield return new UsageSpendTotal(
                DateOnly.FromDateTime(record.Timestamp.UtcDateTime), record.KeyName, record.RequestedModel, 1, record.IsError ? 1 : 0,
                record.InputTokens ?? 0, record.OutputTokens ?? 0, record.Cost);
        }
    }

    private static List<SpendTotalView> Ranked(Dictionary<string, Total> totals) =>
        [.. totals.OrderByDescending(t => t.Value.Cost).ThenBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Value.View(t.Key))];

    private static Total Get<TKey>(IDictionary<TKey, Total> totals, TKey key)
    {
        if (!totals.TryGetValue(key, out var total))
        {
            totals[key] = total = new Total();
        }

        return total;
    }

    /// <summary>A running total of one group.</summary>
    private sealed class Total
    {
        public long Requests { get; private set; }

        public long Errors { get; private set; }

        public long InputTokens { get; private set; }

        public long OutputTokens { get; private set; }

        public decimal Cost { get; private set; }

        public void Add(UsageSpendTotal total)
        {
            Requests += total.Requests;
            Errors += total.Errors;
            InputTokens += total.InputTokens;
            OutputTokens += total.OutputTokens;
            Cost += total.Cost;
        }

        public SpendTotalView View(string? name) => new(name, Requests, Errors, InputTokens, OutputTokens, Cost);
    }
}
