using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Status;

public sealed class HealthCheckTests
{
    private static async Task<(HealthReport Report, UpstreamHealthTracker Tracker)> CheckAsync(
        Action<UsageOptions> configure, Action<UpstreamHealthTracker>? traffic = null, bool relayOff = false)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.Configure<ModelRelayOptions>(o => o.Enabled = !relayOff);
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2025, 3, 10, 12, 0, 0, TimeSpan.Zero)));
        services.AddRelayUsage(configure);
        await using var provider = services.BuildServiceProvider();
        var tracker = provider.GetRequiredService<UpstreamHealthTracker>();
        traffic?.Invoke(tracker);
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(
            c => c.Tags.Contains(UsageServiceCollectionExtensions.HealthCheckTag));
        return (report, tracker);
    }

    [Fact]
    public async Task A_reachable_store_and_no_traffic_are_healthy()
    {
        var (report, _) = await CheckAsync(o => o.Store = UsageStoreKind.InMemory);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(["relaykit-upstreams", "relaykit-usage-store"], report.Entries.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_SQLite_file_makes_the_store_check_unhealthy()
    {
        var blocker = Path.GetTempFileName();
        try
        {
            var (report, _) = await CheckAsync(o => o.SqlitePath = Path.Combine(blocker, "usage.db"));

            Assert.Equal(HealthStatus.Unhealthy, report.Entries["relaykit-usage-store"].Status);
            Assert.Equal(HealthStatus.Healthy, report.Entries["relaykit-upstreams"].Status);
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    [Fact]
    public async Task With_the_relay_off_the_store_check_never_opens_the_store()
    {
        var folder = Path.Combine(Path.GetTempPath(), "relaykit-off-" + Guid.NewGuid().ToString("N"));
        var (report, _) = await CheckAsync(o => o.SqlitePath = Path.Combine(folder, "usage.db"), relayOff: true);

        Assert.Equal(HealthStatus.Healthy, report.Entries["relaykit-usage-store"].Status);
        Assert.Contains("off", report.Entries["relaykit-usage-store"].Description, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task Upstreams_are_degraded_when_one_is_down_and_unhealthy_when_all_are()
    {
        static void Fail(UpstreamHealthTracker t, string provider)
        {
            for (var i = 0; i < 3; i++)
            {
                t.RecordAttempt(provider, false, TimeSpan.FromMilliseconds(10));
            }
        }

        var (oneDown, _) = await CheckAsync(o => o.Store = UsageStoreKind.InMemory, t =>
        {
            Fail(t, "openai");
            t.RecordAttempt("anthropic", true, TimeSpan.FromMilliseconds(10));
        });
        var (allDown, _) = await CheckAsync(o => o.Store = UsageStoreKind.InMemory, t =>
        {
            Fail(t, "openai");
            Fail(t, "anthropic");
        });

        var degraded = oneDown.Entries["relaykit-upstreams"];
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Equal("Down", degraded.Data["openai"]);
        Assert.Equal("Healthy", degraded.Data["anthropic"]);
        Assert.Equal(HealthStatus.Unhealthy, allDown.Entries["relaykit-upstreams"].Status);
    }
}
