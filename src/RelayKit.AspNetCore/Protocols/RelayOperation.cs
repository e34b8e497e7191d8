using System.Text.Json;
using RelayKit.AspNetCore.Protocols.Anthropic;
using RelayKit.AspNetCore.Protocols.OpenAI;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>One relayed endpoint: its wire format, where it goes on the provider, and how its policy fields are read.</summary>
internal sealed class RelayOperation
{
    private readonly Func<JsonElement, RelayReadResult>? _readFields;

    private RelayOperation(string name, WireFormat format, string upstreamPath, Func<JsonElement, RelayReadResult>? readFields)
    {
        Name = name;
        Format = format;
        UpstreamPath = upstreamPath;
        _readFields = readFields;
    }

    public static RelayOperation ChatCompletions { get; } = new("chat.completions", WireFormat.OpenAI, "chat/completions", OpenAiRequestReader.ReadChatCompletion);

    public static RelayOperation Embeddings { get; } = new("embeddings", WireFormat.OpenAI, "embeddings", OpenAiRequestReader.ReadEmbedding);

    public static RelayOperation Responses { get; } = new("responses", WireFormat.OpenAI, "responses", OpenAiRequestReader.ReadResponse);

    public static RelayOperation Messages { get; } = new("messages", WireFormat.Anthropic, "v1/messages", AnthropicRequestReader.ReadMessage);

    public static RelayOperation CountTokens { get; } = new("messages.count_tokens", WireFormat.Anthropic, "v1/messages/count_tokens", AnthropicRequestReader.ReadCountTokens);

    /// <summary>Answered by the relay itself; the format depends on the request (Anthropic when the request carries anthropic-version).</summary>
    public static RelayOperation ListModels { get; } = new("models", WireFormat.OpenAI, "models", null);

    /// <summary>The operation's name in logs and, later, in usage records and metrics.</summary>
    public string Name { get; }

    public WireFormat Format { get; }

    /// <summary>The path relative to the provider's base URL (OpenAI base URLs carry /v1, Anthropic ones do not).</summary>
    public string UpstreamPath { get; }

    public RelayReadResult ReadFields(JsonElement root) =>
        _readFields?.Invoke(root) ?? throw new InvalidOperationException($"{Name} has no request body.");

    public override string ToString() => Name;
}
