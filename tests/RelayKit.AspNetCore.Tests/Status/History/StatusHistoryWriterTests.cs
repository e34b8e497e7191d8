using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Status.History;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Status.History;

/// <summary>The writer's incidents across instances: one that stops mid-incident does not leave it open for ever.</summary>
public sealed class StatusHistoryWriterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));

    private (StatusHistory History, StatusHistoryWriter Writer) Instance(IStatusStore store)
    {
        var history = new StatusHistory(_time);
        return (history, new StatusHistoryWriter(history, store, new StaticOptionsMonitor<UpstreamHealthOptions>(new UpstreamHealthOptions()), _time, NullLogger<StatusHistoryWriter>.Instance));
    }

    [Fact]
    public async Task An_incident_of_an_instance_that_stopped_is_ended_at_its_last_sighting_while_a_running_ones_lasts()
    {
        await using var store = StatusStores.InMemory();
        var (stopping, stoppingWriter) = Instance(store);
        var (running, runningWriter) = Instance(store);
        var started = _time.GetUtcNow();
        stopping.Started("probe|openai", "openai", "", "probe", "Probes of openai failed");
        running.Started("probe|anthropic", "anthropic", "", "probe", "Probes of anthropic failed");
        await stoppingWriter.FlushAsync(default);
        await runningWriter.FlushAsync(default);

        // The first instance writes once more a minute later, then stops for good without ending its incident.
        _time.Advance(TimeSpan.FromMinutes(1));
        await stoppingWriter.FlushAsync(default);
        var lastSeen = _time.GetUtcNow();
        stoppingWriter.Dispose();

        // The running instance keeps writing every few seconds; within the abandon time nothing is ended.
        for (var at = TimeSpan.Zero; at < StatusHistoryWriter.AbandonedAfter; at += StatusHistoryWriter.Interval)
        {
            _time.Advance(StatusHistoryWriter.Interval);
            await runningWriter.FlushAsync(default);
        }

        Assert.All(await store.IncidentsAsync(started.AddDays(-1), 10, default), i => Assert.Null(i.EndedAt));

        _time.Advance(TimeSpan.FromMinutes(5));
        await runningWriter.FlushAsync(default);
        var incidents = (await store.IncidentsAsync(started.AddDays(-1), 10, default)).ToDictionary(i => i.Provider);
        Assert.Equal(lastSeen, incidents["openai"].EndedAt);
        Assert.Equal(TimeSpan.FromMinutes(1), incidents["openai"].Duration(_time.GetUtcNow()));
        Assert.Null(incidents["anthropic"].EndedAt);
        runningWriter.Dispose();
    }
}
