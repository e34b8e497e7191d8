using System.Data.Common;
using System.Text;

namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>
/// What the SQL usage stores (SQLite, PostgreSQL) share beyond their dialects: the filter's WHERE clause, the
/// mapping of a row in the <c>Columns</c> order, and cutting a page out of the rows read (one more than asked).
/// Each store passes what its dialect writes differently: the timestamp column and its values, and the three
/// columns kept in another type (timestamp, streamed, cost).
/// </summary>
internal static class UsageRows
{
    /// <summary>
    /// The filter as <c> WHERE …</c> (or nothing), its values added to <paramref name="command"/> as parameters
    /// named <paramref name="prefix"/> + name (<c>$</c> for SQLite, <c>@</c> for PostgreSQL).
    /// </summary>
    public static string Where(UsageFilter filter, DbCommand command, char prefix, string timeColumn, Func<DateTimeOffset, object> timeValue)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var where = new StringBuilder();
        void Add(string column, string op, string name, object value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = prefix + name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
            where.Append(where.Length == 0 ? " WHERE " : " AND ").Append(column).Append(' ').Append(op).Append(' ').Append(prefix).Append(name);
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

        var (from, until) = filter.TimeRange();
        if (from is { } start)
        {
            Add(timeColumn, ">=", "ffrom", timeValue(start));
        }

        if (until is { } end)
        {
            Add(timeColumn, "<", "funtil", timeValue(end));
        }

        return where.ToString();
    }

    /// <summary>A record from a row in the stores' column order; the store reads the columns it keeps in its own type.</summary>
    public static UsageRecord Read(DbDataReader reader, DateTimeOffset timestamp, bool streamed, decimal cost) => new()
    {
        RequestId = reader.GetString(0),
        Timestamp = timestamp,
        KeyName = NullableString(reader, 3),
        RequestedModel = reader.GetString(4),
        Provider = NullableString(reader, 5),
        UpstreamModel = NullableString(reader, 6),
        Operation = reader.GetString(7),
        Streamed = streamed,
        InputTokens = NullableLong(reader, 9),
        OutputTokens = NullableLong(reader, 10),
        CachedInputTokens = NullableLong(reader, 11),
        CacheWriteTokens = NullableLong(reader, 12),
        ReasoningTokens = NullableLong(reader, 13),
        Cost = cost,
        StatusCode = reader.GetInt32(15),
        ErrorType = NullableString(reader, 16),
        TimeToFirstByte = NullableLong(reader, 17) is { } ttfb ? UsageStoreArguments.FromMicroseconds(ttfb) : null,
        Duration = UsageStoreArguments.FromMicroseconds(reader.GetInt64(18)),
        Prompt = NullableString(reader, 19),
        Completion = NullableString(reader, 20),
    };

    /// <summary>Reads up to <paramref name="limit"/> + 1 records, and pages them: the extra one only says there is more.</summary>
    public static async Task<UsagePage> PageAsync(DbDataReader reader, Func<DbDataReader, UsageRecord> read, int offset, int limit, CancellationToken cancellationToken)
    {
        var records = new List<UsageRecord>(Math.Min(limit + 1, 64));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(read(reader));
        }

        var hasMore = records.Count > limit;
        if (hasMore)
        {
            records.RemoveAt(limit);
        }

        return new UsagePage(records, hasMore ? offset + limit : null);
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? NullableLong(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
