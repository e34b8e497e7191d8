using Npgsql;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.PostgreSql;

/// <summary>
/// The one way the relay's PostgreSQL stores (ledger, created keys, usage records) name their schema and migrate it. The
/// name is spliced into SQL text (identifiers cannot be parameters), so only a plain lower-case identifier passes.
/// Migrations run under one advisory lock per schema that every store of every instance takes: <c>CREATE … IF NOT
/// EXISTS</c> is not safe against a concurrent create of the same name (the loser gets a unique violation), and the
/// three stores of one instance create the same schema at their first use, often at the same moment.
/// </summary>
internal static class PostgreSqlSchemaName
{
    /// <summary>Returns <paramref name="schema"/>, or throws when it is not a lower-case SQL identifier.</summary>
    public static string Checked(string schema) =>
        RelayStores.IsSchemaName(schema)
            ? schema
            : throw new ArgumentException("The schema name must be a lower-case SQL identifier (a-z, 0-9, _, not starting with a digit).", nameof(schema));

    /// <summary>
    /// How the stores in <paramref name="schema"/> version and migrate it (<see cref="SchemaMigrations"/>): the version
    /// table lives in the schema, and a migration creates the schema and runs under the schema's advisory lock.
    /// </summary>
    public static SchemaDialect Dialect(string schema)
    {
        Checked(schema);
        return new SchemaDialect(
            $"\"{schema}\".relaykit_schema_version",
            $"SELECT to_regclass('\"{schema}\".relaykit_schema_version') IS NOT NULL",
            "text",
            $"""
            SELECT pg_advisory_xact_lock(hashtext('relaykit-schema:{schema}'));
            CREATE SCHEMA IF NOT EXISTS "{schema}";
            """,
            async (connection, cancellationToken) => await ((NpgsqlConnection)connection).BeginTransactionAsync(cancellationToken));
    }
}
