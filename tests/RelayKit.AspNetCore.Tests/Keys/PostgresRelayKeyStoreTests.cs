using Npgsql;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class PostgresRelayKeyStoreTests : RelayKeyStoreContract
{
    private readonly string _schema = PostgresTestSchema.NewName("keys_test");
    private string? _connectionString;

    internal override IRelayKeyStore CreateStore()
    {
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 5 }.ToString();
        return new PostgresRelayKeyStore(_connectionString, _schema);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgresTestSchema.DropAsync(_connectionString, _schema);
    }
}
