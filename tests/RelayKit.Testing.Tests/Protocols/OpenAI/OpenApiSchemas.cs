using System.Globalization;
using System.Text.Json.Nodes;
using NJsonSchema;
using YamlDotNet.RepresentationModel;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>
/// The component schemas of the official OpenAI OpenAPI 3.1 description (<c>/work/shared/specs/openai/openapi.yaml</c>,
/// or <c>RELAYKIT_OPENAI_SPEC</c>), loaded once per test class and turned into NJsonSchema validators.
/// NJsonSchema cannot load an OpenAPI 3.1 document as such, so this extracts <c>components.schemas</c>, keeps
/// the schemas a target reaches, points <c>$ref</c>s at <c>#/definitions/…</c>, and turns OpenAPI's
/// <c>nullable: true</c> into a JSON-schema <c>"null"</c> type.
/// </summary>
public sealed class OpenApiSchemas
{
    private const string Prefix = "#/components/schemas/";
    private readonly JsonObject _components;
    private readonly Dictionary<string, JsonSchema> _validators = [];

    public OpenApiSchemas()
    {
        var path = Environment.GetEnvironmentVariable("RELAYKIT_OPENAI_SPEC") ?? FindSpec();
        var yaml = new YamlStream();
        using (var reader = new StringReader(WithoutProse(File.ReadAllLines(path))))
        {
            yaml.Load(reader);
        }

        var root = (JsonObject)ToJson(yaml.Documents[0].RootNode)!;
        _components = root["components"]!["schemas"]!.AsObject();
    }

    /// <summary>The validation errors of <paramref name="json"/> against the component schema <paramref name="name"/>.</summary>
    public IReadOnlyList<string> Validate(string name, string json)
    {
        JsonSchema validator;
        lock (_validators)
        {
            if (!_validators.TryGetValue(name, out validator!))
            {
                validator = _validators[name] = Build(name);
            }
        }

        return Flatten(validator.Validate(json)).ToList();
    }

    /// <summary>
    /// The member of the union schema <paramref name="union"/> (its <c>anyOf</c>/<c>oneOf</c> references) whose
    /// <c>type</c> property is the constant <paramref name="type"/>, such as <c>ResponseCreatedEvent</c> for
    /// <c>response.created</c>: validating against the member names the field at fault, where the union says only
    /// that no member matched.
    /// </summary>
    public string? VariantFor(string union, string type)
    {
        var schema = _components[union]!.AsObject();
        var members = (schema["anyOf"] ?? schema["oneOf"])?.AsArray() ?? [];
        foreach (var member in members)
        {
            var name = ((string)member!["$ref"]!)[Prefix.Length..];
            var constant = _components[name]?["properties"]?["type"];
            if (constant?["enum"] is JsonArray values && values.Any(v => (string?)v == type))
            {
                return name;
            }

            if (constant?["const"] is JsonValue value && (string?)value == type)
            {
                return name;
            }
        }

        return null;
    }

    private static IEnumerable<string> Flatten(IEnumerable<NJsonSchema.Validation.ValidationError> errors)
    {
        foreach (var error in errors)
        {
            yield return $"{error.Kind} at {error.Path}";
            if (error is NJsonSchema.Validation.ChildSchemaValidationError child)
            {
                foreach (var inner in Flatten(child.Errors.SelectMany(e => e.Value)))
                {
                    yield return "  " + inner;
                }
            }
        }
    }

    private JsonSchema Build(string name)
    {
        var definitions = new JsonObject();
        var pending = new Stack<string>([name]);
        while (pending.TryPop(out var next))
        {
            if (definitions.ContainsKey(next))
            {
                continue;
            }

            var schema = _components[next]!.DeepClone();
            Rewrite(schema, pending);
            definitions[next] = schema;
        }

        var document = new JsonObject
        {
            ["$ref"] = "#/definitions/" + name,
            ["definitions"] = definitions,
        };
        return JsonSchema.FromJsonAsync(document.ToJsonString()).GetAwaiter().GetResult();
    }

    private static void Rewrite(JsonNode? node, Stack<string> pending)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["$ref"] is JsonValue r && r.GetValue<string>() is { } reference && reference.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    var target = reference[Prefix.Length..];
                    o["$ref"] = "#/definitions/" + target;
                    pending.Push(target);
                }

                if (o["nullable"] is JsonValue n && n.GetValue<bool>() && o["type"] is JsonValue t)
                {
                    o["type"] = new JsonArray(t.GetValue<string>(), "null");
                }

                // Documentation-only keys; "discriminator" would make NJsonSchema expect its own inheritance model.
                foreach (var key in o.Select(p => p.Key).Where(k => k is "discriminator" or "example" or "examples" || k.StartsWith("x-", StringComparison.Ordinal)).ToList())
                {
                    o.Remove(key);
                }

                foreach (var (_, value) in o.ToList())
                {
                    Rewrite(value, pending);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Rewrite(item, pending);
                }

                break;
        }
    }

    /// <summary>
    /// Drops the block-scalar prose (descriptions, examples) that validation never reads: YamlDotNet rejects
    /// the spec's block scalars inside compact sequence items ("found extra spaces in first line").
    /// </summary>
    private static string WithoutProse(string[] lines)
    {
        var kept = new System.Text.StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = System.Text.RegularExpressions.Regex.Match(lines[i], @"^(\s*(?:- )?)(description|example|summary|title): [|>][-+]?\s*$");
            if (!match.Success)
            {
                kept.Append(lines[i]).Append('\n');
                continue;
            }

            kept.Append(match.Groups[1].Value).Append(match.Groups[2].Value).Append(": \"\"\n");
            var keyColumn = match.Groups[1].Value.Length;
            while (i + 1 < lines.Length && (lines[i + 1].Trim().Length == 0 || lines[i + 1].Length - lines[i + 1].TrimStart(' ').Length > keyColumn))
            {
                i++;
            }
        }

        return kept.ToString();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "null" or "~" or "" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            _ => JsonValue.Create(text),
        };
    }

    private static string FindSpec()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "specs", "openai", "openapi.yaml"), Path.Combine(dir.FullName, "specs", "openai", "openapi.yaml") })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return "/work/shared/specs/openai/openapi.yaml";
    }
}
