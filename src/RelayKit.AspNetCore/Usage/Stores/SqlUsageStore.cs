using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>
/// What the SQL usage stores (SQLite, PostgreSQL) share beyond their dialects: the reads (a page, the daily totals,
/// an export), the filter's WHERE clause and the mapping of a row in the <c>Columns</c> order. Each store says what
/// its dialect writes differently: the table, the timestamp column and its values, the orderings, the totals query,
/// and the columns kept in a type of its own (timestamp, streamed, cost, day).
/// </summary>
internal abstract class SqlUsageStore : IUsageStore, IUsageSpendTotals
{
    private readonly SchemaOnce<DbConnection> _schema;

    protected SqlUsageStore() => _schema = new(token => new(OpenNewConnectionAsync(token)), CreateSchemaAsync);

    /// <summary>The record columns, in the order <see cref="ReadRecord"/> reads them.</summary>
    protected abstract string Columns { get; }

    /// <summary>The table, qualified as the database needs.</summary>
    protected abstract string Table { get; }

    /// <summary>How parameter names start in this dialect's SQL (<c>$</c> for SQLite, <c>@</c> for PostgreSQL).</summary>
    protected abstract char ParameterPrefix { get; }

    /// <summary>The column the time filter compares.</summary>
    protected abstract string TimeColumn { get; }

    /// <summary>An <c>ORDER BY</c> list putting the newest record first (ties by request id, in byte order).</summary>
    protected abstract string NewestFirst { get; }

