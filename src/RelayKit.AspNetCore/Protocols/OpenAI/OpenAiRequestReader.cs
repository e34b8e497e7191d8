using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols.OpenAI;

/// <summary>Step 2 for OpenAI requests: the policy fields of chat completions, responses and embeddings.</summary>
internal static class OpenAiRequestReader
{
    // max_tokens is the deprecated name that older clients still send; the newer one wins when both are present.
    public static RelayReadResult ReadChatCompletion(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: true, "max_completion_tokens", "max_tokens");

    public static RelayReadResult ReadResponse(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: true, "max_output_tokens");

    public static RelayReadResult ReadEmbedding(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: false);
}
