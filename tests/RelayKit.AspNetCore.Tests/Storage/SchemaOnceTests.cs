using System.Data;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Tests.Storage;

public sealed class SchemaOnceTests
{
    [Fact]
    public async Task Connections_opened_together_create_the_schema_once()
    {
        var creations = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var schema = new SchemaOnce<SqliteConnection>(OpenAsync, async (_, _) =>
        {
            Interlocked.Increment(ref creations);
            await release.Task;
        });

        var opening = Enumerable.Range(0, 8).Select(_ => Task.Run(() => schema.OpenAsync(CancellationToken.None))).ToList();
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
        var creations = 0;
        var opened = new List<SqliteConnection>();
        var schema = new SchemaOnce<SqliteConnection>(
            async token =>
            {
                var connection = await OpenAsync(token);
                opened.Add(connection);
                return connection;
            },
            (_, _) => Interlocked.Increment(ref creations) == 1 ? throw new InvalidOperationException("disk full") : Task.CompletedTask);

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => schema.OpenAsync(CancellationToken.None));
        Assert.Equal("disk full", failed.Message);
        Assert.False(schema.Ready);
        Assert.Equal(ConnectionState.Closed, Assert.Single(opened).State);

        await using var second = await schema.OpenAsync(CancellationToken.None);
        Assert.Equal(2, creations);
        Assert.True(schema.Ready);
        await using var third = await schema.OpenAsync(CancellationToken.None);
        Assert.Equal(2, creations);
        Assert.Equal(ConnectionState.Open, third.State);
    }

    private static async ValueTask<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
