using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>Embeddings answers, as float arrays or as base64 of little-endian float32 (what the OpenAI .NET SDK asks for).</summary>
internal static class OpenAIEmbeddingsRenderer
{
    public static JsonObject Render(FakeRequest request, IReadOnlyList<float[]> vectors)
    {
        var base64 = JsonText.String(JsonText.Field(request.Body, "encoding_format")) == "base64";
        var data = new JsonArray();
        for (var i = 0; i < vectors.Count; i++)
        {
            JsonNode embedding = base64
                ? JsonValue.Create(Convert.ToBase64String(MemoryMarshal.AsBytes(vectors[i].AsSpan())))
                : new JsonArray(vectors[i].Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }

        var tokens = request.EmbeddingInputs.Sum(TokenCounter.Count);
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = request.Model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
    }
}
