using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// A settle that fails (the ledger times out) is retried until it lands, exactly once, and the usage record carries
/// what the ledger charged, not a figure written before the charge happened.
/// </summary>
public sealed class FailedSettleTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets."}]}""";

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 4)]
    public Task A_failed_settle_lands_once_and_the_record_says_what_it_charged(bool streamed, int failures) => SqliteLedgerFile.RunAsync(async storage =>
    {
        FailingSettles? failing = null;
        await using var relay = FakeRelay.Create(BudgetRelay.Settings(1m, storage), services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IBudgetLedger));
            services.Remove(original);
            services.AddSingleton<IBudgetLedger>(sp => failing = new FailingSettles((IBudgetLedger)original.ImplementationFactory!(sp), failures));
        });
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", streamed ? ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal) : ChatBody);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode);
        var requestId = response.Headers.GetValues("x-request-id").Single();

        // The charge was not taken when the answer went out: no header claims one.
        Assert.False(response.Headers.Contains("x-relaykit-cost-charged"));

        var reservation = await relay.SettledAsync(requestId);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(failures + 1, failing!.Attempts);
        var expected = BudgetRelay.Cost(record.InputTokens!.Value, record.OutputTokens!.Value);
        Assert.True(expected > 0m);
        Assert.Equal(expected, reservation.Charged);
        Assert.Equal(expected, record.Cost);

        var entries = await relay.Ledger().GetEntriesAsync("alice");
        Assert.Equal(expected, Assert.Single(entries, e => e.Kind == BudgetEntryKind.Charge).Amount);
        var (credited, charged, _) = await relay.SumsAsync();
        Assert.Equal((1m, expected), (credited, charged));

        // The sweep after expiry finds nothing left to release.
        Assert.Equal(0, await relay.Ledger().ReleaseExpiredAsync());
        Assert.Equal(1m - expected, (await relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    });

    /// <summary>A ledger whose first settles time out, as a database under load does.</summary>
    private sealed class FailingSettles(IBudgetLedger inner, int failures) : IBudgetLedger
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? throw new TimeoutException("The ledger did not answer in time.")
                : inner.SettleAsync(requestId, actualCost, cancellationToken);

        public Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? throw new TimeoutException("The ledger did not answer in time.")
                : inner.SettleAsync(order, cancellationToken);

        public Task RecordUsageAsync(UsageRecord record, CancellationToken cancellationToken = default) => inner.RecordUsageAsync(record, cancellationToken);

        public CarvedHold? FindCarve(string requestId) => inner.FindCarve(requestId);

        public Task<ReservationResult> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
            inner.TryReserveAsync(keyId, requestId, amount, expiresAt, cancellationToken);

        public Task<SettlementResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default) => inner.ReleaseAsync(requestId, cancellationToken);

        public Task<CreditResult> TopUpAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
            inner.TopUpAsync(keyId, amount, reference, cancellationToken);

        public Task<CreditResult> GrantFreeCreditAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
            inner.GrantFreeCreditAsync(keyId, amount, reference, cancellationToken);

        public Task<CreditResult> RefundAsync(string keyId, string reference, CancellationToken cancellationToken = default) => inner.RefundAsync(keyId, reference, cancellationToken);

        public Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken = default) => inner.ReleaseExpiredAsync(cancellationToken);

        public Task<BudgetBalance?> GetBalanceAsync(string keyId, CancellationToken cancellationToken = default) => inner.GetBalanceAsync(keyId, cancellationToken);

        public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
            inner.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default) =>
            inner.GetReservationAsync(requestId, cancellationToken);
    }
}
