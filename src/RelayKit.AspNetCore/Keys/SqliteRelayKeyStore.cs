using System.Data.Common;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Keys;

/// <summary>Created keys in a SQLite file (WAL), by default the budget ledger's file.</summary>
internal sealed class SqliteRelayKeyStore : SqlRelayKeyStore, IDisposable
{
    // The created keys' schema, by version (SchemaMigrations), in the ledger's file beside the ledger's own.
    internal static readonly SchemaMigrations Migrations = new("keys", """
        CREATE TABLE IF NOT EXISTS relay_keys (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            secret_sha256 BLOB NOT NULL UNIQUE,
            models TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NULL,
            revoked_at INTEGER NULL,
            closed_at INTEGER NULL);
        """);

    private readonly SchemaOnce<SqliteConnection> _schemaOnce;
    private readonly string _connectionString;

    /// <summary>Creates a store over the SQLite file at <paramref name="path"/> (created when missing).</summary>
    public SqliteRelayKeyStore(string path)
    {
        _connectionString = SqliteFile.ConnectionString(path);
        _schemaOnce = new(OpenNewAsync, CreateSchemaAsync);
    }

    /// <inheritdoc />
    protected override string Table => "relay_keys";

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_CONSTRAINT };

    /// <inheritdoc />
    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        _schemaOnce.OpenAsync(cancellationToken);

    private ValueTask<SqliteConnection> OpenNewAsync(CancellationToken cancellationToken) =>
        SqliteFile.OpenAsync(_connectionString, "PRAGMA busy_timeout = 30000;", cancellationToken);

    private static async Task CreateSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
        await Migrations.ApplyAsync(connection, SchemaDialect.Sqlite, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Pooled connections keep the file open; release them so the file can be moved or deleted.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }
    }
}
