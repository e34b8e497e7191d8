using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Storage;

/// <summary>Store schemas carry a version and move forward at open, one mechanism for every store.</summary>
public sealed class SchemaMigrationsTests : IDisposable
{
    private const string Step1 = "CREATE TABLE IF NOT EXISTS things (id TEXT NOT NULL PRIMARY KEY);";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relaykit-tests", "schema-" + Guid.NewGuid().ToString("N"));

    public SchemaMigrationsTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task A_database_at_version_1_gets_the_later_steps_and_keeps_its_rows()
    {
        await using var connection = await OpenAsync("things.db");
        await new SchemaMigrations("things", Step1).ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None);
        await ExecuteAsync(connection, "INSERT INTO things (id) VALUES ('a')");

        var found = await new SchemaMigrations("things", Step1, "ALTER TABLE things ADD COLUMN size INTEGER NOT NULL DEFAULT 7;", "CREATE INDEX things_size ON things (size);")
            .ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None);

        Assert.Equal(1, found);
        Assert.Equal(3L, await ScalarAsync(connection, "SELECT version FROM relaykit_schema_version WHERE store = 'things'"));
        Assert.Equal(7L, await ScalarAsync(connection, "SELECT size FROM things WHERE id = 'a'"));
        Assert.Equal(1L, await ScalarAsync(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'things_size'"));
    }

    [Fact]
    public async Task A_failing_step_leaves_the_schema_and_its_version_as_they_were()
    {
        await using var connection = await OpenAsync("things.db");
        await new SchemaMigrations("things", Step1).ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None);

        await Assert.ThrowsAsync<SqliteException>(() =>
            new SchemaMigrations("things", Step1, "CREATE TABLE extra (id TEXT);", "ALTER TABLE missing ADD COLUMN x INTEGER;")
                .ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None));

        Assert.Equal(1L, await ScalarAsync(connection, "SELECT version FROM relaykit_schema_version WHERE store = 'things'"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'extra'"));
    }

    [Fact]
    public async Task A_schema_newer_than_the_code_refuses_to_open()
    {
        await using var connection = await OpenAsync("things.db");
        await new SchemaMigrations("things", Step1, "CREATE TABLE extra (id TEXT);").ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new SchemaMigrations("things", Step1).ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None));

        Assert.Contains("The things schema is at version 2, newer than this RelayKit knows (1)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sqlite_stores_created_before_versioning_are_recorded_at_their_version_with_their_rows()
    {
        // The files as the relay wrote them before schemas had versions: the version-1 tables, no version table.
        var ledgerPath = Path.Combine(_directory, "budgets.db");
        var usagePath = Path.Combine(_directory, "usage.db");
        var spoolPath = Path.Combine(_directory, "budgets.settle-spool.db");
        await using (var ledgerFile = await OpenAsync("budgets.db"))
        {
            await ExecuteAsync(ledgerFile, SqliteLedgerStore.Migrations.Step(1) + SqliteRelayKeyStore.Migrations.Step(1));
            await ExecuteAsync(ledgerFile, "INSERT INTO budget_accounts VALUES ('alice', '5', '0', '0', 0, 0)");
        }

        await using (var usageFile = await OpenAsync("usage.db"))
        {
            await ExecuteAsync(usageFile, SqliteUsageStore.Migrations.Step(1));
        }

        await using (var spoolFile = await OpenAsync("budgets.settle-spool.db"))
        {
            await ExecuteAsync(spoolFile, SettleSpool.Migrations.Step(1));
        }

        SqliteConnection.ClearAllPools();

        await using (var store = new SqliteLedgerStore(ledgerPath))
        {
            var ledger = new BudgetLedger(store, TimeProvider.System, NullLogger<BudgetLedger>.Instance);
            Assert.Equal(5m, (await ledger.GetBalanceAsync("alice"))!.Balance);
        }

        using (var keys = new SqliteRelayKeyStore(ledgerPath))
        {
            Assert.Empty(await keys.ListAsync());
        }

        var usage = new SqliteUsageStore(usagePath);
        Assert.Empty((await usage.QueryAsync(new UsageFilter(), 0, 10, CancellationToken.None)).Records);
        using (var spool = new SettleSpool(spoolPath))
        {
            Assert.Empty((await spool.ReadAsync(10)).Orders);
        }

        SqliteConnection.ClearAllPools();
        await using var ledgerCheck = await OpenAsync("budgets.db");
        await using var usageCheck = await OpenAsync("usage.db");
        await using var spoolCheck = await OpenAsync("budgets.settle-spool.db");
        Assert.Equal(1L, await ScalarAsync(ledgerCheck, "SELECT version FROM relaykit_schema_version WHERE store = 'ledger'"));
        Assert.Equal(1L, await ScalarAsync(ledgerCheck, "SELECT version FROM relaykit_schema_version WHERE store = 'keys'"));
        Assert.Equal(1L, await ScalarAsync(usageCheck, "SELECT version FROM relaykit_schema_version WHERE store = 'usage'"));
        Assert.Equal(1L, await ScalarAsync(spoolCheck, "SELECT version FROM relaykit_schema_version WHERE store = 'settle-spool'"));
    }

    [Fact]
    public async Task PostgreSql_stores_created_before_versioning_are_recorded_at_their_version_with_their_rows()
    {
        var connectionString = TestServers.RequirePostgres();
        var schema = PostgreSqlTestSchema.NewName("schema_test");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using (var ledgerStore = new PostgreSqlLedgerStore(dataSource, schema))
            await using (var keyStore = new PostgreSqlRelayKeyStore(dataSource, schema))
            await using (var usageStore = new PostgreSqlUsageStore(dataSource, schema))
            {
                // The schema as the relay created it before versioning: its tables, no version table.
                await using (var legacy = dataSource.CreateCommand(
                    $"CREATE SCHEMA \"{schema}\"; {ledgerStore.Migrations.Step(1)} {keyStore.Migrations.Step(1)} {usageStore.Migrations.Step(1)}" +
                    $"INSERT INTO \"{schema}\".budget_accounts VALUES ('alice', 5, 0, 0, 0, 0);"))
                {
                    await legacy.ExecuteNonQueryAsync();
                }

                var ledger = new BudgetLedger(ledgerStore, TimeProvider.System, NullLogger<BudgetLedger>.Instance);
                Assert.Equal(5m, (await ledger.GetBalanceAsync("alice"))!.Balance);
                Assert.Empty(await keyStore.ListAsync());
                Assert.Empty((await usageStore.QueryAsync(new UsageFilter(), 0, 10, CancellationToken.None)).Records);
            }

            await using var versions = dataSource.CreateCommand($"SELECT string_agg(store || '=' || version, ',' ORDER BY store) FROM \"{schema}\".relaykit_schema_version");
            Assert.Equal("keys=1,ledger=1,usage=1", (string?)await versions.ExecuteScalarAsync());
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<SqliteConnection> OpenAsync(string file)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, file) }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
