using System.Globalization;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// The small path language of ignore and redaction rules: <c>temperature</c>, <c>$.metadata.user_id</c>,
/// <c>messages[*].name</c>, <c>messages[0].content</c>, <c>tools[*].function.description</c>, <c>*</c>
/// for any property. A full JSONPath library would add filters nobody needs here and a dependency.
/// </summary>
internal sealed class JsonPath
{
    private readonly Step[] _steps;

    private JsonPath(string text, Step[] steps)
    {
        Text = text;
        _steps = steps;
    }

    public string Text { get; }

    public static JsonPath Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var rest = text.Trim();
        if (rest.StartsWith('$'))
        {
            rest = rest[1..].TrimStart('.');
        }

        var steps = new List<Step>();
        foreach (var segment in rest.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = segment;
            var bracket = name.IndexOf('[', StringComparison.Ordinal);
            var indexes = bracket >= 0 ? name[bracket..] : "";
            name = bracket >= 0 ? name[..bracket] : name;
            if (name.Length > 0)
            {
                steps.Add(name == "*" ? new Step(null, null, AnyProperty: true) : new Step(name, null, false));
            }

            while (indexes.Length > 0)
            {
                var close = indexes.IndexOf(']', StringComparison.Ordinal);
                if (!indexes.StartsWith('[') || close < 0)
                {
                    throw new FormatException($"Invalid JSON path '{text}': unbalanced brackets.");
                }

                var inner = indexes[1..close].Trim();
                if (inner == "*")
                {
                    steps.Add(new Step(null, null, false, AnyIndex: true));
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    steps.Add(new Step(null, index, false));
                }
                else
                {
                    steps.Add(new Step(inner.Trim('\'', '"'), null, false));
                }

                indexes = indexes[(close + 1)..];
            }
        }

        if (steps.Count == 0)
        {
            throw new FormatException($"Invalid JSON path '{text}': it names nothing.");
        }

        return new JsonPath(text, [.. steps]);
    }

    /// <summary>Removes every value the path selects.</summary>
    public void Remove(JsonNode? root) => Apply(root, (parent, key, index) =>
    {
        if (key is not null)
        {
            ((JsonObject)parent).Remove(key);
        }
        else
        {
            ((JsonArray)parent).RemoveAt(index);
        }
    });

    /// <summary>Replaces every value the path selects (that is present) with <paramref name="replacement"/>.</summary>
    public void Replace(JsonNode? root, string replacement) => Apply(root, (parent, key, index) =>
    {
        if (key is not null)
        {
            parent[key] = replacement;
        }
        else
        {
            parent[index] = replacement;
        }
    });

    private void Apply(JsonNode? root, Action<JsonNode, string?, int> action)
    {
        var current = new List<JsonNode> { };
        if (root is not null)
        {
            current.Add(root);
        }

        for (var i = 0; i < _steps.Length - 1; i++)
        {
            current = [.. current.SelectMany(node => Children(node, _steps[i]))];
        }

        var last = _steps[^1];
        foreach (var parent in current)
        {
            switch (parent)
            {
                case JsonObject o when last.AnyProperty:
                    foreach (var key in o.Select(p => p.Key).ToList())
                    {
                        action(o, key, -1);
                    }

                    break;
                case JsonObject o when last.Name is { } name && o.ContainsKey(name):
                    action(o, name, -1);
                    break;
                case JsonArray a when last.AnyIndex:
                    for (var index = a.Count - 1; index >= 0; index--)
                    {
                        action(a, null, index);
                    }

                    break;
                case JsonArray a when last.Index is { } index && index < a.Count:
                    action(a, null, index);
                    break;
            }
        }
    }

    private static IEnumerable<JsonNode> Children(JsonNode node, Step step) => (node, step) switch
    {
        (JsonObject o, { AnyProperty: true }) => o.Select(p => p.Value).OfType<JsonNode>(),
        (JsonObject o, { Name: { } name }) => o[name] is { } child ? [child] : [],
        (JsonArray a, { AnyIndex: true }) => a.OfType<JsonNode>(),
        (JsonArray a, { Index: { } index }) => index < a.Count && a[index] is { } item ? [item] : [],
        _ => [],
    };

    private readonly record struct Step(string? Name, int? Index, bool AnyProperty, bool AnyIndex = false);

    /// <inheritdoc />
    public override string ToString() => Text;
}
