using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>
/// Usage records in a SQLite file in WAL mode, so the store's batched writes never block readers
/// (the usage page, exports). The schema is created on first use.
/// </summary>
internal sealed class SqliteUsageStore : SqlUsageStore
{
    private const string RecordColumns =
        "request_id, ts_us, day, key_name, requested_model, provider, upstream_model, operation, streamed, " +
        "input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_pico_usd, " +
        "status_code, error_type, ttfb_us, duration_us, prompt, completion, attempts";

    // The usage records' schema, by version (SchemaMigrations).
    internal static readonly SchemaMigrations Migrations = new("usage", """
        CREATE TABLE IF NOT EXISTS usage_records (
            request_id TEXT NOT NULL PRIMARY KEY,
            ts_us INTEGER NOT NULL,
            day TEXT NOT NULL,
            key_name TEXT,
            requested_model TEXT NOT NULL,
            provider TEXT,
            upstream_model TEXT,
            operation TEXT NOT NULL,
            streamed INTEGER NOT NULL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cached_input_tokens INTEGER,
            cache_write_tokens INTEGER,
            reasoning_tokens INTEGER,
            cost_pico_usd INTEGER NOT NULL,
            status_code INTEGER NOT NULL,
            error_type TEXT,
            ttfb_us INTEGER,
            duration_us INTEGER NOT NULL,
            prompt TEXT,
            completion TEXT);
        CREATE INDEX IF NOT EXISTS usage_records_key_ts ON usage_records (key_name, ts_us);
        CREATE INDEX IF NOT EXISTS usage_records_ts ON usage_records (ts_us);
        """,
        // 2: each record's upstream attempts, as JSON (UsageAttemptsJson); NULL in the records written before.
        "ALTER TABLE usage_records ADD COLUMN attempts TEXT;");

    private const string InsertRecord =
        $"INSERT INTO usage_records ({RecordColumns}) VALUES (" +
        "$id, $ts, $day, $key, $model, $provider, $upstream, $operation, $streamed, $input, $output, $cached, $cacheWrite, " +
        "$reasoning, $cost, $status, $error, $ttfb, $duration, $prompt, $completion, $attempts) ON CONFLICT (request_id) DO NOTHING";

    private readonly string _path;
    private readonly string _connectionString;

    public SqliteUsageStore(string path)
    {
        // The folder is created on first use rather than here, so a bad path shows in the health check instead of failing start.
        _connectionString = SqliteFile.ConnectionString(path, createFolder: false);
        _path = path;
    }

    protected override string Columns => RecordColumns;

    protected override string Table => "usage_records";

    protected override char ParameterPrefix => '$';

    protected override string TimeColumn => "ts_us";

    protected override string NewestFirst => "ts_us DESC, request_id DESC";

    protected override string OldestFirst => "ts_us, request_id";

    protected override async Task AppendBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);

        // On SQLite's own API, as the ledger writer's statements: a record's 22 values through SqliteCommand cost a
        // binder, a re-encoded name and a boxed value each (see SqliteKeptStatements). The insert is prepared once per
        // batch and runs inside the transaction begun above, which is the connection's.
        var insert = new SqliteKeptStatements(connection);
        try
        {
            // A batch's records mostly share a day, whose text is made once per day rather than once per record.
            var day = default(DateOnly);
            string? dayText = null;
            foreach (var record in records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var recordDay = DateOnly.FromDateTime(record.Timestamp.UtcDateTime);
                if (dayText is null || recordDay != day)
                {
                    day = recordDay;
                    dayText = recordDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                }

                await using (var row = insert.Start(InsertRecord))
                {
                    row.Bind("$id", record.RequestId);
                    row.Bind("$ts", UsageStoreArguments.ToUnixMicroseconds(record.Timestamp));
                    row.Bind("$day", dayText);
                    row.Bind("$key", record.KeyName);
                    row.Bind("$model", record.RequestedModel);
                    row.Bind("$provider", record.Provider);
                    row.Bind("$upstream", record.UpstreamModel);
                    row.Bind("$operation", record.Operation);
                    row.Bind("$streamed", record.Streamed ? 1 : 0);
                    row.Bind("$input", record.InputTokens);
                    row.Bind("$output", record.OutputTokens);
                    row.Bind("$cached", record.CachedInputTokens);
                    row.Bind("$cacheWrite", record.CacheWriteTokens);
                    row.Bind("$reasoning", record.ReasoningTokens);
                    row.Bind("$cost", UsageStoreArguments.ToPico(record.Cost));
                    row.Bind("$status", record.StatusCode);
                    row.Bind("$error", record.ErrorType);
                    row.Bind("$ttfb", record.TimeToFirstByte is { } ttfb ? UsageStoreArguments.ToMicroseconds(ttfb) : null);
                    row.Bind("$duration", UsageStoreArguments.ToMicroseconds(record.Duration));
                    row.Bind("$prompt", record.Prompt);
                    row.Bind("$completion", record.Completion);
                    row.Bind("$attempts", UsageAttemptsJson.Write(record.Attempts));
                    await row.ExecuteAsync();
                }
            }
        }
        finally
        {
            insert.Close();
        }

        await transaction.CommitAsync(cancellationToken);
    }

    protected override string DailyTotalsSql(string where) => $"""
        SELECT day, requested_model, count(*), coalesce(sum(status_code >= 400), 0),
               coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cached_input_tokens), 0),
               coalesce(sum(cache_write_tokens), 0), coalesce(sum(reasoning_tokens), 0), coalesce(sum(cost_pico_usd), 0)
        FROM usage_records{where}
        GROUP BY day, requested_model
        ORDER BY day, requested_model
        """;

    protected override string SpendTotalsSql(string where) => $"""
        SELECT day, key_name, requested_model, count(*), coalesce(sum(status_code >= 400), 0),
               coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_pico_usd), 0)
        FROM usage_records{where}
        GROUP BY day, key_name, requested_model
        """;

    protected override string SpentByKeySql =>
        "SELECT key_name, coalesce(sum(cost_pico_usd), 0) FROM usage_records WHERE key_name IS NOT NULL GROUP BY key_name";

    protected override object TimeValue(DateTimeOffset time) => UsageStoreArguments.ToUnixMicroseconds(time);

    protected override DateTimeOffset ReadTimestamp(DbDataReader reader) => UsageStoreArguments.FromUnixMicroseconds(reader.GetInt64(1));

    protected override bool ReadStreamed(DbDataReader reader) => reader.GetInt64(8) != 0;

    protected override decimal ReadCost(DbDataReader reader, int ordinal) => UsageStoreArguments.FromPico(reader.GetInt64(ordinal));

    protected override DateOnly ReadDay(DbDataReader reader, int ordinal) =>
        DateOnly.ParseExact(reader.GetString(ordinal), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        (SqliteConnection)await OpenConnectionAsync(cancellationToken);

    protected override async Task<DbConnection> OpenNewConnectionAsync(CancellationToken cancellationToken)
    {
        if (!SchemaReady)
        {
            SqliteFile.CreateFolder(_path);
        }

        // NORMAL, as the ledger: in WAL mode a commit survives the process crashing, and is not synced to
        // disk on every batch (FULL's default fsync per commit competed for the disk with the ledger's
        // writes on the request path). A power cut may lose the last batches, never the file.
        return await SqliteFile.OpenAsync(_connectionString, "PRAGMA synchronous = NORMAL;", cancellationToken);
    }

    protected override async Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode = WAL;";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await Migrations.ApplyAsync(connection, SchemaDialect.Sqlite, cancellationToken);
    }
}
