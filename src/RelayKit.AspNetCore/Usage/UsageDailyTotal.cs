namespace RelayKit.AspNetCore.Usage;

/// <summary>What one model used and cost on one UTC day (the sums of the upstream-reported counts).</summary>
/// <param name="Day">The UTC day.</param>
/// <param name="Model">The requested model.</param>
/// <param name="Requests">How many requests.</param>
/// <param name="Errors">How many of them failed.</param>
/// <param name="InputTokens">Sum of input tokens.</param>
/// <param name="OutputTokens">Sum of output tokens.</param>
/// <param name="CachedInputTokens">Sum of cached input tokens.</param>
/// <param name="CacheWriteTokens">Sum of cache-write tokens.</param>
/// <param name="ReasoningTokens">Sum of reasoning tokens.</param>
/// <param name="Cost">Sum of cost, in US dollars.</param>
public sealed record UsageDailyTotal(
    DateOnly Day,
    string Model,
    long Requests,
    long Errors,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens,
    long CacheWriteTokens,
    long ReasoningTokens,
    decimal Cost);
