using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Which headers cross the relay, in each direction: only those on an allowlist. The relay is not a transparent
/// proxy, so a header it does not know (a provider credential such as <c>x-goog-api-key</c> or
/// <c>X-Amz-Security-Token</c>, a cookie, a forwarding header) stays with the hop it came on.
/// </summary>
internal static class ProxyHeaders
{
    /// <summary>
    /// Request headers passed to the provider as the caller sent them. Credentials are the provider's own (set by the
    /// forwarder), the body goes out as new content with its own type and length, and identity encoding is asked for
    /// (no Accept-Encoding) so the metering tap can read the answer as it passes.
    /// </summary>
    private static readonly FrozenSet<string> ForwardedRequestHeaders = new[]
    {
        "Accept", "User-Agent", "Idempotency-Key",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Anthropic's own request headers: passed only to an Anthropic provider.</summary>
    private static readonly FrozenSet<string> AnthropicRequestHeaders = new[]
    {
        "anthropic-version", "anthropic-beta",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The SDKs' telemetry headers (<c>x-stainless-lang</c>, <c>x-stainless-retry-count</c>, ...) may pass.</summary>
    private const string SdkTelemetryPrefix = "x-stainless-";

    /// <summary>Response headers passed back to the caller: the body's framing and type, rate limits, request ids and retry advice.</summary>
    private static readonly FrozenSet<string> ReturnedResponseHeaders = new[]
    {
        "Content-Type", "Content-Length", "Content-Encoding",
        "x-request-id", "request-id", "openai-processing-ms",
        "retry-after", "retry-after-ms", "x-should-retry",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Rate-limit headers (<c>x-ratelimit-remaining-requests</c>, <c>anthropic-ratelimit-tokens-reset</c>, ...) pass back.</summary>
    private static readonly string[] RateLimitPrefixes = ["x-ratelimit-", "anthropic-ratelimit-"];

    /// <summary>The upstream's x-request-id moves here, because x-request-id is the relay's own.</summary>
    public const string UpstreamRequestIdHeader = "x-upstream-request-id";

    /// <summary>Copies the allowed request headers; <paramref name="toAnthropic"/> lets Anthropic's own headers through too.</summary>
    public static void CopyRequestHeaders(HttpRequest from, HttpRequestMessage to, bool toAnthropic = true)
    {
        var connection = from.Headers.Connection.ToString();
        foreach (var (name, values) in from.Headers)
        {
            var allowed = ForwardedRequestHeaders.Contains(name)
                || (toAnthropic && AnthropicRequestHeaders.Contains(name))
                || name.StartsWith(SdkTelemetryPrefix, StringComparison.OrdinalIgnoreCase);
            if (!allowed || NamedIn(connection, name))
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

    /// <summary>
    /// Copies the allowed response headers; none whose value holds one of <paramref name="providerKeys"/>, and none the
    /// relay already set on the response before forwarding (its own rate limits win over the upstream's same-named ones).
    /// </summary>
    public static void CopyResponseHeaders(HttpResponseMessage from, HttpResponse to, IReadOnlyList<string>? providerKeys = null)
    {
        Copy(from.Headers, to, providerKeys);
        Copy(from.Content.Headers, to, providerKeys);
    }

    private static void Copy(System.Net.Http.Headers.HttpHeaders headers, HttpResponse to, IReadOnlyList<string>? providerKeys)
    {
        var connection = headers.NonValidated.TryGetValues("Connection", out var listed) ? listed.ToString() : "";
        foreach (var (name, values) in headers.NonValidated)
        {
            if (!IsReturned(name) || NamedIn(connection, name) || HoldsAny(values, providerKeys))
            {
                continue;
            }

            var target = name.Equals("x-request-id", StringComparison.OrdinalIgnoreCase) ? UpstreamRequestIdHeader : name;
            if (to.Headers.ContainsKey(target))
            {
                // The relay set it before forwarding (its own rate limits, for one): the relay's answer wins.
                continue;
            }

            // One value (nearly always) goes in as a string (HeaderStringValues.ToString is that value); more
            // than one as an array, since ToString would join them into one.
            to.Headers[target] = values.Count == 1 ? values.ToString() : values.ToArray();
        }
    }

    private static bool IsReturned(string name)
    {
        if (ReturnedResponseHeaders.Contains(name))
        {
            return true;
        }

        foreach (var prefix in RateLimitPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any value holds one of the provider's keys (an upstream echoing the credential it was sent).</summary>
    private static bool HoldsAny(System.Net.Http.Headers.HeaderStringValues values, IReadOnlyList<string>? providerKeys)
    {
        if (providerKeys is null)
        {
            return false;
        }

        for (var i = 0; i < providerKeys.Count; i++)
        {
            if (Holds(values, providerKeys[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any value holds the provider key.</summary>
    private static bool Holds(System.Net.Http.Headers.HeaderStringValues values, string? providerKey)
    {
        if (string.IsNullOrEmpty(providerKey))
        {
            return false;
        }

        foreach (var value in values)
        {
            if (value.Contains(providerKey, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
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
