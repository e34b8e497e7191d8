using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The SQLite writer's batch session: the account and reservation rows a batch's units read and update are read from
/// the file once and written once, at the flush before the commit, holding the last unit's values; a rollback's
/// <see cref="WriteBehindSession.Clear"/> drops them so the re-run reads the file again. Checked against a session that
/// records what reaches the file.
/// </summary>
public sealed class WriteBehindSessionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Many_updates_of_one_account_and_one_lease_reach_the_file_once_each_with_the_last_values()
    {
        var file = new RecordingSession();
        file.Accounts["alice"] = new LedgerAccount("alice", 100m, 50m, 0m, false);
        file.Reservations["lease"] = Reservation("lease", 50m);
        var session = new WriteBehindSession(file);

        // Ten settles of one key, each carving from the lease and charging the account, as one batch runs them.
        for (var i = 1; i <= 10; i++)
        {
            var account = (await session.GetAccountAsync("alice"))!;
            var lease = (await session.GetReservationAsync("lease"))!;
            await session.SaveReservationAsync(lease with { Amount = lease.Amount - 2m }, Now.AddSeconds(i));
            await session.SaveAccountAsync(account with { Balance = account.Balance - 1m, Reserved = account.Reserved - 2m }, Now.AddSeconds(i));
        }

        // Each unit saw the one before it, and nothing was written yet: one read of each row, no write.
        Assert.Equal(new LedgerAccount("alice", 90m, 30m, 0m, false), await session.GetAccountAsync("alice"));
        Assert.Equal(30m, (await session.GetReservationAsync("lease"))!.Amount);
        Assert.Equal(["get account alice", "get reservation lease"], file.Calls);

        await session.FlushAsync();
        Assert.Equal(
            ["get account alice", "get reservation lease", $"save account alice 90 30 at {Now.AddSeconds(10):O}", $"save reservation lease 30 at {Now.AddSeconds(10):O}"],
            file.Calls);
        Assert.Equal(90m, file.Accounts["alice"].Balance);
        Assert.Equal(30m, file.Reservations["lease"].Amount);
    }

    [Fact]
    public async Task After_a_rollback_the_kept_rows_are_dropped_and_read_from_the_file_again()
    {
        var file = new RecordingSession();
        file.Accounts["alice"] = new LedgerAccount("alice", 100m, 0m, 0m, false);
        var session = new WriteBehindSession(file);

        var account = (await session.GetAccountAsync("alice"))!;
        await session.SaveAccountAsync(account with { Balance = 1_000_000m }, Now);
        session.Clear();

        // The rolled-back update never reaches the file, and the next unit reads what the file holds.
        Assert.Equal(100m, (await session.GetAccountAsync("alice"))!.Balance);
        await session.FlushAsync();
        Assert.DoesNotContain(file.Calls, call => call.StartsWith("save", StringComparison.Ordinal));
        Assert.Equal(100m, file.Accounts["alice"].Balance);
    }

    [Fact]
    public async Task Rows_never_read_are_written_at_once_so_a_missing_row_fails_its_unit_and_inserts_stay_immediate()
    {
        var file = new RecordingSession();
        var session = new WriteBehindSession(file);

        // An account never read in this transaction: written now, and its absence fails the unit at the call.
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.SaveAccountAsync(new LedgerAccount("bob", 1m, 0m, 0m, false), Now).AsTask());

        // An inserted reservation is written at once (its primary key refuses a second one there), then kept.
        await session.InsertReservationAsync(Reservation("r1", 4m));
        await session.SaveReservationAsync(Reservation("r1", 4m) with { State = ReservationState.Settled, Charged = 3m }, Now);
        Assert.Equal(["save account bob 1 0 at " + Now.ToString("O"), "insert reservation r1 4"], file.Calls);
        Assert.Equal(ReservationState.Settled, (await session.GetReservationAsync("r1"))!.State);

        await session.FlushAsync();
        Assert.Equal(ReservationState.Settled, file.Reservations["r1"].State);
        Assert.Equal(3m, file.Reservations["r1"].Charged);
    }

    private static BudgetReservation Reservation(string id, decimal amount) =>
        new(id, "alice", amount, ReservationState.Open, null, null, Now, Now.AddMinutes(5));

    /// <summary>A session over dictionaries that records each call that reached it.</summary>
    private sealed class RecordingSession : ILedgerSession
    {
        public Dictionary<string, LedgerAccount> Accounts { get; } = [];

        public Dictionary<string, BudgetReservation> Reservations { get; } = [];

        public List<string> Calls { get; } = [];

        public ValueTask<LedgerAccount?> GetAccountAsync(string keyId)
        {
            Calls.Add($"get account {keyId}");
            return ValueTask.FromResult(Accounts.GetValueOrDefault(keyId));
        }

        public ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now)
        {
            Calls.Add($"get or create account {keyId}");
            return ValueTask.FromResult(Accounts.TryGetValue(keyId, out var account) ? account : Accounts[keyId] = new LedgerAccount(keyId, 0m, 0m, 0m, false));
        }

        public ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
        {
            Calls.Add($"save account {account.KeyId} {account.Balance} {account.Reserved} at {now:O}");
            if (!Accounts.ContainsKey(account.KeyId))
            {
                throw new InvalidOperationException($"Account {account.KeyId} is missing.");
            }

            Accounts[account.KeyId] = account;
            return ValueTask.CompletedTask;
        }

        public ValueTask<BudgetReservation?> GetReservationAsync(string requestId)
        {
            Calls.Add($"get reservation {requestId}");
            return ValueTask.FromResult(Reservations.GetValueOrDefault(requestId));
        }

        public ValueTask InsertReservationAsync(BudgetReservation reservation)
        {
            Calls.Add($"insert reservation {reservation.RequestId} {reservation.Amount}");
            Reservations.Add(reservation.RequestId, reservation);
            return ValueTask.CompletedTask;
        }

        public ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
        {
            Calls.Add($"save reservation {reservation.RequestId} {reservation.Amount} at {now:O}");
            Reservations[reservation.RequestId] = reservation;
            return ValueTask.CompletedTask;
        }

        public ValueTask<BudgetEntry?> FindByReferenceAsync(string reference) => ValueTask.FromResult<BudgetEntry?>(null);

        public ValueTask AppendAsync(BudgetEntry entry) => ValueTask.CompletedTask;

        public ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries) => ValueTask.CompletedTask;
    }
}
