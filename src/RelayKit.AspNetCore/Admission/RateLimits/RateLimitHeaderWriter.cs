using System.Globalization;
using System.Text;
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
    /// <summary>The quota headers, plus the retry headers when the lease is a rejection that may be retried.</summary>
    public static void Write(IHeaderDictionary headers, RateLimitWireFormat format, RelayRateLimitLease lease)
    {
        WriteQuota(headers, format, "requests", lease.Requests);
        WriteQuota(headers, format, "tokens", lease.Tokens);
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

        if (totalMilliseconds < 1000)
        {
            return totalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var hours = totalMilliseconds / 3_600_000;
        var minutes = totalMilliseconds / 60_000 % 60;
        var seconds = totalMilliseconds / 1000 % 60;
        var fraction = totalMilliseconds % 1000;
        var text = new StringBuilder();
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        text.Append(seconds.ToString(CultureInfo.InvariantCulture));
        if (fraction > 0)
        {
            text.Append('.').Append(fraction.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        return text.Append('s').ToString();
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

    private static void WriteQuota(IHeaderDictionary headers, RateLimitWireFormat format, string dimension, RateLimitQuota? quota)
    {
        if (quota is not { } q)
        {
            return;
        }

        var limit = q.Limit.ToString(CultureInfo.InvariantCulture);
        var remaining = q.Remaining.ToString(CultureInfo.InvariantCulture);
        if (format == RateLimitWireFormat.OpenAI)
        {
            headers[$"x-ratelimit-limit-{dimension}"] = limit;
            headers[$"x-ratelimit-remaining-{dimension}"] = remaining;
            headers[$"x-ratelimit-reset-{dimension}"] = FormatOpenAIDuration(q.ResetAfter);
        }
        else
        {
            headers[$"anthropic-ratelimit-{dimension}-limit"] = limit;
            headers[$"anthropic-ratelimit-{dimension}-remaining"] = remaining;
            headers[$"anthropic-ratelimit-{dimension}-reset"] = FormatRfc3339(q.ResetAt);
        }
    }
}
