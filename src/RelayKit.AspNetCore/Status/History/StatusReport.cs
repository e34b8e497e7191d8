using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>What the status page and summary.json show: every provider and model with its figures, and the incidents.</summary>
internal sealed record StatusReport(DateTimeOffset Now, IReadOnlyList<StatusComponent> Components, IReadOnlyList<StatusIncident> Incidents)
{
    public const int BarDays = 90;

    /// <summary>The windows of <see cref="StatusComponent.Uptime"/>.</summary>
    public static readonly string[] UptimeWindows = ["24 h", "7 d", "30 d", "90 d"];

    /// <summary>Reads the history and the relay's state now into a report.</summary>
    public static async Task<StatusReport> BuildAsync(
        IStatusStore store, ModelRouter router, UpstreamHealthTracker health, IOptionsMonitor<UpstreamHealthOptions> options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMinute = StatusResolution.MinuteOf(now);
        var today = StatusResolution.Floor(nowMinute, StatusResolution.Day);
        var hours = await store.ReadAsync(StatusResolution.Hour, StatusResolution.TimeOf(StatusResolution.Floor(nowMinute, 60) - (23 * 60)), cancellationToken);
        var days = await store.ReadAsync(StatusResolution.Day, StatusResolution.TimeOf(today - ((BarDays - 1) * 1440L)), cancellationToken);
        var incidents = await store.IncidentsAsync(now - TimeSpan.FromDays(BarDays), 50, cancellationToken);
        var thresholds = options.CurrentValue;

        // A model's health now is judged over the recent window, as a provider's is: the current clock hour alone would
        // read a model failing at 11:59 as idle at 12:00.
        var recent = await store.ReadAsync(StatusResolution.Minute, now - thresholds.RecentWindow, cancellationToken);
        var table = router.Table;

        // Every upstream the routes name, and every one the history has seen (a pattern's models, a removed upstream).
        var upstreams = new SortedSet<(string Provider, string Model)>();
        foreach (var provider in table.Source.Providers.Keys)
        {
            upstreams.Add((provider, ""));
        }

        foreach (var entry in table.Entries)
        {
            foreach (var upstream in entry.Upstreams)
            {
                var model = upstream.UpstreamModel ?? (entry.Name.IsWildcard ? null : entry.Name.Text);
                if (model is not null)
                {
                    upstreams.Add((upstream.Provider.Name, model));
                }
            }
        }

        foreach (var day in days)
        {
            upstreams.Add((day.Provider, ""));
            upstreams.Add((day.Provider, day.Model));
        }

        var components = new List<StatusComponent>();
        foreach (var (provider, model) in upstreams)
        {
            var mine = days.Where(d => d.Provider == provider && d.Model == model).ToDictionary(d => d.Start);
            var lastDay = hours.Where(h => h.Provider == provider && h.Model == model).ToList();
            var bars = Enumerable.Range(0, BarDays).Select(i => Uptime(mine.TryGetValue(today - ((BarDays - 1 - i) * 1440L), out var d) ? [d] : [])).ToList();
            double? Since(int daysBack) => Uptime(mine.Values.Where(d => d.Start > today - (daysBack * 1440L)));
            var attempts = lastDay.Sum(h => h.Successes + h.Failures);
            var bins = new long[LatencyBins.Count];
            foreach (var hour in lastDay)
            {
                for (var i = 0; i < bins.Length; i++)
                {
                    bins[i] += hour.LatencyBins[i];
                }
            }

            var samples = bins.Sum();
            var (open, made) = Breakers(table, provider, model, now);
            string status, healthNow;
            if (model.Length == 0)
            {
                var report = health.GetReport(provider);
                healthNow = report.Health.ToString().ToLowerInvariant();
                status = report.Health == UpstreamHealth.Down || (made > 0 && open == made) ? "major_outage"
                    : open > 0 ? "partial_outage"
                    : report.Health == UpstreamHealth.Degraded ? "degraded_performance"
                    : "operational";
            }
            else
            {
                // A model's health now is its recent window from the history (every instance's attempts).
                var window = recent.Where(m => m.Provider == provider && m.Model == model).ToList();
                var total = window.Sum(m => m.Successes + m.Failures);
                var rate = total == 0 ? 0 : (double)window.Sum(m => m.Failures) / total;
                healthNow = total == 0 ? "idle" : rate >= thresholds.DownErrorRate && total >= thresholds.MinimumAttempts ? "down" : rate >= thresholds.DegradedErrorRate ? "degraded" : "healthy";
                status = made > 0 && open == made ? "major_outage" : open > 0 ? "partial_outage"
                    : healthNow == "down" ? "major_outage" : healthNow == "degraded" ? "degraded_performance" : "operational";
            }

            components.Add(new StatusComponent(
                Id(provider, model), provider, model, status, healthNow,
                table.Source.Resilience.BreakAfterFailures <= 0 ? "off" : open == 0 ? "closed" : $"open ({open} of {made})",
                [Uptime(lastDay), Since(7), Since(30), Since(90)],
                bars,
                attempts == 0 ? null : (double)lastDay.Sum(h => h.Failures) / attempts,
                [.. new[] { 0.50, 0.95, 0.99 }.Select(q => LatencyBins.Percentile(bins, samples, q, TimeSpan.Zero, TimeSpan.MaxValue))],
                mine.Count == 0 ? now : StatusResolution.TimeOf(mine.Keys.Min())));
        }

        return new StatusReport(now, components, incidents);
    }

    /// <summary>The share of minutes with traffic that were up; null without traffic.</summary>
    public static double? Uptime(IEnumerable<StatusBucket> buckets)
    {
        long traffic = 0, up = 0;
        foreach (var bucket in buckets)
        {
            traffic += bucket.TrafficMinutes;
            up += bucket.UpMinutes;
        }

        return traffic == 0 ? null : (double)up / traffic;
    }

    /// <summary>Open breakers and breakers made, over every route upstream of the provider (and model).</summary>
    private static (int Open, int Made) Breakers(ModelRouteTable table, string provider, string model, DateTimeOffset now)
    {
        int open = 0, made = 0;
        foreach (var entry in table.Entries)
        {
            foreach (var upstream in entry.Upstreams.Where(u => u.Provider.Name == provider))
            {
                if (model.Length > 0 && (upstream.PassThrough is { } pattern ? !pattern.Matches(model) : (upstream.UpstreamModel ?? entry.Name.Text) != model))
                {
                    continue;
                }

                for (var key = 0; key < upstream.Provider.KeyCount; key++)
                {
                    // The key's own breaker, and for an upstream that sends the caller's model name each model's (only the
                    // row's model's, in a model's row).
                    foreach (var (sent, breaker) in upstream.ExistingBreakers(key))
                    {
                        if (sent is null || model.Length == 0 || sent == model)
                        {
                            made++;
                            open += breaker.StateName == "open" ? 1 : 0;
                        }
                    }
                }
            }
        }

        return (open, made);
    }

    private static string Id(string provider, string model) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(provider + "\n" + model)))[..12];
}
