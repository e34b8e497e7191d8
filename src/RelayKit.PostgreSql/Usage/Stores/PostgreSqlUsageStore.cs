using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>
/// Usage records in PostgreSQL, shared by every relay instance. The schema and table are created on
/// first use under an advisory lock, so instances starting together do not race.
/// </summary>
internal sealed class PostgreSqlUsageStore : SqlUsageStore, IAsyncDisposable
{
    private const string RecordColumns =
        "request_id, ts, day, key_name, requested_model, provider, upstream_model, operation, streamed, " +
        "input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost, " +
        "status_code, error_type, ttfb_us, duration_us, prompt, completion, attempts";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _table;
    private readonly string _schema;
    private readonly SchemaMigrations _migrations;

    /// <summary>The store's schema, by version.</summary>
    internal SchemaMigrations Migrations => _migrations;

    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="schema">A lower-case SQL identifier (validated by <see cref="UsageOptions"/>).</param>
    public PostgreSqlUsageStore(string connectionString, string schema)
        : this(NpgsqlDataSource.Create(connectionString), schema, ownsDataSource: true)
    {
    }

    /// <summary>Creates a store over a data source (and its pool) that it shares with the relay's other PostgreSQL stores.</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="schema">A lower-case SQL identifier (validated by <see cref="UsageOptions"/>).</param>
    /// <param name="ownsDataSource">Whether disposing the store disposes the data source.</param>
    public PostgreSqlUsageStore(NpgsqlDataSource dataSource, string schema, bool ownsDataSource = false)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _schema = PostgreSqlSchemaName.Checked(schema);
        _table = $"\"{schema}\".usage_records";
        _migrations = new("usage", $"""
            CREATE TABLE IF NOT EXISTS {_table} (
                request_id text NOT NULL PRIMARY KEY,
                ts timestamptz NOT NULL,
                day date NOT NULL,
                key_name text,
                requested_model text NOT NULL,
                provider text,
                upstream_model text,
                operation text NOT NULL,
                streamed boolean NOT NULL,
                input_tokens bigint,
                output_tokens bigint,
                cached_input_tokens bigint,
                cache_write_tokens bigint,
                reasoning_tokens bigint,
                cost numeric(30, 12) NOT NULL,
                status_code integer NOT NULL,
                error_type text,
                ttfb_us bigint,
                duration_us bigint NOT NULL,
                prompt text,
                completion text);
            CREATE INDEX IF NOT EXISTS usage_records_key_ts ON {_table} (key_name, ts);
            CREATE INDEX IF NOT EXISTS usage_records_ts ON {_table} (ts);
            """,
            // 2: each record's upstream attempts, as JSON text (UsageAttemptsJson); NULL in the records written before.
            $"ALTER TABLE {_table} ADD COLUMN IF NOT EXISTS attempts text;");
    }

    protected override string Columns => RecordColumns;

    protected override string Table => _table;

    protected override char ParameterPrefix => '@';

    protected override string TimeColumn => "ts";

    protected override string NewestFirst => "ts DESC, request_id COLLATE \"C\" DESC";

    protected override string OldestFirst => "ts, request_id COLLATE \"C\"";

    protected override async Task AppendBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var sql =
            $"INSERT INTO {_table} ({RecordColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) " +
            "ON CONFLICT (request_id) DO NOTHING";
        foreach (var record in records)
        {
            var command = new NpgsqlBatchCommand(sql);
            var p = command.Parameters;
            p.Add(new NpgsqlParameter<string> { TypedValue = record.RequestId });
            p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.Timestamp.ToUniversalTime() });
            p.Add(new NpgsqlParameter<DateOnly> { TypedValue = DateOnly.FromDateTime(record.Timestamp.UtcDateTime) });
            p.Add(Text(record.KeyName));
            p.Add(new NpgsqlParameter<string> { TypedValue = record.RequestedModel });
            p.Add(Text(record.Provider));
            p.Add(Text(record.UpstreamModel));
            p.Add(new NpgsqlParameter<string> { TypedValue = record.Operation });
            p.Add(new NpgsqlParameter<bool> { TypedValue = record.Streamed });
            p.Add(Bigint(record.InputTokens));
            p.Add(Bigint(record.OutputTokens));
            p.Add(Bigint(record.CachedInputTokens));
            p.Add(Bigint(record.CacheWriteTokens));
            p.Add(Bigint(record.ReasoningTokens));
            p.Add(new NpgsqlParameter<decimal> { TypedValue = decimal.Round(record.Cost, 12, MidpointRounding.AwayFromZero) });
            p.Add(new NpgsqlParameter<int> { TypedValue = record.StatusCode });
            p.Add(Text(record.ErrorType));
            p.Add(Bigint(record.TimeToFirstByte is { } ttfb ? UsageStoreArguments.ToMicroseconds(ttfb) : null));
            p.Add(new NpgsqlParameter<long> { TypedValue = UsageStoreArguments.ToMicroseconds(record.Duration) });
            p.Add(Text(record.Prompt));
            p.Add(Text(record.Completion));
            p.Add(Text(UsageAttemptsJson.Write(record.Attempts)));
            batch.BatchCommands.Add(command);
        }

        // A batch runs as one implicit transaction: all records are stored or none.
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override string DailyTotalsSql(string where) => $"""
        SELECT day, requested_model, count(*), count(*) FILTER (WHERE status_code >= 400),
               coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint,
               coalesce(sum(cached_input_tokens), 0)::bigint, coalesce(sum(cache_write_tokens), 0)::bigint,
               coalesce(sum(reasoning_tokens), 0)::bigint, coalesce(sum(cost), 0)
        FROM {_table}{where}
        GROUP BY day, requested_model
        ORDER BY day, requested_model COLLATE "C"
        """;

    protected override string SpendTotalsSql(string where) => $"""
        SELECT day, key_name, requested_model, count(*), count(*) FILTER (WHERE status_code >= 400),
               coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint, coalesce(sum(cost), 0)
        FROM {_table}{where}
        GROUP BY day, key_name, requested_model
        """;

    protected override string SpentByKeySql => $"SELECT key_name, coalesce(sum(cost), 0) FROM {_table} WHERE key_name IS NOT NULL GROUP BY key_name";

    protected override object TimeValue(DateTimeOffset time) => time;

    protected override DateTimeOffset ReadTimestamp(DbDataReader reader) => reader.GetFieldValue<DateTimeOffset>(1);

    protected override bool ReadStreamed(DbDataReader reader) => reader.GetBoolean(8);

    protected override decimal ReadCost(DbDataReader reader, int ordinal) => reader.GetDecimal(ordinal);

    protected override DateOnly ReadDay(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateOnly>(ordinal);

    protected override async Task<DbConnection> OpenNewConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }

    // PostgreSQL text cannot hold NUL, which a recorded prompt or completion may: one such record would fail its whole
    // batch. It is stored as U+FFFD, as an invalid byte is.
    private static NpgsqlParameter Text(string? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = value is null ? DBNull.Value : value.Replace('\0', '\uFFFD') };

    private static NpgsqlParameter Bigint(long? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)value ?? DBNull.Value };

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) =>
        (NpgsqlConnection)await OpenConnectionAsync(cancellationToken);

    protected override Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken) =>
        _migrations.ApplyAsync(connection, PostgreSqlSchemaName.Dialect(_schema), cancellationToken);
}
