using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Usage.Telemetry;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Settlement;

namespace RelayKit.AspNetCore.Admission.Budgets;

/// <summary>
/// Step 4, the budget part: for a key with a budget, estimates the request's worst-case cost, makes the
/// limit it assumed binding on the forwarded request, and reserves the cost atomically, or refuses before
/// any upstream call. Keys without a budget are unmetered and pass untouched.
/// </summary>
internal sealed partial class BudgetAdmission(
    KeyBudgets keys,
    IBudgetLedger ledger,
    RelayPriceCatalog prices,
    WorstCaseEstimator estimator,
    PromptCountGate gate,
    IOptions<BudgetEstimateOptions> estimateOptions,
    IOptionsMonitor<ModelRelayOptions> options,
    TimeProvider time,
    ILogger<BudgetAdmission> logger,
    RelayMetrics? metrics = null) : IRelayAdmission
{
    /// <summary>The worst-case cost held for the request, on every relayed response of a metered key.</summary>
    public const string ReservedHeader = "x-relaykit-cost-reserved";

    public async ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
    {
        if (!context.Operation.Metered || context.Caller is not { } caller || !keys.IsMetered(caller.KeyName))
        {
            return null;
        }

        await keys.EnsureOpenedAsync(caller.KeyName, context.RequestAborted);
        if (gate.IsLarge(context) && await RefuseUnaffordableAsync(context, caller.KeyName) is { } refused)
        {
            return refused;
        }

        var (estimate, error) = await EstimateAsync(context);
        if (error is not null)
        {
            return error;
        }

        var expiresAt = time.GetUtcNow() + options.CurrentValue.Budgets.ReservationLifetime;
        ReservationResult result;
        try
        {
            result = await ledger.TryReserveAsync(caller.KeyName, context.RequestId, estimate!.Cost, expiresAt, context.RequestAborted);
        }
        catch (Exception ex) when (StoreFailures.Is(ex) || ex is OperationCanceledException)
        {
            // The reservation may have committed although its answer was lost (the connection broke after the commit,
            // the caller left meanwhile). The hold lets the request's settle release it by request id — idempotent,
            // nothing when it never committed, through the settle retrier while the store is down — instead of the
            // balance staying held until the reservation expires.
            context.BudgetHold = new BudgetHold(caller.KeyName, estimate!);
            throw;
        }

        switch (result.Status)
        {
            case ReservationStatus.Granted:
                context.BudgetHold = new BudgetHold(caller.KeyName, estimate);
                context.HttpContext.Response.Headers[ReservedHeader] = FormatMoney(estimate.Cost);

                // A non-streamed answer is held whole until step 7 has settled it, so it carries the charge too.
                context.HoldWholeAnswer = true;
                return null;
            case ReservationStatus.AccountClosed:
                LogRefused(Usage.LogValue.OfKeyName(caller.KeyName)!, estimate.Cost, result.Available, context.RequestId);
                metrics?.BudgetRefused(context.Fields!.Model);
                return BudgetErrors.AccountClosed();
            default:
                LogRefused(Usage.LogValue.OfKeyName(caller.KeyName)!, estimate.Cost, result.Available, context.RequestId);
                metrics?.BudgetRefused(context.Fields!.Model);
                return BudgetErrors.InsufficientBalance(context.CallerFormat, estimate.Cost, result.Available);
        }
    }

    /// <summary>
    /// Refuses a large prompt whose cost, bounded from below without tokenizing (<see cref="WorstCaseEstimator.LowerBound(RelayRequestContext, PromptFormat, string, ModelPrice, int?)"/>),
    /// already exceeds what the key has available: its worst case can only be larger, so the reservation would fail after a
    /// tokenizer pass over megabytes. Costs one balance read, for large prompts only. Null when the prompt may fit (it is
    /// then counted and reserved as usual; the reservation alone decides, atomically).
    /// </summary>
    private async ValueTask<RelayError?> RefuseUnaffordableAsync(RelayRequestContext context, string keyName)
    {
        var format = context.Operation.PromptFormat ?? PromptFormat.OpenAIChat;
        CostEstimate? least = null;
        foreach (var candidate in context.Candidates)
        {
            if (prices.PriceOf(candidate) is not { } price)
            {
                return BudgetErrors.ModelNotPriced(context.Fields!.Model);
            }

            // The reservation is the dearest candidate's worst case, which is at least the dearest lower bound.
            var bound = estimator.LowerBound(context, format, candidate.UpstreamModel, price, prices.OutputCapOf(candidate));
            if (least is null || bound.Cost > least.Cost)
            {
                least = bound;
            }
        }

        if (least is null || await ledger.GetBalanceAsync(keyName, context.RequestAborted) is not { Closed: false } balance || least.Cost <= balance.Available)
        {
            return null;
        }

        LogRefused(keyName, least.Cost, balance.Available, context.RequestId);
        metrics?.BudgetRefused(context.Fields!.Model);
        return BudgetErrors.InsufficientBalance(context.CallerFormat, least.Cost, balance.Available, atLeast: true);
    }

    /// <summary>
    /// <see cref="Estimate"/>, with a large prompt counted only while its key holds a counting slot
    /// (<see cref="PromptCountGate"/>); the slot is given back as soon as the count is done.
    /// </summary>
    public async ValueTask<(CostEstimate? Estimate, RelayError? Error)> EstimateAsync(RelayRequestContext context)
    {
        var (slot, busy) = await gate.EnterAsync(context);
        if (busy is not null)
        {
            return (null, busy);
        }

        using (slot)
        {
            return Estimate(context);
        }
    }

    /// <summary>
    /// The worst case over every candidate the request may reach (a fallback may be dearer), and the output
    /// limit written into the forwarded body when the request set none. Used by the dry-run endpoint too.
    /// </summary>
    public (CostEstimate? Estimate, RelayError? Error) Estimate(RelayRequestContext context)
    {
        var format = context.Operation.PromptFormat ?? PromptFormat.OpenAIChat;
        CostEstimate? worst = null;
        int? assumedCap = null;
        foreach (var candidate in context.Candidates)
        {
            if (prices.PriceOf(candidate) is not { } price)
            {
                return (null, BudgetErrors.ModelNotPriced(context.Fields!.Model));
            }

            var cap = prices.OutputCapOf(candidate);
            var estimate = estimator.Estimate(context, format, candidate.UpstreamModel, price, cap);
            if (worst is null || estimate.Cost > worst.Cost)
            {
                worst = estimate;
            }

            // The smallest cap among candidates is the one that binds them all once it is in the body.
            var perChoice = cap ?? estimateOptions.Value.DefaultOutputCap;
            assumedCap = assumedCap is { } c ? Math.Min(c, perChoice) : perChoice;
        }

        if (worst is not null && !worst.OutputLimitFromRequest && assumedCap is { } limit
            && context.UpstreamOperation.OutputLimitField(context.Candidates[0].UpstreamModel) is not null)
        {
            // The estimate assumed this limit; the forwarder writes it into each attempt's body under the field its
            // upstream knows, which makes it a bound the upstream keeps.
            context.OutputLimit = limit;
        }

        return (worst, null);
    }

    internal static string FormatMoney(decimal amount) => amount.ToString("0.##########", CultureInfo.InvariantCulture);

    [LoggerMessage(5101, LogLevel.Information, "Refused a request of key {KeyName}: worst case {Needed} exceeds the available {Available} ({RequestId})")]
    private partial void LogRefused(string keyName, decimal needed, decimal available, string requestId);
}
