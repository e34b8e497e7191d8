using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Tests.Status;

public sealed class UpstreamHealthTrackerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 10, 12, 0, 0, TimeSpan.Zero));
    private readonly UpstreamHealthTracker _tracker;

    public UpstreamHealthTrackerTests() =>
        _tracker = new UpstreamHealthTracker(_time, new StaticOptionsMonitor(new UpstreamHealthOptions()));

    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(100);

    private void Record(string provider, int successes, int failures)
    {
        for (var i = 0; i < successes; i++)
        {
            _tracker.RecordAttempt(provider, succeeded: true, Fast);
        }

        for (var i = 0; i < failures; i++)
        {
            _tracker.RecordAttempt(provider, succeeded: false, Fast);
        }
    }

    [Fact]
    public void An_upstream_without_traffic_is_unknown()
    {
        var report = _tracker.GetReport("openai");

        Assert.Equal(UpstreamHealth.Unknown, report.Health);
        Assert.Equal(0, report.LastHour.Attempts);
        Assert.Null(report.LastHour.Uptime);
        Assert.Null(report.LastDay.P50);
        Assert.Empty(_tracker.GetReports());
    }

    [Fact]
    public void Health_follows_the_recent_error_rate()
    {
        Record("healthy", 19, 1);
        Record("degraded", 8, 2);
        Record("down", 2, 3);

        Assert.Equal(UpstreamHealth.Healthy, _tracker.GetReport("healthy").Health);
        Assert.Equal(UpstreamHealth.Degraded, _tracker.GetReport("degraded").Health);
        Assert.Equal(UpstreamHealth.Down, _tracker.GetReport("down").Health);
        Assert.Equal(0.2, _tracker.GetReport("degraded").LastHour.ErrorRate!.Value, 6);
        Assert.Equal(["degraded", "down", "healthy"], _tracker.GetReports().Select(r => r.Provider));
    }

    [Fact]
    public void Without_traffic_the_probes_judge_health_and_never_count_as_attempts()
    {
        void Probe(bool ok) =>
            _tracker.RecordProbe("openai", new UpstreamProbe(_time.GetUtcNow(), [new UpstreamProbeResult("openai", ok, ok ? 200 : 503, null, Fast)]));

        Probe(ok: true);
        var probed = _tracker.GetReport("openai");
        Assert.Equal(UpstreamHealth.Healthy, probed.Health);
        Assert.Equal(0, probed.RecentAttempts);
        Assert.Equal(0, probed.LastDay.Attempts);
        Assert.True(probed.LastProbe!.Ok);

        // Failed probes in a row: degraded, then down at MinimumAttempts (3).
        Probe(ok: false);
        Probe(ok: false);
        Assert.Equal(UpstreamHealth.Degraded, _tracker.GetReport("openai").Health);
        Probe(ok: false);
        Assert.Equal(UpstreamHealth.Down, _tracker.GetReport("openai").Health);

        // Recent traffic outweighs the probes.
        Record("openai", 5, 0);
        Assert.Equal(UpstreamHealth.Healthy, _tracker.GetReport("openai").Health);

        // With neither in the recent window, the later of the two is the last-known state.
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(UpstreamHealth.Idle, _tracker.GetReport("openai").Health);
        Probe(ok: false);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(UpstreamHealth.Degraded, _tracker.GetReport("openai").Health);
    }

    [Fact]
    public void An_upstream_that_answered_and_then_went_quiet_is_idle_not_unknown()
    {
        Record("openai", 20, 0);
        Assert.Equal(UpstreamHealth.Healthy, _tracker.GetReport("openai").Health);

        _time.Advance(TimeSpan.FromMinutes(5));
        var idle = _tracker.GetReport("openai");
        _time.Advance(TimeSpan.FromHours(30));
        var longIdle = _tracker.GetReport("openai");

        Assert.Equal(UpstreamHealth.Idle, idle.Health);
        Assert.Equal(20, idle.LastHour.Attempts);
        Assert.Equal(UpstreamHealth.Idle, longIdle.Health);
        Assert.Equal(0, longIdle.LastDay.Attempts);
        Assert.Equal(UpstreamHealth.Unknown, _tracker.GetReport("anthropic").Health);
    }

    [Fact]
    public void An_upstream_whose_last_attempt_failed_is_not_idle()
    {
        Record("openai", 20, 1);

        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(UpstreamHealth.Degraded, _tracker.GetReport("openai").Health);
    }

    [Fact]
    public void Failures_in_a_row_mark_an_upstream_down_until_it_answers_again()
    {
        Record("openai", 50, 0);
        Record("openai", 0, 3);

        var down = _tracker.GetReport("openai");
        Assert.Equal(UpstreamHealth.Down, down.Health);
        Assert.Equal(3, down.ConsecutiveFailures);
        Assert.Equal(_time.GetUtcNow(), down.LastFailure);

        Assert.Equal(53, down.RecentAttempts);

        // Idle since: the report keeps the last-known state for the page (it is not unknown: requests did reach
        // it), but says nothing came in the recent window, so the readiness check does not judge on it.
        _time.Advance(TimeSpan.FromMinutes(6));
        var idle = _tracker.GetReport("openai");
        Assert.Equal(UpstreamHealth.Down, idle.Health);
        Assert.Equal(0, idle.RecentAttempts);

        Record("openai", 1, 0);
        var recovered = _tracker.GetReport("openai");
        Assert.Equal(UpstreamHealth.Healthy, recovered.Health);
        Assert.Equal(0, recovered.ConsecutiveFailures);
        Assert.Equal(54, recovered.LastHour.Attempts);
    }

    [Fact]
    public async Task After_an_outage_without_traffic_the_health_check_recovers_while_the_report_keeps_the_last_known_state()
    {
        var check = new UpstreamsHealthCheck(_tracker);
        Record("openai", 50, 3);
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        // Taken out of rotation, the instance gets no traffic: judging on the stale failures would keep it out for good.
        _time.Advance(TimeSpan.FromDays(3));
        var result = await check.CheckHealthAsync(new HealthCheckContext());
        var report = _tracker.GetReport("openai");

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal("No recent upstream traffic.", result.Description);
        Assert.Equal(UpstreamHealth.Down, report.Health);
        Assert.Equal(3, report.ConsecutiveFailures);
        Assert.Equal(0, report.RecentAttempts);
    }

    [Fact]
    public void Uptime_is_the_share_of_minutes_with_traffic_that_were_up_over_the_hour_and_the_day()
    {
        for (var minute = 0; minute < 40; minute++)
        {
            if (minute > 0)
            {
                _time.Advance(TimeSpan.FromMinutes(1));
            }

            Record("openai", minute < 30 ? 5 : 1, minute < 30 ? 0 : 4);
        }

        var report = _tracker.GetReport("openai");
        Assert.Equal(0.75, report.LastHour.Uptime!.Value, 6);
        Assert.Equal(0.75, report.LastDay.Uptime!.Value, 6);
        Assert.Equal(200, report.LastHour.Attempts);
        Assert.Equal(40, report.LastHour.Failures);

        _time.Advance(TimeSpan.FromMinutes(61));
        var later = _tracker.GetReport("openai");
        Assert.Null(later.LastHour.Uptime);
        Assert.Equal(0, later.LastHour.Attempts);
        Assert.Equal(0.75, later.LastDay.Uptime!.Value, 6);

        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, _tracker.GetReport("openai").LastDay.Attempts);
    }

    [Fact]
    public void A_reused_slot_forgets_the_day_before()
    {
        Record("openai", 0, 10);
        _time.Advance(TimeSpan.FromDays(1));
        Record("openai", 1, 0);

        var report = _tracker.GetReport("openai");

        Assert.Equal(1, report.LastDay.Attempts);
        Assert.Equal(0, report.LastDay.Failures);
        Assert.Equal(1.0, report.LastDay.Uptime);
    }

    [Fact]
    public void Latency_percentiles_come_from_the_window_within_bin_accuracy()
    {
        for (var ms = 1; ms <= 1000; ms++)
        {
            _tracker.RecordAttempt("openai", succeeded: true, TimeSpan.FromMilliseconds(ms));
        }

        var hour = _tracker.GetReport("openai").LastHour;

        AssertClose(500, hour.P50!.Value);
        AssertClose(950, hour.P95!.Value);
        AssertClose(990, hour.P99!.Value);
    }

    [Fact]
    public void Old_latencies_leave_the_hour_but_stay_in_the_day()
    {
        for (var i = 0; i < 100; i++)
        {
            _tracker.RecordAttempt("openai", succeeded: true, TimeSpan.FromSeconds(5));
        }

        _time.Advance(TimeSpan.FromMinutes(70));
        for (var i = 0; i < 100; i++)
        {
            _tracker.RecordAttempt("openai", succeeded: true, TimeSpan.FromMilliseconds(50));
        }

        var report = _tracker.GetReport("openai");
        Assert.Equal(TimeSpan.FromMilliseconds(50), report.LastHour.P99);
        Assert.Equal(TimeSpan.FromSeconds(5), report.LastDay.P99);
        AssertClose(50, report.LastDay.P50!.Value);
    }

    [Fact]
    public void Identical_latencies_report_exactly()
    {
        Record("openai", 10, 0);

        var hour = _tracker.GetReport("openai").LastHour;

        Assert.Equal(Fast, hour.P50);
        Assert.Equal(Fast, hour.P99);
    }

    private static void AssertClose(double expectedMs, TimeSpan actual) =>
        Assert.InRange(actual.TotalMilliseconds, expectedMs * 0.88, expectedMs * 1.13);

    private sealed class StaticOptionsMonitor(UpstreamHealthOptions value) : IOptionsMonitor<UpstreamHealthOptions>
    {
        public UpstreamHealthOptions CurrentValue => value;

        public UpstreamHealthOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<UpstreamHealthOptions, string?> listener) => null;
    }
}
