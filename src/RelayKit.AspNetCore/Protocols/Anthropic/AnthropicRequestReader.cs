using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols.Anthropic;

/// <summary>Step 2 for Anthropic requests: the policy fields of messages and token counts.</summary>
internal static class AnthropicRequestReader
{
    public static RelayReadResult ReadMessage(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: true, "max_tokens");

    public static RelayReadResult ReadCountTokens(JsonElement root) =>
        PolicyFieldReader.Read(root, streams: false);
}
