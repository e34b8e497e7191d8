using System.Globalization;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>One request and the response the real upstream gave it.</summary>
internal sealed record RecordedInteraction(RecordedRequest Request, RecordedResponse Response, DateTimeOffset RecordedAt)
{
    public JsonObject ToJson() => new()
    {
        ["recordedAt"] = RecordedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["request"] = Request.ToJson(),
        ["response"] = Response.ToJson(),
    };

    public static RecordedInteraction FromJson(JsonObject json, string file, int index)
    {
        var where = $"Cassette {file}: interaction #{index}";
        CassetteShape.Fields(json, where, "recordedAt", "request", "response");
        return new(
            RecordedRequest.FromJson(json["request"] as JsonObject ?? throw new InvalidDataException($"{where} has no request object."), where + " request"),
            RecordedResponse.FromJson(json["response"] as JsonObject ?? throw new InvalidDataException($"{where} has no response object."), where + " response"),
            DateTimeOffset.TryParse(CassetteJson.String(json["recordedAt"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : DateTimeOffset.UnixEpoch);
    }
}
