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
        await ledger.TopUpAsync("alice", 0.000000000123456789012345m, "pay-1");

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "ledger.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode; ";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        command.CommandText = "SELECT balance FROM budget_accounts WHERE key_id = 'alice'";
        Assert.Equal("0.000000000123456789012345", (string?)await command.ExecuteScalarAsync());
    }
}
