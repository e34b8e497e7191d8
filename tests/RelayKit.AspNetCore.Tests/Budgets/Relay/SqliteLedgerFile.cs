namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>A relay test's SQLite ledger: a fresh file in the temp folder, deleted (with its WAL) afterwards.</summary>
internal static class SqliteLedgerFile
{
    /// <summary>Runs <paramref name="test"/> with settings that put the relay's ledger in a new SQLite file.</summary>
    public static async Task RunAsync(Func<Action<Dictionary<string, string?>>, Task> test)
    {
        var path = Path.Combine(Path.GetTempPath(), "relaykit-ledger-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await test(settings =>
            {
                settings["ModelRelay:Budgets:Store"] = "Sqlite";
                settings["ModelRelay:Budgets:SqlitePath"] = path;
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var spool = Path.ChangeExtension(path, ".settle-spool.db");
            foreach (var file in new[] { path, path + "-wal", path + "-shm", spool, spool + "-journal" })
            {
                File.Delete(file);
            }
        }
    }
}
