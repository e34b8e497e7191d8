using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Admission.Budgets;

/// <summary>
/// What budget admission held for one request (kept on the request's context), read by settlement and
/// the cost headers.
/// </summary>
/// <param name="KeyName">The key charged.</param>
/// <param name="Estimate">The worst-case estimate that was reserved (the dearest candidate's).</param>
internal sealed record BudgetHold(string KeyName, CostEstimate Estimate)
{
    /// <summary>The amount reserved.</summary>
    public decimal Reserved => Estimate.Cost;

    /// <summary>What settlement found, once it ran.</summary>
    public SettlementResult? Settlement { get; set; }
}
