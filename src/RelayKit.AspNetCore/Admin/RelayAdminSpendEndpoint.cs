using System.Globalization;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// <c>GET {prefix}/spend</c>: what the usage records a filter selects (<c>key</c>, <c>model</c>, <c>from</c>, <c>to</c>,
/// as <c>GET usage</c> takes them) cost, by key, by model and by day, for the operator console's charts. The records are
/// read as a stream and only the totals are held, one per key, model and day.
/// </summary>
internal sealed class RelayAdminSpendEndpoint(IUsageStore store)
{
    public async Task<IResult> QueryAsync(HttpContext http)
    {
        var query = http.Request.Query;
        foreach (var name in query.Keys)
        {
            if (name is not ("key" or "model" or "from" or "to"))
            {
                return RelayAdminEndpoints.Invalid($"Unknown query parameter '{name}'; the spend query takes key, model, from and to.");
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

        var filter = new UsageFilter
        {
            KeyName = RelayAdminUsageEndpoint.NonEmpty(query["key"]), Model = RelayAdminUsageEndpoint.NonEmpty(query["model"]), From = from, Until = until,
        };
        var byKey = new Dictionary<string, Total>(StringComparer.Ordinal);
        var noKey = new Total();
        var byModel = new Dictionary<string, Total>(StringComparer.Ordinal);
        var byDay = new SortedDictionary<DateOnly, Total>();
        var all = new Total();
        await foreach (var record in store.ReadAsync(filter, http.RequestAborted))
        {
            all.Add(record);
            (record.KeyName is null ? noKey : Get(byKey, record.KeyName)).Add(record);
            Get(byModel, record.RequestedModel).Add(record);
            Get(byDay, DateOnly.FromDateTime(record.Timestamp.UtcDateTime)).Add(record);
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

        public void Add(UsageRecord record)
        {
            Requests++;
            Errors += record.IsError ? 1 : 0;
            InputTokens += record.InputTokens ?? 0;
            OutputTokens += record.OutputTokens ?? 0;
            Cost += record.Cost;
        }

        public SpendTotalView View(string? name) => new(name, Requests, Errors, InputTokens, OutputTokens, Cost);
    }
}
