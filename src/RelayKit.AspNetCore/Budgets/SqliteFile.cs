using Microsoft.Data.Sqlite;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>How the relay's stores on one SQLite file (the ledger, and created keys beside it) open it.</summary>
internal static class SqliteFile
{
    /// <summary>
    /// The connection string for the file at <paramref name="path"/>, creating its folder: pooled, created
    /// when missing, and waiting up to 30 s for the file's single writer rather than failing at once.
    /// </summary>
    public static string ConnectionString(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        return new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>
    /// Opens a connection with <paramref name="connectionString"/> and runs <paramref name="setup"/> on it (the
    /// PRAGMAs a store wants on each of its connections); the connection is disposed when either fails.
    /// </summary>
    public static async ValueTask<SqliteConnection> OpenAsync(string connectionString, string setup, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = setup;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
