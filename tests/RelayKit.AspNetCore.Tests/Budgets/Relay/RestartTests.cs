using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// A relay that stopped with a reservation open: the next start's sweep releases it once it expired. Without leases
/// the request's own reservation expires; with them (SQLite's default) the request lived in a lease, whose unused rest
/// the stop gave back and whose remaining hold expires instead: either way nothing is charged for the lost request.
/// </summary>
public sealed class RestartTests
{
    [Theory]
    [InlineData("0")]
    [InlineData(null)]
    public async Task Reservation_left_by_a_crash_is_released_by_the_next_start_after_it_expired(string? leaseRequests)
    {
        var path = Path.Combine(Path.GetTempPath(), "relaykit-restart-" + Guid.NewGuid().ToString("N") + ".db");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        void Settings(Dictionary<string, string?> s)
        {
            s["ModelRelay:Keys:0:Budget"] = "1";
            s["ModelRelay:Budgets:Store"] = "Sqlite";
            s["ModelRelay:Budgets:SqlitePath"] = path;
            s["ModelRelay:Budgets:ReservationLifetime"] = "00:30:00";
            s["ModelRelay:Budgets:LeaseRequests"] = leaseRequests;
        }

        try
        {
            await using (var crashed = FakeRelay.Create(Settings, services => services.AddSingleton<TimeProvider>(time)))
            {
                var (_, balance, _) = await RawRelayCall.GetAsync(crashed.App.CreateClient(), "/v1/relay/balance", bearer: RelaySettings.AliceKey);
                Assert.Equal(1m, balance.GetProperty("available").GetDecimal());

                // A request admitted just before the process died: reserved, never settled.
                var ledger = crashed.Ledger();
                Assert.True((await ledger.TryReserveAsync("alice", "req_lost", 0.4m, time.GetUtcNow().AddMinutes(30))).Granted);
            }

            time.Advance(TimeSpan.FromMinutes(10));
            await using (var early = FakeRelay.Create(Settings, services => services.AddSingleton<TimeProvider>(time)))
            {
                var (_, balance, _) = await RawRelayCall.GetAsync(early.App.CreateClient(), "/v1/relay/balance", bearer: RelaySettings.AliceKey);
                Assert.Equal(0.6m, balance.GetProperty("available").GetDecimal());
            }

            time.Advance(TimeSpan.FromMinutes(25));
            await using var restarted = FakeRelay.Create(Settings, services => services.AddSingleton<TimeProvider>(time));
            var http = restarted.App.CreateClient();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            // With leases the hold that expires is the lease's, named in the key's entries; without, the request's own.
            var held = leaseRequests == "0"
                ? "req_lost"
                : (await restarted.Ledger().GetEntriesAsync("alice")).Single(e => e.Kind == BudgetEntryKind.Reservation).RequestId!;
            Assert.Equal(leaseRequests != "0", held.StartsWith("lease_", StringComparison.Ordinal));
            BudgetReservation? lost;
            do
            {
                lost = await restarted.Ledger().GetReservationAsync(held);
            }
            while (lost?.State == ReservationState.Open && DateTime.UtcNow < deadline && await Task.Delay(20).ContinueWith(_ => true));

            Assert.Equal(ReservationState.Expired, lost!.State);
            Assert.Equal(0.4m, lost.Amount);
            if (leaseRequests != "0")
            {
                // The request in flight was never recorded under its own id, so nothing can charge it later.
                Assert.Null(await restarted.Ledger().GetReservationAsync("req_lost"));
            }

            var (_, after, _) = await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: RelaySettings.AliceKey);
            Assert.Equal(1m, after.GetProperty("available").GetDecimal());
            Assert.Equal(1m, after.GetProperty("balance").GetDecimal());
            Assert.Equal(1m, (await restarted.SumsAsync()).Credited);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
