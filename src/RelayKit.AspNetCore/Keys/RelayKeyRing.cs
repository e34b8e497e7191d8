using System.Security.Cryptography;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Keys;

/// <summary>The configured relay keys, compiled to SHA-256 hashes; the secrets themselves are not kept.</summary>
internal sealed class RelayKeyRing
{
    private readonly (byte[] Hash, RelayCaller Caller)[] _keys;

    public RelayKeyRing(ModelRelayOptions options)
    {
        Source = options;
        var keys = new List<(byte[], RelayCaller)>();
        foreach (var key in options.Keys)
        {
            if (key?.Name is null)
            {
                continue; // reported by ModelRelayOptionsValidator
            }

            byte[]? hash = !string.IsNullOrEmpty(key.Secret) ? RelayKeyHash.Compute(key.Secret)
                : key.SecretSha256 is { } hex && RelayKeyHash.TryParseHex(hex, out var parsed) ? parsed
                : null;
            if (hash is not null)
            {
                var models = key.Models.Where(m => !string.IsNullOrWhiteSpace(m)).Select(ModelPattern.Parse).ToList();
                keys.Add((hash, new RelayCaller(key.Name, models)));
            }
        }

        _keys = [.. keys];
    }

    /// <summary>The options this ring was compiled from.</summary>
    public ModelRelayOptions Source { get; }

    /// <summary>
    /// The caller whose key has this secret. Every stored hash is compared in constant time, and the
    /// loop does not stop at a match, so the time taken says nothing about which key (if any) matched.
    /// </summary>
    public RelayCaller? Find(ReadOnlySpan<char> secret)
    {
        Span<byte> hash = stackalloc byte[RelayKeyHash.Length];
        RelayKeyHash.Compute(secret, hash);
        RelayCaller? found = null;
        foreach (var (stored, caller) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(stored, hash))
            {
                found ??= caller;
            }
        }

        return found;
    }
}
