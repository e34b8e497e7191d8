using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// A reservation that committed although its answer was lost (PostgreSQL's connection cut right after the commit, as the
/// fault-injection suite's outage does) is released by the request's settle, not left holding the balance until it
/// expires an hour later; the caller gets the retryable 503 and is charged nothing.
/// </summary>
public sealed class LostReservationAnswerTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets."}]}""";

    [Fact]
    public async Task A_reservation_whose_answer_was_lost_is_released_and_nothing_is_charged()
    {
        LostAnswers? ledger = null;
        await using var lossy = FakeRelay.Create(BudgetRelay.Settings(1m), services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IBudgetLedger));
            services.Remove(original);
            services.AddSingleton<IBudgetLedger>(sp => ledger = new LostAnswers((IBudgetLedger)original.ImplementationFactory!(sp)));
        });
        var http = lossy.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.True(status == 503, body.ToString());
        Assert.Equal("store_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(headers.Contains("retry-after"));
        Assert.Empty(lossy.Fake.Requests);
        var requestId = headers.GetValues("x-request-id").Single();

        // The reservation did commit; the settle let it go (after its first release failed too, through the retrier).
        var reservation = await lossy.SettledAsync(requestId);
        Assert.Equal(ReservationState.Released, reservation.State);
        Assert.Equal(2, ledger!.Releases);
        var balance = await lossy.Ledger().GetBalanceAsync("alice");
        Assert.Equal((1m, 0m), (balance!.Balance, balance.Reserved));

        var record = Assert.Single(await lossy.WaitForRecordsAsync(1));
        Assert.Equal((requestId, 503, 0m), (record.RequestId, record.StatusCode, record.Cost));
        Assert.DoesNotContain(await lossy.Ledger().GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
    }

    /// <summary>A ledger whose first reservation commits and then times out, and whose first release times out.</summary>
    private sealed class LostAnswers(IBudgetLedger inner) : IBudgetLedger
    {
        private int _reservations;
        private int _releases;

        public int Releases => Volatile.Read(ref _releases);

        public async Task<ReservationResult> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
        {
            var result = await inner.TryReserveAsync(keyId, requestId, amount, expiresAt, cancellationToken);
            return Interlocked.Increment(ref _reservations) == 1 ? throw new TimeoutException("The answer to the commit was lost.") : result;
        }

        public Task<SettlementResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _releases) == 1
                ? throw new TimeoutException("The ledger is still down.")
                : inner.ReleaseAsync(requestId, cancellationToken);

        // The relay settles through the order (charge or release and the usage record in one transaction).
        public Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default) =>
            order.Charge is null && Interlocked.Increment(ref _releases) == 1
                ? throw new TimeoutException("The ledger is still down.")
                : inner.SettleAsync(order, cancellationToken);

        public Task RecordUsageAsync(UsageRecord record, CancellationToken cancellationToken = default) => inner.RecordUsageAsync(record, cancellationToken);

        public CarvedHold? FindCarve(string requestId) => inner.FindCarve(requestId);

        public Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default) =>
            inner.SettleAsync(requestId, actualCost, cancellationToken);

        public Task<CreditResult> TopUpAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
            inner.TopUpAsync(keyId, amount, reference, cancellationToken);

        public Task<CreditResult> GrantFreeCreditAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
            inner.GrantFreeCreditAsync(keyId, amount, reference, cancellationToken);

        public Task<CreditResult> RefundAsync(string keyId, string reference, CancellationToken cancellationToken = default) => inner.RefundAsync(keyId, reference, cancellationToken);

        public Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken = default) => inner.ReleaseExpiredAsync(cancellationToken);

        public Task<BudgetBalance?> GetBalanceAsync(string keyId, CancellationToken cancellationToken = default) => inner.GetBalanceAsync(keyId, cancellationToken);

        public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
            inner.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
            inner.GetCreditsAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default) =>
            inner.GetReservationAsync(requestId, cancellationToken);
    }
}
