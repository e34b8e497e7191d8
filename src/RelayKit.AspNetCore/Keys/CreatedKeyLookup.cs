using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Finds the caller of a key created at run time, keeping found keys for
/// <see cref="ModelRelayAdminOptions.KeyCacheDuration"/> so the request path does not read the store on
/// every request. Expiry is checked against the clock on every request; a revoke or close through this
/// instance's operations API drops the entry at once, so only a revoke made through another relay
/// instance can go unnoticed, for at most the cache duration.
/// </summary>
/// <remarks>
/// Hand-written rather than <c>MemoryCache</c> because entries must age by the injected
/// <see cref="TimeProvider"/> (tests move it) and eviction is all this needs.
/// </remarks>
internal sealed class CreatedKeyLookup(IRelayKeyStore store, TimeProvider time, IOptionsMonitor<ModelRelayOptions> options)
{
    // A bound on memory, not a tuning knob: past it the cache starts over.
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);

    // Moved on by every Invalidate: a lookup that read the store before a revoke finishes after it must not put the
    // key back into the cache as it was (that would undo the revoke on this instance for the cache duration).
    private long _generation;

    /// <summary>
    /// The caller whose created key has this secret hash, or null when none or when the key is expired or revoked. A
    /// closed (refunded) key is found as a <see cref="RelayCaller.Closed"/> caller, so that its holder is told it is
    /// closed and may still read its usage; a revoked key is refused outright (revoking is for a key that leaked).
    /// </summary>
    public async ValueTask<RelayCaller?> FindAsync(byte[] secretSha256, CancellationToken cancellationToken)
    {
        var cacheKey = Convert.ToHexString(secretSha256);
        var duration = options.CurrentValue.Admin.KeyCacheDuration;
        if (!_cache.TryGetValue(cacheKey, out var entry) || time.GetElapsedTime(entry.CachedAt) >= duration)
        {
            var generation = Interlocked.Read(ref _generation);
            var key = await store.FindByHashAsync(secretSha256, cancellationToken);
            if (key is null)
            {
                _cache.TryRemove(cacheKey, out _);
                return null;
            }

            var models = key.Models.Where(m => !string.IsNullOrWhiteSpace(m)).Select(ModelPattern.Parse).ToList();
            entry = new Entry(key, new RelayCaller(key.Id, models, closed: key.ClosedAt is not null), time.GetTimestamp());
            if (duration > TimeSpan.Zero && generation == Interlocked.Read(ref _generation))
            {
                if (_cache.Count >= MaxEntries)
                {
                    _cache.Clear();
                }

                _cache[cacheKey] = entry;
            }
        }

        var found = entry.Key;
        return CryptographicOperations.FixedTimeEquals(found.SecretSha256, secretSha256)
            && (found.IsUsableAt(time.GetUtcNow()) || (found.ClosedAt is not null && found.RevokedAt is null))
            ? entry.Caller
            : null;
    }

    /// <summary>Forgets what is cached for <paramref name="key"/>, after it was revoked or closed.</summary>
    public void Invalidate(CreatedRelayKey key)
    {
        Interlocked.Increment(ref _generation);
        _cache.TryRemove(Convert.ToHexString(key.SecretSha256), out _);
    }

    private sealed record Entry(CreatedRelayKey Key, RelayCaller Caller, long CachedAt);
}
