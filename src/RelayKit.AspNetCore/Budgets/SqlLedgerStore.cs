using System.Data.Common;
using System.Diagnostics;
using System.Globalization;

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

    /// <summary>
    /// Whether statements run through the provider's synchronous methods. True where its async methods do the work
    /// synchronously anyway and only wrap the result in a task (Microsoft.Data.Sqlite, whose docs recommend the
    /// synchronous API): the same work, without a task per statement. False where the I/O is truly asynchronous (Npgsql).
    /// </summary>
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
                var result = await work(new Session(this, connection, transaction, null, cancellationToken));
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
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT request_id FROM {Table("budget_reservations")} WHERE state = 'open' AND expires_at <= @now ORDER BY expires_at LIMIT @limit";
        AddParameter(command, "now", now.ToUnixTimeMilliseconds());
        AddParameter(command, "limit", limit);
        var ids = new List<string>();
        await using var reader = await ExecuteReaderAsync(command, cancellationToken);
        while (await ReadAsync(reader, cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT {EntryColumns} FROM {Table("budget_entries")} WHERE key_id = @key AND seq > @after ORDER BY seq LIMIT @limit";
        AddParameter(command, "key", keyId);
        AddParameter(command, "after", afterSequence);
        AddParameter(command, "limit", limit);
        var entries = new List<BudgetEntry>();
        await using var reader = await ExecuteReaderAsync(command, cancellationToken);
        while (await ReadAsync(reader, cancellationToken))
        {
            entries.Add(ReadEntry(reader));
        }

        return entries;
    }

    /// <summary>
    /// A session over a transaction a subclass began itself (one that batches units, say), running its
    /// statements through <paramref name="prepared"/> when given, so they are parsed once per connection.
    /// <paramref name="transaction"/> is null when the subclass began the transaction with a statement of its own.
    /// </summary>
    protected ILedgerSession CreateSession(DbConnection connection, DbTransaction? transaction, PreparedCommands? prepared) =>
        new Session(this, connection, transaction, prepared, CancellationToken.None);

    private Statements? _sql;

    /// <summary>The session's statements, built once per store (their text depends only on the table names and the lock clause).</summary>
    private Statements Sql => _sql ??= new Statements(this);

    // The most entries one operation appends at once (a settle out of a lease: four).
    private const int MaxEntriesAtOnce = 8;

    private static readonly string[] EntryParameters = ["key", "kind", "amount", "request", "reference", "reported", "at"];

    private const string EntryColumns = "seq, key_id, kind, amount, request_id, reference, reported_cost, at";

    // Columns are read by ordinal with typed getters: GetValue would box every integer.
    private static BudgetEntry ReadEntry(DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        Enum.Parse<BudgetEntryKind>(reader.GetString(2)),
        reader.GetDecimal(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetDecimal(6),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)));

    private ValueTask<int> ExecuteNonQueryAsync(DbCommand command, CancellationToken cancellationToken)
    {
        if (!ExecutesSynchronously)
        {
            return new(command.ExecuteNonQueryAsync(cancellationToken));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new(command.ExecuteNonQuery());
    }

    private ValueTask<DbDataReader> ExecuteReaderAsync(DbCommand command, CancellationToken cancellationToken)
    {
        if (!ExecutesSynchronously)
        {
            return new(command.ExecuteReaderAsync(cancellationToken));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new(command.ExecuteReader());
    }

    private ValueTask<bool> ReadAsync(DbDataReader reader, CancellationToken cancellationToken) =>
        ExecutesSynchronously ? new(reader.Read()) : new(reader.ReadAsync(cancellationToken));

    private static void AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

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

    /// <summary>The text of each statement a session runs, also the key under which <see cref="PreparedCommands"/> keeps it.</summary>
    private sealed class Statements(SqlLedgerStore store)
    {
        public string GetAccount { get; } = $"SELECT key_id, balance, reserved, free_credit, closed FROM {store.Table("budget_accounts")} WHERE key_id = @key{store.LockClause}";

        public string CreateAccount { get; } = $"INSERT INTO {store.Table("budget_accounts")} (key_id, balance, reserved, free_credit, closed, updated_at) VALUES (@key, @zero, @zero, @zero, 0, @now) ON CONFLICT (key_id) DO NOTHING";

        public string SaveAccount { get; } = $"UPDATE {store.Table("budget_accounts")} SET balance = @balance, reserved = @reserved, free_credit = @free, closed = @closed, updated_at = @now WHERE key_id = @key";

        public string GetReservation { get; } = $"SELECT request_id, key_id, amount, state, charged, reported_cost, created_at, expires_at FROM {store.Table("budget_reservations")} WHERE request_id = @id{store.LockClause}";

        public string InsertReservation { get; } = $"INSERT INTO {store.Table("budget_reservations")} (request_id, key_id, amount, state, charged, reported_cost, created_at, expires_at, updated_at) VALUES (@id, @key, @amount, @state, @charged, @reported, @created, @expires, @created)";

        public string SaveReservation { get; } = $"UPDATE {store.Table("budget_reservations")} SET amount = @amount, state = @state, charged = @charged, reported_cost = @reported, updated_at = @now WHERE request_id = @id";

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

    private sealed class Session(SqlLedgerStore store, DbConnection connection, DbTransaction? transaction, PreparedCommands? prepared, CancellationToken cancellationToken) : ILedgerSession
    {
        private readonly Statement _statement = new(store, connection, transaction, prepared, cancellationToken);

        public async ValueTask<LedgerAccount?> GetAccountAsync(string keyId)
        {
            await using var statement = Start(store.Sql.GetAccount);
            statement.Bind("@key", keyId);
            await using var reader = await statement.ExecuteReaderAsync();
            if (!await store.ReadAsync(reader, cancellationToken))
            {
                return null;
            }

            // key_id (column 0) is the primary key the row was found by, so it is keyId itself: not read back into a new string.
            return new LedgerAccount(
                keyId,
                reader.GetDecimal(1),
                reader.GetDecimal(2),
                reader.GetDecimal(3),
                reader.GetInt32(4) != 0);
        }

        public async ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now)
        {
            await using (var statement = Start(store.Sql.CreateAccount))
            {
                statement.Bind("@key", keyId);
                statement.Bind("@zero", 0m);
                statement.BindTime("@now", now);
                await statement.ExecuteNonQueryAsync();
            }

            return await GetAccountAsync(keyId) ?? throw new InvalidOperationException("The account just created is missing.");
        }

        public async ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
        {
            await using var statement = Start(store.Sql.SaveAccount);
            statement.Bind("@key", account.KeyId);
            statement.Bind("@balance", account.Balance);
            statement.Bind("@reserved", account.Reserved);
            statement.Bind("@free", account.FreeCredit);
            statement.Bind("@closed", account.Closed ? 1 : 0);
            statement.BindTime("@now", now);
            if (await statement.ExecuteNonQueryAsync() != 1)
            {
                throw new InvalidOperationException($"Account {account.KeyId} is missing.");
            }
        }

        public async ValueTask<BudgetReservation?> GetReservationAsync(string requestId)
        {
            await using var statement = Start(store.Sql.GetReservation);
            statement.Bind("@id", requestId);
            await using var reader = await statement.ExecuteReaderAsync();
            if (!await store.ReadAsync(reader, cancellationToken))
            {
                return null;
            }

            // request_id (column 0) is the primary key the row was found by, so it is requestId itself.
            return new BudgetReservation(
                requestId,
                reader.GetString(1),
                reader.GetDecimal(2),
                Enum.Parse<ReservationState>(reader.GetString(3), ignoreCase: true),
                reader.IsDBNull(4) ? null : reader.GetDecimal(4),
                reader.IsDBNull(5) ? null : reader.GetDecimal(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)));
        }

        public async ValueTask InsertReservationAsync(BudgetReservation reservation)
        {
            await using var statement = Start(store.Sql.InsertReservation);
            statement.Bind("@id", reservation.RequestId);
            statement.Bind("@key", reservation.KeyId);
            statement.Bind("@amount", reservation.Amount);
            statement.Bind("@state", StateName(reservation.State));
            statement.Bind("@charged", reservation.Charged);
            statement.Bind("@reported", reservation.ReportedCost);
            statement.BindTime("@created", reservation.CreatedAt);
            statement.BindTime("@expires", reservation.ExpiresAt);
            await statement.ExecuteNonQueryAsync();
        }

        public async ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
        {
            await using var statement = Start(store.Sql.SaveReservation);
            statement.Bind("@id", reservation.RequestId);
            statement.Bind("@amount", reservation.Amount);
            statement.Bind("@state", StateName(reservation.State));
            statement.Bind("@charged", reservation.Charged);
            statement.Bind("@reported", reservation.ReportedCost);
            statement.BindTime("@now", now);
            if (await statement.ExecuteNonQueryAsync() != 1)
            {
                throw new InvalidOperationException($"Reservation {reservation.RequestId} is missing.");
            }
        }

        public async ValueTask<BudgetEntry?> FindByReferenceAsync(string reference)
        {
            await using var statement = Start(store.Sql.FindByReference);
            statement.Bind("@reference", reference);
            await using var reader = await statement.ExecuteReaderAsync();
            return await store.ReadAsync(reader, cancellationToken) ? ReadEntry(reader) : null;
        }

        public async ValueTask AppendAsync(BudgetEntry entry)
        {
            await using var statement = Start(store.Sql.Append(1));
            BindEntry(statement, 0, entry);
            await statement.ExecuteNonQueryAsync();
        }

        public async ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries)
        {
            // One INSERT for all: each statement is a round through the driver, and a settle writes up to four entries.
            await using var statement = Start(store.Sql.Append(entries.Count));
            for (var row = 0; row < entries.Count; row++)
            {
                BindEntry(statement, row, entries[row]);
            }

            await statement.ExecuteNonQueryAsync();
        }

        /// <summary>Binds row <paramref name="row"/> of <see cref="Statements.Append"/>, in <see cref="EntryParameters"/>'s order.</summary>
        private void BindEntry(Statement statement, int row, BudgetEntry entry)
        {
            var names = store.Sql.EntryParameterNames(row);
            statement.Bind(names[0], entry.KeyId);
            statement.Bind(names[1], KindName(entry.Kind));
            statement.Bind(names[2], entry.Amount);
            statement.Bind(names[3], entry.RequestId);
            statement.Bind(names[4], entry.Reference);
            statement.Bind(names[5], entry.ReportedCost);
            statement.BindTime(names[6], entry.At);
        }

        /// <summary>The session's statement for <paramref name="sql"/>; one at a time, disposed before the next.</summary>
        private Statement Start(string sql) => _statement.Start(sql);

        /// <summary>
        /// The statement a session is running: its command (kept by <see cref="PreparedCommands"/>, or made for this use and
        /// disposed after) and the position of the next parameter to bind. One object per session, reused by each of its
        /// statements in turn, so that a statement costs no allocation of its own for its parameters.
        /// </summary>
        private sealed class Statement(SqlLedgerStore store, DbConnection connection, DbTransaction? transaction, PreparedCommands? prepared, CancellationToken cancellationToken) : IAsyncDisposable
        {
            private DbCommand? _command;
            private bool _owned;
            private int _next;

            public Statement Start(string sql)
            {
                if (_command is not null)
                {
                    throw new InvalidOperationException("A session runs one statement at a time.");
                }

                var kept = prepared?.Get(sql);
                _command = kept ?? connection.CreateCommand();
                _owned = kept is null;
                _next = 0;
                _command.Transaction = transaction;
                if (_owned)
                {
                    _command.CommandText = sql;
                }

                return this;
            }

            /// <summary>Binds a time as stored: Unix milliseconds.</summary>
            public void BindTime(string name, DateTimeOffset time) => Bind(name, time.ToUnixTimeMilliseconds());

            /// <summary>Binds the next parameter; parameters are bound in the order they were first added.</summary>
            public void Bind(string name, object? value)
            {
                // A kept command keeps its parameters from its last use (the same statement, so the same names in the same
                // order): only their values change. Names carry their prefix so that SQLite finds each in one lookup.
                var command = _command!;
                var bound = command.Parameters;
                if (_next < bound.Count)
                {
                    Debug.Assert(bound[_next].ParameterName == name, "parameters are bound in the same order on every use");
                    bound[_next].Value = value ?? DBNull.Value;
                }
                else
                {
                    AddParameter(command, name, value);
                }

                _next++;
            }

            public ValueTask<int> ExecuteNonQueryAsync() => store.ExecuteNonQueryAsync(Bound(), cancellationToken);

            public ValueTask<DbDataReader> ExecuteReaderAsync() => store.ExecuteReaderAsync(Bound(), cancellationToken);

            public ValueTask DisposeAsync()
            {
                var command = _command;
                _command = null;
                return _owned && command is not null ? command.DisposeAsync() : ValueTask.CompletedTask;
            }

            private DbCommand Bound()
            {
                Debug.Assert(_next == _command!.Parameters.Count, "every parameter of the statement is bound");
                return _command;
            }
        }
    }
}
