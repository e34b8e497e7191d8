using System.Data.Common;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>A command for one statement; disposed afterwards unless it belongs to <see cref="PreparedCommands"/>.</summary>
internal readonly struct CommandLease(DbCommand command, bool owned) : IAsyncDisposable
{
    public DbCommand Command { get; } = command;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => owned ? Command.DisposeAsync() : ValueTask.CompletedTask;
}
