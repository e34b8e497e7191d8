using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// The JSON conventions of cassette files: indented with two spaces, <c>\n</c> line ends, text kept
/// readable (no <c>\uXXXX</c> escapes for non-ASCII), and a key-sorting normalizer.
/// </summary>
internal static class CassetteJson
{
    // Cassettes are test fixtures read by people and diffed in reviews, not HTML; escaping every
    // non-ASCII character or '+' would make them unreadable.
    public static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// A deep copy with every object's keys in ordinal order. System.Text.Json keeps insertion order
    /// and has no sorted-keys option, hence this small normalizer.
    /// </summary>
    public static JsonNode? SortKeys(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, SortKeys(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(SortKeys)]),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>Parses text as a JSON object or array, or gives <see langword="null"/> for anything else.</summary>
    public static JsonNode? TryParseStructured(string text)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string? String(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static double Double(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<double>(out var number) ? number : 0;

    public static int? Int(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<int>(out var number) ? number : null;

    /// <summary>A number's canonical text, so that <c>1</c>, <c>1.0</c> and <c>1e0</c> compare equal.</summary>
    public static JsonNode CanonicalNumber(JsonValue value)
    {
        var raw = value.ToJsonString();
        if (decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            // Dividing by 1.000… drops trailing zeros from the decimal's scale.
            return JsonValue.Create(number / 1.0000000000000000000000000000m)!;
        }

        return value.DeepClone();
    }
}
