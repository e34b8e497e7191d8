using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The SQLite writer's write-behind session over a real file, in one batch: an account created in the batch, a
/// reservation inserted and then settled in the same batch, an expiry, and a unit that saves a row never read and
/// missing (it must fail alone). What reaches the file is read back by a second store over it (nothing kept) and must
/// equal both the callers' results and the replay of the key's entries.
/// </summary>
public sealed class SqliteWriteBehindBatchTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relaykit-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 4, 0, 0, TimeSpan.Zero));

    private string File => Path.Combine(_directory, "ledger.db");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_batch_that_creates_reserves_settles_expires_and_fails_one_unit_leaves_the_file_equal_to_its_entries()
    {
        await using var store = new SqliteLedgerStore(File);
        var ledger = new BudgetLedger(store, _time, NullLogger<BudgetLedger>.Instance);
        await ledger.TopUpAsync("alice", 10m, "pay-alice");
        Assert.True((await ledger.TryReserveAsync("alice", "old", 3m, _time.GetUtcNow().AddSeconds(1))).Granted);
        _time.Advance(TimeSpan.FromSeconds(2));

        // Hold the writer inside a unit, so that everything below queues up and lands in one batch.
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = store.RunAsync(async session =>
        {
            running.SetResult();
            await letGo.Task;
            return await session.GetAccountAsync("alice");
        }, CancellationToken.None);
        await running.Task;

        var expiry = _time.GetUtcNow().AddMinutes(5);
        var bobTopUp = ledger.TopUpAsync("bob", 20m, "pay-bob");                  // created in the batch
        var bobReserve = ledger.TryReserveAsync("bob", "b1", 5m, expiry);         // inserted in the batch
        var bobSettle = ledger.SettleAsync("b1", 2m);                             // and updated in the same batch
        var aliceReserve = ledger.TryReserveAsync("alice", "a1", 4m, expiry);
        var missing = store.RunAsync<int>(async session =>
        {
            // A row never read and missing: the save must fail this unit at once, as an UPDATE of no row always did.
            await session.SaveAccountAsync(new LedgerAccount("nobody", 1m, 0m, 0m, false), _time.GetUtcNow());
            return 1;
        }, CancellationToken.None);
        var expired = ledger.ReleaseExpiredAsync();
        var aliceSettle = ledger.SettleAsync("a1", 1.5m);
        letGo.SetResult();

        Assert.Equal(10m, (await blocker)!.Balance);
        Assert.Equal(CreditStatus.Applied, (await bobTopUp).Status);
        Assert.True((await bobReserve).Granted);
        Assert.Equal(new SettlementResult(SettlementStatus.Applied, 2m, 0m, 18m), await bobSettle);
        Assert.True((await aliceReserve).Granted);
        await Assert.ThrowsAsync<InvalidOperationException>(() => missing);
        Assert.Equal(1, await expired);
        Assert.Equal(SettlementStatus.Applied, (await aliceSettle).Status);

        // A second store over the file reads what was committed, with nothing kept in between.
        await using var reader = new SqliteLedgerStore(File);
        var fresh = new BudgetLedger(reader, _time, NullLogger<BudgetLedger>.Instance);
        Assert.Equal(new BudgetBalance("bob", 18m, 0m, 0m, false), await fresh.GetBalanceAsync("bob"));
        Assert.Equal(new BudgetBalance("alice", 8.5m, 0m, 0m, false), await fresh.GetBalanceAsync("alice"));
        Assert.Null(await fresh.GetBalanceAsync("nobody"));
        foreach (var key in new[] { "alice", "bob" })
        {
            Assert.Equal(BudgetBalance.FromEntries(key, await fresh.GetEntriesAsync(key)), await fresh.GetBalanceAsync(key));
        }

        var b1 = (await fresh.GetReservationAsync("b1"))!;
        Assert.Equal((ReservationState.Settled, 2m), (b1.State, b1.Charged));
        Assert.Equal(ReservationState.Expired, (await fresh.GetReservationAsync("old"))!.State);
        var a1 = (await fresh.GetReservationAsync("a1"))!;
        Assert.Equal((ReservationState.Settled, 1.5m), (a1.State, a1.Charged));
    }
}
