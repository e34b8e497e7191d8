using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Step 1 of the request path: reads the relay key the way each SDK sends it (OpenAI clients:
/// <c>Authorization: Bearer</c>; Anthropic clients: <c>x-api-key</c>) and finds its caller.
/// </summary>
internal sealed class RelayKeyAuthenticator(IOptionsMonitor<ModelRelayOptions> options, CreatedKeyLookup? createdKeys = null)
{
    private RelayKeyRing? _ring;

    /// <summary>
    /// The caller of a configured key or, when the operations API is added, of a key created at run time
    /// that is neither expired nor revoked; else the error to answer (no key, an unknown key). A closed
    /// (refunded) key is refused with <c>key_closed</c> unless <paramref name="allowClosed"/> is set, for the
    /// endpoints where a key only reads its own past usage.
    /// </summary>
    public async ValueTask<RelayAuthentication> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken, bool allowClosed = false)
    {
        var caller = await FindAsync(request, cancellationToken);
        if (caller is null)
        {
            return new(null, request.Headers.ContainsKey("Authorization") || request.Headers.ContainsKey("x-api-key")
                ? RelayError.UnknownKey()
                : RelayError.MissingKey());
        }

        return caller.Closed && !allowClosed ? new(null, RelayError.KeyClosed()) : new(caller, null);
    }

    private ValueTask<RelayCaller?> FindAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // Not async: the secret is read in place from the header (a span), so it is hashed before anything is awaited.
        var secret = ReadSecret(request);
        if (secret.IsEmpty)
        {
            return ValueTask.FromResult<RelayCaller?>(null);
        }

        var configured = Ring.Find(secret);
        if (configured is not null || createdKeys is null)
        {
            return ValueTask.FromResult(configured);
        }

        return createdKeys.FindAsync(RelayKeyHash.Compute(secret), cancellationToken);
    }

    private RelayKeyRing Ring
    {
        get
        {
            var current = options.CurrentValue;
            var ring = _ring;
            if (ring is null || !ReferenceEquals(ring.Source, current))
            {
                ring = new RelayKeyRing(current);
                _ring = ring;
            }

            return ring;
        }
    }

    /// <summary>The secret as it stands in the header (trimmed), without copying it into a string; empty when there is none.</summary>
    private static ReadOnlySpan<char> ReadSecret(HttpRequest request)
    {
        const string bearer = "Bearer ";
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return authorization.AsSpan(bearer.Length).Trim();
        }

        return request.Headers["x-api-key"].ToString().AsSpan().Trim();
    }
}
