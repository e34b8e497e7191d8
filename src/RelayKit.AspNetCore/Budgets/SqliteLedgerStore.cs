using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The embedded ledger store: one SQLite file in WAL mode. Every unit of work runs in
/// <c>BEGIN IMMEDIATE</c>, which takes the database's write lock before the first read, so a
/// balance check and the write it guards cannot interleave with another writer — in this process
/// or another one on the same file. Amounts are stored as exact decimal text, never as floating point.
/// </summary>
internal sealed class SqliteLedgerStore : SqlLedgerStore, IDisposable
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteConstraint = 19;

    // Writers queue here rather than spinning on SQLITE_BUSY: the file admits one writer anyway.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private readonly string _connectionString;
    private volatile bool _schemaReady;

    /// <summary>Creates a store over the SQLite file at <paramref name="path"/> (created when missing).</summary>
    public SqliteLedgerStore(string path)
    {
        _connectionString = SqliteFile.ConnectionString(path);
    }

    /// <inheritdoc />
    protected override string LockClause => string.Empty;

    /// <inheritdoc />
    protected override string Table(string name) => name;

    /// <inheritdoc />
    protected override async ValueTask<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        return new Turn(_writer);
    }

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;", cancellationToken);
            if (!_schemaReady)
            {
                await CreateSchemaAsync(connection, cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    protected override Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken before the first read.
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    /// <inheritdoc />
    protected override bool IsConflict(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked or SqliteConstraint };

    /// <inheritdoc />
    public void Dispose()
    {
        // Pooled connections keep the file open; release them so the file can be moved or deleted.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writer.Dispose();
        _schemaGate.Dispose();
    }

    private async Task CreateSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS budget_accounts (
                    key_id TEXT NOT NULL PRIMARY KEY,
                    balance TEXT NOT NULL,
                    reserved TEXT NOT NULL,
                    free_credit TEXT NOT NULL,
                    closed INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS budget_reservations (
                    request_id TEXT NOT NULL PRIMARY KEY,
                    key_id TEXT NOT NULL,
                    amount TEXT NOT NULL,
                    state TEXT NOT NULL,
                    charged TEXT NULL,
                    reported_cost TEXT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS budget_reservations_open ON budget_reservations (expires_at) WHERE state = 'open';
                CREATE TABLE IF NOT EXISTS budget_entries (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    key_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    amount TEXT NOT NULL,
                    request_id TEXT NULL,
                    reference TEXT NULL,
                    reported_cost TEXT NULL,
                    at INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS budget_entries_key ON budget_entries (key_id, seq);
                CREATE UNIQUE INDEX IF NOT EXISTS budget_entries_reference ON budget_entries (reference) WHERE reference IS NOT NULL;
                """, cancellationToken);
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private sealed class Turn(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
