using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>One server-sent event of a recorded stream, with its time offset from the start of the request.</summary>
internal sealed record RecordedEvent(double OffsetMs, string? Name, string? Id, JsonNode? Data, string? DataText)
{
    /// <summary>The <c>data:</c> payload as it goes on the wire.</summary>
    public string DataString => Data?.ToJsonString(CassetteJson.Compact) ?? DataText ?? "";

    public string Format()
    {
        var builder = new StringBuilder();
        if (Id is not null)
        {
            builder.Append("id: ").Append(Id).Append('\n');
        }

        if (Name is not null)
        {
            builder.Append("event: ").Append(Name).Append('\n');
        }

        foreach (var line in DataString.Split('\n'))
        {
            builder.Append("data: ").Append(line).Append('\n');
        }

        return builder.Append('\n').ToString();
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject();
        if (Data is not null)
        {
            json["data"] = Data.DeepClone();
        }
        else
        {
            json["dataText"] = DataText ?? "";
        }

        if (Name is not null)
        {
            json["event"] = Name;
        }

        if (Id is not null)
        {
            json["id"] = Id;
        }

        json["offsetMs"] = OffsetMs;
        return json;
    }

    public static RecordedEvent FromJson(JsonObject json, string where)
    {
        CassetteShape.Fields(json, where, "offsetMs", "event", "id", "data", "dataText");
        return new(
            CassetteJson.Double(json["offsetMs"]),
            CassetteJson.String(json["event"]),
            CassetteJson.String(json["id"]),
            json["data"]?.DeepClone(),
            CassetteJson.String(json["dataText"]));
    }
}
