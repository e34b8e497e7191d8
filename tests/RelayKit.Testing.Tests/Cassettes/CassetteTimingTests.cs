using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteTimingTests
{
    private static readonly TimeSpan FirstByte = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Records_each_event_offset_on_the_fake_clock_and_replays_the_same_order_and_spacing()
    {
        using var folder = new CassetteFolder();
        var recordingTime = new ObservedTimeProvider();
        var upstream = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = recordingTime });
        upstream.Setup().RespondWithText("One two three four five.").WithFault(FakeFault.Latency(FirstByte, Gap));
        var address = await upstream.StartAsync();
        List<SseItem> recorded;
        await using (var recorder = new FakeUpstream(new FakeUpstreamOptions
        {
            TimeProvider = recordingTime,
            Cassette = folder.Options("timing", CassetteRecordMode.Once, address),
        }))
        {
            (recorded, var upstreamDelays) = await DriveStreamAsync(recorder.CreateClient(), Post("/v1/chat/completions", Chat("Count", stream: true)), recordingTime);
            Assert.Equal(FirstByte, upstreamDelays[0]);
        }

        await upstream.DisposeAsync();

        // The file holds the clock's offsets: headers after the first-byte wait, then one gap per event.
        var events = JsonNode.Parse(await File.ReadAllTextAsync(folder.FileOf("timing")))!["interactions"]![0]!["response"]!["events"]!.AsArray();
        var offsets = events.Select(e => (double)e!["offsetMs"]!).ToList();
        Assert.Equal(recorded.Count, offsets.Count);
        var dataEvents = recorded.Count - 1;
        Assert.Equal(Enumerable.Range(0, dataEvents).Select(i => 200.0 + (50.0 * i)), offsets.Take(dataEvents));
        Assert.Equal(offsets[dataEvents - 1], offsets[^1]);

        // Recorded speed: the same waits, in the same places, on the replaying fake's clock.
        var (replayed, delays) = await ReplayAsync(folder, CassetteSpeed.Recorded);
        Assert.Equal(recorded.Select(e => e.Data), replayed.Select(e => e.Data));
        Assert.Equal([FirstByte, .. Enumerable.Repeat(Gap, dataEvents - 1)], delays);

        // Scaled: twice as fast halves every wait.
        (replayed, delays) = await ReplayAsync(folder, CassetteSpeed.Scaled(2));
        Assert.Equal(recorded.Select(e => e.Data), replayed.Select(e => e.Data));
        Assert.Equal([FirstByte / 2, .. Enumerable.Repeat(Gap / 2, dataEvents - 1)], delays);

        // Instant: no waits at all.
        (replayed, delays) = await ReplayAsync(folder, CassetteSpeed.Instant);
        Assert.Equal(recorded.Select(e => e.Data), replayed.Select(e => e.Data));
        Assert.Empty(delays);
    }

    [Fact]
    public void Speed_reads_the_forms_the_sample_accepts()
    {
        Assert.Equal(CassetteSpeed.Instant, CassetteSpeed.Parse("instant"));
        Assert.Equal(CassetteSpeed.Recorded, CassetteSpeed.Parse("Recorded"));
        Assert.Equal(4, CassetteSpeed.Parse("4").Factor);
        Assert.Throws<FormatException>(() => CassetteSpeed.Parse("fast"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CassetteSpeed.Scaled(-1));
    }

    private static async Task<(List<SseItem> Events, List<TimeSpan> Delays)> ReplayAsync(CassetteFolder folder, CassetteSpeed speed)
    {
        var time = new ObservedTimeProvider();
        var options = folder.Options("timing", CassetteRecordMode.None);
        options.Speed = speed;
        await using var replayer = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = time, Cassette = options });
        var result = await DriveStreamAsync(replayer.CreateClient(), Post("/v1/chat/completions", Chat("Count", stream: true)), time);
        Assert.Equal(result.Delays.Count, time.TimersCreated);
        return result;
    }
}
