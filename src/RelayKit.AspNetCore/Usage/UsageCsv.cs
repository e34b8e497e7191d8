using System.Globalization;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Writes usage records as CSV (RFC 4180: comma-separated, CRLF line ends, fields with commas,
/// quotes or line breaks quoted, quotes doubled). Hand-written because it is a dozen lines and a
/// CSV library would be a dependency of every app that uses the relay. Text cells that a
/// spreadsheet would run as a formula (starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or
/// carriage return) are prefixed with <c>'</c>, since key names and prompts come from users.
/// </summary>
internal static class UsageCsv
{
    private static readonly string[] Header =
    [
        "request_id", "timestamp", "key_name", "requested_model", "provider", "upstream_model", "operation", "streamed",
        "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
        "status_code", "error_type", "time_to_first_byte_ms", "duration_ms", "attempts",
    ];

    /// <summary>Writes a header line and one line per record.</summary>
    /// <param name="records">The records, usually <see cref="IUsageStore.ReadAsync"/>.</param>
    /// <param name="writer">Where the CSV goes.</param>
    /// <param name="includeContent">Whether to add the prompt and completion columns.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    public static async Task WriteAsync(
        IAsyncEnumerable<UsageRecord> records, TextWriter writer, bool includeContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(writer);

        var header = includeContent ? [.. Header, "prompt", "completion"] : Header;
        await writer.WriteAsync(string.Join(',', header) + "\r\n");
        var cells = new List<string>(header.Length);
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            cells.Clear();
            cells.Add(Text(record.RequestId));
            cells.Add(record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            cells.Add(Text(record.KeyName));
            cells.Add(Text(record.RequestedModel));
            cells.Add(Text(record.Provider));
            cells.Add(Text(record.UpstreamModel));
            cells.Add(Text(record.Operation));
            cells.Add(record.Streamed ? "true" : "false");
            cells.Add(Number(record.InputTokens));
            cells.Add(Number(record.OutputTokens));
            cells.Add(Number(record.CachedInputTokens));
            cells.Add(Number(record.CacheWriteTokens));
            cells.Add(Number(record.ReasoningTokens));
            cells.Add(record.Cost.ToString(CultureInfo.InvariantCulture));
            cells.Add(record.StatusCode.ToString(CultureInfo.InvariantCulture));
            cells.Add(Text(record.ErrorType));
            cells.Add(record.TimeToFirstByte is { } ttfb ? ttfb.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) : "");
            cells.Add(record.Duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture));
            cells.Add(record.Attempts.Count.ToString(CultureInfo.InvariantCulture));
            if (includeContent)
            {
                cells.Add(Text(record.Prompt));
                cells.Add(Text(record.Completion));
            }

            await writer.WriteAsync(string.Join(',', cells) + "\r\n");
        }

        await writer.FlushAsync(cancellationToken);
    }

    /// <summary>A text cell: formula-guarded, then quoted when it must be.</summary>
    internal static string Text(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 || value[0] == ' ' || value[^1] == ' '
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
    }

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";
}
