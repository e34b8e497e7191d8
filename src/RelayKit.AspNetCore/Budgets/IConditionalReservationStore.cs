namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// A store that can make a reservation in one conditional statement (check and write in a single
/// round trip, so the account row is locked for the shortest time). It must implement exactly the
/// rule of <see cref="BudgetLedger.TryReserveAsync"/>: hold the amount only when the account is
/// open, the request id is new and the amount fits the balance minus open reservations.
/// </summary>
internal interface IConditionalReservationStore
{
    /// <summary>Holds the amount and returns the available balance left, or null when nothing was held.</summary>
    Task<decimal?> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}
