using System.Data.Common;
using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>The status history's SQLite stores: in the usage store's file, or in a database of its own in memory.</summary>
internal static class StatusStores
{
    /// <summary>The history in the SQLite file at <paramref name="path"/> (the usage records' file), in WAL mode as they are.</summary>
    public static SqlStatusStore Sqlite(string path)
    {
        var connectionString = SqliteFile.ConnectionString(path, createFolder: false);
        return new SqlStatusStore(
            async token =>
            {
                SqliteFile.CreateFolder(path);
                return await SqliteFile.OpenAsync(connectionString, "PRAGMA synchronous = NORMAL;", token);
            },
            "",
            SchemaDialect.Sqlite,
            "PRAGMA journal_mode = WAL;");
    }

    /// <summary>
    /// The history in memory, for the in-memory usage store (and none): a private SQLite database in memory, kept alive by
    /// one open connection, so memory and disk run the same rollup SQL instead of a second implementation that could drift.
    /// </summary>
    public static SqlStatusStore InMemory()
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = "relaykit-status-" + Guid.NewGuid().ToString("N"),
            Mode = SqliteOpenMode.Memory,
            Cache = SqliteCacheMode.Shared,
            DefaultTimeout = 30,
        }.ToString();
        var keeper = new SqliteConnection(connectionString);
        keeper.Open();
        return new SqlStatusStore(
            async token =>
            {
                var connection = new SqliteConnection(connectionString);
                await connection.OpenAsync(token);
                return (DbConnection)connection;
            },
            "",
            SchemaDialect.Sqlite,
            owned: keeper);
    }
}
