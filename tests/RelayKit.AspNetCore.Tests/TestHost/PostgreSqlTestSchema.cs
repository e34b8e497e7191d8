using Npgsql;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>A PostgreSQL schema of one test's own (so tests never see each other's rows), dropped afterwards.</summary>
internal static class PostgreSqlTestSchema
{
    /// <summary>A new schema name: lower case, unique, at most 63 characters as PostgreSQL wants.</summary>
    public static string NewName(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N");

    /// <summary>Drops the schema and everything in it; nothing when no server was used.</summary>
    public static async Task DropAsync(string? connectionString, string schema)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await command.ExecuteNonQueryAsync();
    }
}
