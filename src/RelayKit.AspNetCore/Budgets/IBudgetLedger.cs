using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Pre-paid balances kept as an append-only ledger. Every operation that moves money is one atomic
/// step: a check and the write it guards can never interleave with another instance's, so a key
/// never spends past its balance however many requests race, on one relay or many.
/// </summary>
internal interface IBudgetLedger
{
    /// <summary>
    /// Holds <paramref name="amount"/> (the request's worst-case cost) against the key's available
    /// balance (balance minus open reservations), or refuses without holding anything.
    /// </summary>
    Task<ReservationResult> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Charges what the request cost, capped at its reservation (the excess is recorded for audit,
    /// never taken from the balance), and releases the hold. Idempotent: a retried settle charges
    /// nothing more. A reservation the sweep already expired is charged at most its amount and at
    /// most what is available then.
    /// </summary>
    Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default);

    /// <summary>
    /// Settles or releases as <paramref name="order"/> says and, in the same store transaction, puts its usage record
    /// (with the cost this settle charged) into the usage outbox: the charge and its record are committed together or not
    /// at all. Idempotent by request id: a settle already applied charges and records nothing more.
    /// </summary>
    /// <remarks>
    /// No default body, on purpose: a decorator that forgot this member would charge through the plain overloads and
    /// drop every usage record with no error.
    /// </remarks>
    Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts the usage record of a request that settles nothing (an unmetered key) into the usage outbox, durably, in a
    /// unit of its own (a SQLite store group-commits it with the others).
    /// </summary>
    Task RecordUsageAsync(UsageRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// For a request held in memory out of a lease, what its settle needs to land after this process is gone; null for a
    /// request with a reservation of its own in the store.
    /// </summary>
    CarvedHold? FindCarve(string requestId);

    /// <summary>Releases a reservation without a charge (the upstream failed before any output). Idempotent.</summary>
    Task<SettlementResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Credits paid money exactly once per <paramref name="reference"/> (the payment's id): a
    /// webhook delivered twice credits once. Opens the account on its first credit.
    /// </summary>
    Task<CreditResult> TopUpAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default);

    /// <summary>Credits free (trial) credit exactly once per <paramref name="reference"/>. Free credit is spent first and never refunded.</summary>
    Task<CreditResult> GrantFreeCreditAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pays back the unused paid balance (balance minus open reservations minus unspent free credit)
    /// and closes the account, exactly once per <paramref name="reference"/>. Open reservations still
    /// settle; what they leave can be refunded by another call.
    /// </summary>
    Task<CreditResult> RefundAsync(string keyId, string reference, CancellationToken cancellationToken = default);

    /// <summary>Releases open reservations whose expiry has passed (requests lost to a crash); returns how many.</summary>
    Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken = default);

    /// <summary>The key's balance, or null when it has no account.</summary>
    Task<BudgetBalance?> GetBalanceAsync(string keyId, CancellationToken cancellationToken = default);

    /// <summary>The key's ledger entries after <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>
    /// The key's top-ups, free credit and refunds (each with its reference) after <paramref name="afterSequence"/>, oldest
    /// first, without its reservations and charges: what the key's holder sees on the billing page.
    /// </summary>
    Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>A request's reservation and what it was charged, or null when there is none.</summary>
    Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default);
}
