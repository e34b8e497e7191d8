using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Tests.Usage.Stores;

public sealed class SqliteUsageStoreTests : UsageStoreContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relaykit-usage-tests", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "usage.db");

    protected override Task<IUsageStore?> CreateStoreAsync() => Task.FromResult<IUsageStore?>(new SqliteUsageStore(DatabasePath));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_file_is_in_WAL_mode_and_keeps_records_for_a_new_store()
    {
        await Store.AppendAsync([UsageRecords.Make("kept")], CancellationToken.None);

        await using (var connection = new SqliteConnection($"Data Source={DatabasePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode";
            Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        }

        var reopened = new SqliteUsageStore(DatabasePath);
        var stored = Assert.Single((await reopened.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        Assert.Equal(UsageRecords.Make("kept"), stored);
    }

    [Fact]
    public async Task A_path_that_cannot_be_created_fails_the_ping_not_the_constructor()
    {
        var blocker = Path.Combine(_directory, "not-a-directory");
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(blocker, "");

        var store = new SqliteUsageStore(Path.Combine(blocker, "usage.db"));

        await Assert.ThrowsAsync<IOException>(() => store.PingAsync(CancellationToken.None));
    }
}
