using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
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
        Assert.Equal((long)SqliteUsageStore.Migrations.Latest, await ScalarAsync(usageCheck, "SELECT version FROM relaykit_schema_version WHERE store = 'usage'"));
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
            var usageLatest = 0;
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
                usageLatest = usageStore.Migrations.Latest;
            }

            // The usage table has steps after 1 (its attempts column), which it got on the way.
            await using var versions = dataSource.CreateCommand($"SELECT string_agg(store || '=' || version, ',' ORDER BY store) FROM \"{schema}\".relaykit_schema_version");
            Assert.Equal($"keys=1,ledger=1,usage={usageLatest}", (string?)await versions.ExecuteScalarAsync());
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }

    // A record as version 1 of the usage table held it (UsageRecords.Make("v1-record")), in version 1's 21 columns.
    private const string Version1Columns =
        "request_id, {0}, day, key_name, requested_model, provider, upstream_model, operation, streamed, input_tokens, output_tokens, " +
        "cached_input_tokens, cache_write_tokens, reasoning_tokens, {1}, status_code, error_type, ttfb_us, duration_us, prompt, completion";

    private static readonly UsageAttempt[] TwoAttempts =
    [
        new() { Provider = "openai", UpstreamModel = "gpt-5.5", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(41) },
        new() { Provider = "azure", UpstreamModel = "gpt55-prod", StatusCode = 200, Latency = TimeSpan.FromMilliseconds(87) },
    ];

    [Fact]
    public async Task A_version_1_SQLite_usage_file_gets_the_attempts_column_and_reads_its_old_records_with_none()
    {
        // The usage file as the relay wrote it at version 1: the table, its version row, a record written then.
        await using (var file = await OpenAsync("usage.db"))
        {
            await new SchemaMigrations("usage", SqliteUsageStore.Migrations.Step(1)).ApplyAsync(file, SchemaDialect.Sqlite, CancellationToken.None);
            await ExecuteAsync(file, $"""
                INSERT INTO usage_records ({string.Format(CultureInfo.InvariantCulture, Version1Columns, "ts_us", "cost_pico_usd")})
                VALUES ('v1-record', 1741599000000000, '2025-03-10', 'team-a', 'gpt-4o', 'openai', 'gpt-4o-2024-08-06', 'chat', 0,
                        100, 20, NULL, NULL, NULL, 1200000000, 200, NULL, 120000, 850000, NULL, NULL)
                """);
        }

        SqliteConnection.ClearAllPools();
        var store = new SqliteUsageStore(Path.Combine(_directory, "usage.db"));
        var old = Assert.Single((await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        var written = UsageRecords.Make("v2-record", UsageRecords.Day1.AddMinutes(1), provider: "azure") with { Attempts = TwoAttempts };
        await store.AppendAsync([written], CancellationToken.None);

        Assert.Equal(UsageRecords.Make("v1-record"), old);
        Assert.Empty(old.Attempts);
        Assert.Equal([written, old], (await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        SqliteConnection.ClearAllPools();
        await using var check = await OpenAsync("usage.db");
        Assert.Equal(2L, await ScalarAsync(check, "SELECT version FROM relaykit_schema_version WHERE store = 'usage'"));
        Assert.Equal(1L, await ScalarAsync(check, "SELECT count(*) FROM usage_records WHERE attempts IS NULL"));
    }

    [SkippableFact]
    public async Task A_version_1_PostgreSQL_usage_table_gets_the_attempts_column_and_reads_its_old_records_with_none()
    {
        var connectionString = TestServers.RequirePostgres();
        var schema = PostgreSqlTestSchema.NewName("schema_usage_v1");
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using (var connection = await dataSource.OpenConnectionAsync())
            await using (var v1 = new PostgreSqlUsageStore(dataSource, schema))
            {
                // The schema as the relay created it at version 1: the table, its version row, a record written then.
                await new SchemaMigrations("usage", v1.Migrations.Step(1)).ApplyAsync(connection, PostgreSqlSchemaName.Dialect(schema), CancellationToken.None);
                await using var insert = new NpgsqlCommand($"""
                    INSERT INTO "{schema}".usage_records ({string.Format(CultureInfo.InvariantCulture, Version1Columns, "ts", "cost")})
                    VALUES ('v1-record', '2025-03-10T09:30:00Z', '2025-03-10', 'team-a', 'gpt-4o', 'openai', 'gpt-4o-2024-08-06', 'chat', false,
                            100, 20, NULL, NULL, NULL, 0.0012, 200, NULL, 120000, 850000, NULL, NULL)
                    """, connection);
                await insert.ExecuteNonQueryAsync();
            }

            await using var store = new PostgreSqlUsageStore(dataSource, schema);
            var old = Assert.Single((await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
            var written = UsageRecords.Make("v2-record", UsageRecords.Day1.AddMinutes(1), provider: "azure") with { Attempts = TwoAttempts };
            await store.AppendAsync([written], CancellationToken.None);

            Assert.Equal(UsageRecords.Make("v1-record"), old);
            Assert.Empty(old.Attempts);
            Assert.Equal([written, old], (await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
            await using var version = dataSource.CreateCommand($"SELECT version FROM \"{schema}\".relaykit_schema_version WHERE store = 'usage'");
            Assert.Equal(2, (int)(await version.ExecuteScalarAsync())!);
            await using var nulls = dataSource.CreateCommand($"SELECT count(*) FROM \"{schema}\".usage_records WHERE attempts IS NULL");
            Assert.Equal(1L, (long)(await nulls.ExecuteScalarAsync())!);
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
