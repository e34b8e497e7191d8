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
    UsageRecorder recorder, TimeProvider timeProvider, RelayPriceCatalog prices, UsageOutbox outbox, IOptions<UsageOptions> options, ILogger<UsageSettlement> logger)
    : IRelaySettlement
{

    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        var record = context.SettledRecord ?? CreateRecord(context, timeProvider.GetUtcNow());
        var responseModel = SecretScrubber.Scrub(context.ResponseModel);
        RelayActivitySource.CompleteRequest(context.Activity, record, responseModel);
        if (context.PendingSettlement is { } pending)
        {
            // The budget's settle failed and waits in the spool with this record: the ledger writes the record when the
            // settle lands, with what it charged then; it is logged then too, rather than now with a charge that may never happen.
            _ = ObserveWhenSettledAsync(record, responseModel, pending);
            return;
        }

        if (context.SettledRecord is not null)
        {
            // Committed to the usage outbox with the charge; the writer stores it from there.
            recorder.Observe(record, responseModel);
            outbox.Written();
            return;
        }

        if (outbox.Enabled)
        {
            // A request that settles nothing (an unmetered key): its record is committed to the outbox all the same,
            // so a crash does not lose it; with the ledger store down it takes the in-memory queue instead.
            try
            {
                var clean = recorder.Sanitize(record);
                await outbox.Ledger.RecordUsageAsync(clean, CancellationToken.None);
                recorder.Observe(clean, responseModel);
                outbox.Written();
                return;
            }
            catch (Exception ex)
            {
                LogOutboxFailed(ex, record.RequestId);
            }
        }

        // The caller may be gone; the record must still be written, so the request's token is not used.
        await recorder.RecordAsync(record, responseModel, CancellationToken.None);
    }

    /// <summary>The record as the usage store keeps it (scrubbed), or null when usage is not stored.</summary>
    public UsageRecord? ToStore(UsageRecord record) => options.Value.Store == UsageStoreKind.None ? null : recorder.Sanitize(record);

    private async Task ObserveWhenSettledAsync(UsageRecord record, string? responseModel, Task<SettlementResult> pending)
    {
        try
        {
            var settled = await pending;
            recorder.Observe(record with { Cost = settled.Charged }, responseModel);
            outbox.Written();
        }
        catch (Exception ex)
        {
            // Shutdown came first: the settle and its record wait in the spool and land at the next start.
            LogRecordNotWritten(record.RequestId, ex.GetType().Name);
        }
    }

    [LoggerMessage(5120, LogLevel.Warning, "The usage record of {RequestId} is not written yet: its settle has not landed ({Reason}); both wait in the settle spool")]
    private partial void LogRecordNotWritten(string requestId, string reason);

    [LoggerMessage(5121, LogLevel.Warning, "Writing the usage record of {RequestId} to the usage outbox failed; it is queued in memory instead")]
    private partial void LogOutboxFailed(Exception exception, string requestId);

    /// <summary>
    /// The record of a request that has settled at <paramref name="now"/>. A non-streamed answer read whole
    /// (<see cref="RelayRequestContext.HeldAnswer"/>) settles before it is written: it counts as delivered.
    /// </summary>
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
            Operation = context.Operation.GenAIName,
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
            Attempts = context.Attempts,

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

        var completed = context.ResponseCompleted;
        if (context.ClientAborted && !completed)
        {
            return "client_aborted";
        }

        return context.Upstream is not null && !completed ? "upstream_broken" : null;
    }
}
