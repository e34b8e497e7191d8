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

        // A timeout is a store failure: logged as the store's outage (the rate-limited line), naming the settle.
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Id.Id == 6 && r.Message.Contains($"on settle ({requestId})", StringComparison.Ordinal));
        Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), r => r.Id.Id == 5102);

        // The sweep after expiry finds nothing left to release.
        Assert.Equal(0, await relay.Ledger().ReleaseExpiredAsync());
        Assert.Equal(1m - expected, (await relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    });

    [Fact]
    public Task A_settle_the_ledger_never_took_survives_the_process_in_the_spool_and_lands_with_its_record_at_the_next_start() => SqliteLedgerFile.RunAsync(async storage =>
    {
        var usagePath = Path.Combine(Path.GetTempPath(), "relaykit-usage-" + Guid.NewGuid().ToString("N") + ".db");
        void Settings(Dictionary<string, string?> settings)
        {
            storage(settings);
            settings["ModelRelay:Usage:Store"] = "Sqlite";
            settings["ModelRelay:Usage:SqlitePath"] = usagePath;
        }

        string requestId;
        string spoolPath;
        try
        {
            // The first process: the ledger store is down for every settle, until the process ends.
            await using (var first = FakeRelay.Create(BudgetRelay.Settings(1m, Settings), services =>
            {
                var original = services.Last(d => d.ServiceType == typeof(IBudgetLedger));
                services.Remove(original);
                services.AddSingleton<IBudgetLedger>(sp => new FailingSettles((IBudgetLedger)original.ImplementationFactory!(sp), int.MaxValue));
            }))
            {
                var http = first.App.CreateClient();
                using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
                using var response = await http.SendAsync(request);
                await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode);
                Assert.False(response.Headers.Contains("x-relaykit-cost-charged"));
                requestId = response.Headers.GetValues("x-request-id").Single();
                spoolPath = first.App.Services.GetRequiredService<RelayKit.AspNetCore.Settlement.SettleSpool>().Path!;

                // The answer completed only after its settle was on disk.
                Assert.Equal(1L, await CountSpooledAsync(spoolPath));
                Assert.Equal(ReservationState.Open, (await first.Ledger().GetReservationAsync(requestId))!.State);
            }

            // Gone with the settle not landed: nothing charged, nothing recorded, the settle still in the spool.
            Assert.Equal(1L, await CountSpooledAsync(spoolPath));

            // The next process over the same files lands it at start: the charge and its record, together.
            await using var second = FakeRelay.Create(BudgetRelay.Settings(1m, Settings));
            var reservation = await second.SettledAsync(requestId);
            var record = Assert.Single(await second.WaitForRecordsAsync(1));
            Assert.Equal(requestId, record.RequestId);
            var expected = BudgetRelay.Cost(record.InputTokens!.Value, record.OutputTokens!.Value);
            Assert.True(expected > 0m);
            Assert.Equal((ReservationState.Settled, (decimal?)expected), (reservation.State, reservation.Charged));
            Assert.Equal(expected, record.Cost);
            Assert.Equal(expected, Assert.Single(await second.Ledger().GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge).Amount);
            Assert.Equal(0L, await CountSpooledAsync(spoolPath));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileNameWithoutExtension(usagePath) + "*"))
            {
                File.Delete(file);
            }
        }
    });

    [Fact]
    public Task A_settle_neither_the_ledger_nor_the_spool_took_leaves_a_record_that_claims_no_charge() => SqliteLedgerFile.RunAsync(async storage =>
    {
        var spoolFolder = Path.Combine(Path.GetTempPath(), "relaykit-spool-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(spoolFolder);
        await using var relay = FakeRelay.Create(BudgetRelay.Settings(1m, settings =>
        {
            storage(settings);
            settings["ModelRelay:Budgets:SettleSpoolPath"] = Path.Combine(spoolFolder, "spool.db");
        }), services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IBudgetLedger));
            services.Remove(original);
            services.AddSingleton<IBudgetLedger>(sp => new FailingSettles((IBudgetLedger)original.ImplementationFactory!(sp), int.MaxValue));
        });
        var http = relay.App.CreateClient();

        // The spool's disk goes away after the start (the relay checked it then): the settle has nowhere to wait. Moved
        // away in one step (the retrier may be reading the spool at this moment), deleted afterwards.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Move(spoolFolder, spoolFolder + "-gone");
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode);
        var requestId = response.Headers.GetValues("x-request-id").Single();

        // Nothing was charged (the reservation expires, the request is free), and the record says so rather than the
        // price of the tokens it used.
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(requestId, record.RequestId);
        Assert.True(record.OutputTokens > 0);
        Assert.Equal(0m, record.Cost);
        Assert.Equal(ReservationState.Open, (await relay.Ledger().GetReservationAsync(requestId))?.State ?? ReservationState.Open);
        Assert.DoesNotContain(await relay.Ledger().GetEntriesAsync("alice"), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Id.Id == 5104 && r.Message.Contains(requestId, StringComparison.Ordinal));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(spoolFolder + "-gone", recursive: true);
    });

    [Fact]
    public Task A_spooled_settle_the_ledger_refuses_for_good_does_not_hold_back_the_ones_behind_it() => SqliteLedgerFile.RunAsync(async storage =>
    {
        RefusesTheFirst? ledger = null;
        await using var relay = FakeRelay.Create(BudgetRelay.Settings(1m, storage), services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IBudgetLedger));
            services.Remove(original);
            services.AddSingleton<IBudgetLedger>(sp => ledger = new RefusesTheFirst((IBudgetLedger)original.ImplementationFactory!(sp)));
        });
        var http = relay.App.CreateClient();

        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode);
            ids.Add(response.Headers.GetValues("x-request-id").Single());
        }

        // The second settle failed once (a timeout), went to the spool behind the first, and lands although the first
        // never will.
        Assert.Equal(ReservationState.Settled, (await relay.SettledAsync(ids[1])).State);
        Assert.Equal(ids[0], ledger!.Refused);
        Assert.NotEqual(ReservationState.Settled, (await relay.Ledger().GetReservationAsync(ids[0]))?.State);
        Assert.Single(relay.App.Logs.GetSnapshot(), r => r.Id.Id == 5114 && r.Message.Contains(ids[0], StringComparison.Ordinal));

        // The refusal is no store failure: logged as a failed settle of that request, not as an outage.
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Id.Id == 5102 && r.Message.Contains(ids[0], StringComparison.Ordinal));
    });

    /// <summary>
    /// A ledger that refuses every settle of the first request it is asked to settle (as a settle of a lease that no
    /// longer holds it is refused), and times out once on every other request's first settle.
    /// </summary>
    private sealed class RefusesTheFirst(IBudgetLedger inner) : IBudgetLedger
    {
        private readonly HashSet<string> _tried = [];
        private string? _refused;

        public string? Refused => _refused;

        public Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default)
        {
            lock (_tried)
            {
                _refused ??= order.RequestId;
                if (order.RequestId == _refused)
                {
                    throw new InvalidOperationException("The lease does not hold this request.");
                }

                if (_tried.Add(order.RequestId))
                {
                    throw new TimeoutException("The ledger did not answer in time.");
                }
            }

            return inner.SettleAsync(order, cancellationToken);
        }

        public Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default) =>
            inner.SettleAsync(requestId, actualCost, cancellationToken);

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

        public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
            inner.GetCreditsAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default) =>
            inner.GetReservationAsync(requestId, cancellationToken);
    }

    private static async Task<long> CountSpooledAsync(string spoolPath)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={spoolPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM settle_spool";
        return (long)(await command.ExecuteScalarAsync())!;
    }

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

        public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
            inner.GetCreditsAsync(keyId, afterSequence, limit, cancellationToken);

        public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default) =>
            inner.GetReservationAsync(requestId, cancellationToken);
    }
}
