using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// A recorded response: status, headers and the time to them, then either a whole body or the
/// stream's events one by one with their offsets. Bodies and event data keep the provider's key
/// order, because replay serves them back as they were received.
/// </summary>
internal sealed record RecordedResponse(
    int Status,
    IReadOnlyDictionary<string, string> Headers,
    double HeadersMs,
    JsonNode? Body,
    string? BodyText,
    IReadOnlyList<RecordedEvent>? Events)
{
    public bool IsStream => Events is not null;

    public bool IsSuccess => Status is >= 200 and < 300;

    public JsonObject ToJson()
    {
        var json = new JsonObject();
        if (Body is not null)
        {
            json["body"] = Body.DeepClone();
        }
        else if (Events is null)
        {
            json["bodyText"] = BodyText ?? "";
        }

        if (Events is not null)
        {
            json["events"] = new JsonArray([.. Events.Select(e => (JsonNode)e.ToJson())]);
        }

        json["headers"] = RecordedRequest.HeadersToJson(Headers);
        json["headersMs"] = HeadersMs;
        json["status"] = Status;
        return json;
    }

    public static RecordedResponse FromJson(JsonObject json, string where)
    {
        CassetteShape.Fields(json, where, "status", "headers", "headersMs", "body", "bodyText", "events");
        return new(
            CassetteShape.RequiredInt(json, "status", where, 100, 599),
            RecordedRequest.HeadersFromJson(json["headers"]),
            CassetteJson.Double(json["headersMs"]),
            json["body"]?.DeepClone(),
            CassetteJson.String(json["bodyText"]),
            CassetteShape.Objects(json, "events", where)?.Select(e => RecordedEvent.FromJson(e.Item, e.Where)).ToList());
    }
}
