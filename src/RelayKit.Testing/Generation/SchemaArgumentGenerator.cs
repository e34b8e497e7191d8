using System.Text.Json.Nodes;
using Bogus;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes tool-call arguments that are valid for the tool's JSON schema: objects with their required
/// (and most optional) properties, enums, string formats, number bounds, arrays and nesting.
/// </summary>
internal static class SchemaArgumentGenerator
{
    private const int MaxDepth = 6;

    public static JsonNode Generate(JsonNode? schema, Faker faker) =>
        Value(schema as JsonObject, faker, 0) ?? new JsonObject();

    private static JsonNode? Value(JsonObject? schema, Faker faker, int depth)
    {
        if (schema is null)
        {
            return depth == 0 ? new JsonObject() : JsonValue.Create(faker.Lorem.Word());
        }

        if (schema["const"] is { } constant)
        {
            return constant.DeepClone();
        }

        if (schema["enum"] is JsonArray options && options.Count > 0)
        {
            return options[faker.Random.Int(0, options.Count - 1)]?.DeepClone();
        }

        foreach (var combinator in new[] { "anyOf", "oneOf", "allOf" })
        {
            if (schema[combinator] is JsonArray choices && choices.Count > 0)
            {
                return Value(choices[0] as JsonObject, faker, depth);
            }
        }

        var type = schema["type"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var t) => t,
            JsonArray types => types.Select(t => t?.GetValue<string>()).FirstOrDefault(t => t != "null"),
            _ => schema["properties"] is not null ? "object" : "string",
        };

        return type switch
        {
            "object" => Object(schema, faker, depth),
            "array" => Array(schema, faker, depth),
            "integer" => JsonValue.Create(faker.Random.Long(Bound(schema, "minimum", 0), Bound(schema, "maximum", 100))),
            "number" => JsonValue.Create(Math.Round(faker.Random.Double(Bound(schema, "minimum", 0), Bound(schema, "maximum", 100)), 2)),
            "boolean" => JsonValue.Create(faker.Random.Bool()),
            "null" => null,
            _ => JsonValue.Create(String(schema, faker)),
        };
    }

    private static JsonObject Object(JsonObject schema, Faker faker, int depth)
    {
        var result = new JsonObject();
        if (depth >= MaxDepth || schema["properties"] is not JsonObject properties)
        {
            return result;
        }

        var required = (schema["required"] as JsonArray)?.Select(r => r?.GetValue<string>()).ToHashSet() ?? [];
        foreach (var (name, propertySchema) in properties)
        {
            // Optional properties appear most of the time, so answers vary like a model's do.
            if (required.Contains(name) || faker.Random.Bool(0.7f))
            {
                result[name] = Value(propertySchema as JsonObject, faker, depth + 1);
            }
        }

        return result;
    }

    private static JsonArray Array(JsonObject schema, Faker faker, int depth)
    {
        var min = (int)Bound(schema, "minItems", 1);
        var max = Math.Max(min, (int)Bound(schema, "maxItems", min + 2));
        var array = new JsonArray();
        if (depth >= MaxDepth)
        {
            return array;
        }

        var count = faker.Random.Int(min, max);
        for (var i = 0; i < count; i++)
        {
            array.Add(Value(schema["items"] as JsonObject, faker, depth + 1));
        }

        return array;
    }

    private static string String(JsonObject schema, Faker faker)
    {
        var value = JsonText(schema["format"]) switch
        {
            "date-time" => faker.Date.Recent().ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            "date" => faker.Date.Recent().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            "email" => faker.Internet.Email(),
            "uri" or "url" => faker.Internet.Url(),
            "uuid" => faker.Random.Guid().ToString(),
            _ => faker.Lorem.Word(),
        };
        var minLength = (int)Bound(schema, "minLength", 0);
        while (value.Length < minLength)
        {
            value += faker.Lorem.Word();
        }

        var maxLength = (int)Bound(schema, "maxLength", int.MaxValue);
        return value.Length > maxLength ? value[..maxLength] : value;
    }

    private static string? JsonText(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long Bound(JsonObject schema, string name, long fallback) =>
        schema[name] is JsonValue v && v.TryGetValue<double>(out var d) ? (long)Math.Ceiling(d) : fallback;
}
