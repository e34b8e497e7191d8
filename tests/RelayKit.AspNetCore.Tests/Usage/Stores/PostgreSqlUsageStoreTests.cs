using Npgsql;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage.Stores;

public sealed class PostgreSqlUsageStoreTests : UsageStoreContractTests
{
    private readonly string _schema = "usage_test_" + Guid.NewGuid().ToString("N")[..12];
    private string? _connectionString;

    protected override Task<IUsageStore?> CreateStoreAsync()
    {
        // Skipping happens in the test body (RequireServer): a skip thrown here would fail the test instead.
        _connectionString = Environment.GetEnvironmentVariable(TestServers.PostgresVariable);
        return Task.FromResult<IUsageStore?>(
            string.IsNullOrWhiteSpace(_connectionString) ? null : new PostgreSqlUsageStore(_connectionString, _schema));
    }

    protected override IUsageStore RequireServer()
    {
        TestServers.RequirePostgres();
        throw new InvalidOperationException("unreachable: RequirePostgres skips or throws without a server");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgreSqlTestSchema.DropAsync(_connectionString, _schema);
    }

    [SkippableFact]
    public async Task The_schema_and_table_are_created_on_first_use()
    {
        var connectionString = TestServers.RequirePostgres();
        Assert.IsType<PostgreSqlUsageStore>(Store);

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var before = dataSource.CreateCommand(
            $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{_schema}' AND table_name = 'usage_records'");
        Assert.Equal(0L, (long)(await before.ExecuteScalarAsync())!);

        await Store.PingAsync(CancellationToken.None);

        Assert.Equal(1L, (long)(await before.ExecuteScalarAsync())!);
    }

    [SkippableFact]
    public async Task Two_instances_starting_together_share_one_table()
    {
        var connectionString = TestServers.RequirePostgres();
        await using var first = new PostgreSqlUsageStore(connectionString, _schema);
        await using var second = new PostgreSqlUsageStore(connectionString, _schema);

        await Task.WhenAll(
            first.AppendAsync([UsageRecords.Make("from-first")], CancellationToken.None),
            second.AppendAsync([UsageRecords.Make("from-second")], CancellationToken.None));

        var page = await first.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None);
        Assert.Equal(["from-first", "from-second"], page.Records.Select(r => r.RequestId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_schema_that_is_not_a_plain_identifier_is_refused() =>
        Assert.Throws<ArgumentException>(() => new PostgreSqlUsageStore("Host=127.0.0.1", "x\"; DROP TABLE y; --"));
}
