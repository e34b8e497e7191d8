using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Replaces top-level fields of a JSON object and copies every other field byte for byte, so what the
/// relay did not mean to change reaches the upstream exactly as the caller wrote it (no re-escaping,
/// no number reformatting), which a DOM round trip through JsonNode would not guarantee.
/// </summary>
internal static class JsonBodyRewriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Model names and the like are data for another API, not HTML: keep them readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>An override that removes its field from the body instead of replacing it (compared by reference).</summary>
    public static readonly JsonNode Removed = JsonValue.Create("(removed by the relay)");

    public static ReadOnlyMemory<byte> Rewrite(JsonElement root, IDictionary<string, JsonNode?> overrides)
    {
        var output = new ArrayBufferWriter<byte>(JsonMarshal.GetRawUtf8Value(root).Length + 64);
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            writer.WriteStartObject();
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (overrides.TryGetValue(property.Name, out var replacement))
                {
                    if (written.Add(property.Name) && !ReferenceEquals(replacement, Removed))
                    {
                        writer.WritePropertyName(property.Name);
                        WriteNode(writer, replacement);
                    }

                    continue;
                }

                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(property.Value), skipInputValidation: true);
            }

            foreach (var (name, value) in overrides)
            {
                if (!written.Contains(name) && !ReferenceEquals(value, Removed))
                {
                    writer.WritePropertyName(name);
                    WriteNode(writer, value);
                }
            }

            writer.WriteEndObject();
        }

        return output.WrittenMemory;
    }

    private static void WriteNode(Utf8JsonWriter writer, JsonNode? node)
    {
        if (node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            node.WriteTo(writer);
        }
    }
}
