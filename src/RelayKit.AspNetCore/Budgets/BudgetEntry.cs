namespace RelayKit.AspNetCore.Budgets;

/// <summary>One append-only ledger entry.</summary>
/// <param name="Sequence">Position in the ledger; increases with every entry.</param>
/// <param name="KeyId">The key (account) the entry belongs to.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Amount">US dollars, never negative.</param>
/// <param name="RequestId">The request, for reservations, charges, releases and expiries.</param>
/// <param name="Reference">The idempotency reference of a top-up, free credit or refund.</param>
/// <param name="ReportedCost">
/// For a charge: what the upstream's usage cost. Above <paramref name="Amount"/> when the charge was
/// capped at the reservation; the difference is the operator's, recorded for audit.
/// </param>
/// <param name="At">When it was written.</param>
internal sealed record BudgetEntry(
    long Sequence,
    string KeyId,
    BudgetEntryKind Kind,
    decimal Amount,
    string? RequestId,
    string? Reference,
    decimal? ReportedCost,
    DateTimeOffset At);
