using System.Data.Common;
using System.Globalization;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The ledger store over a SQL database, shared by SQLite and PostgreSQL: the same tables and the
/// same statements; the subclass opens connections, begins a transaction that locks what it reads
/// (SQLite: <c>BEGIN IMMEDIATE</c>; PostgreSQL: <c>SELECT … FOR UPDATE</c>) and says which errors
/// mean "another writer got there first, run the unit again".
/// </summary>
internal abstract class SqlLedgerStore : ILedgerStore
{
    /// <summary>How often a unit that lost a race runs again before its error is given up to the caller.</summary>
    protected const int MaxAttempts = 8;

    /// <summary>The name of a ledger table, qualified as the database needs.</summary>
    protected abstract string Table(string name);

    /// <summary>What a <c>SELECT</c> appends to lock the rows it reads until commit.</summary>
    protected abstract string LockClause { get; }

    /// <summary>Opens a connection to a database whose schema exists.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Begins the transaction one unit of work runs in.</summary>
    protected abstract Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>The unit lost a race (a unique key taken meanwhile, a deadlock, a busy database) and may run again.</summary>
    protected abstract bool IsConflict(DbException exception);

    /// <summary>Whether statements run through the provider's synchronous methods (see <see cref="AdoSqlStatement"/>).</summary>
    protected virtual bool ExecutesSynchronously => false;

    /// <inheritdoc />
    public virtual async Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await OpenAsync(cancellationToken);
            try
            {
                await using var transaction = await BeginAsync(connection, cancellationToken);
                await using var statement = new AdoSqlStatement(connection, transaction, ExecutesSynchronously, cancellationToken);
                var result = await work(new Session(this, statement));
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (DbException exception) when (attempt < MaxAttempts && IsConflict(exception))
            {
                // The transaction rolled back on dispose; run the unit again from a fresh read.
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var statement = new AdoSqlStatement(connection, null, ExecutesSynchronously, cancellationToken)
            .Start($"SELECT request_id FROM {Table("budget_reservations")} WHERE state = 'open' AND expires_at <= @now ORDER BY expires_at LIMIT @limit");
        statement.BindTime("@now", now);
        statement.Bind("@limit", limit);
        var ids = new List<string>();
        while (await statement.ReadAsync())
        {
            ids.Add(statement.GetString(0));
        }

        return ids;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken) =>
        ReadEntriesAsync(keyId, afterSequence, limit, creditsOnly: false, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken) =>
        ReadEntriesAsync(keyId, afterSequence, limit, creditsOnly: true, cancellationToken);

    private async Task<IReadOnlyList<BudgetEntry>> ReadEntriesAsync(string keyId, long afterSequence, int limit, bool creditsOnly, CancellationToken cancellationToken)
    {
        // Only credits and refunds carry a reference (unique, so indexed where not null).
        var credits = creditsOnly ? " AND reference IS NOT NULL" : "";
        await using var connection = await OpenAsync(cancellationToken);
        await using var statement = new AdoSqlStatement(connection, null, ExecutesSynchronously, cancellationToken)
            .Start($"SELECT {EntryColumns} FROM {Table("budget_entries")} WHERE key_id = @key AND seq > @after{credits} ORDER BY seq LIMIT @limit");
        statement.Bind("@key", keyId);
        statement.Bind("@after", afterSequence);
        statement.Bind("@limit", limit);
        var entries = new List<BudgetEntry>();
        while (await statement.ReadAsync())
        {
            entries.Add(ReadEntry(statement));
        }

        return entries;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var statement = new AdoSqlStatement(connection, null, ExecutesSynchronously, cancellationToken)
            .Start($"SELECT request_id, record FROM {Table("usage_outbox")} ORDER BY seq LIMIT @limit");
        statement.Bind("@limit", limit);
        var records = new List<OutboxRecord>();
        while (await statement.ReadAsync())
        {
            records.Add(new OutboxRecord(statement.GetString(0), statement.GetString(1)));
        }

        return records;
    }

    /// <summary>
    /// A session over a transaction a subclass began itself (one that batches units, say), running its statements
    /// through <paramref name="statement"/>.
    /// </summary>
    protected ILedgerSession CreateSession(SqlStatement statement) => new Session(this, statement);

    private Statements? _sql;

    /// <summary>The session's statements, built once per store (their text depends only on the table names and the lock clause).</summary>
    private Statements Sql => _sql ??= new Statements(this);

    // The most entries one operation appends at once (a settle out of a lease: four).
    private const int MaxEntriesAtOnce = 8;

    private static readonly string[] EntryParameters = ["key", "kind", "amount", "request", "reference", "reported", "at"];

    private const string EntryColumns = "seq, key_id, kind, amount, request_id, reference, reported_cost, at";

    private static BudgetEntry ReadEntry(SqlStatement row) => new(
        row.GetInt64(0),
        row.GetString(1),
        Enum.Parse<BudgetEntryKind>(row.GetString(2)),
        row.GetDecimal(3),
        row.IsDBNull(4) ? null : row.GetString(4),
        row.IsDBNull(5) ? null : row.GetString(5),
        row.IsDBNull(6) ? null : row.GetDecimal(6),
        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(7)));

