using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Step 7, usage: turns the settled request's context into one <see cref="UsageRecord"/> (token counts
/// exactly as the meter read them from the upstream, the key's name, never its secret), ends the
/// request's span with it and hands it to the <see cref="UsageRecorder"/>.
/// </summary>
internal sealed class UsageSettlement(UsageRecorder recorder, TimeProvider timeProvider, RelayPriceCatalog prices) : IRelaySettlement
{

    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        var record = CreateRecord(context, timeProvider.GetUtcNow());
        var responseModel = SecretScrubber.Scrub(context.ResponseModel);
        RelayActivitySource.CompleteRequest(context.Activity, record, responseModel);

        // The caller may be gone; the record must still be written, so the request's token is not used.
        await recorder.RecordAsync(record, responseModel, CancellationToken.None);
    }

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
