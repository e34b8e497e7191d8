using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class ExpirySweepTests
{
    [Fact]
    public async Task A_reservation_the_store_cannot_release_does_not_stop_the_sweep_for_the_others()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new FailingForOneStore(new InMemoryLedgerStore(), "poisoned");
        var ledger = new BudgetLedger(store, time, NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        foreach (var id in new[] { "poisoned", "r1", "r2" })
        {
            Assert.True((await ledger.TryReserveAsync("alice", id, 1m, time.GetUtcNow().AddMinutes(1))).Granted);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        time.Advance(TimeSpan.FromMinutes(2));
        store.Failing = true;
        var released = await ledger.ReleaseExpiredAsync();

        Assert.Equal(2, released);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r1"))!.State);
        Assert.Equal(ReservationState.Expired, (await ledger.GetReservationAsync("r2"))!.State);
        Assert.Equal(1m, (await ledger.GetBalanceAsync("alice"))!.Reserved);
    }

    /// <summary>A store whose session fails on one reservation, as an unreadable row would.</summary>
    private sealed class FailingForOneStore(ILedgerStore inner, string poisoned) : ILedgerStore
    {
        public bool Failing { get; set; }

        private bool Fails(string requestId) => Failing && requestId == poisoned;

        public Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken) =>
            inner.RunAsync(session => work(new Session(session, this)), cancellationToken);

        public Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
            inner.FindExpiredAsync(now, limit, cancellationToken);

        public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken) =>
            inner.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken) => inner.ReadOutboxAsync(limit, cancellationToken);

        private sealed class Session(ILedgerSession inner, FailingForOneStore store) : ILedgerSession
        {
            public ValueTask<BudgetReservation?> GetReservationAsync(string requestId) =>
                store.Fails(requestId)
                    ? throw new OverflowException("Value was either too large or too small for a Decimal.")
                    : inner.GetReservationAsync(requestId);

            public ValueTask<LedgerAccount?> GetAccountAsync(string keyId) => inner.GetAccountAsync(keyId);

            public ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now) => inner.GetOrCreateAccountAsync(keyId, now);

            public ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now) => inner.SaveAccountAsync(account, now);

            public ValueTask InsertReservationAsync(BudgetReservation reservation) => inner.InsertReservationAsync(reservation);

            public ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now) => inner.SaveReservationAsync(reservation, now);

            public ValueTask<BudgetEntry?> FindByReferenceAsync(string reference) => inner.FindByReferenceAsync(reference);

            public ValueTask AppendAsync(BudgetEntry entry) => inner.AppendAsync(entry);

            public ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries) => inner.AppendAsync(entries);

            public ValueTask WriteOutboxAsync(string requestId, string record) => inner.WriteOutboxAsync(requestId, record);

            public ValueTask DeleteOutboxAsync(string requestId) => inner.DeleteOutboxAsync(requestId);
        }
    }
}
