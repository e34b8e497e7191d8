using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Removes secrets before anything is written: the always-secret headers, the configured headers
/// and the configured body paths, in requests, responses and every streamed event.
/// </summary>
internal sealed class CassetteRedactor
{
    // Connection-level headers describe one hop, not the request; they would only add noise to a cassette.
    private static readonly HashSet<string> TransportHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Connection", "Expect", "Date",
    };

    // Query parameters that carry credentials in the APIs a cassette may record (Gemini's ?key=, OAuth, signed URLs).
    private static readonly HashSet<string> SecretQueryParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "key", "api_key", "api-key", "apikey", "access_token", "token", "client_secret", "secret", "password", "sig", "signature",
    };

    private readonly string[] _headers;
    private readonly string[] _queryParameters;
    private readonly JsonPath[] _paths;

    public CassetteRedactor(CassetteOptions options)
    {
        _headers = [.. options.RedactHeaders];
        _queryParameters = [.. options.RedactQueryParameters];
        _paths = [.. options.RedactJsonPaths.Select(JsonPath.Parse)];
    }

    /// <summary>The query string (with its <c>?</c>) with the values of secret parameters replaced by <c>[redacted]</c>.</summary>
    public string Query(string query)
    {
        if (query.Length <= 1)
        {
            return query;
        }

        var parameters = query.TrimStart('?').Split('&');
        for (var i = 0; i < parameters.Length; i++)
        {
            var separator = parameters[i].IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(separator < 0 ? parameters[i] : parameters[i][..separator]);
            if (separator >= 0 && (IsSecretQueryParameter(name) || _queryParameters.Any(p => ModelPattern.IsMatch(p, name))))
            {
                parameters[i] = parameters[i][..(separator + 1)] + SecretHeaders.Redacted;
            }
        }

        return "?" + string.Join('&', parameters);
    }

    public static bool IsTransportHeader(string name) => TransportHeaders.Contains(name);

    /// <summary>Whether a query parameter is one that always carries a credential (and so is always redacted).</summary>
    public static bool IsSecretQueryParameter(string name) => SecretQueryParameters.Contains(name);

    public bool IsSecretHeader(string name) => SecretHeaders.IsSecret(name) || _headers.Any(p => ModelPattern.IsMatch(p, name));

    public Dictionary<string, string> Headers(IEnumerable<KeyValuePair<string, string>> headers)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            if (!IsTransportHeader(name))
            {
                result[name.ToLowerInvariant()] = IsSecretHeader(name) ? SecretHeaders.Redacted : value;
            }
        }

        return result;
    }

    public JsonNode? Body(JsonNode? body)
    {
        if (body is null)
        {
            return null;
        }

        var copy = body.DeepClone();
        foreach (var path in _paths)
        {
            path.Replace(copy, SecretHeaders.Redacted);
        }

        return copy;
    }
}