    // As stored: the state's name in lower case (constants rather than ToString().ToLowerInvariant(): two strings a call).
    private static string StateName(ReservationState state) => state switch
    {
        ReservationState.Open => "open",
        ReservationState.Settled => "settled",
        ReservationState.Released => "released",
        ReservationState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    // As stored: the kind's name (Enum.GetName: ToString() would box the value).
    private static string KindName(BudgetEntryKind kind) =>
        Enum.GetName(kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, null);

    /// <summary>The text of each statement a session runs, also the key under which <see cref="SqliteKeptStatements"/> keeps it.</summary>
    private sealed class Statements(SqlLedgerStore store)
    {
        public string GetAccount { get; } = $"SELECT key_id, balance, reserved, free_credit, closed FROM {store.Table("budget_accounts")} WHERE key_id = @key{store.LockClause}";

        public string CreateAccount { get; } = $"INSERT INTO {store.Table("budget_accounts")} (key_id, balance, reserved, free_credit, closed, updated_at) VALUES (@key, @zero, @zero, @zero, 0, @now) ON CONFLICT (key_id) DO NOTHING";

        public string SaveAccount { get; } = $"UPDATE {store.Table("budget_accounts")} SET balance = @balance, reserved = @reserved, free_credit = @free, closed = @closed, updated_at = @now WHERE key_id = @key";

        public string GetReservation { get; } = $"SELECT request_id, key_id, amount, state, charged, reported_cost, created_at, expires_at FROM {store.Table("budget_reservations")} WHERE request_id = @id{store.LockClause}";

        public string InsertReservation { get; } = $"INSERT INTO {store.Table("budget_reservations")} (request_id, key_id, amount, state, charged, reported_cost, created_at, expires_at, updated_at) VALUES (@id, @key, @amount, @state, @charged, @reported, @created, @expires, @created)";

        public string SaveReservation { get; } = $"UPDATE {store.Table("budget_reservations")} SET amount = @amount, state = @state, charged = @charged, reported_cost = @reported, updated_at = @now WHERE request_id = @id";

        public string WriteOutbox { get; } = $"INSERT INTO {store.Table("usage_outbox")} (request_id, record) VALUES (@id, @record) ON CONFLICT (request_id) DO NOTHING";

        public string DeleteOutbox { get; } = $"DELETE FROM {store.Table("usage_outbox")} WHERE request_id = @id";

        public string FindByReference { get; } = $"SELECT {EntryColumns} FROM {store.Table("budget_entries")} WHERE reference = @reference";

        private readonly string?[] _appendMany = new string?[MaxEntriesAtOnce + 1];
        private readonly string[]?[] _entryNames = new string[]?[MaxEntriesAtOnce];

        /// <summary>An INSERT of <paramref name="count"/> entries, its parameters numbered by row (<see cref="EntryParameterNames"/>).</summary>
        public string Append(int count)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxEntriesAtOnce);
            return _appendMany[count] ??= $"INSERT INTO {store.Table("budget_entries")} (key_id, kind, amount, request_id, reference, reported_cost, at) VALUES "
                + string.Join(", ", Enumerable.Range(0, count).Select(row => "(" + string.Join(", ", EntryParameterNames(row)) + ")"));
        }

