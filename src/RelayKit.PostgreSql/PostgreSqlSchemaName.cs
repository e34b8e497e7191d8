using System.Text.RegularExpressions;
using Npgsql;

namespace RelayKit.AspNetCore.PostgreSql;

/// <summary>
/// The one way the relay's PostgreSQL stores (ledger, created keys, usage records) name and create their schema. The
/// name is spliced into SQL text (identifiers cannot be parameters), so only a plain lower-case identifier passes.
/// Creation runs under one advisory lock per schema that every store of every instance takes: <c>CREATE … IF NOT
/// EXISTS</c> is not safe against a concurrent create of the same name (the loser gets a unique violation), and the
/// three stores of one instance create the same schema at their first use, often at the same moment.
/// </summary>
internal static partial class PostgreSqlSchemaName
{
    /// <summary>Returns <paramref name="schema"/>, or throws when it is not a lower-case SQL identifier.</summary>
    public static string Checked(string schema) =>
        schema is not null && Name().IsMatch(schema)
            ? schema
            : throw new ArgumentException("The schema name must be a lower-case SQL identifier (a-z, 0-9, _, not starting with a digit).", nameof(schema));

    /// <summary>Creates <paramref name="schema"/> and runs <paramref name="objects"/> (<c>CREATE … IF NOT EXISTS</c> statements) in it, in one transaction under the schema's lock.</summary>
    public static async Task CreateAsync(NpgsqlConnection connection, string schema, string objects, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_xact_lock(hashtext('relaykit-schema:{schema}'));
            CREATE SCHEMA IF NOT EXISTS "{schema}";
            {objects}
            """,
            connection,
            transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
