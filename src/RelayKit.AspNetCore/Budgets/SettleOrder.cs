using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// One request's settle as the relay asks the ledger for it, complete enough to be kept on disk and land later
/// (<see cref="Settlement.SettleSpool"/>): charge <see cref="Charge"/> (null: release without a charge), and write
/// <see cref="Record"/>, with the cost the ledger charged, into the usage outbox in the same transaction.
/// </summary>
/// <param name="RequestId">The request (its reservation's id).</param>
/// <param name="Charge">What to charge, in US dollars; null releases the hold.</param>
/// <param name="Carve">For a request held out of a lease: what settling it needs once the lease's process is gone.</param>
/// <param name="Record">The request's usage record (scrubbed), or null when usage is not stored.</param>
internal sealed record SettleOrder(string RequestId, decimal? Charge, CarvedHold? Carve, UsageRecord? Record);
