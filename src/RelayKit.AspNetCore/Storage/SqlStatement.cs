using System.Data.Common;
using System.Diagnostics;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// The statement a store is running: started with its SQL, its parameters bound by name (in the same order on every
/// use of the same SQL), then run, then its rows read. One object serves a unit of work (a ledger session, a batch of
/// usage records), reused by each of its statements in turn and ended (disposed) before the next starts, so a
/// statement allocates nothing of its own.
/// </summary>
/// <remarks>
/// Two implementations: <see cref="AdoSqlStatement"/> over any ADO.NET provider (PostgreSQL, and SQLite's reads), and
/// <see cref="SqliteKeptStatements"/>, SQLite's writes on the request path (the ledger writer, usage batches) on
/// SQLite's own API.
/// </remarks>
internal abstract class SqlStatement : IAsyncDisposable
{
    /// <summary>Starts running <paramref name="sql"/>; the previous statement must have been ended.</summary>
    public abstract SqlStatement Start(string sql);

    public abstract void Bind(string name, string? value);

    /// <summary>Binds an amount: stored as exact decimal text, never as floating point.</summary>
    public abstract void Bind(string name, decimal? value);

    public abstract void Bind(string name, long value);

    public abstract void Bind(string name, long? value);

    /// <summary>Binds a time as stored: Unix milliseconds.</summary>
    public void BindTime(string name, DateTimeOffset time) => Bind(name, time.ToUnixTimeMilliseconds());

    /// <summary>Runs a statement that returns no rows; returns how many rows it changed.</summary>
    public abstract ValueTask<int> ExecuteAsync();

    /// <summary>Moves to the statement's next row (the first call runs it); false when there is none.</summary>
    public abstract ValueTask<bool> ReadAsync();

    public abstract string GetString(int ordinal);

    /// <summary>Reads an amount stored as decimal text.</summary>
    public abstract decimal GetDecimal(int ordinal);

    public abstract long GetInt64(int ordinal);

    public abstract bool IsDBNull(int ordinal);

    /// <summary>Ends the statement; the object is ready for the next <see cref="Start"/>.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A <see cref="SqlStatement"/> over an ADO.NET provider: a command per statement, disposed when it ends.</summary>
/// <param name="connection">The open connection the statements run on.</param>
/// <param name="transaction">The transaction they run in, if one was begun through ADO.NET.</param>
/// <param name="synchronous">
/// Whether to call the provider's synchronous methods: true where its async methods do the work synchronously anyway
/// and only wrap the result in a task (Microsoft.Data.Sqlite, whose docs recommend the synchronous API); false where
/// the I/O is truly asynchronous (Npgsql).
/// </param>
/// <param name="cancellationToken">Cancels the statements the object runs.</param>
internal sealed class AdoSqlStatement(DbConnection connection, DbTransaction? transaction, bool synchronous, CancellationToken cancellationToken) : SqlStatement
{
    private DbCommand? _command;
    private DbDataReader? _reader;

    public override SqlStatement Start(string sql)
    {
        if (_command is not null)
        {
            throw new InvalidOperationException("A session runs one statement at a time.");
        }

        _command = connection.CreateCommand();
        _command.Transaction = transaction;
        _command.CommandText = sql;
        return this;
    }

    public override void Bind(string name, string? value) => Add(name, value);

    public override void Bind(string name, decimal? value) => Add(name, value);

    public override void Bind(string name, long value) => Add(name, value);

    public override void Bind(string name, long? value) => Add(name, value);

    public override ValueTask<int> ExecuteAsync()
    {
        if (!synchronous)
        {
            return new(_command!.ExecuteNonQueryAsync(cancellationToken));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new(_command!.ExecuteNonQuery());
    }

    public override async ValueTask<bool> ReadAsync()
    {
        if (_reader is null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _reader = synchronous ? _command!.ExecuteReader() : await _command!.ExecuteReaderAsync(cancellationToken);
        }

        return synchronous ? _reader.Read() : await _reader.ReadAsync(cancellationToken);
    }

    // Columns are read by ordinal with typed getters: GetValue would box every integer.
    public override string GetString(int ordinal) => _reader!.GetString(ordinal);

    public override decimal GetDecimal(int ordinal) => _reader!.GetDecimal(ordinal);

    public override long GetInt64(int ordinal) => _reader!.GetInt64(ordinal);

    public override bool IsDBNull(int ordinal) => _reader!.IsDBNull(ordinal);

    public override async ValueTask DisposeAsync()
    {
        var reader = _reader;
        var command = _command;
        _reader = null;
        _command = null;
        if (reader is not null)
        {
            await reader.DisposeAsync();
        }

        if (command is not null)
        {
            await command.DisposeAsync();
        }
    }

    private void Add(string name, object? value)
    {
        Debug.Assert(_reader is null, "parameters are bound before the statement runs");
        var parameter = _command!.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        _command.Parameters.Add(parameter);
    }
}
