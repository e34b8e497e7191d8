using System.Data.Common;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// A SQL store's schema, created on first use and once per store: the first connection opened while it is not known
/// to exist runs the creation, the others wait for it; when the creation fails, the next connection tries again.
/// The creation itself must be safe to run where the schema exists already, or is being made by another instance
/// (<c>CREATE … IF NOT EXISTS</c>, an advisory lock).
/// </summary>
internal sealed class SchemaOnce
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    /// <summary>Whether the schema is known to exist.</summary>
    public bool Ready => _ready;

    /// <summary>
    /// Opens a connection with <paramref name="open"/> and, unless the schema is known to exist, creates it over that
    /// connection with <paramref name="create"/>; the connection is disposed when either fails.
    /// </summary>
    public async Task<TConnection> OpenAsync<TConnection>(
        Func<CancellationToken, Task<TConnection>> open, Func<TConnection, CancellationToken, Task> create, CancellationToken cancellationToken)
        where TConnection : DbConnection
    {
        var connection = await open(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (!_ready)
                    {
                        await create(connection, cancellationToken).ConfigureAwait(false);
                        _ready = true;
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
