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

    /// <summary>A text answer.</summary>
    /// <param name="text">The assistant's text.</param>
    /// <param name="finishReason">Why the model stopped.</param>
    public static FakeReply WithText(string text, FakeFinishReason finishReason = FakeFinishReason.Stop) =>
        new() { Text = text, FinishReason = finishReason };

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
