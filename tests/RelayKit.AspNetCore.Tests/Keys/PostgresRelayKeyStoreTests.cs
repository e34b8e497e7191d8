using Npgsql;
using RelayKit.AspNetCore.Keys;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class PostgresRelayKeyStoreTests : RelayKeyStoreContract
{
    private readonly string _schema = "keys_test_" + Guid.NewGuid().ToString("N");
    private string? _connectionString;

    internal override IRelayKeyStore CreateStore()
    {
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 5 }.ToString();
        return new PostgresRelayKeyStore(_connectionString, _schema);
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
