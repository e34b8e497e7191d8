namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// What the store needs to settle a request held in memory out of a lease (<see cref="LeasedBudgetLedger"/>) once the
/// process that held it is gone: the lease, the key, the request's hold and its lifetime. A settle that failed keeps it
/// (<see cref="SettleOrder.Carve"/>), so it can still land "as if reserved alone" after a restart.
/// </summary>
internal sealed record CarvedHold(string LeaseId, string KeyId, decimal Held, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);
