using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The embedded ledger store: one SQLite file in WAL mode, written by one writer per store with
/// group commit. Units of work queue up; the writer takes every unit waiting, runs them one after
/// another inside one <c>BEGIN IMMEDIATE</c> transaction over its own connection, and commits once. A unit
/// that finds nothing waiting and no batch running is a batch of one on its caller's thread.
/// </summary>
/// <remarks>
/// <para>
/// Why group commit: SQLite admits one writer per file, so units are serialized anyway, and each
/// commit writes the pages it dirtied to the WAL. One transaction per unit (a reservation, a settle)
/// capped a relay at a few hundred settled requests per second under concurrency, all of it waiting
/// in line for the file (see bench/README.md). A batch writes each dirty page once for all its units.
/// </para>
/// <para>
/// What does not change: units still run strictly one after another and each sees every earlier
/// unit's writes, so the money rules in <see cref="BudgetLedger"/> hold exactly as with one
/// transaction per unit. <c>BEGIN IMMEDIATE</c> takes the file's write lock before the first read, so
/// another process on the same file cannot interleave either. A unit that throws fails alone: the batch
/// rolls back and runs again without it. A caller learns its result only after the commit that made it
/// durable. The writer keeps its statements prepared (<see cref="SqliteKeptStatements"/>).
/// Amounts are stored as exact decimal text, never as floating point.
/// </para>
/// </remarks>
internal sealed class SqliteLedgerStore : SqlLedgerStore, IDisposable, IAsyncDisposable
{
    // A bound keeps one batch's transaction (and the wait of its first unit) short.
    private const int MaxBatch = 128;

    // A checkpoint copies the WAL into the database file and syncs it: milliseconds, during which every queued
    // reservation would wait if the writer did it. SQLite's default does it inside whichever commit passes 1,000
    // WAL pages (every ~80 relayed requests). Here a second connection does the bulk of it in the background after
    // this many commits; the writer then finishes it (the few frames written meanwhile, so that the WAL can start
    // over) at a moment when nothing is queued, or regardless once MaxCommitsBetweenCheckpoints have passed.
    // Each checkpoint syncs the WAL and the database file (~1.4 ms per fsync on the bench machine) whatever it
    // copies, and the same few pages (the account, the ends of the tables and indexes) are rewritten by every
    // commit, so fewer, larger checkpoints copy barely more: one per 1,024 commits instead of 128 took a lone
    // reserve + settle from ~370 to ~250 µs (bench/README.md). The WAL then peaks at ~25 MB between checkpoints.
    private const int CommitsPerCheckpoint = 1024;
    // The bound holds when the background pass is slow (a loaded disk): 2,048 commits of ~5 pages keep the WAL near
    // 40 MB, under the 64 MB journal_size_limit the writer sets; 4,096 let it pass 80 MB under parallel load.
    private const int MaxCommitsBetweenCheckpoints = 2048;

    // The ledger's schema, by version (SchemaMigrations). Every page a commit touches is written to the WAL, so the tables keep to as few B-trees as they
    // can: accounts and reservations are keyed by their text id alone (WITHOUT ROWID: no second index),
    // and entries number themselves by rowid, which only grows because entries are never deleted
    // (AUTOINCREMENT would write sqlite_sequence on every insert as well).
    internal static readonly SchemaMigrations Migrations = new("ledger", """
        CREATE TABLE IF NOT EXISTS budget_accounts (
            key_id TEXT NOT NULL PRIMARY KEY,
            balance TEXT NOT NULL,
            reserved TEXT NOT NULL,
            free_credit TEXT NOT NULL,
            closed INTEGER NOT NULL,
            updated_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS budget_reservations (
            request_id TEXT NOT NULL PRIMARY KEY,
            key_id TEXT NOT NULL,
            amount TEXT NOT NULL,
            state TEXT NOT NULL,
            charged TEXT NULL,
            reported_cost TEXT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS budget_reservations_open ON budget_reservations (expires_at) WHERE state = 'open';
        CREATE TABLE IF NOT EXISTS budget_entries (
            seq INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount TEXT NOT NULL,
            request_id TEXT NULL,
            reference TEXT NULL,
            reported_cost TEXT NULL,
            at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS budget_entries_key ON budget_entries (key_id, seq);
        CREATE UNIQUE INDEX IF NOT EXISTS budget_entries_reference ON budget_entries (reference) WHERE reference IS NOT NULL;
        CREATE TABLE IF NOT EXISTS usage_outbox (
            seq INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,
            record TEXT NOT NULL);
        """);

    private readonly SchemaOnce<SqliteConnection> _schemaOnce;
    private readonly string _connectionString;
    private readonly Channel<QueuedUnit> _queue = Channel.CreateUnbounded<QueuedUnit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _writer;

