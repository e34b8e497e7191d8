using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Step 7, the budget part: turns the request's reservation into a charge. The policy (README "Budgets"):
/// the upstream reported usage → its cost, capped at the reservation; no usage but output was delivered
/// (the caller aborted, the stream was cut) → the estimated prompt plus the delivered output tokens; nothing
/// delivered (an upstream error, a failure before output) → released, charged nothing. Idempotent through
/// the ledger: a second settle of the same request charges nothing more.
/// </summary>
internal sealed partial class BudgetSettlement(IBudgetLedger ledger, RelayPriceCatalog prices, ILogger<BudgetSettlement> logger) : IRelaySettlement
{
    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        if (context.HttpContext.Features.Get<BudgetHold>() is not { } hold)
        {
            return;
        }

        try
        {
            var cost = CostOf(context, hold);

            // Settling must finish even when the caller has gone: the money moves regardless.
            hold.Settlement = cost is { } amount
                ? await ledger.SettleAsync(context.RequestId, amount, CancellationToken.None)
                : await ledger.ReleaseAsync(context.RequestId, CancellationToken.None);

            // The usage record (settled after this) carries what was really charged.
            context.ChargedCost = hold.Settlement.Charged;
        }
        catch (Exception ex)
        {
            // The reservation stays open and the expiry sweep releases it; the caller's answer is already out.
            LogSettleFailed(ex, context.RequestId);
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

        if (context.DeliveredOutputTokens > 0)
        {
            // The upstream read the whole prompt and produced what was delivered; it will bill that.
            return TokenCost.Of(price, new TokenUsage(hold.Estimate.PromptTokens, 0, 0, context.DeliveredOutputTokens));
        }

        return null;
    }

    [LoggerMessage(5102, LogLevel.Error, "Settling the budget of {RequestId} failed; the reservation expires instead")]
    private partial void LogSettleFailed(Exception exception, string requestId);
}
