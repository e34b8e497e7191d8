using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// A ledger store that passes every call to another: the base of the tests' stores that hold, fail or interleave one
/// kind of call and leave the rest alone. Not disposable itself; a wrapper that owns its store says so
/// (<see cref="DisposeInnerAsync"/>).
/// </summary>
internal abstract class DelegatingLedgerStore(ILedgerStore inner) : ILedgerStore
{
    protected ILedgerStore Inner { get; } = inner;

    public virtual Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken) =>
        Inner.RunAsync(work, cancellationToken);

    public virtual Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Inner.FindExpiredAsync(now, limit, cancellationToken);

    public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken) =>
        Inner.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);

    public Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken) => Inner.ReadOutboxAsync(limit, cancellationToken);

    /// <summary>Disposes the store underneath, however it is disposable.</summary>
    protected async ValueTask DisposeInnerAsync()
    {
        switch (Inner)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable plain:
                plain.Dispose();
                break;
        }
    }
}

/// <summary>A ledger session that passes every call to another; a test's session overrides the one call it fails.</summary>
internal abstract class DelegatingLedgerSession(ILedgerSession inner) : ILedgerSession
{
    public virtual ValueTask<LedgerAccount?> GetAccountAsync(string keyId) => inner.GetAccountAsync(keyId);

    public virtual ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now) => inner.GetOrCreateAccountAsync(keyId, now);

    public virtual ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now) => inner.SaveAccountAsync(account, now);

    public virtual ValueTask<BudgetReservation?> GetReservationAsync(string requestId) => inner.GetReservationAsync(requestId);

    public virtual ValueTask InsertReservationAsync(BudgetReservation reservation) => inner.InsertReservationAsync(reservation);

    public virtual ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now) => inner.SaveReservationAsync(reservation, now);

    public virtual ValueTask<BudgetEntry?> FindByReferenceAsync(string reference) => inner.FindByReferenceAsync(reference);

    public virtual ValueTask AppendAsync(BudgetEntry entry) => inner.AppendAsync(entry);

    public virtual ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries) => inner.AppendAsync(entries);

    public virtual ValueTask WriteOutboxAsync(string requestId, string record) => inner.WriteOutboxAsync(requestId, record);

    public virtual ValueTask DeleteOutboxAsync(string requestId) => inner.DeleteOutboxAsync(requestId);
}
