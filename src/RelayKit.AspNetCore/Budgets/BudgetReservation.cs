namespace RelayKit.AspNetCore.Budgets;

/// <summary>A request's reservation and, once settled, what it was charged.</summary>
/// <param name="RequestId">The request.</param>
/// <param name="KeyId">The key it is charged to.</param>
/// <param name="Amount">The worst-case cost held.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Charged">What was charged, once settled.</param>
/// <param name="ReportedCost">What the upstream's usage cost, once settled (may exceed <paramref name="Charged"/>).</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="ExpiresAt">When the sweep releases it if it is still open.</param>
internal sealed record BudgetReservation(
    string RequestId,
    string KeyId,
    decimal Amount,
    ReservationState State,
    decimal? Charged,
    decimal? ReportedCost,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt);
