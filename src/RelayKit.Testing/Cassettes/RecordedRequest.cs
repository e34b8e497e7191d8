using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>A recorded request as the cassette file holds it: secrets redacted, body keys sorted.</summary>
internal sealed record RecordedRequest(
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    JsonNode? Body,
    string? BodyText)
{
    /// <summary>Whether the request asked for a streamed answer.</summary>
    public bool IsStreaming => Body is JsonObject o && o["stream"] is JsonValue v && v.TryGetValue<bool>(out var s) && s;

    public string Describe()
    {
        var text = $"{Method} {Path}{Query}";
        if (Body is JsonObject o && CassetteJson.String(o["model"]) is { } model)
        {
            text += $" model={model}";
        }

        return text;
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject();
        if (Body is not null)
        {
            json["body"] = CassetteJson.SortKeys(Body);
        }
        else if (!string.IsNullOrEmpty(BodyText))
        {
            json["bodyText"] = BodyText;
        }

        json["headers"] = HeadersToJson(Headers);
        json["method"] = Method;
        json["path"] = Path;
        if (Query.Length > 0)
        {
            json["query"] = Query;
        }

        return json;
    }

    public static RecordedRequest FromJson(JsonObject json, string where)
    {
        CassetteShape.Fields(json, where, "method", "path", "query", "headers", "body", "bodyText");
        return new(
            CassetteShape.RequiredString(json, "method", where),
            CassetteShape.RequiredString(json, "path", where),
            CassetteJson.String(json["query"]) ?? "",
            HeadersFromJson(json["headers"]),
            json["body"]?.DeepClone(),
            CassetteJson.String(json["bodyText"]));
    }

    internal static JsonObject HeadersToJson(IReadOnlyDictionary<string, string> headers) =>
        new(headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value)));

    internal static Dictionary<string, string> HeadersFromJson(JsonNode? node)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (node is JsonObject o)
        {
            foreach (var (name, value) in o)
            {
                headers[name] = CassetteJson.String(value) ?? value?.ToJsonString() ?? "";
            }
        }

        return headers;
    }
}
