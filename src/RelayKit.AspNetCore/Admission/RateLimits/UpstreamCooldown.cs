using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Remembers which upstreams answered 429 and until when, so the relay stops sending them traffic
/// and tells callers how long to wait instead of hammering the upstream. Per instance: each relay
/// instance learns of an upstream's limit from its own 429.
/// </summary>
internal sealed class UpstreamCooldown
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _blockedUntil = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;
    private readonly IOptionsMonitor<RelayRateLimitsOptions> _options;
    private readonly ILogger<UpstreamCooldown> _logger;

    public UpstreamCooldown(TimeProvider time, IOptionsMonitor<RelayRateLimitsOptions> options, ILogger<UpstreamCooldown> logger)
    {
        _time = time;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// Records that <paramref name="upstream"/> answered 429, asking to wait <paramref name="retryAfter"/>
    /// (the configured default when it said nothing, capped at the configured maximum). A shorter wait
    /// never shortens one already recorded. Returns when the upstream may be used again.
    /// </summary>
    public DateTimeOffset RecordRateLimited(string upstream, TimeSpan? retryAfter)
    {
        var options = _options.CurrentValue;
        var wait = retryAfter is { } asked && asked > TimeSpan.Zero ? asked : options.UpstreamDefaultCooldown;
        if (wait > options.UpstreamMaxCooldown)
        {
            wait = options.UpstreamMaxCooldown;
        }

        var until = _time.GetUtcNow() + wait;
        var recorded = _blockedUntil.AddOrUpdate(upstream, until, (_, existing) => existing > until ? existing : until);
        RateLimitLog.UpstreamCoolingDown(_logger, upstream, recorded);
        return recorded;
    }

    /// <summary>The longest wait this instance takes for a 429 (<c>UpstreamMaxCooldown</c>).</summary>
    public TimeSpan LongestWait => _options.CurrentValue.UpstreamMaxCooldown;

    /// <summary>Records that another instance saw <paramref name="upstream"/> answer 429: it rests here until then too.</summary>
    public void RecordUntil(string upstream, DateTimeOffset until) =>
        _blockedUntil.AddOrUpdate(upstream, until, (_, existing) => existing > until ? existing : until);

    /// <summary>Records a 429 from <paramref name="upstream"/>, reading its wait from the response headers.</summary>
    public DateTimeOffset RecordRateLimitedResponse(string upstream, HttpResponseHeaders headers) =>
        RecordRateLimited(upstream, ReadRetryAfter(headers, _time.GetUtcNow()));

    /// <summary>
    /// How long every key of <paramref name="provider"/> is still to be left alone (the shortest of their waits);
    /// <see langword="null"/> when one of them may be used.
    /// </summary>
    public TimeSpan? RemainingCooldown(Routing.UpstreamProvider provider)
    {
        TimeSpan? shortest = null;
        for (var key = 0; key < provider.KeyCount; key++)
        {
            if (RemainingCooldown(provider.KeyName(key)) is not { } remaining)
            {
                return null;
            }

            shortest = shortest is { } s && s < remaining ? s : remaining;
        }

        return shortest;
    }

    /// <summary>How long <paramref name="upstream"/> is still to be left alone; <see langword="null"/> when it may be used.</summary>
    public TimeSpan? RemainingCooldown(string upstream)
    {
        if (!_blockedUntil.TryGetValue(upstream, out var until))
        {
            return null;
        }

        var remaining = until - _time.GetUtcNow();
        if (remaining > TimeSpan.Zero)
        {
            return remaining;
        }

        // Removes only the entry read, not one a concurrent 429 just extended.
        _blockedUntil.TryRemove(new KeyValuePair<string, DateTimeOffset>(upstream, until));
        return null;
    }

    /// <summary>
    /// The wait an upstream asked for: <c>retry-after-ms</c> first (the providers' precise form), then
    /// <c>retry-after</c> as seconds or an HTTP date.
    /// </summary>
    internal static TimeSpan? ReadRetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.TryGetValues("retry-after-ms", out var values)
            && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds > 0)
        {
            // An absurd value (1e300, Infinity) is a long wait, not an overflow: a day is longer than any cap.
            return TimeSpan.FromMilliseconds(double.IsFinite(milliseconds) ? Math.Min(milliseconds, TimeSpan.FromDays(1).TotalMilliseconds) : TimeSpan.FromDays(1).TotalMilliseconds);
        }

        return headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } when date > now => date - now,
            _ => null,
        };
    }
}
