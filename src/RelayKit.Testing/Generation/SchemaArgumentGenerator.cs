using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Bogus;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes tool-call arguments and structured outputs that are valid for a JSON schema: objects with their required
/// (and most optional) properties, enums, consts, string formats and lengths, number bounds (inclusive
/// and exclusive), arrays, nesting and local <c>$ref</c>s (<c>#/$defs/…</c>, <c>#/definitions/…</c>).
/// </summary>
/// <remarks>
/// Hand-written rather than a library: the JSON-schema sample generators for .NET either need the
/// schema parsed into their own model (NJsonSchema's sample generator makes one fixed sample, not seeded
/// variety) or are not published; this covers the subset tool schemas use, driven by the seeded faker.
/// </remarks>
internal static class SchemaArgumentGenerator
{
    private const int MaxDepth = 6;

    // Absurd bounds (a minLength of a billion) must not hang the fake; such schemas get shorter values.
    private const int MaxStringLength = 4096;
    private const int MaxArrayItems = 64;

    /// <summary>A value valid for <paramref name="schema"/>.</summary>
    /// <param name="schema">The JSON schema; an object when <see langword="null"/>.</param>
    /// <param name="faker">The seeded source of values.</param>
    /// <param name="strict">
    /// Whether every property of every object is present, as OpenAI's strict mode and Anthropic's structured
    /// outputs return them; otherwise optional properties appear most of the time.
    /// </param>
    public static JsonNode Generate(JsonNode? schema, Faker faker, bool strict = false)
    {
        var root = schema as JsonObject;
        return Value(root, root, faker, 0, strict) ?? new JsonObject();
    }

    private static JsonNode? Value(JsonObject? root, JsonObject? schema, Faker faker, int depth, bool strict)
    {
        if (schema is null)
        {
            return depth == 0 ? new JsonObject() : JsonValue.Create(faker.Lorem.Word());
        }

        if (JsonText(schema["$ref"]) is { } reference)
        {
            return depth >= MaxDepth ? null : Value(root, Resolve(root, reference), faker, depth + 1, strict);
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
                // The first branch that is not just "null", so nullable fields get real values.
                var choice = choices.OfType<JsonObject>().FirstOrDefault(c => JsonText(c["type"]) != "null") ?? choices[0] as JsonObject;
                return Value(root, choice, faker, depth, strict);
            }
        }

        var type = schema["type"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var t) => t,
            JsonArray types => types.Select(JsonText).FirstOrDefault(t => t is not null && t != "null") ?? "null",
            _ => schema["properties"] is not null ? "object" : schema["items"] is not null ? "array" : "string",
        };

        return type switch
        {
            "object" => Object(root, schema, faker, depth, strict),
            "array" => Array(root, schema, faker, depth, strict),
            "integer" => JsonValue.Create(Integer(schema, faker)),
            "number" => JsonValue.Create(Number(schema, faker)),
            "boolean" => JsonValue.Create(faker.Random.Bool()),
            "null" => null,
            _ => JsonValue.Create(String(schema, faker)),
        };
    }

    private static JsonObject? Resolve(JsonObject? root, string reference)
    {
        if (root is null || !reference.StartsWith('#'))
        {
            return null;
        }

        JsonNode? node = root;
        foreach (var segment in reference.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node?[Uri.UnescapeDataString(segment).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
        }

        return node as JsonObject;
    }

    private static JsonObject Object(JsonObject? root, JsonObject schema, Faker faker, int depth, bool strict)
    {
        var result = new JsonObject();
        if (depth >= MaxDepth || schema["properties"] is not JsonObject properties)
        {
            return result;
        }

        var required = (schema["required"] as JsonArray)?.Select(JsonText).ToHashSet() ?? [];
        foreach (var (name, propertySchema) in properties)
        {
            // Optional properties appear most of the time, so answers vary like a model's do.
            if (strict || required.Contains(name) || faker.Random.Bool(0.7f))
            {
                result[name] = Value(root, propertySchema as JsonObject, faker, depth + 1, strict);
            }
        }

        return result;
    }

    private static JsonArray Array(JsonObject? root, JsonObject schema, Faker faker, int depth, bool strict)
    {
        var min = (int)Math.Clamp(Bound(schema, "minItems") ?? 1, 0, MaxArrayItems);
        var max = (int)Math.Clamp(Bound(schema, "maxItems") ?? min + 2, min, MaxArrayItems);
        var array = new JsonArray();
        if (depth >= MaxDepth)
        {
            return array;
        }

        var count = faker.Random.Int(min, max);
        for (var i = 0; i < count; i++)
        {
            array.Add(Value(root, schema["items"] as JsonObject, faker, depth + 1, strict));
        }

        return array;
    }

    private static long Integer(JsonObject schema, Faker faker)
    {
        var min = Bound(schema, "minimum") is { } inclusiveMin ? (long)Math.Ceiling(inclusiveMin) : 0;
        if (Bound(schema, "exclusiveMinimum") is { } exclusiveMin)
        {
            min = Math.Max(min, (long)Math.Floor(exclusiveMin) + 1);
        }

        var max = Bound(schema, "maximum") is { } inclusiveMax ? (long)Math.Floor(inclusiveMax) : min + 100;
        if (Bound(schema, "exclusiveMaximum") is { } exclusiveMax)
        {
            max = Math.Min(max, (long)Math.Ceiling(exclusiveMax) - 1);
        }

        return faker.Random.Long(min, Math.Max(min, max));
    }

    private static double Number(JsonObject schema, Faker faker)
    {
        var exclusiveMin = Bound(schema, "exclusiveMinimum");
        var exclusiveMax = Bound(schema, "exclusiveMaximum");
        var min = Math.Max(Bound(schema, "minimum") ?? double.MinValue, exclusiveMin ?? double.MinValue);
        var max = Math.Min(Bound(schema, "maximum") ?? double.MaxValue, exclusiveMax ?? double.MaxValue);
        min = min == double.MinValue ? (max == double.MaxValue ? 0 : max - 100) : min;
        max = max == double.MaxValue ? min + 100 : Math.Max(min, max);

        // Stay inside the open interval when a bound is exclusive, and keep two decimals only when that still fits.
        var value = min + (max - min) * faker.Random.Double(0.1, 0.9);
        var rounded = Math.Round(value, 2);
        var fits = rounded >= min && rounded <= max && rounded != exclusiveMin && rounded != exclusiveMax;
        return fits ? rounded : value;
    }

    private static string String(JsonObject schema, Faker faker)
    {
        var value = JsonText(schema["format"]) switch
        {
            "date-time" => faker.Date.Recent().ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            "date" => faker.Date.Recent().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "time" => faker.Date.Recent().ToString("HH:mm:ss", CultureInfo.InvariantCulture),
            "email" => faker.Internet.Email(),
            "uri" or "url" => faker.Internet.Url(),
            "uuid" => faker.Random.Guid().ToString(),
            "ipv4" => faker.Internet.Ip(),
            _ => faker.Lorem.Word(),
        };
        var minLength = (int)Math.Clamp(Bound(schema, "minLength") ?? 0, 0, MaxStringLength);
        if (value.Length < minLength)
        {
            var builder = new StringBuilder(value);
            while (builder.Length < minLength)
            {
                builder.Append(faker.Lorem.Word());
            }

            value = builder.ToString();
        }

        var maxLength = (int)Math.Clamp(Bound(schema, "maxLength") ?? int.MaxValue, minLength, int.MaxValue);
        return value.Length > maxLength ? value[..maxLength] : value;
    }

    private static string? JsonText(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static double? Bound(JsonObject schema, string name) =>
        schema[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
