using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// SQLite statements run on SQLite's own API (SQLitePCLRaw, the library under Microsoft.Data.Sqlite) over an open
/// connection: each SQL text is prepared once and kept until <see cref="Close"/>, and a use binds its values
/// straight into the prepared statement. For the writes on the request path: the ledger writer's (kept for the
/// writer connection's life) and each batch of usage records.
/// </summary>
/// <remarks>
/// <para>
/// Why not Microsoft.Data.Sqlite's commands, which the rest of RelayKit uses: every metered request's settle runs
/// here (seven statements, ~50 values), and so does its usage record (21 values). Through <see cref="SqliteCommand"/>
/// each value cost a parameter binder object, its name encoded to UTF-8 again and looked up in the statement, a boxed
/// value and, for an amount, a custom-format conversion to text; each statement a data reader and a stopwatch. That
/// was ~9 KB of a reserve and settle's ~11 KB, and a good part of the ledger's CPU per request (bench/README.md). Here
/// a parameter's position is looked up once per statement text, and values are written as UTF-8 into a stack buffer
/// (a pooled one when long) that SQLite copies.
/// </para>
/// <para>
/// What is stored does not change: amounts are the same decimal text Microsoft.Data.Sqlite writes (a test compares
/// the two), and errors surface as the same <see cref="SqliteException"/> with SQLite's result code, so the store
/// tells a busy file or a taken key from other failures as before.
/// </para>
/// </remarks>
internal sealed class SqliteKeptStatements(SqliteConnection connection) : SqlStatement
{
    // Longer values (a logged prompt; none of the ledger's: ids, names and amounts are short) go through a pooled buffer.
    private const int StackBytes = 256;

    private readonly sqlite3 _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
    private readonly Dictionary<string, Kept> _kept = new(StringComparer.Ordinal);
    private Kept? _current;
    private int _next;
    private bool _stepped;

    public override SqlStatement Start(string sql)
    {
        if (_current is not null)
        {
            throw new InvalidOperationException("A session runs one statement at a time.");
        }

        if (!_kept.TryGetValue(sql, out var kept))
        {
            Check(raw.sqlite3_prepare_v3(_db, sql, (uint)raw.SQLITE_PREPARE_PERSISTENT, out var statement));
            kept = new Kept(statement);
            _kept.Add(sql, kept);
        }

        _current = kept;
        _next = 0;
        _stepped = false;
        return this;
    }

    /// <summary>Runs a statement without parameters or rows (BEGIN, COMMIT, ROLLBACK).</summary>
    public void Run(string sql)
    {
        Start(sql);
        try
        {
            Step();
        }
        finally
        {
            End();
        }
    }

