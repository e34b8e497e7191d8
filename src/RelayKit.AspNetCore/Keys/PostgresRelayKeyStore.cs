using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;

namespace RelayKit.AspNetCore.Keys;

/// <summary>Created keys in PostgreSQL, shared by every relay instance, in the budget ledger's schema by default.</summary>
internal sealed partial class PostgresRelayKeyStore : SqlRelayKeyStore, IAsyncDisposable
{
    private const string UniqueViolation = "23505";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>Creates a store over <paramref name="connectionString"/>, keeping its table in <paramref name="schema"/>.</summary>
    public PostgresRelayKeyStore(string connectionString, string schema = "relaykit")
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        if (!SchemaName().IsMatch(schema))
        {
            throw new ArgumentException("The schema name must be a lower-case identifier (a-z, 0-9, _).", nameof(schema));
        }

        _schema = schema;
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    protected override string Table => $"\"{_schema}\".relay_keys";

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: UniqueViolation };

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            if (!_schemaReady)
            {
                await _schemaGate.WaitAsync(cancellationToken);
                try
                {
                    if (!_schemaReady)
                    {
                        await ExecuteAsync(connection, $"""
                            CREATE SCHEMA IF NOT EXISTS "{_schema}";
                            CREATE TABLE IF NOT EXISTS {Table} (
                                id text NOT NULL PRIMARY KEY,
                                name text NOT NULL,
                                secret_sha256 bytea NOT NULL UNIQUE,
                                models text NOT NULL,
                                created_at bigint NOT NULL,
                                expires_at bigint NULL,
                                revoked_at bigint NULL,
                                closed_at bigint NULL);
                            """, cancellationToken);
                        _schemaReady = true;
                    }
                }
                catch (PostgresException exception) when (exception.SqlState == UniqueViolation)
                {
                    // Two instances creating the schema at once: the other one won, which is what we wanted.
                    _schemaReady = true;
                }
                finally
                {
                    _schemaGate.Release();
                }
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
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        _schemaGate.Dispose();
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial Regex SchemaName();
}