    // Held while a batch runs, by the writer or by a caller running its own unit (see RunAsync); whoever holds it
    // alone uses _connection and the checkpoint counters.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private Writer? _connection;
    private bool _closed;

    // The size of the last batch: above one, units are arriving together, and a unit that ran alone would take the
    // file from a batch that commits many at once, so units queue for the writer until batches are single again.
    private readonly string _pragmas;
    private volatile int _lastBatchSize;
    private int _commitsSinceCheckpoint;
    private Task? _backgroundCheckpoint;

    /// <summary>
    /// Creates a store over the SQLite file at <paramref name="path"/> (created when missing). With
    /// <paramref name="fullSync"/>, every commit is synced to disk (<c>synchronous = FULL</c>), else WAL's
    /// <c>synchronous = NORMAL</c>: a process crash loses nothing committed either way, a power loss may lose the last
    /// commits under NORMAL (<see cref="BudgetStorageOptions.SqliteFullSync"/>).
    /// </summary>
    public SqliteLedgerStore(string path, bool fullSync = false)
    {
        _connectionString = SqliteFile.ConnectionString(path);
        _pragmas = fullSync ? "PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;" : "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;";
        _schemaOnce = new(OpenNewAsync, CreateSchemaAsync);
        _writer = new Lazy<Task>(() => Task.Run(WriteAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <inheritdoc />
    protected override string LockClause => string.Empty;

    /// <inheritdoc />
    protected override string Table(string name) => name;

    /// <inheritdoc />
    /// <remarks>Microsoft.Data.Sqlite's async methods run synchronously and return completed tasks.</remarks>
    protected override bool ExecutesSynchronously => true;

    /// <inheritdoc />
    /// <remarks>
    /// A unit that finds nothing queued and no batch running, while units come one at a time, runs at once on the
    /// caller's thread as a batch of one: the same transaction and commit, without the two thread hops to the writer
    /// and back (each a context switch, which on a virtual machine costs about as much as the unit's SQL). Otherwise
    /// it queues for the writer, whose batches commit many units at once.
    /// </remarks>
    public override Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var unit = new QueuedUnit<T>(work, cancellationToken);
        if (_lastBatchSize <= 1 && !_queue.Reader.TryPeek(out _) && _writeGate.Wait(0))
        {
            return RunAloneAsync(unit);
        }

        if (!_queue.Writer.TryWrite(unit))
        {
            throw new ObjectDisposedException(nameof(SqliteLedgerStore));
        }

        _ = _writer.Value;
        return unit.Result;
    }

    private async Task<T> RunAloneAsync<T>(QueuedUnit<T> unit)
    {
        var handedOff = false;
        try
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            handedOff = await RunBatchAsync([unit], finishCheckpointLater: true).ConfigureAwait(false);
        }
        finally
        {
            if (!handedOff)
            {
                _writeGate.Release();
            }
        }

        return await unit.Result.ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        _schemaOnce.OpenAsync(cancellationToken);

    /// <summary>The <c>PRAGMA synchronous</c> level (1 NORMAL, 2 FULL) of a connection as this store opens them.</summary>
    internal async Task<long> ReadSynchronousAsync()
    {
        await using var connection = await OpenNewAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private ValueTask<SqliteConnection> OpenNewAsync(CancellationToken cancellationToken) =>
        SqliteFile.OpenAsync(_connectionString, _pragmas, cancellationToken);

    /// <inheritdoc />
    /// <remarks>For the base class's one-unit transactions; the writer begins its batches by statement (<see cref="Writer"/>).</remarks>
    protected override Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken before the first read.
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    /// <inheritdoc />
    protected override bool IsConflict(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED or SQLitePCL.raw.SQLITE_CONSTRAINT };

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_queue.Writer.TryComplete())
        {
            return;
        }

        if (_writer.IsValueCreated || _queue.Reader.TryPeek(out _))
        {
            // Units already queued still run and commit: a settle that was accepted is not dropped (also one
            // queued by a caller that had not yet started the writer when disposal began).
            await _writer.Value.ConfigureAwait(false);
        }

        // A caller running its own unit finishes first; later ones find the store closed.
        await _writeGate.WaitAsync().ConfigureAwait(false);
        _closed = true;
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }

        _writeGate.Release();

        if (_backgroundCheckpoint is { } checkpoint)
        {
            await checkpoint.ConfigureAwait(false);
        }

        // Pooled connections keep the file open; release them so the file can be moved or deleted.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }
    }

