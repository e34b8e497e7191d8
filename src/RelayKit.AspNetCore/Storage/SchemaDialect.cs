using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace RelayKit.AspNetCore.Storage;

/// <summary>What <see cref="SchemaMigrations"/> needs to know of a database: where the version table is and how a migration begins.</summary>
/// <param name="VersionTable">The version table, qualified as the database needs.</param>
/// <param name="VersionTableExists">A query that returns whether the version table exists (without failing when it does not).</param>
/// <param name="TextType">The column type for text.</param>
/// <param name="Prelude">SQL run first in a migration's transaction (a lock, the schema itself), or empty.</param>
/// <param name="BeginAsync">Begins the migration's transaction, taking the database's write lock where it has one.</param>
internal sealed record SchemaDialect(
    string VersionTable,
    string VersionTableExists,
    string TextType,
    string Prelude,
    Func<DbConnection, CancellationToken, ValueTask<DbTransaction>> BeginAsync)
{
    /// <summary>
    /// SQLite: the table in the store's file; <c>BEGIN IMMEDIATE</c> takes the file's write lock before the version is
    /// read again, so two stores of one file (or two processes) migrate one after the other.
    /// </summary>
    public static SchemaDialect Sqlite { get; } = new(
        "relaykit_schema_version",
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'relaykit_schema_version'",
        "TEXT",
        "",
        (connection, _) => ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false)));
}
