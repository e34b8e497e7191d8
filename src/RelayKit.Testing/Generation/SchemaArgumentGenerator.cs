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
    // OpenAI's structured outputs allow 10 levels of nesting; $ref hops do not count as levels. Past the limit
    // objects still get their required properties (with minimal values) so strict outputs stay valid; past the hard
    // limit (only reachable by recursive schemas that require themselves) objects are empty.
    private const int MaxDepth = 10;
    private const int HardDepth = 24;
    private const int MaxRefHops = 64;

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
        return Value(root, root, faker, 0, strict, 0) ?? new JsonObject();
    }

    private static JsonNode? Value(JsonObject? root, JsonObject? schema, Faker faker, int depth, bool strict, int hops)
    {
        if (schema is null)
        {
            return depth == 0 ? new JsonObject() : JsonValue.Create(faker.Lorem.Word());
        }

        if (JsonText(schema["$ref"]) is { } reference)
        {
            return hops >= MaxRefHops ? null : Value(root, Resolve(root, reference), faker, depth, strict, hops + 1);
        }

        if (schema["allOf"] is JsonArray all && all.Count > 0)
        {
            return Value(root, MergeAllOf(root, schema, all, 0), faker, depth, strict, hops + 1);
        }

        if (schema["const"] is { } constant)
        {
            return constant.DeepClone();
        }

        if (schema["enum"] is JsonArray options && options.Count > 0)
        {
            return options[faker.Random.Int(0, options.Count - 1)]?.DeepClone();
        }

        foreach (var combinator in new[] { "anyOf", "oneOf" })
        {
            if (schema[combinator] is JsonArray choices && choices.Count > 0)
            {
                // The first branch that is not just "null", so nullable fields get real values.
                var choice = choices.OfType<JsonObject>().FirstOrDefault(c => JsonText(c["type"]) != "null") ?? choices[0] as JsonObject;
                return Value(root, choice, faker, depth, strict, hops);
            }
        }

        var type = schema["type"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var t) => t,
            JsonArray types => types.Select(JsonText).FirstOrDefault(t => t is not null && t != "null") ?? "null",
            // A root without a type is an object (structured outputs always answer one); deeper, a string.
            _ => schema["properties"] is not null || depth == 0 ? "object" : schema["items"] is not null ? "array" : "string",
        };

        return type switch
        {
            "object" => Object(root, schema, faker, depth, strict, hops),
            "array" => Array(root, schema, faker, depth, strict, hops),
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

    private static JsonObject Object(JsonObject? root, JsonObject schema, Faker faker, int depth, bool strict, int hops)
    {
        var result = new JsonObject();
        if (depth >= HardDepth || schema["properties"] is not JsonObject properties)
        {
            return result;
        }

        // Past the nesting limit only required properties are kept, so deep schemas end without breaking validity.
        var minimal = depth >= MaxDepth;
        var required = (schema["required"] as JsonArray)?.Select(JsonText).ToHashSet() ?? [];
        foreach (var (name, propertySchema) in properties)
        {
            // Optional properties appear most of the time, so answers vary like a model's do.
            if (required.Contains(name) || (!minimal && (strict || faker.Random.Bool(0.7f))))
            {
                result[name] = Value(root, propertySchema as JsonObject, faker, depth + 1, strict, hops);
            }
        }

        return result;
    }

    private static JsonArray Array(JsonObject? root, JsonObject schema, Faker faker, int depth, bool strict, int hops)
    {
        var min = (int)Math.Clamp(Bound(schema, "minItems") ?? 1, 0, MaxArrayItems);
        var max = (int)Math.Clamp(Bound(schema, "maxItems") ?? min + 2, min, MaxArrayItems);
        var array = new JsonArray();
        if (depth >= HardDepth)
        {
            return array;
        }

        var count = depth >= MaxDepth ? (int)Math.Clamp(Bound(schema, "minItems") ?? 0, 0, MaxArrayItems) : faker.Random.Int(min, max);
        var unique = schema["uniqueItems"] is JsonValue u && u.TryGetValue<bool>(out var b) && b;
        for (var i = 0; i < count; i++)
        {
            var item = Value(root, schema["items"] as JsonObject, faker, depth + 1, strict, hops);

            // Unique items: a few more draws, since small enums or booleans repeat; the array ends early if they run out.
            for (var attempt = 0; unique && attempt < 20 && array.Any(existing => JsonNode.DeepEquals(existing, item)); attempt++)
            {
                item = Value(root, schema["items"] as JsonObject, faker, depth + 1, strict, hops);
            }

            if (unique && schema["items"]?["enum"] is JsonArray options && array.Any(existing => JsonNode.DeepEquals(existing, item)))
            {
                item = options.FirstOrDefault(option => !array.Any(existing => JsonNode.DeepEquals(existing, option)))?.DeepClone() ?? item;
            }

            if (unique && array.Any(existing => JsonNode.DeepEquals(existing, item)))
            {
                break;
            }

            array.Add(item);
        }

        return array;
    }

    /// <summary>
    /// One schema from an <c>allOf</c> and its siblings: properties merged (recursively when a property is in
    /// several branches), required lists joined, the tightest bounds kept, other keywords from the first that has them.
    /// </summary>
    private static JsonObject MergeAllOf(JsonObject? root, JsonObject schema, JsonArray all, int nesting)
    {
        var merged = new JsonObject();
        var own = (JsonObject)schema.DeepClone();
        own.Remove("allOf");
        var parts = new List<JsonObject> { own };
        foreach (var branch in all.OfType<JsonObject>())
        {
            var resolved = branch;
            for (var hop = 0; hop < MaxRefHops && JsonText(resolved?["$ref"]) is { } reference; hop++)
            {
                resolved = Resolve(root, reference);
            }

            // An allOf that (through refs) includes itself stops merging instead of recursing forever.
            if (resolved is not null)
            {
                parts.Add(resolved["allOf"] is JsonArray inner && nesting < MaxRefHops ? MergeAllOf(root, resolved, inner, nesting + 1) : WithoutAllOf(resolved));
            }
        }

        foreach (var part in parts)
        {
            Merge(merged, part);
        }

        return merged;
    }

    private static JsonObject WithoutAllOf(JsonObject schema)
    {
        var copy = (JsonObject)schema.DeepClone();
        copy.Remove("allOf");
        return copy;
    }

    private static void Merge(JsonObject into, JsonObject part)
    {
        string[] lower = ["minimum", "exclusiveMinimum", "minLength", "minItems"];
        string[] upper = ["maximum", "exclusiveMaximum", "maxLength", "maxItems"];
        foreach (var (key, value) in part)
        {
            if (value is null)
            {
                continue;
            }

            if (!into.ContainsKey(key))
            {
                into[key] = value.DeepClone();
            }
            else if (key == "properties" && into[key] is JsonObject mine && value is JsonObject theirs)
            {
                foreach (var (name, property) in theirs)
                {
                    if (mine[name] is JsonObject existing && property is JsonObject other)
                    {
                        Merge(existing, other);
                    }
                    else if (!mine.ContainsKey(name))
                    {
                        mine[name] = property?.DeepClone();
                    }
                }
            }
            else if (key == "required" && into[key] is JsonArray names && value is JsonArray more)
            {
                foreach (var name in more.Select(JsonText).Where(n => n is not null && !names.Select(JsonText).Contains(n)))
                {
                    names.Add(name);
                }
            }
            else if (Bound(into, key) is { } current && Bound(part, key) is { } next && (lower.Contains(key) || upper.Contains(key)))
            {
                into[key] = lower.Contains(key) ? Math.Max(current, next) : Math.Min(current, next);
            }
        }
    }

    private static long Integer(JsonObject schema, Faker faker)
    {
        long? min = Bound(schema, "minimum") is { } inclusiveMin ? (long)Math.Ceiling(inclusiveMin) : null;
        if (Bound(schema, "exclusiveMinimum") is { } exclusiveMin)
        {
            min = Math.Max(min ?? long.MinValue, (long)Math.Floor(exclusiveMin) + 1);
        }

        long? max = Bound(schema, "maximum") is { } inclusiveMax ? (long)Math.Floor(inclusiveMax) : null;
        if (Bound(schema, "exclusiveMaximum") is { } exclusiveMax)
        {
            max = Math.Min(max ?? long.MaxValue, (long)Math.Ceiling(exclusiveMax) - 1);
        }

        // Only one bound: a range of 100 on its side, so a negative maximum alone gives negative numbers.
        var low = min ?? (max is { } m ? m - 100 : 0);
        var high = Math.Max(low, max ?? low + 100);
        if (Bound(schema, "multipleOf") is { } step && step >= 1 && step == Math.Floor(step))
        {
            var factor = (long)step;
            var first = (long)Math.Ceiling(low / (double)factor);
            var last = (long)Math.Floor(high / (double)factor);
            return factor * (last >= first ? faker.Random.Long(first, last) : first);
        }

        return faker.Random.Long(low, high);
    }

    private static double Number(JsonObject schema, Faker faker)
    {
        var exclusiveMin = Bound(schema, "exclusiveMinimum");
        var exclusiveMax = Bound(schema, "exclusiveMaximum");
        var min = Math.Max(Bound(schema, "minimum") ?? double.MinValue, exclusiveMin ?? double.MinValue);
        var max = Math.Min(Bound(schema, "maximum") ?? double.MaxValue, exclusiveMax ?? double.MaxValue);
        min = min == double.MinValue ? (max == double.MaxValue ? 0 : max - 100) : min;
        max = max == double.MaxValue ? min + 100 : Math.Max(min, max);

        if (Bound(schema, "multipleOf") is { } step && step > 0)
        {
            // A whole multiple of the step inside the bounds (skipping an exclusive bound that is itself a multiple).
            var first = (long)Math.Ceiling(min / step);
            var last = (long)Math.Floor(max / step);
            first += first * step == exclusiveMin ? 1 : 0;
            last -= last * step == exclusiveMax ? 1 : 0;
            var k = last >= first ? faker.Random.Long(first, last) : first;

            // Through decimal, so 0.25 × 7 is 1.75 and not 1.7500000000000002; huge values stay doubles.
            return Math.Abs(k * step) < 1e15 && step >= 1e-12 ? (double)((decimal)k * (decimal)step) : k * step;
        }

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
            "time" => faker.Date.Recent().ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "Z",
            "duration" => string.Create(CultureInfo.InvariantCulture, $"P{faker.Random.Int(0, 30)}DT{faker.Random.Int(0, 23)}H{faker.Random.Int(0, 59)}M"),
            "hostname" => faker.Internet.DomainName(),
            "ipv6" => faker.Internet.Ipv6(),
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
        value = value.Length > maxLength ? value[..maxLength] : value;
        if (JsonText(schema["pattern"]) is { } pattern)
        {
            value = PatternStringGenerator.Generate(pattern, value, minLength, maxLength, faker);
        }

        return value;
    }

    private static string? JsonText(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static double? Bound(JsonObject schema, string name) =>
        schema[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
