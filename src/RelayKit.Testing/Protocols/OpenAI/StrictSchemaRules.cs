using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>
/// The rules OpenAI's strict structured outputs put on a schema: the root is an object, and every object lists
/// every property in <c>required</c> and sets <c>additionalProperties: false</c> (an optional field is a required one
/// whose type allows null). The API refuses a strict schema that breaks them, so the fake does too: a test that
/// passes here must not fail on the real API for its schema.
/// </summary>
internal static class StrictSchemaRules
{
    private const int MaxDepth = 32;

    /// <summary>The first broken rule, in the API's words, or <see langword="null"/> when the schema keeps them all.</summary>
    public static string? FirstProblem(JsonNode? schema)
    {
        if (schema is not JsonObject root || JsonText.String(root["type"]) != "object")
        {
            var type = schema is JsonObject o ? JsonText.String(o["type"]) ?? "None" : "None";
            return $"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{type}\"'.";
        }

        return Check(root, [], 0);
    }

    private static string? Check(JsonObject schema, List<string> context, int depth)
    {
        if (depth > MaxDepth)
        {
            return null;
        }

        if (schema["properties"] is JsonObject properties || JsonText.String(schema["type"]) == "object")
        {
            properties = schema["properties"] as JsonObject ?? [];
            if (schema["additionalProperties"] is not JsonValue additional || !additional.TryGetValue<bool>(out var allowed) || allowed)
            {
                return $"In context={Context(context)}, 'additionalProperties' is required to be supplied and to be false.";
            }

            var required = (schema["required"] as JsonArray ?? []).Select(JsonText.String).ToHashSet();
            var missing = properties.Select(p => p.Key).FirstOrDefault(name => !required.Contains(name));
            if (missing is not null)
            {
                return $"In context={Context(context)}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{missing}'.";
            }
        }

        foreach (var (keyword, child) in Children(schema))
        {
            context.AddRange(keyword);
            var problem = Check(child, context, depth + 1);
            context.RemoveRange(context.Count - keyword.Length, keyword.Length);
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>The subschemas of a schema, each with the path segments that lead to it.</summary>
    private static IEnumerable<(string[] Path, JsonObject Schema)> Children(JsonObject schema)
    {
        foreach (var (name, child) in schema["properties"] as JsonObject ?? [])
        {
            if (child is JsonObject o)
            {
                yield return (["properties", name], o);
            }
        }

        if (schema["items"] is JsonObject items)
        {
            yield return (["items"], items);
        }

        foreach (var keyword in new[] { "anyOf", "allOf", "oneOf" })
        {
            var branches = schema[keyword] as JsonArray ?? [];
            for (var i = 0; i < branches.Count; i++)
            {
                if (branches[i] is JsonObject branch)
                {
                    yield return ([keyword, i.ToString(System.Globalization.CultureInfo.InvariantCulture)], branch);
                }
            }
        }

        foreach (var keyword in new[] { "$defs", "definitions" })
        {
            foreach (var (name, child) in schema[keyword] as JsonObject ?? [])
            {
                if (child is JsonObject o)
                {
                    yield return ([keyword, name], o);
                }
            }
        }
    }

    private static string Context(List<string> path) =>
        "(" + string.Join(", ", path.Select(p => $"'{p}'")) + (path.Count == 1 ? ",)" : ")");
}
