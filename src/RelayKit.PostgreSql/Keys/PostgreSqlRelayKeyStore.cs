using System.Data.Common;
using Npgsql;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Keys;

/// <summary>Created keys in PostgreSQL, shared by every relay instance, in the budget ledger's schema by default.</summary>
internal sealed class PostgreSqlRelayKeyStore : SqlRelayKeyStore, IAsyncDisposable
{
    private const string UniqueViolation = "23505";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly SchemaOnce<NpgsqlConnection> _schemaOnce;
    private readonly SchemaMigrations _migrations;

    /// <summary>The store's schema, by version.</summary>
    internal SchemaMigrations Migrations => _migrations;

    /// <summary>Creates a store over <paramref name="connectionString"/>, keeping its table in <paramref name="schema"/>.</summary>
    public PostgreSqlRelayKeyStore(string connectionString, string schema = "relaykit")
        : this(NpgsqlDataSource.Create(connectionString), schema, ownsDataSource: true)
    {
    }

    /// <summary>Creates a store over a data source (and its pool) that it shares with the relay's other PostgreSQL stores.</summary>
    public PostgreSqlRelayKeyStore(NpgsqlDataSource dataSource, string schema, bool ownsDataSource = false)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _schema = PostgreSqlSchemaName.Checked(schema);
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _migrations = new("keys", $"""
            CREATE TABLE IF NOT EXISTS {Table} (
                id text NOT NULL PRIMARY KEY,
                name text NOT NULL,
                secret_sha256 bytea NOT NULL UNIQUE,
                models text NOT NULL,
                created_at bigint NOT NULL,
                expires_at bigint NULL,
                revoked_at bigint NULL,
                closed_at bigint NULL);
            """);
        _schemaOnce = new(_dataSource.OpenConnectionAsync, CreateSchemaAsync);
    }

    /// <inheritdoc />
    protected override string Table => $"\"{_schema}\".relay_keys";

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: UniqueViolation };

    /// <inheritdoc />
    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        _schemaOnce.OpenAsync(cancellationToken);

    private Task CreateSchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        _migrations.ApplyAsync(connection, PostgreSqlSchemaName.Dialect(_schema), cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }

}
