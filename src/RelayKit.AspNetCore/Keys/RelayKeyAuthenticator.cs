using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Step 1 of the request path: reads the relay key the way each SDK sends it (OpenAI clients:
/// <c>Authorization: Bearer</c>; Anthropic clients: <c>x-api-key</c>) and finds its caller.
/// </summary>
internal sealed class RelayKeyAuthenticator(IOptionsMonitor<ModelRelayOptions> options, CreatedKeyLookup? createdKeys = null)
{
    private RelayKeyRing? _ring;

    public RelayCaller? Authenticate(HttpRequest request)
    {
        var secret = ReadSecret(request);
        return string.IsNullOrEmpty(secret) ? null : Ring.Find(secret);
    }

    /// <summary>
    /// The caller of a configured key or, when the operations API is added, of a key created at run
    /// time that is neither expired, revoked nor closed.
    /// </summary>
    public async ValueTask<RelayCaller?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var secret = ReadSecret(request);
        if (string.IsNullOrEmpty(secret))
        {
            return null;
        }

        var configured = Ring.Find(secret);
        if (configured is not null || createdKeys is null)
        {
            return configured;
        }

        return await createdKeys.FindAsync(RelayKeyHash.Compute(secret), cancellationToken);
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

    private static string? ReadSecret(HttpRequest request)
    {
        const string bearer = "Bearer ";
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return authorization[bearer.Length..].Trim();
        }

        var apiKey = request.Headers["x-api-key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }
}
