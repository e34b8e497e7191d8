using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Where a settle the ledger store did not take waits until it lands: a small SQLite file of its own (where
/// <see cref="RelayStores.CreateSettleSpool"/> puts it), written with <c>synchronous = FULL</c>
/// before the request's answer completes, so a settle that failed survives a crash of the relay. Each row is one
/// <see cref="SettleOrder"/> (the charge or release, the lease facts of a request held out of a lease, and the usage
/// record), keyed by request id. Without a path (an in-memory ledger, which a crash loses anyway) it is kept in memory.
/// </summary>
/// <remarks>
/// Not a second source of truth for money: a row is only a request to the ledger, which applies it once by request id
/// (<see cref="IBudgetLedger.SettleAsync(SettleOrder, CancellationToken)"/>). The row is deleted after the ledger
/// committed it; a crash between the two lands it again, which the ledger answers as already settled.
/// </remarks>
internal sealed class SettleSpool : IDisposable
{
    // The spool's schema, by version (SchemaMigrations).
    internal static readonly SchemaMigrations Migrations = new(
        "settle-spool",
        "CREATE TABLE IF NOT EXISTS settle_spool (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, settle TEXT NOT NULL);");

    private readonly string? _connectionString;
    private readonly Dictionary<string, string> _memory = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _created;

    /// <summary>A spool in the SQLite file at <paramref name="path"/>, or in memory when it is null.</summary>
    public SettleSpool(string? path)
    {
        Path = path is null ? null : System.IO.Path.GetFullPath(path);
        _connectionString = path is null ? null : SqliteFile.ConnectionString(path, createFolder: false);
    }

    /// <summary>The spool's file, or null when it is kept in memory.</summary>
    public string? Path { get; }

    /// <summary>Keeps <paramref name="order"/> durably; a second order of the same request replaces the first.</summary>
    public async Task AddAsync(SettleOrder order)
    {
        var json = UsageOutboxJson.Serialize(order);
        await _gate.WaitAsync();
        try
        {
            if (_connectionString is null)
            {
                _memory[order.RequestId] = json;
                return;
            }

            await using var connection = await OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO settle_spool (request_id, settle) VALUES (@id, @settle) ON CONFLICT (request_id) DO UPDATE SET settle = excluded.settle";
            command.Parameters.AddWithValue("@id", order.RequestId);
            command.Parameters.AddWithValue("@settle", json);
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The settles waiting, oldest first, and the request ids of rows that no longer read as a settle (written by another
    /// version): those are skipped, never deleted, so an operator can still read them in the file.
    /// </summary>
    public async Task<(IReadOnlyList<SettleOrder> Orders, IReadOnlyList<string> Unreadable)> ReadAsync(int limit)
    {
        await _gate.WaitAsync();
        try
        {
            var rows = new List<(string RequestId, string Settle)>();
            if (_connectionString is null)
            {
                rows.AddRange(_memory.Take(limit).Select(p => (p.Key, p.Value)));
            }
            else
            {
                await using var connection = await OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT request_id, settle FROM settle_spool ORDER BY seq LIMIT @limit";
                command.Parameters.AddWithValue("@limit", limit);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            var orders = new List<SettleOrder>(rows.Count);
            List<string>? unreadable = null;
            foreach (var (requestId, settle) in rows)
            {
                try
                {
                    orders.Add(UsageOutboxJson.DeserializeOrder(settle));
                }
                catch (System.Text.Json.JsonException)
                {
                    (unreadable ??= []).Add(requestId);
                }
            }

            return (orders, (IReadOnlyList<string>?)unreadable ?? []);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets a settle the ledger committed.</summary>
    public async Task RemoveAsync(string requestId)
    {
        await _gate.WaitAsync();
        try
        {
            if (_connectionString is null)
            {
                _memory.Remove(requestId);
                return;
            }

            await using var connection = await OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM settle_spool WHERE request_id = @id";
            command.Parameters.AddWithValue("@id", requestId);
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Opens (creating it when missing) the spool file: at start, so a path that cannot be written fails there.</summary>
    public async Task OpenOrCreateAsync()
    {
        if (_connectionString is null)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            await using var connection = await OpenAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gate.Dispose();
        if (_connectionString is not null)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        if (!_created)
        {
            SqliteFile.CreateFolder(Path!);
        }

        var connection = await SqliteFile.OpenAsync(_connectionString!, "PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;", CancellationToken.None);
        if (!_created)
        {
            await Migrations.ApplyAsync(connection, SchemaDialect.Sqlite, CancellationToken.None);
            _created = true;
        }

        return connection;
    }
}
