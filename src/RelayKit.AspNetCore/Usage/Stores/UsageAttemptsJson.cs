using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>
/// How the SQL usage stores keep a record's <see cref="UsageRecord.Attempts"/>: one JSON text column, <c>attempts</c>, an
/// array of <c>{"provider", "upstream_model", "status_code" or "error_type", "latency_us"}</c> in the order the attempts
/// were made (latency in whole microseconds, as the stores keep every duration); NULL for a record without attempts (one
/// that never reached an upstream, or one written before the column existed). Names are escaped by the JSON writer, so a
/// hostile provider or model name is only data.
/// </summary>
internal static class UsageAttemptsJson
{
    /// <summary>The attempts as the column keeps them; null for none.</summary>
    public static string? Write(IReadOnlyList<UsageAttempt> attempts)
    {
        if (attempts.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(64 * attempts.Count);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var attempt in attempts)
            {
                writer.WriteStartObject();
                writer.WriteString("provider", attempt.Provider);
                writer.WriteString("upstream_model", attempt.UpstreamModel);
                if (attempt.StatusCode is { } status)
                {
                    writer.WriteNumber("status_code", status);
                }

                if (attempt.ErrorType is { } error)
                {
                    writer.WriteString("error_type", error);
                }

                writer.WriteNumber("latency_us", UsageStoreArguments.ToMicroseconds(attempt.Latency));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The attempts a column holds; none for NULL. Fields it does not know are passed over.</summary>
    public static IReadOnlyList<UsageAttempt> Read(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return UsageAttemptList.Empty;
        }

        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("A usage record's attempts are not a JSON array.");
        }

        var attempts = new List<UsageAttempt>(document.RootElement.GetArrayLength());
        foreach (var item in document.RootElement.EnumerateArray())
        {
            attempts.Add(new UsageAttempt
            {
                Provider = item.TryGetProperty("provider", out var provider) ? provider.GetString() ?? "" : "",
                UpstreamModel = item.TryGetProperty("upstream_model", out var model) ? model.GetString() ?? "" : "",
                StatusCode = item.TryGetProperty("status_code", out var status) && status.ValueKind == JsonValueKind.Number ? status.GetInt32() : null,
                ErrorType = item.TryGetProperty("error_type", out var error) ? error.GetString() : null,
                Latency = item.TryGetProperty("latency_us", out var latency) && latency.ValueKind == JsonValueKind.Number
                    ? UsageStoreArguments.FromMicroseconds(latency.GetInt64())
                    : TimeSpan.Zero,
            });
        }

        return UsageAttemptList.Of(attempts);
    }
}
