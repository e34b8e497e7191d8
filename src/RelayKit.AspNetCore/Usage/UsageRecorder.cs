using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Where the settle step hands a finished request's usage: it scrubs the record, writes the
/// structured log event and the metrics at once, and queues the record for the background store
/// writer, so the request never waits on the store.
/// </summary>
internal sealed class UsageRecorder
{
    private readonly UsageQueue _queue;
    private readonly RelayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly UsageOptions _options;

    public UsageRecorder(UsageQueue queue, RelayMetrics metrics, IOptions<UsageOptions> options, ILogger<UsageRecorder> logger)
    {
        _queue = queue;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value;
    }

    /// <summary>Records one settled request. Completes at once unless the queue is full and the policy is <see cref="UsageQueueFullMode.Wait"/>.</summary>
    public ValueTask RecordAsync(UsageRecord record, CancellationToken cancellationToken = default) =>
        RecordAsync(record, responseModel: null, cancellationToken);

    /// <summary>
    /// Records one settled request; <paramref name="responseModel"/> is the model the upstream's answer named (which the
    /// record does not keep: it stores the model the request was routed to), for the metrics.
    /// </summary>
    public ValueTask RecordAsync(UsageRecord record, string? responseModel, CancellationToken cancellationToken) =>
        RecordAsync(record, responseModel, enqueue: true, cancellationToken);

    /// <summary>
    /// Logs and meters a record the ledger committed to the usage outbox with its settle (<see cref="UsageOutbox"/>); the
    /// writer stores it from there, so it is not queued.
    /// </summary>
    public void Observe(UsageRecord record, string? responseModel) =>
        _ = RecordAsync(record, responseModel, enqueue: false, CancellationToken.None);

    private ValueTask RecordAsync(UsageRecord record, string? responseModel, bool enqueue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var clean = Sanitize(record);

        UsageLog.Usage(
            _logger,
            clean.RequestId,
            LogValue.OfKeyName(clean.KeyName),
            clean.Operation,
            LogValue.Of(clean.RequestedModel)!,
            LogValue.Of(clean.Provider),
            LogValue.Of(clean.UpstreamModel),
            clean.Streamed,
            clean.StatusCode,
            LogValue.Of(clean.ErrorType),
            clean.InputTokens,
            clean.OutputTokens,
            clean.CachedInputTokens,
            clean.CacheWriteTokens,
            clean.ReasoningTokens,
            clean.Cost,
            clean.TimeToFirstByte?.TotalMilliseconds,
            clean.Duration.TotalMilliseconds,
            clean.Attempts.Count);
        _metrics.RecordRequest(clean, SecretScrubber.Scrub(responseModel));

        return !enqueue || _options.Store == UsageStoreKind.None ? ValueTask.CompletedTask : _queue.EnqueueAsync(clean, cancellationToken);
    }

    /// <summary>The record as it may be kept: content only when enabled and bounded, secret-looking text redacted.</summary>
    internal UsageRecord Sanitize(UsageRecord record)
    {
        var keyName = SecretScrubber.ScrubKeyName(record.KeyName);
        var requestedModel = SecretScrubber.Scrub(record.RequestedModel)!;
        var upstreamModel = SecretScrubber.Scrub(record.UpstreamModel);
        var errorType = SecretScrubber.Scrub(record.ErrorType);
        var attempts = ScrubAttempts(record.Attempts);
        var prompt = _options.RecordContent ? Bound(SecretScrubber.Scrub(record.Prompt)) : null;
        var completion = _options.RecordContent ? Bound(SecretScrubber.Scrub(record.Completion)) : null;

        // Scrubbing hands back the very string it was given when there is nothing to redact, so the usual
        // record, with nothing to redact or cut, is kept rather than copied (records are immutable).
        if (ReferenceEquals(keyName, record.KeyName) && ReferenceEquals(requestedModel, record.RequestedModel)
            && ReferenceEquals(upstreamModel, record.UpstreamModel) && ReferenceEquals(errorType, record.ErrorType)
            && ReferenceEquals(prompt, record.Prompt) && ReferenceEquals(completion, record.Completion)
            && ReferenceEquals(attempts, record.Attempts))
        {
            return record;
        }

        return record with
        {
            KeyName = keyName,
            RequestedModel = requestedModel,
            UpstreamModel = upstreamModel,
            ErrorType = errorType,
            Prompt = prompt,
            Completion = completion,
            Attempts = attempts,
        };
    }

    /// <summary>
    /// The attempts with their model names scrubbed as the record's own (a wildcard route sends the caller's model name on);
    /// the same list when there was nothing to redact.
    /// </summary>
    private static IReadOnlyList<UsageAttempt> ScrubAttempts(IReadOnlyList<UsageAttempt> attempts)
    {
        UsageAttempt[]? scrubbed = null;
        for (var i = 0; i < attempts.Count; i++)
        {
            var attempt = attempts[i];
            var model = SecretScrubber.Scrub(attempt.UpstreamModel)!;
            if (!ReferenceEquals(model, attempt.UpstreamModel))
            {
                scrubbed ??= [.. attempts];
                scrubbed[i] = attempt with { UpstreamModel = model };
            }
        }

        return scrubbed ?? attempts;
    }

    private string? Bound(string? text) =>
        text is null || text.Length <= _options.MaxContentLength ? text : text[.._options.MaxContentLength];
}
