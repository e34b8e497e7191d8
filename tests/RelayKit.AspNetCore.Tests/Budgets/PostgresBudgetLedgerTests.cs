using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class PostgresBudgetLedgerTests : BudgetLedgerContract
{
    private readonly string _schema = "budget_test_" + Guid.NewGuid().ToString("N");
    private string? _connectionString;

    internal override ILedgerStore CreateStore()
    {
        // Each instance gets a small pool so two instances stay well under max_connections.
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 20 }.ToString();
        return new PostgresLedgerStore(_connectionString, _schema);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_connectionString is not null)
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
