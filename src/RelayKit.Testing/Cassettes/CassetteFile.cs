using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>Reads and writes cassette files: <c>{"interactions":[...],"version":1}</c>, indented, keys in a fixed order.</summary>
internal static class CassetteFile
{
    public const int Version = 1;

    public static List<RecordedInteraction>? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path, Encoding.UTF8));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Cassette {path} is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject document || document["interactions"] is not JsonArray interactions)
        {
            throw new InvalidDataException($"Cassette {path} has no \"interactions\" array.");
        }

        CassetteShape.Fields(document, $"Cassette {path}", "interactions", "version");
        if (document["version"] is not null)
        {
            var version = CassetteShape.RequiredInt(document, "version", $"Cassette {path}", 1, int.MaxValue);
            if (version > Version)
            {
                throw new InvalidDataException($"Cassette {path} has format version {version}; this RelayKit reads version {Version}.");
            }
        }

        return [.. interactions.Select((node, i) => RecordedInteraction.FromJson(
            node as JsonObject ?? throw new InvalidDataException($"Cassette {path}: interaction #{i + 1} is not an object."), path, i + 1))];
    }

    public static string Serialize(IEnumerable<RecordedInteraction> interactions)
    {
        var document = new JsonObject
        {
            ["interactions"] = new JsonArray([.. interactions.Select(i => (JsonNode)i.ToJson())]),
            ["version"] = Version,
        };
        return document.ToJsonString(CassetteJson.Indented) + "\n";
    }

    /// <summary>Writes through a temporary file and a rename, so a crash never leaves half a cassette.</summary>
    public static async Task WriteAsync(string path, IEnumerable<RecordedInteraction> interactions, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        await File.WriteAllTextAsync(temporary, Serialize(interactions), new UTF8Encoding(false), cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }
}
