using System.Data.Common;
using System.Text.Json;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// The SQL both database stores share: one <c>relay_keys</c> table, times as Unix milliseconds, the
/// model patterns as a JSON array. Revoke and close are single conditional updates, so two operators
/// racing keep the first timestamp.
/// </summary>
internal abstract class SqlRelayKeyStore : IRelayKeyStore
{
    private const string Columns = "id, name, secret_sha256, models, created_at, expires_at, revoked_at, closed_at";

    /// <summary>Opens a connection with the schema in place.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>The qualified table name.</summary>
    protected abstract string Table { get; }

    /// <summary>Whether <paramref name="exception"/> is a unique-constraint violation.</summary>
    protected abstract bool IsUniqueViolation(DbException exception);

    /// <inheritdoc />
    public async Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO {Table} ({Columns}) VALUES (@id, @name, @hash, @models, @created, @expires, @revoked, @closed)";
        Add(command, "id", key.Id);
        Add(command, "name", key.Name);
        Add(command, "hash", key.SecretSha256);
        Add(command, "models", JsonSerializer.Serialize(key.Models));
        Add(command, "created", key.CreatedAt.ToUnixTimeMilliseconds());
        Add(command, "expires", key.ExpiresAt?.ToUnixTimeMilliseconds());
        Add(command, "revoked", key.RevokedAt?.ToUnixTimeMilliseconds());
        Add(command, "closed", key.ClosedAt?.ToUnixTimeMilliseconds());
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (DbException exception) when (IsUniqueViolation(exception))
        {
            throw new InvalidOperationException($"A key with id '{key.Id}' or the same secret exists.", exception);
        }
    }

    /// <inheritdoc />
    public Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        ReadOneAsync($"SELECT {Columns} FROM {Table} WHERE id = @id", command => Add(command, "id", id), cancellationToken);

    /// <inheritdoc />
    public Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default) =>
        // The index lookup compares hashes, not secrets: timing tells an attacker about the SHA-256 of
        // a guess, which does not help find a secret. The caller still compares in constant time.
        ReadOneAsync($"SELECT {Columns} FROM {Table} WHERE secret_sha256 = @hash", command => Add(command, "hash", secretSha256), cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM {Table} ORDER BY created_at, id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<CreatedRelayKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(Read(reader));
        }

        return keys;
    }

    /// <inheritdoc />
    public Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        StampAsync("revoked_at", id, at, cancellationToken);

    /// <inheritdoc />
    public Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        StampAsync("closed_at", id, at, cancellationToken);

    private async Task<CreatedRelayKey?> StampAsync(string column, string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"UPDATE {Table} SET {column} = @at WHERE id = @id AND {column} IS NULL";
            Add(command, "at", at.ToUnixTimeMilliseconds());
            Add(command, "id", id);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return await GetAsync(id, cancellationToken);
    }

    private async Task<CreatedRelayKey?> ReadOneAsync(string sql, Action<DbCommand> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        parameters(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static CreatedRelayKey Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        (byte[])reader.GetValue(2),
        JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? [],
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
        Time(reader, 5),
        Time(reader, 6),
        Time(reader, 7));

    private static DateTimeOffset? Time(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Runs one statement without results (schema set-up).</summary>
    protected static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
