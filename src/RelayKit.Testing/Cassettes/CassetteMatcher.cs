using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Turns a request into the normalized form that matching compares: method, path, query, the headers
/// that change an answer, and the body without its ignored paths, with nulls dropped, numbers in one
/// form, a lone text part written as a plain string (both providers accept either) and keys sorted.
/// </summary>
internal sealed class CassetteMatcher
{
    private readonly JsonPath[] _ignoredPaths;
    private readonly string[] _matchHeaders;
    private readonly string[] _ignoreHeaders;

    public CassetteMatcher(CassetteOptions options)
    {
        _ignoredPaths = [.. options.IgnoreJsonPaths.Select(JsonPath.Parse)];
        _matchHeaders = [.. options.MatchHeaders];
        _ignoreHeaders = [.. options.IgnoreHeaders];
    }

    public JsonObject Normalize(RecordedRequest request)
    {
        var headers = new JsonObject();
        foreach (var (name, value) in request.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (_matchHeaders.Any(p => ModelPattern.IsMatch(p, name)) && !_ignoreHeaders.Any(p => ModelPattern.IsMatch(p, name)))
            {
                headers[name.ToLowerInvariant()] = value;
            }
        }

        JsonNode? body = null;
        if (request.Body is not null)
        {
            body = request.Body.DeepClone();
            foreach (var path in _ignoredPaths)
            {
                path.Remove(body);
            }

            body = CassetteJson.SortKeys(Canonical(body));
        }

        var normalized = new JsonObject
        {
            ["method"] = request.Method.ToUpperInvariant(),
            ["path"] = request.Path.Length > 1 ? request.Path.TrimEnd('/') : request.Path,
        };
        if (request.Query.Length > 0)
        {
            normalized["query"] = request.Query;
        }

        if (headers.Count > 0)
        {
            normalized["headers"] = headers;
        }

        if (body is not null)
        {
            normalized["body"] = body;
        }
        else if (!string.IsNullOrEmpty(request.BodyText))
        {
            normalized["bodyText"] = request.BodyText;
        }

        return normalized;
    }

    public static string Key(JsonObject normalized) => normalized.ToJsonString(CassetteJson.Compact);

    /// <summary>The differences between a recorded and a received normalized request, one readable line each.</summary>
    public static List<string> Diff(JsonNode? recorded, JsonNode? received, string path = "")
    {
        var lines = new List<string>();
        Compare(recorded, received, path, lines);
        return lines;
    }

    private static void Compare(JsonNode? recorded, JsonNode? received, string path, List<string> lines)
    {
        switch (recorded, received)
        {
            case (JsonObject a, JsonObject b):
                foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key)).Order(StringComparer.Ordinal))
                {
                    var child = path.Length == 0 ? key : path + "." + key;
                    switch (a.ContainsKey(key), b.ContainsKey(key))
                    {
                        case (true, false):
                            lines.Add($"{child}: recorded {Show(a[key])}, received (absent)");
                            break;
                        case (false, true):
                            lines.Add($"{child}: recorded (absent), received {Show(b[key])}");
                            break;
                        default:
                            Compare(a[key], b[key], child, lines);
                            break;
                    }
                }

                break;
            case (JsonArray a, JsonArray b):
                for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
                {
                    var child = $"{path}[{i}]";
                    if (i >= a.Count)
                    {
                        lines.Add($"{child}: recorded (absent), received {Show(b[i])}");
                    }
                    else if (i >= b.Count)
                    {
                        lines.Add($"{child}: recorded {Show(a[i])}, received (absent)");
                    }
                    else
                    {
                        Compare(a[i], b[i], child, lines);
                    }
                }

                break;
            default:
                if (!JsonNode.DeepEquals(recorded, received))
                {
                    lines.Add($"{path}: recorded {Show(recorded)}, received {Show(received)}");
                }

                break;
        }
    }

    private static string Show(JsonNode? node)
    {
        var text = node is null ? "null" : node.ToJsonString(CassetteJson.Compact);
        return text.Length <= 160 ? text : text[..157] + "...";
    }

    private static JsonNode? Canonical(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var result = new JsonObject();
                foreach (var (key, value) in o)
                {
                    if (value is null)
                    {
                        continue;
                    }

                    result[key] = Canonical(value);
                }

                return result;
            case JsonArray a:
                if (a.Count == 1 && a[0] is JsonObject part && part.Count == 2
                    && CassetteJson.String(part["type"]) is "text" or "input_text"
                    && CassetteJson.String(part["text"]) is { } text)
                {
                    return JsonValue.Create(text);
                }

                return new JsonArray([.. a.Select(Canonical)]);
            case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number:
                return CassetteJson.CanonicalNumber(v);
            default:
                return node?.DeepClone();
        }
    }
}
