using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Step 7, the budget part: turns the request's reservation into a charge. The policy (README "Budgets"):
/// the upstream reported usage → its cost, capped at the reservation; the upstream accepted the request but reported
/// no usage (the caller aborted, the stream was cut, however early) → the prompt (as reported up front, else as
/// estimated) plus the output tokens delivered so far; the caller gone after the whole request was sent, before the
/// status line → the prompt as estimated; the upstream never accepted it (refused before forwarding, unreachable,
/// timed out, an upstream error status) → released, charged nothing. Idempotent through
/// the ledger: a second settle of the same request charges nothing more. The request's usage record is committed in
/// the settle's own ledger transaction (<see cref="UsageOutbox"/>), so neither exists without the other.
/// </summary>
/// <remarks>
/// A non-streamed answer is read whole by the forwarder and written by the handler only after step 7, so its
/// response has not started when it settles here and carries <see cref="ChargedHeader"/> and <see cref="BalanceHeader"/>.
/// A stream's response has started by then: its charge is read by request id afterwards.
/// </remarks>
internal sealed partial class BudgetSettlement(
    IBudgetLedger ledger,
    RelayPriceCatalog prices,
    SettleRetrier retrier,
    StoreFailures storeFailures,
    UsageSettlement usage,
    TimeProvider time,
    ILogger<BudgetSettlement> logger) : IRelaySettlement
{
    /// <summary>
    /// What a non-streamed answer of a metered key was charged, in US dollars (formatted like
    /// <see cref="BudgetAdmission.ReservedHeader"/>). Streams do not carry it: their charge is known only
    /// after the body, so it is read by request id afterwards.
    /// </summary>
    public const string ChargedHeader = "x-relaykit-cost-charged";

    /// <summary>
    /// The key's balance right after the charge of a non-streamed answer, in US dollars: credits minus charges
    /// and refunds, as <c>balance</c> in <c>GET /v1/relay/balance</c> (requests still in flight hold part of it).
    /// </summary>
    public const string BalanceHeader = "x-relaykit-balance-remaining";

    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        // Settled (or spooled) once: the ledger would charge nothing more, and skipping keeps the charge and the usage
        // record counted once.
        if (context.BudgetHold is not { Settlement: null } hold || context.PendingSettlement is not null)
        {
            return;
        }

        var cost = CostOf(context, hold);

        // The record is written with the charge, in the same ledger transaction (the usage outbox). A non-streamed answer
        // settles before it is written: its record is taken then, the whole answer read, its duration to that point.
        var record = usage.CreateRecord(context, time.GetUtcNow());
        var order = new SettleOrder(context.RequestId, cost, ledger.FindCarve(context.RequestId), usage.ToStore(record));
        try
        {
            // Settling must finish even when the caller has gone: the money moves regardless.
            hold.Settlement = await ledger.SettleAsync(order, CancellationToken.None);

            // The usage record carries what was really charged.
            context.ChargedCost = hold.Settlement.Charged;
            context.SettledRecord = record with { Cost = hold.Settlement.Charged };
        }
        catch (Exception ex)
        {
            // Never lost: the settle goes to the spool (a local file, synced) before the answer completes, and the
            // retrier lands it, charge and record together, once the ledger takes it; the record then says what the
            // ledger charged rather than claim a charge that has not happened. An outage fails every settle: logged
            // through the rate-limited outage log rather than a stack trace each.
            if (StoreFailures.Is(ex))
            {
                storeFailures.Log(ex, "settle", context.RequestId);
            }
            else
            {
                LogSettleFailed(ex, context.RequestId);
            }

            try
            {
                context.PendingSettlement = await retrier.SpoolAsync(order);
                context.SettledRecord = record;
            }
            catch (Exception spoolFailure)
            {
                // Neither the ledger nor the local disk took it: the reservation stays open until the sweep releases it
                // (the request is free), so its usage record says 0, not the price of what it used. Rare enough to be
                // an error of its own.
                context.ChargedCost = 0m;
                LogSpoolFailed(spoolFailure, context.RequestId, cost);
            }
        }

        await AddChargeHeadersAsync(context, hold);
    }

    /// <summary>
    /// Adds the charged cost and the remaining balance to an answer whose response has not started (a whole
    /// non-streamed answer the handler writes after step 7). When settling failed, neither header is set, and the
    /// settle waits in the spool.
    /// </summary>
    private async ValueTask AddChargeHeadersAsync(RelayRequestContext context, BudgetHold hold)
    {
        if (hold.Settlement is not { } settled || context.HeldAnswer is null || context.HttpContext.Response.HasStarted)
        {
            return;
        }

        var headers = context.HttpContext.Response.Headers;
        headers[ChargedHeader] = BudgetAdmission.FormatMoney(settled.Charged);

        // The ledger reports the balance with the charge; should a store not, one read gives it.
        var balance = settled.Balance;
        if (balance is null)
        {
            try
            {
                balance = (await ledger.GetBalanceAsync(hold.KeyName, CancellationToken.None))?.Balance;
            }
            catch (Exception ex)
            {
                LogBalanceReadFailed(ex, context.RequestId);
            }
        }

        if (balance is { } remaining)
        {
            headers[BalanceHeader] = BudgetAdmission.FormatMoney(remaining);
        }
    }

    /// <summary>What to charge, or null to release without a charge.</summary>
    internal decimal? CostOf(RelayRequestContext context, BudgetHold hold)
    {
        var upstream = context.Upstream ?? (context.Candidates.Count > 0 ? context.Candidates[0] : null);
        var price = upstream is null ? null : prices.PriceOf(upstream);
        if (price is null)
        {
            return null;
        }

        if (context.ReportedUsage is { } usage)
        {
            return TokenCost.Of(price, usage);
        }

        if (!ReachedUpstream(context))
        {
            return null;
        }

        // The upstream read the whole prompt once it accepted the request, and bills it whether or not any output
        // followed (a caller aborting before the first text must not get the prompt for free), plus the output it
        // produced and the caller got. The prompt as the upstream reported it before its answer (Anthropic's
        // message_start), else as the estimator counted it.
        var prompt = context.ReportedPromptUsage ?? new TokenUsage(hold.Estimate.PromptTokens, 0, 0, 0);
        return TokenCost.Of(price, prompt with { OutputTokens = context.DeliveredOutputTokens });
    }

    /// <summary>
    /// Whether the upstream has the request and bills its prompt: it answered with a success status, or the caller went
    /// away after the whole request had been sent and before the answer's status line (the upstream is working on it
    /// and bills it however it ends). A request refused before forwarding, one no upstream could be sent or answered
    /// (unreachable, timed out) and one an upstream answered with an error are free.
    /// </summary>
    private static bool ReachedUpstream(RelayRequestContext context) =>
        context.Upstream is not null
        && (context.UpstreamStatusCode is >= 200 and < 400 || (context.UpstreamStatusCode is null && context.ClientAborted && context.RequestSent));

    [LoggerMessage(5102, LogLevel.Warning, "Settling the budget of {RequestId} failed; it is retried until the ledger takes it")]
    private partial void LogSettleFailed(Exception exception, string requestId);

    [LoggerMessage(5104, LogLevel.Error, "The settle of {RequestId} ({Charge}) failed and could not be spooled either; its reservation is released when it expires, uncharged")]
    private partial void LogSpoolFailed(Exception exception, string requestId, decimal? charge);

    [LoggerMessage(5103, LogLevel.Warning, "Reading the balance after settling {RequestId} failed; the answer goes without the balance header")]
    private partial void LogBalanceReadFailed(Exception exception, string requestId);
}