    private async Task WriteAsync()
    {
        var batch = new List<QueuedUnit>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _writeGate.WaitAsync().ConfigureAwait(false);
            try
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var unit))
                {
                    if (!unit.CancelIfRequested())
                    {
                        batch.Add(unit);
                    }
                }

                if (batch.Count > 0)
                {
                    await RunBatchAsync(batch).ConfigureAwait(false);
                }
            }
            finally
            {
                _writeGate.Release();
            }
        }
    }

    /// <summary>
    /// Runs one batch in one transaction; the caller holds <see cref="_writeGate"/>. With
    /// <paramref name="finishCheckpointLater"/>, a checkpoint the writer must finish now (it syncs the file: milliseconds)
    /// does not hold up the caller, whose unit is committed: it runs on the thread pool, which then releases the gate
    /// (the next unit queues for the writer meanwhile), and true says the gate was handed off.
    /// </summary>
    private async Task<bool> RunBatchAsync(IReadOnlyList<QueuedUnit> batch, bool finishCheckpointLater = false)
    {
        _lastBatchSize = batch.Count;
        try
        {
            if (_connection is null)
            {
                var connection = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
                await ExecuteAsync(connection, "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;", CancellationToken.None).ConfigureAwait(false);
                var statements = new SqliteKeptStatements((SqliteConnection)connection);
                _connection = new Writer(connection, statements, new WriteBehindSession(CreateSession(statements)));
            }

            await CommitBatchAsync(_connection, batch).ConfigureAwait(false);
            _commitsSinceCheckpoint++;
            if (finishCheckpointLater && CheckpointToFinish)
            {
                _ = Task.Run(FinishCheckpointAndReleaseAsync);
                return true;
            }

            await CheckpointIfDueAsync(_connection.Connection).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // The batch's transaction could not begin or commit: nothing of it was written.
            foreach (var unit in batch)
            {
                unit.Fail(exception);
            }

            await DropConnectionAsync().ConfigureAwait(false);
        }

        return false;
    }

    private async Task FinishCheckpointAndReleaseAsync()
    {
        try
        {
            await CheckpointIfDueAsync(_connection!.Connection).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The units are committed; a checkpoint that broke the connection leaves only the connection to replace.
            await DropConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>A fresh connection for the next batch, in case this one is what broke.</summary>
    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    /// <summary>The background checkpoint is done and nothing is queued, or the WAL has grown too long to wait longer.</summary>
    private bool CheckpointToFinish =>
        _backgroundCheckpoint is { } background
        && ((background.IsCompleted && !_queue.Reader.TryPeek(out _)) || _commitsSinceCheckpoint >= MaxCommitsBetweenCheckpoints);

    /// <summary>Runs after every commit of the writer: starts, or finishes, a checkpoint when one is due.</summary>
    private async Task CheckpointIfDueAsync(DbConnection writer)
    {
        if (_backgroundCheckpoint is null)
        {
            if (_commitsSinceCheckpoint >= CommitsPerCheckpoint)
            {
                _backgroundCheckpoint = Task.Run(async () =>
                {
                    try
                    {
                        await using var connection = await OpenAsync(CancellationToken.None).ConfigureAwait(false);
                        await CheckpointAsync(connection).ConfigureAwait(false);
                    }
                    catch (SqliteException)
                    {
                        // The writer's own checkpoint below still runs; it then has more to copy.
                    }
                });
            }

            return;
        }

        if (CheckpointToFinish)
        {
            await _backgroundCheckpoint.ConfigureAwait(false);
            _backgroundCheckpoint = null;
            _commitsSinceCheckpoint = 0;

            // Only what was committed since the background checkpoint began is left to copy.
            await CheckpointAsync(writer).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies the WAL into the database file (PASSIVE: readers, in this process or another, are not waited
    /// for); once all of it is copied, the next transaction starts the WAL over from its beginning.
    /// </summary>
    private static async Task CheckpointAsync(DbConnection connection)
    {
        try
        {
            await ExecuteAsync(connection, "PRAGMA wal_checkpoint(PASSIVE);", CancellationToken.None).ConfigureAwait(false);
        }
        catch (SqliteException)
        {
            // Busy or interrupted: the next one catches up; the WAL only grows meanwhile.
        }
    }

    private async Task CommitBatchAsync(Writer writer, IReadOnlyList<QueuedUnit> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            var failed = false;
            try
            {
                writer.Begin();
                try
                {
                    var session = writer.Session;
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var unit = batch[i];
                        if (unit.Failed)
                        {
                            continue;
                        }

                        try
                        {
                            await unit.RunAsync(session).ConfigureAwait(false);
                        }
                        catch (Exception exception)
                        {
                            // Rare (a bug, a broken file): undo the whole batch and run it again without this unit,
                            // rather than pay for a savepoint around every unit on the hot path.
                            unit.Hold(exception);
                            failed = true;
                            break;
                        }
                    }

                    if (!failed)
                    {
                        // The account and lease rows the batch's units updated, written once each (WriteBehindSession).
                        await session.FlushAsync().ConfigureAwait(false);
                        writer.Commit();
                        break;
                    }
                }
                finally
                {
                    writer.RollBackIfOpen();
                }
            }
            catch (DbException exception) when (attempt < MaxAttempts && IsConflict(exception))
            {
                // Begin or commit lost to another process on the file; the whole batch rolled back.
                failed = true;
            }

            // The transaction rolled back: every unit runs again from a fresh read.
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Reset();
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Publish();
        }
    }

    private static async Task CreateSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
        await Migrations.ApplyAsync(connection, SchemaDialect.Sqlite, cancellationToken);
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The writer's own connection and its statements, kept open between batches.</summary>
    /// <remarks>
    /// The writer begins and ends its transactions itself, with <c>BEGIN IMMEDIATE</c>, <c>COMMIT</c> and <c>ROLLBACK</c> as
    /// kept statements, rather than through <see cref="SqliteConnection.BeginTransaction(bool)"/>: that one runs
    /// <c>PRAGMA read_uncommitted</c>, <c>BEGIN</c> and later <c>COMMIT</c> each from text on a new command, parsed anew
    /// every time, and registers a rollback hook (~1 KB and a few µs per batch, and a lone settle is a batch). The pragma
    /// matters only to a shared cache, which the writer's connection does not use. The hook makes a command that runs
    /// after SQLite rolled a transaction back on its own (after a full disk or an I/O error) throw instead of running
    /// outside any transaction. Here no statement runs after one has thrown: the units (the money rules in
    /// <see cref="BudgetLedger"/>) do not catch the store's errors, and a unit that throws ends its batch's run
    /// (<see cref="CommitBatchAsync"/>); a COMMIT after such a rollback fails in SQLite itself; and the rollback below
    /// asks SQLite whether a transaction is still open rather than assuming it.
    /// </remarks>
    private sealed class Writer(DbConnection connection, SqliteKeptStatements statements, WriteBehindSession session) : IAsyncDisposable
    {
        public DbConnection Connection { get; } = connection;

        /// <summary>
        /// The session every batch runs in: its transaction is begun by statement (no DbTransaction to hand it), so it
        /// needs nothing but the connection's statements, and one serves all batches. It keeps the account and
        /// reservation rows the batch touches and writes each updated one once, before the commit.
        /// </summary>
        public WriteBehindSession Session { get; } = session;

        /// <summary>Begins the batch's transaction; IMMEDIATE takes the write lock before the first read.</summary>
        public void Begin()
        {
            Session.Clear();
            statements.Run("BEGIN IMMEDIATE;");
        }

        public void Commit() => statements.Run("COMMIT;");

        /// <summary>Rolls back the transaction unless it was committed or SQLite rolled it back itself.</summary>
        public void RollBackIfOpen()
        {
            // Whatever the rolled-back units kept is gone with them; committed, nothing is kept anyway.
            Session.Clear();

            // sqlite3_get_autocommit is 0 exactly while a transaction is open.
            if (SQLitePCL.raw.sqlite3_get_autocommit(((SqliteConnection)Connection).Handle) == 0)
            {
                statements.Run("ROLLBACK;");
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Statements are finalized before their connection closes.
            statements.Close();
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A unit of work waiting for the writer, and what became of it in the current batch.</summary>
    private abstract class QueuedUnit
    {
        /// <summary>The unit threw in an earlier run of this batch; it stays out of the batch's reruns.</summary>
        public abstract bool Failed { get; }

        /// <summary>Cancels the caller's task when its token fired while the unit waited; true if so.</summary>
        public abstract bool CancelIfRequested();

        public abstract Task RunAsync(ILedgerSession session);

        /// <summary>Keeps the error the unit threw, for <see cref="Publish"/>.</summary>
        public abstract void Hold(Exception exception);

        /// <summary>Forgets the result of a batch that rolled back (an error the unit threw is kept).</summary>
        public abstract void Reset();

        /// <summary>Hands the caller its result or error: only after the commit.</summary>
        public abstract void Publish();

        /// <summary>Hands the caller the error that stopped its whole batch.</summary>
        public abstract void Fail(Exception exception);
    }

    private sealed class QueuedUnit<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken) : QueuedUnit
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Result => _completion.Task;

        public override bool CancelIfRequested() => cancellationToken.IsCancellationRequested && _completion.TrySetCanceled(cancellationToken);

        public override async Task RunAsync(ILedgerSession session) => _result = await work(session).ConfigureAwait(false);

        public override bool Failed => _error is not null;

        public override void Hold(Exception exception) => _error = exception;

        public override void Reset() => _result = default;

        public override void Publish()
        {
            if (_error is not null)
            {
                _completion.TrySetException(_error);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}
