using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class PostgreSqlBudgetLedgerTests : BudgetLedgerContract
{
    private readonly string _schema = PostgreSqlTestSchema.NewName("budget_test");
    private string? _connectionString;

    internal override ILedgerStore CreateStore()
    {
        // Each instance gets a small pool so two instances stay well under max_connections.
        _connectionString ??= new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres()) { MaxPoolSize = 20 }.ToString();
        return new PostgreSqlLedgerStore(_connectionString, _schema);
    }

    [Fact]
    public void A_store_over_no_data_source_is_refused_when_it_is_made_not_at_its_first_write()
    {
        var refused = Assert.Throws<ArgumentNullException>(() => new PostgreSqlLedgerStore((NpgsqlDataSource)null!, "relaykit"));
        Assert.Equal("dataSource", refused.ParamName);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await PostgreSqlTestSchema.DropAsync(_connectionString, _schema);
    }
}
