using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// The request path's steps 4 and 7, in their order, built here and nowhere else (the handler runs them; the order of
/// service registrations plays no part). Step 4 admits: rate limits first, so a request they refuse never holds money;
/// then the meter (it never refuses); then the budget reservation. Step 7 settles, each part whatever the others did:
/// the rate limits (tokens corrected, slots freed), then the budget (the charge, with the usage record in its
/// transaction), then the usage record of a request the budget did not record (an unmetered key), so the record
/// carries the charged cost.
/// </summary>
/// <remarks>
/// Further steps registered as <see cref="IRelayAdmission"/> or <see cref="IRelaySettlement"/> (the seam tests use)
/// nest inside the built-in ones: admitted after them, settled before them.
/// </remarks>
internal sealed class RelayPipeline(
    RateLimitAdmission rateLimits,
    MeteringAdmission metering,
    BudgetAdmission budget,
    RateLimitSettlement rateLimitSettlement,
    BudgetSettlement budgetSettlement,
    UsageSettlement usageSettlement,
    IEnumerable<IRelayAdmission> furtherAdmissions,
    IEnumerable<IRelaySettlement> furtherSettlements)
{
    /// <summary>Step 4's parts in order; the first refusal ends the request.</summary>
    public IRelayAdmission[] Admissions { get; } = [rateLimits, metering, budget, .. furtherAdmissions];

    /// <summary>Step 7's parts in order; every part runs once per request.</summary>
    public IRelaySettlement[] Settlements { get; } = [.. furtherSettlements, rateLimitSettlement, budgetSettlement, usageSettlement];
}
