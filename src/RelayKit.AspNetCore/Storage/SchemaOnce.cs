using System.Data.Common;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// A SQL store's connections, each opened with the store's schema in place: the schema is created on first use and
/// once per store. The first connection opened while it is not known to exist runs the creation, the others wait for
/// it; when the creation fails, the next connection tries again. The creation itself must be safe to run where the
/// schema exists already, or is being made by another instance (<c>CREATE … IF NOT EXISTS</c>, an advisory lock).
/// </summary>
/// <param name="open">Opens a connection, set up as the store wants it.</param>
/// <param name="create">Creates the schema over a connection.</param>
/// <remarks>
/// The two functions are given once, at construction, rather than on each call: stores open a connection per unit of
/// work (on PostgreSQL, per request), and a delegate made at each call would be an allocation each time.
/// </remarks>
internal sealed class SchemaOnce<TConnection>(
    Func<CancellationToken, ValueTask<TConnection>> open, Func<TConnection, CancellationToken, Task> create)
    where TConnection : DbConnection
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    /// <summary>Whether the schema is known to exist.</summary>
    public bool Ready => _ready;

    /// <summary>Opens a connection and, unless the schema is known to exist, creates it first; the connection is disposed when either fails.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
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
