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

    private readonly string[] _headers;
    private readonly JsonPath[] _paths;

    public CassetteRedactor(CassetteOptions options)
    {
        _headers = [.. options.RedactHeaders];
        _paths = [.. options.RedactJsonPaths.Select(JsonPath.Parse)];
    }

    public static bool IsTransportHeader(string name) => TransportHeaders.Contains(name);

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
