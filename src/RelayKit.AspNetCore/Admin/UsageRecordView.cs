using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// One usage record as the operations API shows it: the CSV export's columns, without prompt and completion, and the
/// upstream attempts in full where the CSV has their count.
/// </summary>
internal sealed record UsageRecordView(
    string RequestId,
    DateTimeOffset Timestamp,
    string? KeyName,
    string RequestedModel,
    string? Provider,
    string? UpstreamModel,
    string Operation,
    bool Streamed,
    long? InputTokens,
    long? OutputTokens,
    long? CachedInputTokens,
    long? CacheWriteTokens,
    long? ReasoningTokens,
    decimal Cost,
    int StatusCode,
    string? ErrorType,
    double? TimeToFirstByteMs,
    double DurationMs,
    IReadOnlyList<UsageAttemptView> Attempts)
{
    public static UsageRecordView From(UsageRecord record) => new(
        record.RequestId, record.Timestamp, record.KeyName, record.RequestedModel, record.Provider, record.UpstreamModel, record.Operation,
        record.Streamed, record.InputTokens, record.OutputTokens, record.CachedInputTokens, record.CacheWriteTokens, record.ReasoningTokens,
        record.Cost, record.StatusCode, record.ErrorType, record.TimeToFirstByte?.TotalMilliseconds, record.Duration.TotalMilliseconds,
        UsageAttemptView.Of(record.Attempts));
}
