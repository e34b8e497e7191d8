using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation;

/// <summary>Typed reads of JSON fields that name the field's path when it has the wrong shape.</summary>
internal static class JsonRead
{
    public static string Path(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    public static string Path(string parent, int index) => $"{parent}[{index}]";

    public static string? String(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        _ => throw new TranslationException(path, "must be a string"),
    };

    public static string RequireString(JsonNode? node, string path) =>
        String(node, path) ?? throw new TranslationException(path, "is required");

    public static double? Number(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => NumberOf(value),
        _ => throw new TranslationException(path, "must be a number"),
    };

    public static long? Integer(JsonNode? node, string path)
    {
        var number = Number(node, path);
        if (number is null)
        {
            return null;
        }

        if (number != Math.Floor(number.Value))
        {
            throw new TranslationException(path, "must be an integer");
        }

        return (long)number.Value;
    }

    public static bool? Bool(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False => value.GetValue<bool>(),
        _ => throw new TranslationException(path, "must be a boolean"),
    };

    public static JsonArray? Array(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonArray array => array,
        _ => throw new TranslationException(path, "must be an array"),
    };

    public static JsonObject? Object(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonObject obj => obj,
        _ => throw new TranslationException(path, "must be an object"),
    };

    public static JsonObject RequireObject(JsonNode? node, string path) =>
        Object(node, path) ?? throw new TranslationException(path, "is required");

    /// <summary>The numeric value of a usage counter; absent or null reads as zero.</summary>
    public static long Count(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? (long)NumberOf(value) : 0;

    // A parsed value holds a JsonElement while a built one holds a CLR number; TryGetValue covers both.
    private static double NumberOf(JsonValue value) =>
        value.TryGetValue<double>(out var d) ? d
        : value.TryGetValue<long>(out var l) ? l
        : value.TryGetValue<int>(out var i) ? i
        : value.TryGetValue<decimal>(out var m) ? (double)m
        : value.TryGetValue<float>(out var f) ? f
        : double.NaN;

    /// <summary>Whether a field is absent or JSON null.</summary>
    public static bool IsAbsent(JsonObject obj, string name) => obj[name] is null;
}
