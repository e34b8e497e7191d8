using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Status;

/// <summary>
/// Tracks every upstream's health from the relay's real traffic: the forward step reports each
/// attempt's outcome, and the status page, the health check and routing read the reports. Memory
/// per upstream is fixed (about 170 KB), whatever the traffic.
/// </summary>
internal sealed class UpstreamHealthTracker
{
    private readonly ConcurrentDictionary<string, ProviderHealthState> _providers = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly IOptionsMonitor<UpstreamHealthOptions> _options;

    public UpstreamHealthTracker(TimeProvider timeProvider, IOptionsMonitor<UpstreamHealthOptions> options)
    {
        _timeProvider = timeProvider;
        _options = options;
    }

    /// <summary>Records the outcome of one attempt at an upstream, timed now.</summary>
    /// <param name="provider">The upstream's name.</param>
    /// <param name="succeeded">Whether the upstream answered usefully (a 5xx, 429, timeout or broken connection is a failure; a 4xx caused by the caller's request is not).</param>
    /// <param name="latency">Time until the upstream's response headers (or until the failure).</param>
    public void RecordAttempt(string provider, bool succeeded, TimeSpan latency)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var state = _providers.GetOrAdd(provider, static name => new ProviderHealthState(name));
        state.Record(_timeProvider.GetUtcNow(), succeeded, latency < TimeSpan.Zero ? TimeSpan.Zero : latency);
    }

    /// <summary>Records a probe of a provider (<see cref="UpstreamProbes"/>): shown with its health, never counted as traffic.</summary>
    public void RecordProbe(string provider, UpstreamProbe probe)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        _providers.GetOrAdd(provider, static name => new ProviderHealthState(name)).RecordProbe(probe);
    }

    /// <summary>The report of one upstream; <see cref="UpstreamHealth.Unknown"/> with empty windows when it has had no traffic.</summary>
    public UpstreamHealthReport GetReport(string provider)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        if (_providers.TryGetValue(provider, out var state))
        {
            return state.Report(_timeProvider.GetUtcNow(), _options.CurrentValue);
        }

        UpstreamWindowStats Empty(TimeSpan window) => new(window, 0, 0, null, null, null, null, null);
        return new UpstreamHealthReport(provider, UpstreamHealth.Unknown, Empty(TimeSpan.FromHours(1)), Empty(TimeSpan.FromDays(1)), null, null, 0, 0);
    }

    /// <summary>The reports of every upstream that has had traffic, by name.</summary>
    public IReadOnlyList<UpstreamHealthReport> GetReports()
    {
        var now = _timeProvider.GetUtcNow();
        var options = _options.CurrentValue;
        return _providers.Values.Select(state => state.Report(now, options))
            .OrderBy(report => report.Provider, StringComparer.Ordinal).ToList();
    }
}
