using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace RelayKit.Testing.Faults;

/// <summary>
/// The per-minute request and token budget the fake reports in the providers' rate-limit headers,
/// counting down with every answered request and starting over each minute of the fake's clock.
/// </summary>
internal sealed class RateLimitWindow(FakeUpstreamOptions options)
{
    private static readonly TimeSpan Length = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _requests;
    private long _tokens;

    public void Consume(IHeaderDictionary headers, FakeWireFormat format, int tokens)
    {
        var now = options.TimeProvider.GetUtcNow();
        int remainingRequests;
        long remainingTokens;
        TimeSpan untilReset;
        lock (_gate)
        {
            if (now - _windowStart >= Length)
            {
                _windowStart = now;
                _requests = 0;
                _tokens = 0;
            }

            _requests++;
            _tokens += tokens;
            remainingRequests = Math.Max(0, options.RequestsPerMinute - _requests);
            remainingTokens = Math.Max(0, options.TokensPerMinute - _tokens);
            untilReset = _windowStart + Length - now;
        }

        if (format == FakeWireFormat.OpenAI)
        {
            headers["x-ratelimit-limit-requests"] = options.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-limit-tokens"] = options.TokensPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = remainingRequests.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = remainingTokens.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = OpenAIDuration(untilReset);
            headers["x-ratelimit-reset-tokens"] = OpenAIDuration(untilReset);
        }
        else
        {
            var reset = (now + untilReset).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            headers["anthropic-ratelimit-requests-limit"] = options.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["anthropic-ratelimit-requests-remaining"] = remainingRequests.ToString(CultureInfo.InvariantCulture);
            headers["anthropic-ratelimit-requests-reset"] = reset;
            headers["anthropic-ratelimit-tokens-limit"] = options.TokensPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["anthropic-ratelimit-tokens-remaining"] = remainingTokens.ToString(CultureInfo.InvariantCulture);
            headers["anthropic-ratelimit-tokens-reset"] = reset;
        }
    }

    /// <summary>OpenAI's reset format: <c>1s</c>, <c>6m0s</c>, <c>120ms</c>.</summary>
    internal static string OpenAIDuration(TimeSpan span)
    {
        if (span < TimeSpan.FromSeconds(1))
        {
            return $"{Math.Max(0, (int)span.TotalMilliseconds)}ms";
        }

        var seconds = (int)Math.Ceiling(span.TotalSeconds);
        return seconds < 60 ? $"{seconds}s" : $"{seconds / 60}m{seconds % 60}s";
    }
}
