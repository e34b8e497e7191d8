namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of <see cref="IBudgetLedger.SettleAsync(string, decimal, CancellationToken)"/> or <see cref="IBudgetLedger.ReleaseAsync"/>.</summary>
/// <param name="Status">Applied, or why nothing changed.</param>
/// <param name="Charged">What the request was charged (by this call or the earlier one).</param>
/// <param name="Uncharged">The reported cost above what could be charged (the reservation, or a late settle's available balance).</param>
/// <param name="Balance">The key's balance after the call, when known.</param>
internal sealed record SettlementResult(SettlementStatus Status, decimal Charged, decimal Uncharged, decimal? Balance);
