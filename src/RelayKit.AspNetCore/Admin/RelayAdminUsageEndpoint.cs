using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// <c>GET {prefix}/usage</c>: every key's usage records for the operator, filtered by <c>key</c>, <c>model</c> and a
/// <c>from</c>/<c>to</c> range; JSON in pages (newest first), or CSV (<c>Accept: text/csv</c> or <c>?format=csv</c>)
/// streamed oldest first straight from the store, never held in memory.
/// </summary>
internal sealed class RelayAdminUsageEndpoint(IUsageStore store)
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public Task<IResult> QueryAsync(HttpContext http)
    {
        var query = http.Request.Query;
        foreach (var name in query.Keys)
        {
            if (name is not ("key" or "model" or "status" or "from" or "to" or "format" or "limit" or "offset"))
            {
                return Task.FromResult(RelayAdminEndpoints.Invalid($"Unknown query parameter '{name}'; the usage query takes key, model, status, from, to, format, limit and offset."));
            }
        }

        if (!TryParseTime(query["from"], endOfDay: false, out var from) || !TryParseTime(query["to"], endOfDay: true, out var until))
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid(
                "'from' and 'to' must be ISO 8601 dates (2026-11-01: 'to' includes that whole UTC day) or times with an offset (2026-11-01T12:00:00Z: 'to' excludes it)."));
        }

        if (from is not null && until is not null && from >= until)
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid("'from' must be before 'to'."));
        }

        if (!TryParseStatus(query["status"], out var failed))
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid(StatusMessage));
        }

        var filter = new UsageFilter { KeyName = NonEmpty(query["key"]), Model = NonEmpty(query["model"]), Failed = failed, From = from, Until = until };
        var format = query["format"].ToString();
        var csv = format.Length == 0 ? WantsCsv(http.Request) : string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase);
        if (format.Length > 0 && !csv && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid("'format' must be json or csv."));
        }

        if (csv)
        {
            return Task.FromResult(Csv(filter, http.RequestAborted));
        }

        var offset = 0;
        var limit = DefaultPageSize;
        if (query.TryGetValue("offset", out var offsetText) && (!int.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid("'offset' must be a non-negative whole number (the next_offset of the previous page)."));
        }

        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPageSize))
        {
            return Task.FromResult(RelayAdminEndpoints.Invalid($"'limit' must be a whole number from 1 to {MaxPageSize}."));
        }

        return PageAsync(filter, offset, limit, http.RequestAborted);
    }

    private async Task<IResult> PageAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken)
    {
        var page = await store.QueryAsync(filter, offset, limit, cancellationToken);
        return RelayAdminEndpoints.Json(StatusCodes.Status200OK, new UsageListView([.. page.Records.Select(UsageRecordView.From)], page.NextOffset));
    }

    private IResult Csv(UsageFilter filter, CancellationToken cancellationToken) => Results.Stream(
        async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
            await UsageCsv.WriteAsync(store.ReadAsync(filter, cancellationToken), writer, includeContent: false, cancellationToken);
        },
        "text/csv; charset=utf-8",
        fileDownloadName: "relaykit-usage.csv");

    private static bool WantsCsv(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase));

    internal const string StatusMessage = "'status' must be ok (answered below 400) or error (400 and above).";

    /// <summary><c>status</c>: <c>error</c> (failed records), <c>ok</c> (the others) or absent (both).</summary>
    internal static bool TryParseStatus(string? text, out bool? failed)
    {
        failed = string.IsNullOrWhiteSpace(text) ? null
            : string.Equals(text.Trim(), "error", StringComparison.OrdinalIgnoreCase) ? true
            : string.Equals(text.Trim(), "ok", StringComparison.OrdinalIgnoreCase) ? false
            : null;
        return failed is not null || string.IsNullOrWhiteSpace(text);
    }

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>An ISO 8601 date (its start, or for <paramref name="endOfDay"/> the start of the next day) or a time with an offset; absent is null.</summary>
    internal static bool TryParseTime(string? text, bool endOfDay, out DateTimeOffset? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            value = new DateTimeOffset((endOfDay ? day.AddDays(1) : day).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }

        // A time must say its offset: a bare local time would mean something else on every server.
        if (text.Length > 10 && (text.EndsWith('Z') || text.EndsWith("z", StringComparison.Ordinal) || text[^6] is '+' or '-')
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            value = time.ToUniversalTime();
            return true;
        }

        return false;
    }
}
