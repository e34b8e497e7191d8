using System.Text.Json;
using System.Text.Json.Serialization;

namespace RelayKit.AspNetCore.Admin;

/// <summary>The operations API's JSON: snake_case names like the wire formats the relay speaks, nulls left out.</summary>
internal static class AdminJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}