    /// <summary>An <c>ORDER BY</c> list putting the oldest record first (ties by request id, in byte order).</summary>
    protected abstract string OldestFirst { get; }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT 1 FROM {Table} LIMIT 1";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Count == 0 ? Task.CompletedTask : AppendBatchAsync(records, cancellationToken);
    }

    public async Task<UsagePage> QueryAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken)
    {
        UsageStoreArguments.CheckPage(offset, limit);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = Where(filter, command);
        command.CommandText =
            $"SELECT {Columns} FROM {Table}{where} ORDER BY {NewestFirst} LIMIT {ParameterPrefix}limit OFFSET {ParameterPrefix}offset";
        AddParameter(command, "limit", limit + 1);
        AddParameter(command, "offset", offset);

        // One record more than asked for only says there is more.
        var records = new List<UsageRecord>(Math.Min(limit + 1, 64));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(ReadRecord(reader));
        }

        var hasMore = records.Count > limit;
        if (hasMore)
        {
            records.RemoveAt(limit);
        }

        return new UsagePage(records, hasMore ? offset + limit : null);
    }

    public async Task<IReadOnlyList<UsageDailyTotal>> GetDailyTotalsAsync(UsageFilter filter, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = DailyTotalsSql(Where(filter, command));

        var totals = new List<UsageDailyTotal>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new UsageDailyTotal(
                ReadDay(reader, 0),
                reader.GetString(1),
                reader.GetInt64(2),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetInt64(6),
                reader.GetInt64(7),
                reader.GetInt64(8),
                ReadCost(reader, 9)));
        }

        return totals;
    }

    public async Task<IReadOnlyList<UsageSpendTotal>> GetSpendTotalsAsync(UsageFilter filter, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SpendTotalsSql(Where(filter, command));

        var totals = new List<UsageSpendTotal>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new UsageSpendTotal(
                ReadDay(reader, 0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetString(2),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetInt64(6),
                ReadCost(reader, 7)));
        }

        return totals;
    }

    public async Task<IReadOnlyDictionary<string, decimal>> GetSpentByKeyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SpentByKeySql;
        var spent = new Dictionary<string, decimal>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            spent[reader.GetString(0)] = ReadCost(reader, 1);
        }

        return spent;
    }

    public async IAsyncEnumerable<UsageRecord> ReadAsync(UsageFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = Where(filter, command);
        command.CommandText = $"SELECT {Columns} FROM {Table}{where} ORDER BY {OldestFirst}";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadRecord(reader);
        }
    }

    /// <summary>Whether the schema is known to exist (created, or found, by this store).</summary>
    protected bool SchemaReady => _schema.Ready;

    /// <summary>Opens a connection to a database whose schema exists: created on first use, once.</summary>
    protected Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        _schema.OpenAsync(cancellationToken);

    /// <summary>Appends a batch of at least one record in one transaction, skipping request ids already stored.</summary>
    protected abstract Task AppendBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken);

    /// <summary>Opens a connection, set up as the store wants it.</summary>
    protected abstract Task<DbConnection> OpenNewConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Creates the table and its indexes unless they exist (safe when other instances do the same at once).</summary>
    protected abstract Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// The totals query: per UTC day and requested model, in this order, the day, the model, the number of records,
    /// of failed ones (status 400 and above), the sums of the five token counts and of the cost; ordered by day, then
    /// model in byte order. <paramref name="where"/> is the filter's clause, to splice in after the table.
    /// </summary>
    protected abstract string DailyTotalsSql(string where);

    /// <summary>
    /// The SQL of <see cref="GetSpendTotalsAsync"/> after <paramref name="where"/>: day, key name, requested model, count,
    /// errors, input and output tokens and cost, grouped by the first three.
    /// </summary>
    protected abstract string SpendTotalsSql(string where);

    /// <summary>The SQL of <see cref="GetSpentByKeyAsync"/>: key name and the sum of its cost, for records with a key.</summary>
    protected abstract string SpentByKeySql { get; }

    /// <summary>A time as the time column keeps it, for the filter.</summary>
    protected abstract object TimeValue(DateTimeOffset time);

    /// <summary>The timestamp (column 1) as the store keeps it.</summary>
    protected abstract DateTimeOffset ReadTimestamp(DbDataReader reader);

    /// <summary>Whether the record was streamed (column 8) as the store keeps it.</summary>
    protected abstract bool ReadStreamed(DbDataReader reader);

    /// <summary>A cost in dollars, or a sum of costs, at <paramref name="ordinal"/> as the store keeps it.</summary>
    protected abstract decimal ReadCost(DbDataReader reader, int ordinal);

    /// <summary>A UTC day at <paramref name="ordinal"/> as the store keeps it.</summary>
    protected abstract DateOnly ReadDay(DbDataReader reader, int ordinal);

    /// <summary>A record from a row in <see cref="Columns"/>' order.</summary>
    private UsageRecord ReadRecord(DbDataReader reader) => new()
    {
        RequestId = reader.GetString(0),
        Timestamp = ReadTimestamp(reader),
        KeyName = NullableString(reader, 3),
        RequestedModel = reader.GetString(4),
        Provider = NullableString(reader, 5),
        UpstreamModel = NullableString(reader, 6),
        Operation = reader.GetString(7),
        Streamed = ReadStreamed(reader),
        InputTokens = NullableLong(reader, 9),
        OutputTokens = NullableLong(reader, 10),
        CachedInputTokens = NullableLong(reader, 11),
        CacheWriteTokens = NullableLong(reader, 12),
        ReasoningTokens = NullableLong(reader, 13),
        Cost = ReadCost(reader, 14),
        StatusCode = reader.GetInt32(15),
        ErrorType = NullableString(reader, 16),
        TimeToFirstByte = NullableLong(reader, 17) is { } ttfb ? UsageStoreArguments.FromMicroseconds(ttfb) : null,
        Duration = UsageStoreArguments.FromMicroseconds(reader.GetInt64(18)),
        Prompt = NullableString(reader, 19),
        Completion = NullableString(reader, 20),
        Attempts = UsageAttemptsJson.Read(NullableString(reader, 21)),
    };

    /// <summary>The filter as <c> WHERE …</c> (or nothing), its values added to <paramref name="command"/> as parameters.</summary>
    private string Where(UsageFilter filter, DbCommand command)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var where = new StringBuilder();
        void Add(string column, string op, string name, object value)
        {
            AddParameter(command, name, value);
            where.Append(where.Length == 0 ? " WHERE " : " AND ").Append(column).Append(' ').Append(op).Append(' ').Append(ParameterPrefix).Append(name);
        }

        if (filter.KeyName is not null)
        {
            Add("key_name", "=", "fkey", filter.KeyName);
        }

        if (filter.Model is not null)
        {
            Add("requested_model", "=", "fmodel", filter.Model);
        }

        if (filter.Provider is not null)
        {
            Add("provider", "=", "fprovider", filter.Provider);
        }

        if (filter.Failed is { } failed)
        {
            Add("status_code", failed ? ">=" : "<", "fstatus", 400);
        }

        var (from, until) = filter.TimeRange();
        if (from is { } start)
        {
            Add(TimeColumn, ">=", "ffrom", TimeValue(start));
        }

        if (until is { } end)
        {
            Add(TimeColumn, "<", "funtil", TimeValue(end));
        }

        return where.ToString();
    }

    private void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = ParameterPrefix + name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? NullableLong(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
