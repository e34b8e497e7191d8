using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Writes the rate-limit headers the providers send, so clients and the official SDKs pace themselves
/// by the relay as they would by the provider.
/// </summary>
/// <remarks>
/// OpenAI: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c>, reset as a Go duration
/// (<c>1s</c>, <c>6m0s</c>, <c>12ms</c>). Anthropic: <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c>,
/// reset as an RFC 3339 UTC time. Rejections add <c>retry-after</c> (whole seconds, rounded up) and
/// <c>retry-after-ms</c>, which the official OpenAI and Anthropic SDKs read before <c>retry-after</c>.
/// </remarks>
internal static class RateLimitHeaderWriter
{
    // The names, made once: built per response they were most of what writing these headers allocated.
    private static readonly QuotaHeaderNames OpenAIRequests = new("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");
    private static readonly QuotaHeaderNames OpenAITokens = new("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    private static readonly QuotaHeaderNames AnthropicRequests = new("anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset");
    private static readonly QuotaHeaderNames AnthropicTokens = new("anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset");

    /// <summary>The quota headers, plus the retry headers when the lease is a rejection that may be retried.</summary>
    public static void Write(IHeaderDictionary headers, RateLimitWireFormat format, RelayRateLimitLease lease)
    {
        var openAI = format == RateLimitWireFormat.OpenAI;
        WriteQuota(headers, openAI, openAI ? OpenAIRequests : AnthropicRequests, lease.Requests);
        WriteQuota(headers, openAI, openAI ? OpenAITokens : AnthropicTokens, lease.Tokens);
        if (lease.Rejection?.RetryAfter is { } retryAfter)
        {
            WriteRetryAfter(headers, retryAfter);
        }
    }

    /// <summary><c>retry-after</c> in whole seconds rounded up (at least 1) and <c>retry-after-ms</c>.</summary>
    public static void WriteRetryAfter(IHeaderDictionary headers, TimeSpan retryAfter)
    {
        var milliseconds = Math.Max(0, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
        var seconds = Math.Max(1, (milliseconds + 999) / 1000);
        headers["retry-after"] = seconds.ToString(CultureInfo.InvariantCulture);
        headers["retry-after-ms"] = milliseconds.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A duration as Go's <c>time.Duration.String()</c> prints it, which is what OpenAI sends, to the
    /// millisecond and rounded up: <c>0s</c>, <c>250ms</c>, <c>1s</c>, <c>1.5s</c>, <c>6m0s</c>, <c>1h0m0s</c>.
    /// </summary>
    public static string FormatOpenAIDuration(TimeSpan duration)
    {
        var totalMilliseconds = Math.Max(0, (long)Math.Ceiling(duration.TotalMilliseconds));
        if (totalMilliseconds == 0)
        {
            return "0s";
        }

        // Appended to a stack buffer, so the string is the only allocation (a StringBuilder and a string per
        // part were most of what these headers cost per response).
        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[48]);
        if (totalMilliseconds < 1000)
        {
            text.AppendFormatted(totalMilliseconds);
            text.AppendLiteral("ms");
            return text.ToStringAndClear();
        }

        var hours = totalMilliseconds / 3_600_000;
        var minutes = totalMilliseconds / 60_000 % 60;
        var seconds = totalMilliseconds / 1000 % 60;
        var fraction = totalMilliseconds % 1000;
        if (hours > 0)
        {
            text.AppendFormatted(hours);
            text.AppendLiteral("h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.AppendFormatted(minutes);
            text.AppendLiteral("m");
        }

        text.AppendFormatted(seconds);
        if (fraction > 0)
        {
            // Three digits less their trailing zeros, as Go prints them: .5, .02, .172.
            Span<char> digits = stackalloc char[3];
            fraction.TryFormat(digits, out _, "000", CultureInfo.InvariantCulture);
            text.AppendLiteral(".");
            text.AppendFormatted((ReadOnlySpan<char>)digits.TrimEnd('0'));
        }

        text.AppendLiteral("s");
        return text.ToStringAndClear();
    }

    /// <summary>An instant as RFC 3339 UTC, rounded up to the second so a client never comes back early.</summary>
    public static string FormatRfc3339(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        var remainder = utc.Ticks % TimeSpan.TicksPerSecond;
        if (remainder != 0)
        {
            utc = utc.AddTicks(TimeSpan.TicksPerSecond - remainder);
        }

        return utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private static void WriteQuota(IHeaderDictionary headers, bool openAI, QuotaHeaderNames names, RateLimitQuota? quota)
    {
        if (quota is not { } q)
        {
            return;
        }

        headers[names.Limit] = q.Limit.ToString(CultureInfo.InvariantCulture);
        headers[names.Remaining] = q.Remaining.ToString(CultureInfo.InvariantCulture);
        headers[names.Reset] = openAI ? FormatOpenAIDuration(q.ResetAfter) : FormatRfc3339(q.ResetAt);
    }

    private sealed record QuotaHeaderNames(string Limit, string Remaining, string Reset);
}
