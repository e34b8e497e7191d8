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
    private readonly History.StatusHistory? _history;

    /// <param name="timeProvider">The relay's clock.</param>
    /// <param name="options">When an upstream counts as degraded or down.</param>
    /// <param name="history">Where attempts and probe incidents are also counted for the stored history, when kept.</param>
    public UpstreamHealthTracker(TimeProvider timeProvider, IOptionsMonitor<UpstreamHealthOptions> options, History.StatusHistory? history = null)
    {
        _timeProvider = timeProvider;
        _options = options;
        _history = history;
    }

    /// <summary>Records the outcome of one attempt at an upstream, timed now.</summary>
    /// <param name="provider">The upstream's name.</param>
    /// <param name="succeeded">Whether the upstream answered usefully (a 5xx, 429, timeout or broken connection is a failure; a 4xx caused by the caller's request is not).</param>
    /// <param name="latency">Time until the upstream's response headers (or until the failure).</param>
    /// <param name="model">The upstream model the attempt asked for, counted in the history per model too; null when not known.</param>
    public void RecordAttempt(string provider, bool succeeded, TimeSpan latency, string? model = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        latency = latency < TimeSpan.Zero ? TimeSpan.Zero : latency;
        var state = _providers.GetOrAdd(provider, static name => new ProviderHealthState(name));
        state.Record(_timeProvider.GetUtcNow(), succeeded, latency);
        _history?.RecordAttempt(provider, model, succeeded, latency);
    }

    /// <summary>Records a probe of a provider (<see cref="UpstreamProbes"/>): shown with its health, never counted as traffic.</summary>
    public void RecordProbe(string provider, UpstreamProbe probe)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        _providers.GetOrAdd(provider, static name => new ProviderHealthState(name)).RecordProbe(probe);

        // Failed probes are an incident of the provider until one succeeds.
        var key = "probe|" + provider;
        if (probe.Ok)
        {
            _history?.Ended(key);
        }
        else
        {
            var failed = probe.Keys.Where(k => !k.Ok).Select(k => k.Key + ": " + (k.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? k.Error));
            _history?.Started(key, provider, "", "probe", $"Probes of {provider} failed ({string.Join(", ", failed)})");
        }
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
