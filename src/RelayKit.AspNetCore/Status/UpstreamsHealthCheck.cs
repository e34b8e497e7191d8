using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RelayKit.AspNetCore.Status;

/// <summary>
/// Reports the upstreams' health from real traffic: unhealthy when every upstream with recent
/// traffic is down, degraded when some are down or degraded, healthy otherwise (no recent traffic included).
/// Only upstreams with attempts in the recent window are judged: an idle upstream's health is only the
/// last-known state, and judging on it would keep an instance out of rotation (so without traffic) for good.
/// </summary>
internal sealed class UpstreamsHealthCheck : IHealthCheck
{
    private readonly UpstreamHealthTracker _tracker;

    public UpstreamsHealthCheck(UpstreamHealthTracker tracker) => _tracker = tracker;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var reports = _tracker.GetReports();
        var data = reports.ToDictionary(r => r.Provider, r => (object)r.Health.ToString());
        var judged = reports.Where(r => r.RecentAttempts > 0).ToList();
        var down = judged.Where(r => r.Health == UpstreamHealth.Down).Select(r => r.Provider).ToList();
        var degraded = judged.Where(r => r.Health == UpstreamHealth.Degraded).Select(r => r.Provider).ToList();

        var result = judged.Count > 0 && down.Count == judged.Count
            ? HealthCheckResult.Unhealthy($"Every upstream is down: {string.Join(", ", down)}.", data: data)
            : down.Count + degraded.Count > 0
                ? HealthCheckResult.Degraded(
                    $"Down: {(down.Count == 0 ? "none" : string.Join(", ", down))}; degraded: {(degraded.Count == 0 ? "none" : string.Join(", ", degraded))}.",
                    data: data)
                : HealthCheckResult.Healthy(judged.Count == 0 ? "No recent upstream traffic." : "Every upstream is healthy.", data);
        return Task.FromResult(result);
    }
}
