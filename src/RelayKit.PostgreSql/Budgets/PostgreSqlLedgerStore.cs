using System.Data;
using System.Data.Common;
using Npgsql;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The ledger store for many relay instances sharing balances: PostgreSQL, in its own schema
/// (created on first use). Each unit of work is one READ COMMITTED transaction that locks the
/// account and reservation rows it reads (<c>SELECT … FOR UPDATE</c>) until it commits, so the
/// balance check and the write it guards are atomic across instances; amounts are exact
/// <c>numeric</c>.
/// </summary>
internal sealed class PostgreSqlLedgerStore : SqlLedgerStore, IConditionalReservationStore, IAsyncDisposable
{
    private const string UniqueViolation = "23505";
    private const string DeadlockDetected = "40P01";
    private const string SerializationFailure = "40001";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly SchemaOnce<NpgsqlConnection> _schemaOnce;
    private readonly SchemaMigrations _migrations;

    /// <summary>The store's schema, by version.</summary>
    internal SchemaMigrations Migrations => _migrations;

    /// <summary>Creates a store over <paramref name="connectionString"/>, keeping its tables in <paramref name="schema"/>.</summary>
    public PostgreSqlLedgerStore(string connectionString, string schema = "relaykit")
        : this(NpgsqlDataSource.Create(connectionString), schema, ownsDataSource: true)
    {
    }

    /// <summary>Creates a store over a data source (and its pool) that it shares with the relay's other PostgreSQL stores.</summary>
    public PostgreSqlLedgerStore(NpgsqlDataSource dataSource, string schema, bool ownsDataSource = false)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _schema = PostgreSqlSchemaName.Checked(schema);
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _migrations = new("ledger", $"""
            CREATE TABLE IF NOT EXISTS "{_schema}".budget_accounts (
                key_id text NOT NULL PRIMARY KEY,
                balance numeric NOT NULL,
                reserved numeric NOT NULL,
                free_credit numeric NOT NULL,
                closed integer NOT NULL,
                updated_at bigint NOT NULL,
                CONSTRAINT budget_accounts_not_overspent CHECK (balance >= 0 AND reserved >= 0));
            CREATE TABLE IF NOT EXISTS "{_schema}".budget_reservations (
                request_id text NOT NULL PRIMARY KEY,
                key_id text NOT NULL,
                amount numeric NOT NULL,
                state text NOT NULL,
                charged numeric NULL,
                reported_cost numeric NULL,
                created_at bigint NOT NULL,
                expires_at bigint NOT NULL,
                updated_at bigint NOT NULL);
            CREATE INDEX IF NOT EXISTS budget_reservations_open ON "{_schema}".budget_reservations (expires_at) WHERE state = 'open';
            CREATE TABLE IF NOT EXISTS "{_schema}".budget_entries (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                key_id text NOT NULL,
                kind text NOT NULL,
                amount numeric NOT NULL CHECK (amount >= 0),
                request_id text NULL,
                reference text NULL,
                reported_cost numeric NULL,
                at bigint NOT NULL);
            CREATE INDEX IF NOT EXISTS budget_entries_key ON "{_schema}".budget_entries (key_id, seq);
            CREATE UNIQUE INDEX IF NOT EXISTS budget_entries_reference ON "{_schema}".budget_entries (reference) WHERE reference IS NOT NULL;
            CREATE TABLE IF NOT EXISTS "{_schema}".usage_outbox (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                request_id text NOT NULL UNIQUE,
                record text NOT NULL);
            """);
        _schemaOnce = new(_dataSource.OpenConnectionAsync, CreateSchemaAsync);
    }

    /// <inheritdoc />
    protected override string LockClause => " FOR UPDATE";

    /// <inheritdoc />
    protected override string Table(string name) => $"\"{_schema}\".{name}";

    /// <inheritdoc />
    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        _schemaOnce.OpenAsync(cancellationToken);

    /// <inheritdoc />
    protected override async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    /// <inheritdoc />
    protected override bool IsConflict(DbException exception) =>
        exception is PostgresException { SqlState: UniqueViolation or DeadlockDetected or SerializationFailure };

    /// <inheritdoc />
    public async Task<decimal?> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        // One statement: the UPDATE's WHERE is re-checked on the latest row version after any
        // concurrent writer commits (READ COMMITTED), so the balance check and the hold are atomic.
        // A concurrent reservation with the same request id fails on the primary key and is retried,
        // then refused by NOT EXISTS.
        var sql = $"""
            WITH held AS (
                UPDATE {Table("budget_accounts")} SET reserved = reserved + @amount, updated_at = @now
                WHERE key_id = @key AND closed = 0 AND balance - reserved >= @amount
                  AND NOT EXISTS (SELECT 1 FROM {Table("budget_reservations")} WHERE request_id = @id)
                RETURNING balance - reserved AS available),
            reservation AS (
                INSERT INTO {Table("budget_reservations")} (request_id, key_id, amount, state, created_at, expires_at, updated_at)
                SELECT @id, @key, @amount, 'open', @now, @expires, @now FROM held
                RETURNING request_id),
            entry AS (
                INSERT INTO {Table("budget_entries")} (key_id, kind, amount, request_id, at)
                SELECT @key, 'Reservation', @amount, request_id, @now FROM reservation)
            SELECT available FROM held
            """;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = (NpgsqlConnection)await OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand(sql, connection);
                command.Parameters.AddWithValue("key", keyId);
                command.Parameters.AddWithValue("id", requestId);
                command.Parameters.AddWithValue("amount", amount);
                command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("expires", expiresAt.ToUnixTimeMilliseconds());
                return await command.ExecuteScalarAsync(cancellationToken) is decimal available ? available : null;
            }
            catch (PostgresException exception) when (attempt < 3 && IsConflict(exception))
            {
                // Lost a race on the request id; the next attempt sees the winner and holds nothing.
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }

    // DDL takes table locks even when everything exists, and would deadlock with another instance already writing: a
    // schema at the latest version costs one read of the version table and no DDL (SchemaMigrations).
    private Task CreateSchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        _migrations.ApplyAsync(connection, PostgreSqlSchemaName.Dialect(_schema), cancellationToken);
}