    public override void Bind(string name, string? value)
    {
        var index = IndexOf(name);
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(_current!.Statement, index));
            return;
        }

        // A short value fits the stack buffer at UTF-8's worst case; a longer one (a logged prompt) is measured exactly.
        var length = value.Length <= StackBytes / 3 ? value.Length * 3 : Encoding.UTF8.GetByteCount(value);
        byte[]? rented = null;
        Span<byte> buffer = length <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(value, buffer);
            Check(raw.sqlite3_bind_text(_current!.Statement, index, buffer[..written]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public override void Bind(string name, decimal? value)
    {
        var index = IndexOf(name);
        if (value is not { } amount)
        {
            Check(raw.sqlite3_bind_null(_current!.Statement, index));
            return;
        }

        Span<byte> text = stackalloc byte[MaxAmountBytes];
        Check(raw.sqlite3_bind_text(_current!.Statement, index, text[..FormatAmount(amount, text)]));
    }

    /// <summary>Room for any decimal as text: 29 digits, up to 28 leading zeros after the point, a sign, a point, a zero.</summary>
    internal const int MaxAmountBytes = 64;

    /// <summary>
    /// Writes <paramref name="amount"/> as Microsoft.Data.Sqlite does (its format <c>0.0###########################</c>:
    /// exact, no exponent, trailing zeros trimmed but one decimal place kept) into <paramref name="text"/>; returns its
    /// length. From the default format, which for a decimal is fixed-point with its scale, then trimmed: the custom
    /// format's own path was the slowest step of binding an amount.
    /// </summary>
    internal static int FormatAmount(decimal amount, Span<byte> text)
    {
        if (!amount.TryFormat(text, out var length, default, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"The amount {amount} could not be written as text.");
        }

        var point = text[..length].IndexOf((byte)'.');
        if (point < 0)
        {
            text[length++] = (byte)'.';
            text[length++] = (byte)'0';
            return length;
        }

        while (length > point + 2 && text[length - 1] == (byte)'0')
        {
            length--;
        }

        return length;
    }

    public override void Bind(string name, long value) => Check(raw.sqlite3_bind_int64(_current!.Statement, IndexOf(name), value));

    public override void Bind(string name, long? value)
    {
        if (value is { } number)
        {
            Bind(name, number);
        }
        else
        {
            Check(raw.sqlite3_bind_null(_current!.Statement, IndexOf(name)));
        }
    }

    public override ValueTask<int> ExecuteAsync()
    {
        Step();
        return new(raw.sqlite3_changes(_db));
    }

    public override ValueTask<bool> ReadAsync() => new(Step());

    public override string GetString(int ordinal) => raw.sqlite3_column_text(_current!.Statement, ordinal).utf8_to_string();

    // As Microsoft.Data.Sqlite reads a decimal stored as text, without making the string first.
    public override decimal GetDecimal(int ordinal) =>
        decimal.Parse(raw.sqlite3_column_blob(_current!.Statement, ordinal), NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);

    public override long GetInt64(int ordinal) => raw.sqlite3_column_int64(_current!.Statement, ordinal);

    public override bool IsDBNull(int ordinal) => raw.sqlite3_column_type(_current!.Statement, ordinal) == raw.SQLITE_NULL;

    public override ValueTask DisposeAsync()
    {
        End();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Finalizes every kept statement, before the connection closes. Not <c>Dispose</c>: disposing (<c>await using</c>)
    /// ends the running statement, as for every <see cref="SqlStatement"/>.
    /// </summary>
    public void Close()
    {
        _current = null;
        foreach (var kept in _kept.Values)
        {
            kept.Statement.Dispose();
        }

        _kept.Clear();
    }

    /// <summary>Ends the running statement: resets it (its bindings are all replaced by the next use).</summary>
    private void End()
    {
        if (_current is { } kept)
        {
            _current = null;

            // The result is the last step's error, if any, which that step already threw.
            raw.sqlite3_reset(kept.Statement);
        }
    }

    private bool Step()
    {
        if (_next != _current!.ParameterCount)
        {
            throw new InvalidOperationException("Every parameter of the statement must be bound before it runs.");
        }

        _stepped = true;
        var result = raw.sqlite3_step(_current.Statement);
        if (result == raw.SQLITE_ROW)
        {
            return true;
        }

        if (result == raw.SQLITE_DONE)
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(result, _db);
        return false;
    }

    /// <summary>The position of the next parameter, bound by <paramref name="name"/>; found once per statement text.</summary>
    private int IndexOf(string name)
    {
        if (_stepped)
        {
            throw new InvalidOperationException("Parameters are bound before the statement runs.");
        }

        var kept = _current!;
        var position = _next++;
        if (position < kept.Parameters.Count)
        {
            // Positions are cached by binding order, so a use that binds in another order would put values in the
            // wrong columns: refused, not bound (one string compare, usually of the same instance).
            var (known, knownIndex) = kept.Parameters[position];
            return known == name
                ? knownIndex
                : throw new InvalidOperationException($"Parameter {name} is bound where {known} was before: bind a statement's parameters in the same order on every use.");
        }

        var index = raw.sqlite3_bind_parameter_index(kept.Statement, name);
        if (index == 0)
        {
            throw new InvalidOperationException($"The statement has no parameter {name}.");
        }

        kept.Parameters.Add((name, index));
        return index;
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(result, _db);
        }
    }

    /// <summary>A prepared statement and the index of each parameter in the order a session binds them.</summary>
    private sealed class Kept(sqlite3_stmt statement)
    {
        public sqlite3_stmt Statement { get; } = statement;

        public List<(string Name, int Index)> Parameters { get; } = [];

        /// <summary>How many distinct parameters the statement has; a name used twice (@zero) is bound once.</summary>
        public int ParameterCount { get; } = raw.sqlite3_bind_parameter_count(statement);
    }
}
