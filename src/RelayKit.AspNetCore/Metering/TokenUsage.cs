namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// What one request used, in provider-neutral terms. <see cref="InputTokens"/> counts every prompt
/// token, cached or not (OpenAI's <c>prompt_tokens</c>); <see cref="CachedInputTokens"/> and
/// <see cref="CacheWriteInputTokens"/> are the parts of it read from and written to the provider's
/// prompt cache (Anthropic reports them beside <c>input_tokens</c>, not inside it).
/// <see cref="OutputTokens"/> counts every generated token, <see cref="ReasoningTokens"/> included.
/// </summary>
public sealed record TokenUsage
{
    /// <summary>Every prompt token, including cache reads and cache writes.</summary>
    public long InputTokens { get; init; }

    /// <summary>Prompt tokens read from the provider's prompt cache (a part of <see cref="InputTokens"/>).</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>Prompt tokens written to the provider's prompt cache (a part of <see cref="InputTokens"/>).</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>Every generated token, including <see cref="ReasoningTokens"/>.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Generated tokens spent on hidden reasoning (a part of <see cref="OutputTokens"/>).</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Prompt tokens neither read from nor written to the cache.</summary>
    public long UncachedInputTokens => Math.Max(0, InputTokens - CachedInputTokens - CacheWriteInputTokens);

    /// <summary>Input plus output tokens.</summary>
    public long TotalTokens => InputTokens + OutputTokens;
}
