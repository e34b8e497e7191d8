using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class SqliteBudgetLedgerTests : BudgetLedgerContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relaykit-tests", Guid.NewGuid().ToString("N"));

    internal override ILedgerStore CreateStore() => new SqliteLedgerStore(Path.Combine(_directory, "ledger.db"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_and_amounts_are_stored_as_exact_text()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 0.000000000123456m, "pay-1");

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "ledger.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode; ";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        command.CommandText = "SELECT balance FROM budget_accounts WHERE key_id = 'alice'";
        Assert.Equal("0.000000000123456", (string?)await command.ExecuteScalarAsync());
    }

    [Theory]
    [InlineData(null, 1L)]
    [InlineData("false", 1L)]
    [InlineData("true", 2L)]
    public async Task Budgets_SqliteFullSync_syncs_every_commit(string? configured, long synchronous)
    {
        // Bound from configuration as a user sets it, through the one store factory.
        var values = new Dictionary<string, string?> { ["Budgets:SqlitePath"] = Path.Combine(_directory, "sync.db") };
        if (configured is not null)
        {
            values["Budgets:SqliteFullSync"] = configured;
        }

        var options = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(values).Build()
            .GetSection("Budgets").Get<BudgetStorageOptions>() ?? new BudgetStorageOptions { SqlitePath = Path.Combine(_directory, "sync.db") };
        using var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().BuildServiceProvider();
        var store = Assert.IsType<SqliteLedgerStore>(RelayKit.AspNetCore.Storage.RelayStores.CreateLedgerStore(services, options));
        try
        {
            Assert.Equal(synchronous, await store.ReadSynchronousAsync());
        }
        finally
        {
            await store.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }

    [Theory]
    [InlineData("0.000000000123456")]
    [InlineData("1.50")]
    [InlineData("7")]
    [InlineData("0.0125")]
    [InlineData("123456789.987654321")]
    [InlineData("999999999999.999999999999999")]
    [InlineData("1000000000000")]
    [InlineData("0.000000000000001")]
    public async Task Amounts_are_stored_as_the_text_the_driver_binds_for_a_decimal(string text)
    {
        // Amounts are stored as the text Microsoft.Data.Sqlite binds for a decimal (exact, at least one decimal
        // place), as files written before hold: the writer formats them itself (SqliteKeptStatements) and must match it.
        var amount = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", amount, "pay-1");
        Assert.True((await ledger.TryReserveAsync("alice", "r1", amount, Time.GetUtcNow().AddMinutes(5))).Granted);
        await ledger.SettleAsync("r1", amount);

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "ledger.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT @amount";
        command.Parameters.AddWithValue("@amount", amount);
        var driverText = (string?)await command.ExecuteScalarAsync();

        command.CommandText = "SELECT amount FROM budget_entries WHERE kind = 'TopUp' UNION ALL SELECT amount FROM budget_entries WHERE kind = 'Charge'"
            + " UNION ALL SELECT charged FROM budget_reservations WHERE request_id = 'r1'";
        await using var reader = await command.ExecuteReaderAsync();
        var stored = new List<string>();
        while (await reader.ReadAsync())
        {
            stored.Add(reader.GetString(0));
        }

        Assert.Equal([driverText!, driverText!, driverText!], stored);
    }

    [Fact]
    public async Task Long_and_non_ascii_ids_are_written_and_read_back_whole()
    {
        // The writer encodes short values on the stack and longer ones in a pooled buffer: both must arrive intact.
        var key = string.Concat(Enumerable.Repeat("ключ-🔑-", 40));
        var request = "request-" + new string('x', 600);
        var ledger = NewLedger();
        await ledger.TopUpAsync(key, 10m, "pay-" + key);
        Assert.True((await ledger.TryReserveAsync(key, request, 2m, Time.GetUtcNow().AddMinutes(5))).Granted);
        var settled = await ledger.SettleAsync(request, 1.25m);

        Assert.Equal(SettlementStatus.Applied, settled.Status);
        Assert.Equal(8.75m, (await ledger.GetBalanceAsync(key))!.Balance);
        var reservation = await ledger.GetReservationAsync(request);
        Assert.Equal(key, reservation!.KeyId);
        Assert.Equal(ReservationState.Settled, reservation.State);
        var charge = Assert.Single(await ledger.GetEntriesAsync(key), e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(request, charge.RequestId);
        Assert.Equal("pay-" + key, Assert.Single(await ledger.GetEntriesAsync(key), e => e.Kind == BudgetEntryKind.TopUp).Reference);
    }

    [Fact]
    public async Task Units_queued_behind_a_busy_writer_commit_in_one_batch_and_a_failing_unit_fails_alone()
    {
        var store = (SqliteLedgerStore)CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");

        // Hold the writer inside a unit, so that everything below queues up and lands in one batch.
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = await HoldTheFileAsync(store, letGo.Task, session => session.GetAccountAsync("alice"));

        var first = ledger.TryReserveAsync("alice", "r1", 4m, InFiveMinutes);
        var failing = store.RunAsync<int>(async session =>
        {
            // Writes, then throws: its write must be undone and nobody else's.
            await session.SaveAccountAsync((await session.GetAccountAsync("alice"))! with { Balance = 1_000_000m }, Time.GetUtcNow());
            throw new InvalidOperationException("unit broke");
        }, CancellationToken.None);
        var second = ledger.TryReserveAsync("alice", "r2", 4m, InFiveMinutes);
        var third = ledger.TryReserveAsync("alice", "r3", 4m, InFiveMinutes);
        using (var cancelled = new CancellationTokenSource())
        {
            var given = ledger.TopUpAsync("alice", 100m, "pay-cancelled", cancelled.Token);
            await cancelled.CancelAsync();
            letGo.SetResult();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => given);
        }

        Assert.Equal(10m, (await blocker)!.Balance);
        Assert.True((await first).Granted);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal("unit broke", error.Message);

        // Each unit saw the ones before it: the third does not fit.
        Assert.True((await second).Granted);
        Assert.Equal(ReservationStatus.InsufficientBalance, (await third).Status);
        Assert.Equal(new BudgetBalance("alice", 10m, 8m, 0m, false), await ledger.GetBalanceAsync("alice"));
        Assert.Equal(
            [BudgetEntryKind.TopUp, BudgetEntryKind.Reservation, BudgetEntryKind.Reservation],
            (await ledger.GetEntriesAsync("alice")).Select(e => e.Kind));
    }

    [Fact]
    public async Task Disposing_the_store_waits_for_a_unit_that_runs_alone_on_its_callers_thread()
    {
        var store = (SqliteLedgerStore)CreateStore();
        var ledger = NewLedger(store);
        await ledger.TopUpAsync("alice", 10m, "pay-1");

        // Nothing is queued, so this unit runs at once on this thread, and holds the file while it waits.
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var alone = await HoldTheFileAsync(store, letGo.Task, async session =>
        {
            var account = (await session.GetAccountAsync("alice"))!;
            await session.SaveAccountAsync(account with { Balance = account.Balance + 5m }, Time.GetUtcNow());
            return account.Balance + 5m;
        });

        // Nothing else is in flight, so disposal is pending only because it waits for the unit that holds the file.
        var disposing = store.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);

        letGo.SetResult();
        Assert.Equal(15m, await alone);
        await disposing;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ledger.TopUpAsync("alice", 1m, "pay-late"));
        Assert.Equal(15m, (await NewLedger().GetBalanceAsync("alice"))!.Balance);
    }

    [Fact]
    public async Task Disposing_the_store_commits_what_was_already_queued()
    {
        var store = (SqliteLedgerStore)CreateStore();
        var ledger = new BudgetLedger(store, Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 1m, "pay-0");
        var topUps = Enumerable.Range(1, 50).Select(i => ledger.TopUpAsync("alice", 1m, $"pay-{i}")).ToList();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(topUps), result => Assert.Equal(CreditStatus.Applied, result.Status));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ledger.TopUpAsync("alice", 1m, "pay-late"));

        // A new store over the same file (a restart) finds every queued top-up.
        Assert.Equal(51m, (await NewLedger().GetBalanceAsync("alice"))!.Balance);
    }

    [Fact]
    public async Task The_writer_checkpoints_the_wal_so_it_does_not_grow_without_bound()
    {
        var ledger = NewLedger();
        await ledger.TopUpAsync("alice", 1_000_000m, "pay-0");

        // Each reservation writes several pages; without checkpoints 6,000 of them leave a WAL of over 100 MB.
        for (var i = 0; i < 6_000; i++)
        {
            Assert.True((await ledger.TryReserveAsync("alice", $"r{i}", 0.01m, InFiveMinutes)).Granted);
        }

        var wal = new FileInfo(Path.Combine(_directory, "ledger.db-wal"));
        Assert.True(wal.Exists);
        Assert.InRange(wal.Length, 1, 64 * 1024 * 1024);
        Assert.Equal(60m, (await ledger.GetBalanceAsync("alice"))!.Reserved);
    }

    private DateTimeOffset InFiveMinutes => Time.GetUtcNow().AddMinutes(5);

    /// <summary>Starts a unit that holds the file until <paramref name="letGo"/> completes, then does <paramref name="then"/>; returns once the unit runs.</summary>
    private static async Task<Task<T>> HoldTheFileAsync<T>(SqliteLedgerStore store, Task letGo, Func<ILedgerSession, ValueTask<T>> then)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var unit = store.RunAsync(async session =>
        {
            running.SetResult();
            await letGo;
            return await then(session);
        }, CancellationToken.None);
        await running.Task;
        return unit;
    }
}
