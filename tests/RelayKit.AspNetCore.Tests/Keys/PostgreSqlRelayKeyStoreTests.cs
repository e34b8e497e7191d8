using Npgsql;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class PostgreSqlRelayKeyStoreTests : RelayKeyStoreContract
{
    private readonly string _schema = PostgreSqlTestSchema.NewName("keys_test");
    private string? _connectionString;

    internal override IRelayKeyStore CreateStore()
    {
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 5 }.ToString();
        return new PostgreSqlRelayKeyStore(_connectionString, _schema);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgreSqlTestSchema.DropAsync(_connectionString, _schema);
    }
}
