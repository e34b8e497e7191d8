using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols.OpenAI;

/// <summary>Step 2 for OpenAI requests: the policy fields of chat completions, responses and embeddings.</summary>
internal static class OpenAiRequestReader
{
    // max_tokens is the deprecated name that older clients and OpenAI-compatible servers still use. n asks for that
    // many choices, each up to the cap, so it multiplies the worst case and must be a count too.
    public static RelayReadResult ReadChatCompletion(JsonElement root)
    {
        var read = PolicyFieldReader.Read(root, streams: true, "max_completion_tokens", "max_tokens");
        return read.Error is null && PolicyFieldReader.CheckCount(root, "n", 1) is { } error ? error : read;
    }

    public static RelayReadResult ReadResponse(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: true, "max_output_tokens");

    public static RelayReadResult ReadEmbedding(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: false);
}
