using System.Security.Cryptography;

namespace RelayKit.AspNetCore.Keys;

/// <summary>Created keys in process memory, for tests and throw-away relays.</summary>
internal sealed class InMemoryRelayKeyStore : IRelayKeyStore
{
    private readonly Lock _gate = new();
    private readonly List<CreatedRelayKey> _keys = [];

    /// <inheritdoc />
    public Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_keys.Any(k => k.Id == key.Id || CryptographicOperations.FixedTimeEquals(k.SecretSha256, key.SecretSha256)))
            {
                throw new InvalidOperationException($"A key with id '{key.Id}' or the same secret exists.");
            }

            _keys.Add(key with { SecretSha256 = (byte[])key.SecretSha256.Clone() });
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_keys.Find(k => k.Id == id));
        }
    }

    /// <inheritdoc />
    public Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_keys.Find(k => CryptographicOperations.FixedTimeEquals(k.SecretSha256, secretSha256)));
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<CreatedRelayKey>>([.. _keys.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal)]);
        }
    }

    /// <inheritdoc />
    public Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        Task.FromResult(Update(id, k => k.RevokedAt is null ? k with { RevokedAt = at } : k));

    /// <inheritdoc />
    public Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        Task.FromResult(Update(id, k => k.ClosedAt is null ? k with { ClosedAt = at } : k));

    private CreatedRelayKey? Update(string id, Func<CreatedRelayKey, CreatedRelayKey> change)
    {
        lock (_gate)
        {
            var index = _keys.FindIndex(k => k.Id == id);
            if (index < 0)
            {
                return null;
            }

            _keys[index] = change(_keys[index]);
            return _keys[index];
        }
    }
}
