using System.Data.Common;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// The status history in SQL, one class for SQLite (the usage store's file, or a private in-memory database) and
/// PostgreSQL (the usage store's schema): the SQL is the same in both but for the table's qualification. Three tables:
/// counts per period (minute, hour, day) per upstream, latency bins per period (one row per non-empty bin, so percentiles
/// merge across instances by summing bins) and incidents. Minutes are added to (<c>ON CONFLICT … DO UPDATE SET n = n +
/// excluded.n</c>), so instances sharing the database add up; hours and days are recomputed from the rows below them.
/// </summary>
internal sealed class SqlStatusStore : IStatusStore, IAsyncDisposable
{
    private readonly SchemaOnce<DbConnection> _schema;
    private readonly string _counts;
    private readonly string _latency;
    private readonly string _incidents;
    private readonly IAsyncDisposable? _owned;

    /// <param name="open">Opens a connection to the database.</param>
    /// <param name="tablePrefix">What goes before each table's name: empty, or a quoted schema and a dot.</param>
    /// <param name="dialect">How the database versions its schema.</param>
    /// <param name="setup">SQL run once before the migration (SQLite's WAL mode), or empty.</param>
    /// <param name="owned">Disposed with the store (the connection that keeps an in-memory database alive).</param>
    public SqlStatusStore(Func<CancellationToken, ValueTask<DbConnection>> open, string tablePrefix, SchemaDialect dialect, string setup = "", IAsyncDisposable? owned = null)
    {
        _counts = tablePrefix + "status_counts";
        _latency = tablePrefix + "status_latency";
        _incidents = tablePrefix + "status_incidents";
        _owned = owned;
        Migrations = new("status", $"""
            CREATE TABLE IF NOT EXISTS {_counts} (
                res integer NOT NULL,
                start_min bigint NOT NULL,
                provider text NOT NULL,
                model text NOT NULL,
                successes bigint NOT NULL,
                failures bigint NOT NULL,
                traffic_minutes bigint NOT NULL,
                up_minutes bigint NOT NULL,
                PRIMARY KEY (res, start_min, provider, model));
            CREATE TABLE IF NOT EXISTS {_latency} (
                res integer NOT NULL,
                start_min bigint NOT NULL,
                provider text NOT NULL,
                model text NOT NULL,
                bin integer NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (res, start_min, provider, model, bin));
            CREATE TABLE IF NOT EXISTS {_incidents} (
                id text NOT NULL PRIMARY KEY,
                provider text NOT NULL,
                model text NOT NULL,
                kind text NOT NULL,
                title text NOT NULL,
                started_ms bigint NOT NULL,
                ended_ms bigint);
            CREATE INDEX IF NOT EXISTS status_incidents_started ON {_incidents} (started_ms);
            """,
            // When the instance that keeps a lasting incident last saw it: an instance that stopped stops seeing it.
            $"ALTER TABLE {_incidents} ADD COLUMN seen_ms bigint;");
        _schema = new(open, async (connection, token) =>
        {
            if (setup.Length > 0)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = setup;
                await command.ExecuteNonQueryAsync(token);
            }

            await Migrations.ApplyAsync(connection, dialect, token);
        });
    }

    /// <summary>The history's schema, by version (store <c>status</c> in the version table).</summary>
    internal SchemaMigrations Migrations { get; }

    public async Task AddAsync(IReadOnlyList<StatusMinute> minutes, IReadOnlyList<StatusIncident> incidents, CancellationToken cancellationToken)
    {
        if (minutes.Count == 0 && incidents.Count == 0)
        {
            return;
        }

        await using var connection = await _schema.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var counts = Command(connection, transaction,
            $"INSERT INTO {_counts} AS c (res, start_min, provider, model, successes, failures, traffic_minutes, up_minutes) " +
            "VALUES (1, @start, @provider, @model, @successes, @failures, 0, 0) ON CONFLICT (res, start_min, provider, model) " +
            "DO UPDATE SET successes = c.successes + excluded.successes, failures = c.failures + excluded.failures");
        var start = Parameter(counts, "@start");
        var provider = Parameter(counts, "@provider");
        var model = Parameter(counts, "@model");
        var successes = Parameter(counts, "@successes");
        var failures = Parameter(counts, "@failures");
        await using var bins = Command(connection, transaction,
            $"INSERT INTO {_latency} AS l (res, start_min, provider, model, bin, n) VALUES (1, @start, @provider, @model, @bin, @n) " +
            "ON CONFLICT (res, start_min, provider, model, bin) DO UPDATE SET n = l.n + excluded.n");
        var binStart = Parameter(bins, "@start");
        var binProvider = Parameter(bins, "@provider");
        var binModel = Parameter(bins, "@model");
        var bin = Parameter(bins, "@bin");
        var n = Parameter(bins, "@n");
        foreach (var minute in minutes)
        {
            start.Value = minute.Minute;
            provider.Value = minute.Provider;
            model.Value = minute.Model;
            successes.Value = minute.Successes;
            failures.Value = minute.Failures;
            await counts.ExecuteNonQueryAsync(cancellationToken);
            for (var i = 0; i < minute.LatencyBins.Length; i++)
            {
                if (minute.LatencyBins[i] == 0)
                {
                    continue;
                }

                binStart.Value = minute.Minute;
                binProvider.Value = minute.Provider;
                binModel.Value = minute.Model;
                bin.Value = i;
                n.Value = minute.LatencyBins[i];
                await bins.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (incidents.Count > 0)
        {
            await using var save = Command(connection, transaction,
                $"INSERT INTO {_incidents} (id, provider, model, kind, title, started_ms, ended_ms, seen_ms) " +
                "VALUES (@id, @provider, @model, @kind, @title, @started, @ended, @seen) " +
                "ON CONFLICT (id) DO UPDATE SET title = excluded.title, ended_ms = excluded.ended_ms, seen_ms = excluded.seen_ms");
            foreach (var incident in incidents)
            {
                save.Parameters.Clear();
                Parameter(save, "@id").Value = incident.Id;
                Parameter(save, "@provider").Value = incident.Provider;
                Parameter(save, "@model").Value = incident.Model;
                Parameter(save, "@kind").Value = incident.Kind;
                Parameter(save, "@title").Value = incident.Title;
                Parameter(save, "@started").Value = incident.StartedAt.ToUnixTimeMilliseconds();
                Parameter(save, "@ended").Value = incident.EndedAt is { } ended ? ended.ToUnixTimeMilliseconds() : DBNull.Value;
                Parameter(save, "@seen").Value = (incident.SeenAt ?? incident.EndedAt ?? incident.StartedAt).ToUnixTimeMilliseconds();
                await save.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task RollUpAsync(DateTimeOffset from, DateTimeOffset to, double downErrorRate, CancellationToken cancellationToken)
    {
        var firstHour = StatusResolution.Floor(StatusResolution.MinuteOf(from), StatusResolution.Hour);
        var endHour = StatusResolution.Floor(StatusResolution.MinuteOf(to), StatusResolution.Hour) + StatusResolution.Hour;
        var firstDay = StatusResolution.Floor(firstHour, StatusResolution.Day);
        var endDay = StatusResolution.Floor(endHour - 1, StatusResolution.Day) + StatusResolution.Day;
        await using var connection = await _schema.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // A minute is up when its error rate is under the threshold; hours count such minutes, days sum their hours.
        await RollAsync(StatusResolution.Minute, StatusResolution.Hour, firstHour, endHour,
            "sum(CASE WHEN successes + failures > 0 THEN 1 ELSE 0 END)",
            "sum(CASE WHEN successes + failures > 0 AND failures < @down * (successes + failures) THEN 1 ELSE 0 END)");
        await RollAsync(StatusResolution.Hour, StatusResolution.Day, firstDay, endDay, "sum(traffic_minutes)", "sum(up_minutes)");
        await transaction.CommitAsync(cancellationToken);

        async Task RollAsync(int below, int resolution, long first, long end, string trafficMinutes, string upMinutes)
        {
            var period = $"start_min - (start_min % {resolution})";
            await using (var counts = Command(connection, transaction,
                $"INSERT INTO {_counts} AS c (res, start_min, provider, model, successes, failures, traffic_minutes, up_minutes) " +
                $"SELECT {resolution}, {period}, provider, model, sum(successes), sum(failures), {trafficMinutes}, {upMinutes} " +
                $"FROM {_counts} WHERE res = {below} AND start_min >= @first AND start_min < @end GROUP BY {period}, provider, model " +
                "ON CONFLICT (res, start_min, provider, model) DO UPDATE SET successes = excluded.successes, failures = excluded.failures, " +
                "traffic_minutes = excluded.traffic_minutes, up_minutes = excluded.up_minutes"))
            {
                Parameter(counts, "@first").Value = first;
                Parameter(counts, "@end").Value = end;
                if (below == StatusResolution.Minute)
                {
                    Parameter(counts, "@down").Value = downErrorRate;
                }

                await counts.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var bins = Command(connection, transaction,
                $"INSERT INTO {_latency} AS l (res, start_min, provider, model, bin, n) " +
                $"SELECT {resolution}, {period}, provider, model, bin, sum(n) " +
                $"FROM {_latency} WHERE res = {below} AND start_min >= @first AND start_min < @end GROUP BY {period}, provider, model, bin " +
                "ON CONFLICT (res, start_min, provider, model, bin) DO UPDATE SET n = excluded.n");
            Parameter(bins, "@first").Value = first;
            Parameter(bins, "@end").Value = end;
            await bins.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public async Task<int> EndAbandonedAsync(DateTimeOffset seenBefore, CancellationToken cancellationToken)
    {
        await using var connection = await _schema.OpenAsync(cancellationToken);

        // A row from before seen_ms was kept counts as seen when it started.
        await using var end = Command(connection, null,
            $"UPDATE {_incidents} SET ended_ms = COALESCE(seen_ms, started_ms) WHERE ended_ms IS NULL AND COALESCE(seen_ms, started_ms) < @before");
        Parameter(end, "@before").Value = seenBefore.ToUnixTimeMilliseconds();
        return await end.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var minute = StatusResolution.MinuteOf(now);
        await using var connection = await _schema.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var table in new[] { _counts, _latency })
        {
            await using var delete = Command(connection, transaction,
                $"DELETE FROM {table} WHERE (res = 1 AND start_min < @minute) OR (res = 60 AND start_min < @hour) OR (res = 1440 AND start_min < @day)");
            Parameter(delete, "@minute").Value = minute - (long)StatusResolution.MinuteRetention.TotalMinutes;
            Parameter(delete, "@hour").Value = minute - (long)StatusResolution.HourRetention.TotalMinutes;
            Parameter(delete, "@day").Value = StatusResolution.Floor(minute, StatusResolution.Day) - (long)StatusResolution.DayRetention.TotalMinutes;
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var incidents = Command(connection, transaction, $"DELETE FROM {_incidents} WHERE started_ms < @before AND ended_ms IS NOT NULL"))
        {
            Parameter(incidents, "@before").Value = (now - StatusResolution.DayRetention).ToUnixTimeMilliseconds();
            await incidents.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<StatusBucket>> ReadAsync(int resolution, DateTimeOffset from, CancellationToken cancellationToken)
    {
        var first = StatusResolution.Floor(StatusResolution.MinuteOf(from), resolution);
        await using var connection = await _schema.OpenAsync(cancellationToken);
        var bins = new Dictionary<(long, string, string), long[]>();
        await using (var read = Command(connection, null,
            $"SELECT start_min, provider, model, bin, n FROM {_latency} WHERE res = @res AND start_min >= @first"))
        {
            Parameter(read, "@res").Value = resolution;
            Parameter(read, "@first").Value = first;
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
                if (!bins.TryGetValue(key, out var counts))
                {
                    bins[key] = counts = new long[LatencyBins.Count];
                }

                var bin = reader.GetInt32(3);
                if (bin >= 0 && bin < counts.Length)
                {
                    counts[bin] += reader.GetInt64(4);
                }
            }
        }

        var rows = new List<StatusBucket>();
        await using (var read = Command(connection, null,
            $"SELECT start_min, provider, model, successes, failures, traffic_minutes, up_minutes FROM {_counts} " +
            "WHERE res = @res AND start_min >= @first ORDER BY start_min, provider, model"))
        {
            Parameter(read, "@res").Value = resolution;
            Parameter(read, "@first").Value = first;
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
                rows.Add(new StatusBucket(resolution, key.Item1, key.Item2, key.Item3, reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6),
                    bins.TryGetValue(key, out var counts) ? counts : new long[LatencyBins.Count]));
            }
        }

        return rows;
    }

    public async Task<IReadOnlyList<StatusIncident>> IncidentsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _schema.OpenAsync(cancellationToken);
        await using var read = Command(connection, null,
            $"SELECT id, provider, model, kind, title, started_ms, ended_ms FROM {_incidents} " +
            "WHERE started_ms >= @since OR ended_ms IS NULL ORDER BY started_ms DESC, id LIMIT @limit");
        Parameter(read, "@since").Value = since.ToUnixTimeMilliseconds();
        Parameter(read, "@limit").Value = limit;
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var incidents = new List<StatusIncident>();
        while (await reader.ReadAsync(cancellationToken))
        {
            incidents.Add(new StatusIncident(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }

        return incidents;
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned is not null)
        {
            await _owned.DisposeAsync();
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
