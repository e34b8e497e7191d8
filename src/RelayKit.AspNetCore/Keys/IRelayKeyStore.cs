namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Where keys created at run time are kept (their secrets' hashes, never the secrets). Implementations:
/// SQLite (embedded default), PostgreSQL (keys shared by many relay instances) and in-memory (tests).
/// </summary>
internal interface IRelayKeyStore
{
    /// <summary>Stores a new key. Throws <see cref="InvalidOperationException"/> when its id or hash exists.</summary>
    Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default);

    /// <summary>The key with this id, or null.</summary>
    Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The key whose secret has this SHA-256, or null.</summary>
    Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default);

    /// <summary>Every created key, oldest first.</summary>
    Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Marks the key revoked at <paramref name="at"/> (kept when already revoked); the key afterwards, or null when unknown.</summary>
    Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Marks the key closed at <paramref name="at"/> (kept when already closed); the key afterwards, or null when unknown.</summary>
    Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);
}
