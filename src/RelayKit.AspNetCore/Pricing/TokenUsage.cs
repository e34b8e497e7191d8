namespace RelayKit.AspNetCore.Pricing;

/// <summary>
/// What one request used, in disjoint billing classes: every prompt token is counted in exactly one
/// of <see cref="InputTokens"/>, <see cref="CachedInputTokens"/> and <see cref="CacheWriteTokens"/>.
/// <see cref="OutputTokens"/> includes <see cref="ReasoningTokens"/> (both OpenAI's
/// <c>completion_tokens</c> and Anthropic's <c>output_tokens</c> already do), so reasoning is billed
/// once, at the output price.
/// </summary>
/// <param name="InputTokens">Prompt tokens billed at the input price.</param>
/// <param name="CachedInputTokens">Prompt tokens read from the provider's cache.</param>
/// <param name="CacheWriteTokens">Prompt tokens written to the provider's cache.</param>
/// <param name="OutputTokens">Generated tokens, reasoning included.</param>
/// <param name="ReasoningTokens">The part of <paramref name="OutputTokens"/> spent on reasoning; informational.</param>
internal sealed record TokenUsage(
    long InputTokens,
    long CachedInputTokens,
    long CacheWriteTokens,
    long OutputTokens,
    long ReasoningTokens = 0)
{
    /// <summary>Nothing used.</summary>
    public static TokenUsage None { get; } = new(0, 0, 0, 0);

    /// <summary>All prompt tokens, whatever their billing class.</summary>
    public long TotalInputTokens => InputTokens + CachedInputTokens + CacheWriteTokens;

    /// <summary>
    /// From OpenAI's usage (chat <c>prompt_tokens</c>/<c>completion_tokens</c> or responses
    /// <c>input_tokens</c>/<c>output_tokens</c>), where the prompt count includes the cached tokens.
    /// </summary>
    public static TokenUsage FromOpenAI(long promptTokens, long cachedTokens, long completionTokens, long reasoningTokens = 0)
    {
        var cached = Math.Clamp(cachedTokens, 0, Math.Max(0, promptTokens));
        return new TokenUsage(Math.Max(0, promptTokens) - cached, cached, 0, Math.Max(0, completionTokens), Math.Max(0, reasoningTokens));
    }

    /// <summary>
    /// From Anthropic's usage, where <c>input_tokens</c> excludes the cache reads and cache writes.
    /// </summary>
    public static TokenUsage FromAnthropic(long inputTokens, long cacheReadInputTokens, long cacheCreationInputTokens, long outputTokens) =>
        new(Math.Max(0, inputTokens), Math.Max(0, cacheReadInputTokens), Math.Max(0, cacheCreationInputTokens), Math.Max(0, outputTokens));
}
