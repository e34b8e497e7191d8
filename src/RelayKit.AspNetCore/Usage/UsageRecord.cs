namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// What one relayed request used and cost, written once when the request settles. Token counts are
/// exactly what the upstream reported (<see langword="null"/> when it reported nothing), never
/// estimates. The record carries the relay key's name, never the key itself.
/// </summary>
public sealed record UsageRecord
{
    /// <summary>The relay's id for the request; unique, so writing a record twice stores it once.</summary>
    public required string RequestId { get; init; }

    /// <summary>When the relay received the request.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The name of the relay key the caller used (a label, never the secret); <see langword="null"/> when the relay runs without keys.</summary>
    public string? KeyName { get; init; }

    /// <summary>The model the caller asked for, as sent (possibly an alias).</summary>
    public required string RequestedModel { get; init; }

    /// <summary>The upstream that answered (the last one tried); <see langword="null"/> when the request never reached one.</summary>
    public string? Provider { get; init; }

    /// <summary>The model name sent to the upstream.</summary>
    public string? UpstreamModel { get; init; }

    /// <summary>The GenAI operation, such as <c>chat</c> or <c>embeddings</c> (see <see cref="Telemetry.GenAIOperationNames"/>).</summary>
    public string Operation { get; init; } = Telemetry.GenAIOperationNames.Chat;

    /// <summary>Whether the response was streamed to the caller.</summary>
    public bool Streamed { get; init; }

    /// <summary>Input (prompt) tokens as the upstream reported them.</summary>
    public long? InputTokens { get; init; }

    /// <summary>Output (completion) tokens as the upstream reported them.</summary>
    public long? OutputTokens { get; init; }

    /// <summary>Input tokens served from the upstream's prompt cache (OpenAI <c>cached_tokens</c>, Anthropic <c>cache_read_input_tokens</c>).</summary>
    public long? CachedInputTokens { get; init; }

    /// <summary>Input tokens written to the upstream's prompt cache (Anthropic <c>cache_creation_input_tokens</c>).</summary>
    public long? CacheWriteTokens { get; init; }

    /// <summary>Reasoning tokens (OpenAI <c>reasoning_tokens</c>), part of the output tokens.</summary>
    public long? ReasoningTokens { get; init; }

    /// <summary>What the request cost, in US dollars.</summary>
    public decimal Cost { get; init; }

    /// <summary>The HTTP status code the caller received.</summary>
    public int StatusCode { get; init; }

    /// <summary>A short, low-cardinality error type (such as <c>rate_limit_error</c> or <c>timeout</c>) when the request failed; never a message.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Time from receiving the request to the first response byte sent to the caller.</summary>
    public TimeSpan? TimeToFirstByte { get; init; }

    /// <summary>Time from receiving the request to the last response byte.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>
    /// The upstream attempts the request took, in order: one for a request the first upstream answered, more when the
    /// relay retried or fell back (<see cref="Provider"/> names the one whose answer the caller got), none when it never
    /// reached an upstream. Each names the provider and model, the status answered or why none came, and the latency.
    /// An attempt a circuit breaker refused before sending is not listed. Never <see langword="null"/>; the list is a
    /// copy that compares by its items, so records with the same attempts are equal.
    /// </summary>
    public IReadOnlyList<UsageAttempt> Attempts
    {
        get;
        init => field = UsageAttemptList.Of(value);
    } = UsageAttemptList.Empty;

    /// <summary>The prompt text; kept only when <see cref="UsageOptions.RecordContent"/> is on.</summary>
    public string? Prompt { get; init; }

    /// <summary>The completion text; kept only when <see cref="UsageOptions.RecordContent"/> is on.</summary>
    public string? Completion { get; init; }

    /// <summary>Whether the request failed (a status code of 400 or more).</summary>
    public bool IsError => StatusCode >= 400;
}
