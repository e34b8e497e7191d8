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
}
