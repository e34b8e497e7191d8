using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Step 7, usage: turns the settled request's context into one <see cref="UsageRecord"/> (token counts
/// exactly as the meter read them from the upstream, the key's name, never its secret), ends the
/// request's span with it and hands it to the <see cref="UsageRecorder"/>.
/// </summary>
internal sealed partial class UsageSettlement(
    UsageRecorder recorder, TimeProvider timeProvider, RelayPriceCatalog prices, IOptions<UsageOptions> options, ILogger<UsageSettlement> logger)
    : IRelaySettlement
{

    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        var record = CreateRecord(context, timeProvider.GetUtcNow());
        var responseModel = SecretScrubber.Scrub(context.ResponseModel);
        RelayActivitySource.CompleteRequest(context.Activity, record, responseModel);
        if (context.PendingSettlement is { } pending)
        {
            // The budget's settle failed and is being retried: the record is written once it lands, with what the
            // ledger charged, rather than now with a charge that may never happen.
            _ = RecordWhenSettledAsync(record, responseModel, pending);
            return;
        }

        // The caller may be gone; the record must still be written, so the request's token is not used.
        await recorder.RecordAsync(record, responseModel, CancellationToken.None);
    }

    private async Task RecordWhenSettledAsync(UsageRecord record, string? responseModel, Task<SettlementResult> pending)
    {
        try
        {
            var settled = await pending;
            await recorder.RecordAsync(record with { Cost = settled.Charged }, responseModel, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Shutdown gave the settle up: no charge landed, so no record claims one (the log says which request).
            LogRecordNotWritten(record.RequestId, ex.GetType().Name);
        }
    }

    [LoggerMessage(5120, LogLevel.Warning, "The usage record of {RequestId} is not written: its settle never landed ({Reason})")]
    private partial void LogRecordNotWritten(string requestId, string reason);

    /// <summary>The record of a request that has settled at <paramref name="now"/>.</summary>
    public UsageRecord CreateRecord(RelayRequestContext context, DateTimeOffset now)
    {
        var usage = context.ReportedUsage;
        var upstream = context.Upstream;
        return new UsageRecord
        {
            RequestId = context.RequestId,
            Timestamp = context.StartedAt,
            KeyName = context.Caller?.KeyName,
            RequestedModel = context.Fields?.Model ?? "",
            Provider = upstream?.Provider.Name,
            UpstreamModel = upstream?.UpstreamModel,
            Operation = UpstreamAttemptTracker.OperationName(context.Operation),
            Streamed = context.Fields?.Stream ?? false,

            // Anthropic-style disjoint classes in TokenUsage; the record keeps the same classes.
            InputTokens = usage?.InputTokens,
            OutputTokens = usage?.OutputTokens,
            CachedInputTokens = usage?.CachedInputTokens,
            CacheWriteTokens = usage?.CacheWriteTokens,
            ReasoningTokens = usage?.ReasoningTokens,
            // What the budget charged; for a key without a budget, the usage at the price a metered key would pay.
            Cost = context.ChargedCost ?? (upstream is not null && usage is not null && prices.PriceOf(upstream) is { } price ? TokenCost.Of(price, usage) : 0m),
            StatusCode = StatusOf(context),
            ErrorType = ErrorTypeOf(context),
            TimeToFirstByte = context.FirstByteAt - context.StartedAt,
            Duration = now - context.StartedAt,

            // Only with RecordContent: read from the body and the meter here, scrubbed and cut to length by the recorder.
            Prompt = options.Value.RecordContent ? ContentCapture.PromptOf(context, ContentCapture.Chars(options.Value)) : null,
            Completion = options.Value.RecordContent ? context.CompletionText : null,
        };
    }

    /// <summary>
    /// The status the request ended with: the relay's error's, else the upstream's, else — for a caller gone before any
    /// answer, whose response never got one — 499 (nginx's "client closed request"), not the response's unset 200.
    /// </summary>
    private static int StatusOf(RelayRequestContext context) =>
        context.Error?.Status ?? context.UpstreamStatusCode
        ?? (context.ClientAborted && !context.HttpContext.Response.HasStarted ? ClientClosedRequest : context.HttpContext.Response.StatusCode);

    private const int ClientClosedRequest = 499;

    private static string? ErrorTypeOf(RelayRequestContext context)
    {
        if (context.Error is { } error)
        {
            return error.Code;
        }

        if (context.UpstreamStatusCode >= 400)
        {
            return null; // the status code says it; RelayMetrics reports it as error.type
        }

        if (context.ClientAborted && !context.ResponseCompleted)
        {
            return "client_aborted";
        }

        return context.Upstream is not null && !context.ResponseCompleted ? "upstream_broken" : null;
    }
}
