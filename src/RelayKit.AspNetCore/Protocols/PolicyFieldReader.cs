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

        if (model.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetString()))
        {
            return RelayError.InvalidField("model", "must be a non-empty string");
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

        int? maxTokens = null;
        foreach (var property in maxTokenProperties)
        {
            if (root.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var parsed) || parsed < 0)
                {
                    return RelayError.InvalidField(property, "must be a non-negative integer");
                }

                maxTokens = parsed;
                break;
            }
        }

        return new RelayRequestFields(model.GetString()!, stream, maxTokens);
    }
}
