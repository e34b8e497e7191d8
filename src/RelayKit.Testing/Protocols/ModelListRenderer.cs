using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols;

/// <summary>Model lists in OpenAI's (<c>object: list</c>) and Anthropic's (<c>data, has_more, first_id, last_id</c>) formats.</summary>
internal static class ModelListRenderer
{
    public static JsonObject OpenAI(IEnumerable<string> models, long created) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(models.Select(id => (JsonNode)new JsonObject
        {
            ["id"] = id,
            ["object"] = "model",
            ["created"] = created,
            ["owned_by"] = id.StartsWith("claude", StringComparison.Ordinal) ? "anthropic" : "openai",
        }).ToArray()),
    };

    public static JsonObject Anthropic(IReadOnlyList<string> models, DateTimeOffset created) => new()
    {
        ["data"] = new JsonArray(models.Select(id => (JsonNode)new JsonObject
        {
            ["type"] = "model",
            ["id"] = id,
            ["display_name"] = DisplayName(id),
            ["created_at"] = created.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["lifecycle"] = "active",
        }).ToArray()),
        ["has_more"] = false,
        ["first_id"] = models.Count == 0 ? null : models[0],
        ["last_id"] = models.Count == 0 ? null : models[^1],
    };

    /// <summary>Anthropic's display style: <c>claude-sonnet-4-5</c> is shown as <c>Claude Sonnet 4.5</c>.</summary>
    internal static string DisplayName(string id)
    {
        var words = new List<string>();
        var version = new List<string>();
        foreach (var part in id.Split('-', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.All(char.IsAsciiDigit) && part.Length <= 2)
            {
                version.Add(part);
            }
            else if (version.Count == 0)
            {
                words.Add(char.ToUpperInvariant(part[0]) + part[1..]);
            }
        }

        return version.Count == 0 ? string.Join(' ', words) : string.Join(' ', words) + " " + string.Join('.', version);
    }
}
