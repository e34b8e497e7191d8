using Microsoft.Data.Sqlite;

namespace RelayKit.AspNetCore.Storage;

/// <summary>How the relay's SQLite stores (the ledger and created keys in one file, usage records in another) open their file.</summary>
internal static class SqliteFile
{
    /// <summary>
    /// The connection string for the file at <paramref name="path"/> (made absolute): pooled, created when missing,
    /// and waiting up to 30 s for the file's single writer rather than failing at once. With
    /// <paramref name="createFolder"/>, the file's folder is created now; without, the store does it on first use
    /// (<see cref="CreateFolder"/>).
    /// </summary>
    public static string ConnectionString(string path, bool createFolder = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (createFolder)
        {
            CreateFolder(fullPath);
        }

        return new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Creates the folder of the file at <paramref name="path"/>, if it has one and it is missing.</summary>
    public static void CreateFolder(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
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
