namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// One recent request; token counts the upstream did not report are left out, and so are the prompt and completion
/// unless the relay records content (<see cref="UsageOptions.RecordContent"/>). <see cref="Attempts"/> lists the upstream
/// attempts it took (empty when it never reached one).
/// </summary>
internal sealed record UsageRequestView(
    string RequestId,
    DateTimeOffset Timestamp,
    string Model,
    string? Provider,
    string? UpstreamModel,
    bool Streamed,
    int Status,
    string? ErrorType,
    long? InputTokens,
    long? OutputTokens,
    long? CachedInputTokens,
    long? CacheWriteTokens,
    long? ReasoningTokens,
    decimal Cost,
    double? TimeToFirstByteMs,
    double DurationMs,
    string? Prompt,
    string? Completion,
    IReadOnlyList<UsageAttemptView> Attempts)
{
    public static UsageRequestView From(UsageRecord record) => new(
        record.RequestId, record.Timestamp, record.RequestedModel, record.Provider, record.UpstreamModel, record.Streamed, record.StatusCode,
        record.ErrorType, record.InputTokens, record.OutputTokens, record.CachedInputTokens, record.CacheWriteTokens, record.ReasoningTokens,
        record.Cost, record.TimeToFirstByte?.TotalMilliseconds, record.Duration.TotalMilliseconds,
        record.Prompt, record.Completion, UsageAttemptView.Of(record.Attempts));
}
