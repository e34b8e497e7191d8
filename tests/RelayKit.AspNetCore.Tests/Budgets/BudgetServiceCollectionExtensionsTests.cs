using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class BudgetServiceCollectionExtensionsTests
{
    [Fact]
    public async Task Sqlite_is_the_default_and_writes_the_configured_file()
    {
        var directory = Path.Combine(Path.GetTempPath(), "relaykit-tests", Guid.NewGuid().ToString("N"));
        var path = Path.Combine(directory, "budgets.db");
        try
        {
            var options = new BudgetStorageOptions { SqlitePath = path };
            Assert.Equal(BudgetStoreKind.Sqlite, options.Store);
            await using (var services = new ServiceCollection().AddBudgetLedger(options).BuildServiceProvider())
            {
                Assert.IsType<SqliteLedgerStore>(services.GetRequiredService<ILedgerStore>());
                var ledger = services.GetRequiredService<IBudgetLedger>();
                Assert.IsType<LeasedBudgetLedger>(ledger);
                await ledger.TopUpAsync("alice", 3m, "pay-1");
                Assert.Equal(3m, (await ledger.GetBalanceAsync("alice"))!.Balance);
                Assert.NotNull(services.GetRequiredService<WorstCaseEstimator>());
                Assert.Single(services.GetServices<IHostedService>().OfType<ReservationExpirySweeper>());
            }

            Assert.True(File.Exists(path));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(BudgetStoreKind.Sqlite, null, true)]
    [InlineData(BudgetStoreKind.Sqlite, 0, false)]
    [InlineData(BudgetStoreKind.InMemory, null, false)]
    [InlineData(BudgetStoreKind.InMemory, 8, true)]
    [InlineData(BudgetStoreKind.PostgreSql, null, false)]
    [InlineData(BudgetStoreKind.PostgreSql, 8, true)]
    public async Task Leases_are_on_by_default_for_SQLite_only_and_follow_the_setting(BudgetStoreKind provider, int? leaseRequests, bool leased)
    {
        var options = new BudgetStorageOptions
        {
            Store = provider,
            LeaseRequests = leaseRequests,
            SqlitePath = Path.Combine(Path.GetTempPath(), "relaykit-tests", Guid.NewGuid().ToString("N"), "budgets.db"),
            PostgreSqlConnectionString = "Host=127.0.0.1;Database=unused",
        };
        var services = new ServiceCollection().AddBudgetLedger(options);

        // Replace the store: the choice of ledger must not depend on reaching a database.
        services.AddSingleton<ILedgerStore, InMemoryLedgerStore>();
        await using var provided = services.BuildServiceProvider();

        Assert.Equal(leased, provided.GetRequiredService<IBudgetLedger>() is LeasedBudgetLedger);
    }

    [Fact]
    public void PostgreSQL_without_a_connection_string_is_refused_at_registration()
    {
        var exception = Assert.Throws<ArgumentException>(() =>
            new ServiceCollection().AddBudgetLedger(new BudgetStorageOptions { Store = BudgetStoreKind.PostgreSql }));

        Assert.Contains("PostgreSqlConnectionString", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sweeper_releases_expired_reservations_at_start_and_on_every_interval()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddBudgetLedger(new BudgetStorageOptions { Store = BudgetStoreKind.InMemory, ExpirySweepInterval = TimeSpan.FromMinutes(1) });
        await using var provider = services.BuildServiceProvider();
        var ledger = provider.GetRequiredService<IBudgetLedger>();
        await ledger.TopUpAsync("alice", 10m, "pay-1");
        await ledger.TryReserveAsync("alice", "crashed", 2m, time.GetUtcNow().AddSeconds(30));
        time.Advance(TimeSpan.FromMinutes(1));
        await ledger.TryReserveAsync("alice", "later", 3m, time.GetUtcNow().AddSeconds(30));

        var sweeper = provider.GetServices<IHostedService>().OfType<ReservationExpirySweeper>().Single();
        await sweeper.StartAsync(CancellationToken.None);
        try
        {
            await WaitForStateAsync(ledger, "crashed", ReservationState.Expired);
            Assert.Equal(ReservationState.Open, (await ledger.GetReservationAsync("later"))!.State);

            time.Advance(TimeSpan.FromMinutes(1));
            await WaitForStateAsync(ledger, "later", ReservationState.Expired);
            Assert.Equal(new BudgetBalance("alice", 10m, 0m, 0m, false), await ledger.GetBalanceAsync("alice"));
        }
        finally
        {
            await sweeper.StopAsync(CancellationToken.None);
        }
    }

    // The sweeper runs on its own; polling with a deadline is the only way to observe it.
    private static async Task WaitForStateAsync(IBudgetLedger ledger, string requestId, ReservationState state)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while ((await ledger.GetReservationAsync(requestId, deadline.Token))!.State != state)
        {
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }
    }
}
