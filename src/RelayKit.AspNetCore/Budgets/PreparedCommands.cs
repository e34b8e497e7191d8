using System.Data.Common;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The commands of one long-lived connection, one per statement text, kept so that each statement is
/// parsed and planned once rather than on every use. The ledger's statements are few and fixed, and on
/// SQLite parsing them cost more than running them (the writer runs every reservation and settle).
/// Not thread-safe: one connection, one user at a time.
/// </summary>
internal sealed class PreparedCommands(DbConnection connection) : IAsyncDisposable
{
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>The connection's command for <paramref name="sql"/>; the caller must not dispose it.</summary>
    public DbCommand Get(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        return command;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync();
        }

        _commands.Clear();
    }
}
