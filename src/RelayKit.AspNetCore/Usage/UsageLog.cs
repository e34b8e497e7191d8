using Microsoft.Extensions.Logging;

namespace RelayKit.AspNetCore.Usage;

/// <summary>The usage path's log events.</summary>
internal static partial class UsageLog
{
    [LoggerMessage(EventId = 7001, EventName = "RelayUsage", Level = LogLevel.Information,
        Message = "Request {RequestId} by {KeyName}: {Operation} {RequestedModel} via {Provider}/{UpstreamModel}, streamed {Streamed}, " +
                  "status {StatusCode} {ErrorType}, tokens in {InputTokens} out {OutputTokens} cached {CachedInputTokens} " +
                  "cache-write {CacheWriteTokens} reasoning {ReasoningTokens}, cost {Cost} USD, first byte {TimeToFirstByteMs} ms, duration {DurationMs} ms, attempts {Attempts}")]
    public static partial void Usage(
        ILogger logger,
        string requestId,
        string? keyName,
        string operation,
        string requestedModel,
        string? provider,
        string? upstreamModel,
        bool streamed,
        int statusCode,
        string? errorType,
        long? inputTokens,
        long? outputTokens,
        long? cachedInputTokens,
        long? cacheWriteTokens,
        long? reasoningTokens,
        decimal cost,
        double? timeToFirstByteMs,
        double durationMs,
        int attempts);

    [LoggerMessage(EventId = 7002, EventName = "UsageRecordsDropped", Level = LogLevel.Warning,
        Message = "The usage queue was full: {Count} records were dropped (policy {Policy}); they were logged but not stored")]
    public static partial void RecordsDropped(ILogger logger, long count, UsageQueueFullMode policy);

    [LoggerMessage(EventId = 7003, EventName = "UsageStoreWriteFailed", Level = LogLevel.Warning,
        Message = "Writing {Count} usage records failed (attempt {Attempt}); retrying")]
    public static partial void WriteFailed(ILogger logger, Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 7004, EventName = "UsageRecordsLost", Level = LogLevel.Error,
        Message = "Gave up writing {Count} usage records after {Attempts} attempts; they were logged but not stored")]
    public static partial void RecordsLost(ILogger logger, Exception exception, int count, int attempts);

    [LoggerMessage(EventId = 7006, EventName = "UsageRecordRejected", Level = LogLevel.Error,
        Message = "The usage store refused the record of {RequestId} while it took the others of its batch; that record is dropped")]
    public static partial void RecordRejected(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 7005, EventName = "UsageShutdownIncomplete", Level = LogLevel.Error,
        Message = "Shutdown ended before the usage queue drained: {Count} records were not stored")]
    public static partial void ShutdownIncomplete(ILogger logger, int count);
}
