using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>The field reading both wire formats share: a required string model, an optional boolean stream, an optional integer cap.</summary>
internal static class PolicyFieldReader
{
    public static RelayReadResult Read(JsonElement root, bool streams, params string[] maxTokenProperties)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind == JsonValueKind.Null)
        {
            return RelayError.MissingModel();
        }

        var name = model.ValueKind == JsonValueKind.String ? model.GetString() : null;
        if (string.IsNullOrWhiteSpace(name))
        {
            return RelayError.InvalidField("model", "must be a non-empty string");
        }

        // No model is named with control characters; one that were would forge lines in logs and break stores
        // (PostgreSQL text cannot hold NUL).
        if (name.AsSpan().ContainsAnyInRange('\0', '\u001f') || name.Contains('\u007f', StringComparison.Ordinal))
        {
            return RelayError.InvalidField("model", "must not contain control characters");
        }

        var stream = false;
        if (streams && root.TryGetProperty("stream", out var streamValue) && streamValue.ValueKind != JsonValueKind.Null)
        {
            if (streamValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return RelayError.InvalidField("stream", "must be true or false");
            }

            stream = streamValue.GetBoolean();
        }

        // Every name the cap goes by is checked: which one an upstream honours depends on the upstream, so the
        // larger is the cap (as the worst-case estimate takes it).
        int? maxTokens = null;
        foreach (var property in maxTokenProperties)
        {
            if (root.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                if (!TryReadCount(value, 0, out var parsed))
                {
                    return RelayError.InvalidField(property, "must be a non-negative integer");
                }

                maxTokens = Math.Max(maxTokens ?? 0, parsed);
            }
        }

        return new RelayRequestFields(name, stream, maxTokens);
    }

    /// <summary>
    /// An optional whole number of at least <paramref name="minimum"/> that fits an <see cref="int"/>, such as
    /// Chat Completions' <c>n</c>; an error naming <paramref name="property"/> otherwise.
    /// </summary>
    public static RelayError? CheckCount(JsonElement root, string property, int minimum) =>
        root.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null && !TryReadCount(value, minimum, out _)
            ? RelayError.InvalidField(property, minimum == 0 ? "must be a non-negative integer" : $"must be an integer of at least {minimum}")
            : null;

    private static bool TryReadCount(JsonElement value, int minimum, out int count)
    {
        count = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out count) && count >= minimum;
    }
}
