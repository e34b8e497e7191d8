using System.Data.Common;
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

    /// <inheritdoc />
    public virtual async Task<T> RunAsync<T>(Func<ILedgerSession, Task<T>> work, CancellationToken cancellationToken)
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
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
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
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(ReadEntry(reader));
        }

        return entries;
    }

    /// <summary>
    /// A session over a transaction a subclass began itself (one that batches units, say), running its
    /// statements through <paramref name="prepared"/> when given, so they are parsed once per connection.
    /// </summary>
    protected ILedgerSession CreateSession(DbConnection connection, DbTransaction transaction, PreparedCommands? prepared) =>
        new Session(this, connection, transaction, prepared, CancellationToken.None);

    private Statements? _sql;

    /// <summary>The session's statements, built once per store (their text depends only on the table names and the lock clause).</summary>
    private Statements Sql => _sql ??= new Statements(this);

    // The most entries one operation appends at once (a settle out of a lease: four).
    private const int MaxEntriesAtOnce = 8;

    private static readonly string[] EntryParameters = ["key", "kind", "amount", "request", "reference", "reported", "at"];

    private const string EntryColumns = "seq, key_id, kind, amount, request_id, reference, reported_cost, at";

    private static BudgetEntry ReadEntry(DbDataReader reader) => new(
        Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
        reader.GetString(1),
        Enum.Parse<BudgetEntryKind>(reader.GetString(2)),
        reader.GetDecimal(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetDecimal(6),
        DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(7), CultureInfo.InvariantCulture)));

    private static void AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private static string StateName(ReservationState state) => state.ToString().ToLowerInvariant();

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

    private sealed class Session(SqlLedgerStore store, DbConnection connection, DbTransaction transaction, PreparedCommands? prepared, CancellationToken cancellationToken) : ILedgerSession
    {
        public async Task<LedgerAccount?> GetAccountAsync(string keyId)
        {
            await using var lease = Command(
                store.Sql.GetAccount,
                ("@key", keyId));
            await using var reader = await lease.Command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            return new LedgerAccount(
                reader.GetString(0),
                reader.GetDecimal(1),
                reader.GetDecimal(2),
                reader.GetDecimal(3),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture) != 0);
        }

        public async Task<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now)
        {
            await using (var lease = Command(
                store.Sql.CreateAccount,
                ("@key", keyId), ("@zero", 0m), ("@now", now.ToUnixTimeMilliseconds())))
            {
                await lease.Command.ExecuteNonQueryAsync(cancellationToken);
            }

            return await GetAccountAsync(keyId) ?? throw new InvalidOperationException("The account just created is missing.");
        }

        public async Task SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
        {
            await using var lease = Command(
                store.Sql.SaveAccount,
                ("@key", account.KeyId), ("@balance", account.Balance), ("@reserved", account.Reserved), ("@free", account.FreeCredit),
                ("@closed", account.Closed ? 1 : 0), ("@now", now.ToUnixTimeMilliseconds()));
            if (await lease.Command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException($"Account {account.KeyId} is missing.");
            }
        }

        public async Task<BudgetReservation?> GetReservationAsync(string requestId)
        {
            await using var lease = Command(
                store.Sql.GetReservation,
                ("@id", requestId));
            await using var reader = await lease.Command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            return new BudgetReservation(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetDecimal(2),
                Enum.Parse<ReservationState>(reader.GetString(3), ignoreCase: true),
                reader.IsDBNull(4) ? null : reader.GetDecimal(4),
                reader.IsDBNull(5) ? null : reader.GetDecimal(5),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture)),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(7), CultureInfo.InvariantCulture)));
        }

        public async Task InsertReservationAsync(BudgetReservation reservation)
        {
            await using var lease = Command(
                store.Sql.InsertReservation,
                ("@id", reservation.RequestId), ("@key", reservation.KeyId), ("@amount", reservation.Amount), ("@state", StateName(reservation.State)),
                ("@charged", reservation.Charged), ("@reported", reservation.ReportedCost),
                ("@created", reservation.CreatedAt.ToUnixTimeMilliseconds()), ("@expires", reservation.ExpiresAt.ToUnixTimeMilliseconds()));
            await lease.Command.ExecuteNonQueryAsync(cancellationToken);
        }

        public async Task SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
        {
            await using var lease = Command(
                store.Sql.SaveReservation,
                ("@id", reservation.RequestId), ("@amount", reservation.Amount), ("@state", StateName(reservation.State)), ("@charged", reservation.Charged),
                ("@reported", reservation.ReportedCost), ("@now", now.ToUnixTimeMilliseconds()));
            if (await lease.Command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException($"Reservation {reservation.RequestId} is missing.");
            }
        }

        public async Task<BudgetEntry?> FindByReferenceAsync(string reference)
        {
            await using var lease = Command(
                store.Sql.FindByReference, ("@reference", reference));
            await using var reader = await lease.Command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadEntry(reader) : null;
        }

        public Task AppendAsync(BudgetEntry entry) => AppendAsync([entry]);

        public async Task AppendAsync(IReadOnlyList<BudgetEntry> entries)
        {
            // One INSERT for all: each statement is a round through the driver, and a settle writes up to four entries.
            var parameters = new (string Name, object? Value)[entries.Count * EntryParameters.Length];
            for (var row = 0; row < entries.Count; row++)
            {
                var entry = entries[row];
                object?[] values = [entry.KeyId, entry.Kind.ToString(), entry.Amount, entry.RequestId, entry.Reference, entry.ReportedCost, entry.At.ToUnixTimeMilliseconds()];
                var names = store.Sql.EntryParameterNames(row);
                for (var column = 0; column < values.Length; column++)
                {
                    parameters[(row * values.Length) + column] = (names[column], values[column]);
                }
            }

            await using var lease = Command(store.Sql.Append(entries.Count), parameters);
            await lease.Command.ExecuteNonQueryAsync(cancellationToken);
        }

        private CommandLease Command(string sql, params (string Name, object? Value)[] parameters)
        {
            var cached = prepared?.Get(sql);
            var command = cached ?? connection.CreateCommand();
            command.Transaction = transaction;
            if (cached is null)
            {
                command.CommandText = sql;
            }

            // A kept command keeps its parameters from its last use (the same statement, so the same names in the same
            // order): only their values change. Names carry their prefix so that SQLite finds each in one lookup.
            var bound = command.Parameters;
            if (cached is not null && bound.Count == parameters.Length)
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    bound[i].Value = parameters[i].Value ?? DBNull.Value;
                }
            }
            else
            {
                bound.Clear();
                foreach (var (name, value) in parameters)
                {
                    AddParameter(command, name, value);
                }
            }

            return new CommandLease(command, owned: cached is null);
        }
    }
}
