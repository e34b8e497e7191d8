using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Translation;

/// <summary>
/// Usage objects of each wire format to and from <see cref="TokenUsage"/>. OpenAI's <c>prompt_tokens</c>
/// includes cached tokens; Anthropic's <c>input_tokens</c> excludes cache reads and cache writes,
/// which it reports beside it.
/// </summary>
internal static class UsageMapping
{
    public static TokenUsage FromAnthropic(JsonObject usage) => TokenUsage.FromAnthropic(
        JsonRead.Count(usage["input_tokens"]),
        JsonRead.Count(usage["cache_read_input_tokens"]),
        JsonRead.Count(usage["cache_creation_input_tokens"]),
        JsonRead.Count(usage["output_tokens"]));

    public static TokenUsage FromOpenAIChat(JsonObject usage) => TokenUsage.FromOpenAI(
        JsonRead.Count(usage["prompt_tokens"]),
        JsonRead.Count(usage["prompt_tokens_details"]?["cached_tokens"]),
        JsonRead.Count(usage["completion_tokens"]),
        JsonRead.Count(usage["completion_tokens_details"]?["reasoning_tokens"]));

    /// <summary>OpenAI Chat usage; cache writes have no OpenAI field and stay inside <c>prompt_tokens</c>.</summary>
    public static JsonObject ToOpenAIChat(TokenUsage usage) => new()
    {
        ["prompt_tokens"] = usage.TotalInputTokens,
        ["completion_tokens"] = usage.OutputTokens,
        ["total_tokens"] = usage.TotalInputTokens + usage.OutputTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CachedInputTokens },
        ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = usage.ReasoningTokens },
    };

    /// <summary>Responses usage; cache writes stay inside <c>input_tokens</c>.</summary>
    public static JsonObject ToResponses(TokenUsage usage) => new()
    {
        ["input_tokens"] = usage.TotalInputTokens,
        ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CachedInputTokens },
        ["output_tokens"] = usage.OutputTokens,
        ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = usage.ReasoningTokens },
        ["total_tokens"] = usage.TotalInputTokens + usage.OutputTokens,
    };

    /// <summary>Anthropic usage; reasoning tokens have no Anthropic field and stay inside <c>output_tokens</c>.</summary>
    public static JsonObject ToAnthropic(TokenUsage usage) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["cache_creation_input_tokens"] = usage.CacheWriteTokens,
        ["cache_read_input_tokens"] = usage.CachedInputTokens,
        ["output_tokens"] = usage.OutputTokens,
    };
}
