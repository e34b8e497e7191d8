using System.Data.Common;
using System.Globalization;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// The one way every SQL store (the ledger, created keys, usage records and the settle spool, on SQLite and PostgreSQL)
/// versions its schema and moves it forward. A store's schema is a list of numbered steps; the version it is at is a
/// row of its own in <c>relaykit_schema_version</c> (one row per store, since the ledger and created keys share a file
/// or a PostgreSQL schema). At open, a store whose version is behind gets the missing steps, in order, in one
/// transaction with the new version, so a failing step leaves the schema as it was; a store at the latest version costs
/// one read. Step 1 is the schema as it was before versioning, written with <c>IF NOT EXISTS</c>, so a store created
/// then is recorded at version 1 as it is. A store newer than the code refuses to open rather than guess.
/// </summary>
/// <param name="store">The store's name in the version table, such as <c>ledger</c>.</param>
/// <param name="steps">The steps: the SQL of version 1, 2, … in order. A step is added, never changed once shipped.</param>
internal sealed class SchemaMigrations(string store, params string[] steps)
{
    /// <summary>The store's name in the version table.</summary>
    public string Store { get; } = store;

    /// <summary>The version the steps lead to.</summary>
    public int Latest => steps.Length;

    /// <summary>The SQL of step <paramref name="version"/>.</summary>
    public string Step(int version) => steps[version - 1];

    /// <summary>Brings the schema over <paramref name="connection"/> to <see cref="Latest"/>; returns the version it found.</summary>
    public async Task<int> ApplyAsync(DbConnection connection, SchemaDialect dialect, CancellationToken cancellationToken)
    {
        var found = await ReadVersionAsync(connection, dialect, null, cancellationToken).ConfigureAwait(false);
        if (found == Latest)
        {
            return found;
        }

        await using var transaction = await dialect.BeginAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, dialect.Prelude, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction,
            $"CREATE TABLE IF NOT EXISTS {dialect.VersionTable} (store {dialect.TextType} NOT NULL PRIMARY KEY, version integer NOT NULL)",
            cancellationToken).ConfigureAwait(false);

        // Read again under the transaction's lock: another store or instance may have moved it meanwhile.
        found = await ReadVersionAsync(connection, dialect, transaction, cancellationToken).ConfigureAwait(false);
        if (found > Latest)
        {
            throw new InvalidOperationException(
                $"The {Store} schema is at version {found}, newer than this RelayKit knows ({Latest}): a newer RelayKit wrote it. Run that version, or a newer one, against it.");
        }

        for (var version = found + 1; version <= Latest; version++)
        {
            await ExecuteAsync(connection, transaction, steps[version - 1], cancellationToken).ConfigureAwait(false);
        }

        if (found < Latest)
        {
            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText =
                $"INSERT INTO {dialect.VersionTable} (store, version) VALUES (@store, @version) ON CONFLICT (store) DO UPDATE SET version = excluded.version";
            AddParameter(record, "@store", Store);
            AddParameter(record, "@version", Latest);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>The store's recorded version: 0 when the version table or its row is missing (a new store, or one created before versioning).</summary>
    public async Task<int> ReadVersionAsync(DbConnection connection, SchemaDialect dialect, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using (var exists = connection.CreateCommand())
        {
            exists.Transaction = transaction;
            exists.CommandText = dialect.VersionTableExists;
            if (Convert.ToBoolean(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) is false)
            {
                return 0;
            }
        }

        await using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = $"SELECT version FROM {dialect.VersionTable} WHERE store = @store";
        AddParameter(read, "@store", Store);
        var version = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return version is null or DBNull ? 0 : Convert.ToInt32(version, CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
