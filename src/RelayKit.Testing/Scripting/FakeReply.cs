using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.Testing.Protocols;

namespace RelayKit.Testing;

/// <summary>
/// What the fake answers a request with, in neutral terms that every wire format can render:
/// text, tool calls, or embedding vectors, plus the usage details a real provider would add.
/// </summary>
public sealed record FakeReply
{
    /// <summary>The assistant's text, if any.</summary>
    public string? Text { get; init; }

    /// <summary>The tool calls, if any; rendered after the text.</summary>
    public IReadOnlyList<FakeToolCall> ToolCalls { get; init; } = [];

    /// <summary>Embedding vectors, one per input, for embeddings requests.</summary>
    public IReadOnlyList<float[]>? Embeddings { get; init; }

    /// <summary>
    /// Why the model stopped; when <see langword="null"/> the fake picks <see cref="FakeFinishReason.ToolCalls"/>
    /// for tool calls and <see cref="FakeFinishReason.Stop"/> otherwise.
    /// </summary>
    public FakeFinishReason? FinishReason { get; init; }

    /// <summary>Input tokens reported as read from the provider's prompt cache.</summary>
    public int CachedInputTokens { get; init; }

    /// <summary>Input tokens reported as written to the prompt cache (Anthropic <c>cache_creation_input_tokens</c>).</summary>
    public int CacheCreationInputTokens { get; init; }

    /// <summary>Reasoning tokens reported inside the output tokens (OpenAI <c>reasoning_tokens</c>).</summary>
    public int ReasoningTokens { get; init; }

    /// <summary>
    /// Anthropic extended thinking shown before the text, as a <c>thinking</c> block whose signature the fake makes.
    /// When a request turns thinking on and the reply has none, the fake generates one within the budget.
    /// Counted in the output tokens of Anthropic answers; the OpenAI formats do not show it.
    /// </summary>
    public string? Thinking { get; init; }

    /// <summary>
    /// The opaque <c>data</c> of an Anthropic <c>redacted_thinking</c> block shown before the text (thinking the safety
    /// systems encrypted); set it instead of <see cref="Thinking"/>. Its tokens count as output tokens.
    /// </summary>
    public string? RedactedThinking { get; init; }

    /// <summary>
    /// The per-token log probabilities of <see cref="Text"/> (the OpenAI <c>logprobs.content</c> entries); made by
    /// the fake when a request asks for them, or read back from a recording.
    /// </summary>
    internal JsonArray? Logprobs { get; init; }

    /// <summary>A text answer.</summary>
    /// <param name="text">The assistant's text.</param>
    /// <param name="finishReason">Why the model stopped.</param>
    public static FakeReply WithText(string text, FakeFinishReason finishReason = FakeFinishReason.Stop) =>
        new() { Text = text, FinishReason = finishReason };

    /// <summary>
    /// A JSON answer, for structured outputs (<c>response_format</c>, <c>text.format</c>, <c>output_config.format</c>)
    /// and JSON mode: the text is <paramref name="json"/> written compactly, as the APIs send it.
    /// </summary>
    /// <param name="json">A JSON text.</param>
    /// <exception cref="ArgumentException">The text is not JSON.</exception>
    public static FakeReply WithJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The scripted structured output is not JSON: {e.Message}", nameof(json), e);
        }

        return WithText(node is null ? "null" : WireJson.Write(node));
    }

    /// <summary>A JSON answer made from a value, serialized with <paramref name="options"/> (the web defaults, camelCase, when null).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="options">The serializer options.</param>
    public static FakeReply WithJson<T>(T value, JsonSerializerOptions? options = null) =>
        WithJson(JsonSerializer.Serialize(value, options ?? JsonSerializerOptions.Web));

    /// <summary>An answer that calls tools.</summary>
    /// <param name="calls">The calls, in order.</param>
    public static FakeReply WithToolCalls(params FakeToolCall[] calls) =>
        new() { ToolCalls = calls, FinishReason = FakeFinishReason.ToolCalls };

    /// <summary>An embeddings answer.</summary>
    /// <param name="vectors">One vector per input.</param>
    public static FakeReply WithEmbeddings(params float[][] vectors) => new() { Embeddings = vectors };

    internal FakeFinishReason EffectiveFinishReason =>
        FinishReason ?? (ToolCalls.Count > 0 ? FakeFinishReason.ToolCalls : FakeFinishReason.Stop);
}
