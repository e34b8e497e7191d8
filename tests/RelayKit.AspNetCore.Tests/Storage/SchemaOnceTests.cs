using System.Data;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Tests.Storage;

public sealed class SchemaOnceTests
{
    [Fact]
    public async Task Connections_opened_together_create_the_schema_once()
    {
        var schema = new SchemaOnce();
        var creations = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var opening = Enumerable.Range(0, 8).Select(_ => Task.Run(() => schema.OpenAsync(OpenAsync, async (_, _) =>
        {
            Interlocked.Increment(ref creations);
            await release.Task;
        }, CancellationToken.None))).ToList();
        await Task.Delay(50);
        Assert.False(schema.Ready);
        release.SetResult();
        var connections = await Task.WhenAll(opening);

        Assert.Equal(1, creations);
        Assert.True(schema.Ready);
        Assert.All(connections, c => Assert.Equal(ConnectionState.Open, c.State));
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failed_creation_closes_its_connection_and_the_next_open_tries_again()
    {
        var schema = new SchemaOnce();
        var creations = 0;
        SqliteConnection? first = null;

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => schema.OpenAsync(
            async token => first = await OpenAsync(token),
            (_, _) => Interlocked.Increment(ref creations) == 1 ? throw new InvalidOperationException("disk full") : Task.CompletedTask,
            CancellationToken.None));
        Assert.Equal("disk full", failed.Message);
        Assert.False(schema.Ready);
        Assert.Equal(ConnectionState.Closed, first!.State);

        await using var second = await schema.OpenAsync(OpenAsync, (_, _) => { Interlocked.Increment(ref creations); return Task.CompletedTask; }, CancellationToken.None);
        Assert.Equal(2, creations);
        Assert.True(schema.Ready);
        await using var third = await schema.OpenAsync(OpenAsync, (_, _) => { Interlocked.Increment(ref creations); return Task.CompletedTask; }, CancellationToken.None);
        Assert.Equal(2, creations);
    }

    private static async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
