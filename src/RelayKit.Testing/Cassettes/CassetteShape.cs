using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Checks the shape of a cassette's objects as they are read, so that a hand edit with a typo (<c>"Status"</c>, an
/// event that is not an object, a status that is not a number) stops the test with the place named, rather than
/// replaying something else than was meant (a 200 with an empty body) or losing the edit when the file is rewritten.
/// </summary>
internal static class CassetteShape
{
    /// <summary>Refuses a field <paramref name="json"/> should not have; <paramref name="where"/> names the object.</summary>
    public static void Fields(JsonObject json, string where, params string[] known)
    {
        foreach (var (name, _) in json)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"{where} has an unknown field \"{name}\" (known: {string.Join(", ", known)}).");
            }
        }
    }

    /// <summary>A string field that must be there.</summary>
    public static string RequiredString(JsonObject json, string name, string where) =>
        json[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : throw new InvalidDataException($"{where} needs \"{name}\" as a string.");

    /// <summary>A whole number field that must be there, within a range.</summary>
    public static int RequiredInt(JsonObject json, string name, string where, int min, int max) =>
        json[name] is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var number) && number >= min && number <= max
            ? number
            : throw new InvalidDataException($"{where} needs \"{name}\" as a whole number from {min} to {max}.");

    /// <summary>The objects of an optional array field; null when it is absent.</summary>
    public static IEnumerable<(JsonObject Item, string Where)>? Objects(JsonObject json, string name, string where) => json[name] switch
    {
        null => null,
        JsonArray array => array.Select((item, i) => (item as JsonObject
            ?? throw new InvalidDataException($"{where}: {name}[{i}] is not an object."), $"{where}: {name}[{i}]")),
        _ => throw new InvalidDataException($"{where}: \"{name}\" is not an array."),
    };
}
