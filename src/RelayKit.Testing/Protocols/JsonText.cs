using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols;

/// <summary>Reads the text out of the content shapes both providers use (a string, or an array of parts).</summary>
internal static class JsonText
{
    /// <summary>The text of a content value: a string, or the <c>text</c> of its text parts joined.</summary>
    public static string? ContentText(JsonNode? content)
    {
        switch (content)
        {
            case null:
                return null;
            case JsonValue value when value.TryGetValue<string>(out var text):
                return text;
            case JsonArray parts:
                var builder = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part is JsonObject o && o["text"] is JsonValue t && t.TryGetValue<string>(out var s))
                    {
                        if (builder.Length > 0)
                        {
                            builder.Append('\n');
                        }

                        builder.Append(s);
                    }
                }

                return builder.ToString();
            default:
                return null;
        }
    }

    /// <summary>
    /// The property <paramref name="name"/> of <paramref name="node"/> when it is an object, else null: the indexer
    /// throws on an array or a value, and a caller's body may hold either where an object belongs.
    /// </summary>
    public static JsonNode? Field(JsonNode? node, string name) => node is JsonObject obj ? obj[name] : null;

    public static string? String(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static bool Bool(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<bool>(out var flag) && flag;

    public static int? Int(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<int>(out var number) ? number : null;

    /// <summary>
    /// Reads the model field as Chat Completions and Embeddings require it: present and a non-empty string. Their
    /// answer to a missing one names no param and no code, as the real API's does.
    /// </summary>
    public static string RequireModel(JsonObject body)
    {
        var model = String(body["model"]);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new BadRequestException(400, "you must provide a model parameter");
        }

        return model;
    }

    /// <summary>Adds a prompt text on a line of its own; empty texts add nothing.</summary>
    public static void AppendLine(StringBuilder prompt, string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            if (prompt.Length > 0)
            {
                prompt.Append('\n');
            }

            prompt.Append(text);
        }
    }
}
