using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>Which headers cross the relay, in each direction.</summary>
internal static class ProxyHeaders
{
    // Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never to the next.
    private static readonly string[] HopByHop =
    [
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    ];

    private static readonly FrozenSet<string> DroppedRequestHeaders = HopByHop.Concat(
    [
        // The caller's relay key: replaced by the provider's key.
        "Authorization", "Proxy-Authorization", "x-api-key", "api-key",
        "Host", "Cookie", "Expect",

        // The body goes out as new content with its own length and type.
        "Content-Length", "Content-Type", "Content-Encoding",

        // Asking for identity encoding keeps the response readable to the metering tap, which reads
        // usage out of the bytes as they pass (automatic decompression is off, as it must be for a proxy).
        "Accept-Encoding",

        // The caller's OpenAI account settings do not apply to the provider key's account.
        "OpenAI-Organization", "OpenAI-Project",

        // The relay's own request id and trace context replace the caller's.
        "x-request-id", "traceparent", "tracestate", "baggage", "Request-Id",

        // The caller's address stays with the relay.
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP",
    ]).ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string> DroppedResponseHeaders = HopByHop.Concat(
    [
        // Cookies and these host policies were issued for the upstream's host, not the relay's.
        "Set-Cookie", "Alt-Svc", "Strict-Transport-Security",

        // They name the provider key's account.
        "OpenAI-Organization", "OpenAI-Project", "anthropic-organization-id",

        // Kestrel writes its own.
        "Server", "Date",
    ]).ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The upstream's x-request-id moves here, because x-request-id is the relay's own.</summary>
    public const string UpstreamRequestIdHeader = "x-upstream-request-id";

    public static void CopyRequestHeaders(HttpRequest from, HttpRequestMessage to)
    {
        var connection = from.Headers.Connection.ToString();
        foreach (var (name, values) in from.Headers)
        {
            if (DroppedRequestHeaders.Contains(name) || name.StartsWith(':') || NamedIn(connection, name))
            {
                continue;
            }

            // One value (nearly always) goes in as a string: through IEnumerable it would be boxed and enumerated.
            if (values.Count == 1)
            {
                to.Headers.TryAddWithoutValidation(name, values[0]);
            }
            else
            {
                to.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
    }

    public static void CopyResponseHeaders(HttpResponseMessage from, HttpResponse to)
    {
        Copy(from.Headers, to);
        Copy(from.Content.Headers, to);
    }

    private static void Copy(System.Net.Http.Headers.HttpHeaders headers, HttpResponse to)
    {
        var connection = headers.NonValidated.TryGetValues("Connection", out var listed) ? listed.ToString() : "";
        foreach (var (name, values) in headers.NonValidated)
        {
            if (DroppedResponseHeaders.Contains(name) || NamedIn(connection, name))
            {
                continue;
            }

            var target = name.Equals("x-request-id", StringComparison.OrdinalIgnoreCase) ? UpstreamRequestIdHeader : name;
            // One value (nearly always) goes in as a string (HeaderStringValues.ToString is that value); more
            // than one as an array, since ToString would join them into one.
            to.Headers[target] = values.Count == 1 ? values.ToString() : values.ToArray();
        }
    }

    /// <summary>
    /// Whether the <c>Connection</c> header's value lists <paramref name="name"/>: such headers are hop-by-hop too
    /// (RFC 9110 7.6.1), meant for this connection only. Usually the value is empty or <c>keep-alive</c>.
    /// </summary>
    private static bool NamedIn(string connection, string name)
    {
        if (connection.Length == 0)
        {
            return false;
        }

        var listed = connection.AsSpan();
        foreach (var range in listed.Split(','))
        {
            if (listed[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
