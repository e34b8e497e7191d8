namespace RelayKit.AspNetCore.Budgets;

/// <summary>A usage record waiting in the ledger store's outbox: the request id and the record as JSON.</summary>
internal sealed record OutboxRecord(string RequestId, string Record);