        /// <summary>The parameter names of row <paramref name="row"/> of <see cref="Append"/>, in <see cref="EntryParameters"/>'s order.</summary>
        public string[] EntryParameterNames(int row) =>
            _entryNames[row] ??= [.. EntryParameters.Select(name => string.Create(CultureInfo.InvariantCulture, $"@{name}{row}"))];
    }

    private sealed class Session(SqlLedgerStore store, SqlStatement statement) : ILedgerSession
    {
        public async ValueTask<LedgerAccount?> GetAccountAsync(string keyId)
        {
            await using var row = Start(store.Sql.GetAccount);
            row.Bind("@key", keyId);
            if (!await row.ReadAsync())
            {
                return null;
            }

            // key_id (column 0) is the primary key the row was found by, so it is keyId itself: not read back into a new string.
            return new LedgerAccount(
                keyId,
                row.GetDecimal(1),
                row.GetDecimal(2),
                row.GetDecimal(3),
                row.GetInt64(4) != 0);
        }

        public async ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now)
        {
            await using (var insert = Start(store.Sql.CreateAccount))
            {
                insert.Bind("@key", keyId);
                insert.Bind("@zero", 0m);
                insert.BindTime("@now", now);
                await insert.ExecuteAsync();
            }

            return await GetAccountAsync(keyId) ?? throw new InvalidOperationException("The account just created is missing.");
        }

        public async ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
        {
            await using var update = Start(store.Sql.SaveAccount);
            update.Bind("@key", account.KeyId);
            update.Bind("@balance", account.Balance);
            update.Bind("@reserved", account.Reserved);
            update.Bind("@free", account.FreeCredit);
            update.Bind("@closed", account.Closed ? 1 : 0);
            update.BindTime("@now", now);
            if (await update.ExecuteAsync() != 1)
            {
                throw new InvalidOperationException($"Account {account.KeyId} is missing.");
            }
        }

        public async ValueTask<BudgetReservation?> GetReservationAsync(string requestId)
        {
            await using var row = Start(store.Sql.GetReservation);
            row.Bind("@id", requestId);
            if (!await row.ReadAsync())
            {
                return null;
            }

            // request_id (column 0) is the primary key the row was found by, so it is requestId itself.
            return new BudgetReservation(
                requestId,
                row.GetString(1),
                row.GetDecimal(2),
                Enum.Parse<ReservationState>(row.GetString(3), ignoreCase: true),
                row.IsDBNull(4) ? null : row.GetDecimal(4),
                row.IsDBNull(5) ? null : row.GetDecimal(5),
                DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(6)),
                DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(7)));
        }

        public async ValueTask InsertReservationAsync(BudgetReservation reservation)
        {
            await using var insert = Start(store.Sql.InsertReservation);
            insert.Bind("@id", reservation.RequestId);
            insert.Bind("@key", reservation.KeyId);
            insert.Bind("@amount", reservation.Amount);
            insert.Bind("@state", StateName(reservation.State));
            insert.Bind("@charged", reservation.Charged);
            insert.Bind("@reported", reservation.ReportedCost);
            insert.BindTime("@created", reservation.CreatedAt);
            insert.BindTime("@expires", reservation.ExpiresAt);
            await insert.ExecuteAsync();
        }

        public async ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
        {
            await using var update = Start(store.Sql.SaveReservation);
            update.Bind("@id", reservation.RequestId);
            update.Bind("@amount", reservation.Amount);
            update.Bind("@state", StateName(reservation.State));
            update.Bind("@charged", reservation.Charged);
            update.Bind("@reported", reservation.ReportedCost);
            update.BindTime("@now", now);
            if (await update.ExecuteAsync() != 1)
            {
                throw new InvalidOperationException($"Reservation {reservation.RequestId} is missing.");
            }
        }

        public async ValueTask<BudgetEntry?> FindByReferenceAsync(string reference)
        {
            await using var row = Start(store.Sql.FindByReference);
            row.Bind("@reference", reference);
            return await row.ReadAsync() ? ReadEntry(row) : null;
        }

        public async ValueTask AppendAsync(BudgetEntry entry)
        {
            await using var insert = Start(store.Sql.Append(1));
            BindEntry(insert, 0, entry);
            await insert.ExecuteAsync();
        }

        public async ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries)
        {
            // One INSERT for all: each statement is a round through the driver, and a settle writes up to four entries.
            await using var insert = Start(store.Sql.Append(entries.Count));
            for (var row = 0; row < entries.Count; row++)
            {
                BindEntry(insert, row, entries[row]);
            }

            await insert.ExecuteAsync();
        }

        public async ValueTask WriteOutboxAsync(string requestId, string record)
        {
            await using var insert = Start(store.Sql.WriteOutbox);
            insert.Bind("@id", requestId);
            insert.Bind("@record", record);
            await insert.ExecuteAsync();
        }

        public async ValueTask DeleteOutboxAsync(string requestId)
        {
            await using var delete = Start(store.Sql.DeleteOutbox);
            delete.Bind("@id", requestId);
            await delete.ExecuteAsync();
        }

        /// <summary>Binds row <paramref name="row"/> of <see cref="Statements.Append"/>, in <see cref="EntryParameters"/>'s order.</summary>
        private void BindEntry(SqlStatement insert, int row, BudgetEntry entry)
        {
            var names = store.Sql.EntryParameterNames(row);
            insert.Bind(names[0], entry.KeyId);
            insert.Bind(names[1], KindName(entry.Kind));
            insert.Bind(names[2], entry.Amount);
            insert.Bind(names[3], entry.RequestId);
            insert.Bind(names[4], entry.Reference);
            insert.Bind(names[5], entry.ReportedCost);
            insert.BindTime(names[6], entry.At);
        }

        /// <summary>The session's statement, started for <paramref name="sql"/>; ended (disposed) before the next.</summary>
        private SqlStatement Start(string sql) => statement.Start(sql);
    }
}
