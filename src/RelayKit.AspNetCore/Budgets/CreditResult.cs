namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of a top-up, free credit or refund.</summary>
/// <param name="Status">Applied, or why nothing changed.</param>
/// <param name="Amount">The amount credited or refunded (by this call or the earlier one with the same reference).</param>
/// <param name="Balance">The key's balance after the call, when it has an account.</param>
internal sealed record CreditResult(CreditStatus Status, decimal Amount, decimal? Balance);
