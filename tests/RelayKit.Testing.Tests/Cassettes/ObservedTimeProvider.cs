using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>A <see cref="FakeTimeProvider"/> that reports every timer asked of it, so a test advances time exactly when something waits.</summary>
internal sealed class ObservedTimeProvider : TimeProvider
{
    private readonly FakeTimeProvider _inner = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();
    private int _created;

    public ChannelReader<TimeSpan> Timers => _timers.Reader;

    public int TimersCreated => Volatile.Read(ref _created);

    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    public override long TimestampFrequency => _inner.TimestampFrequency;

    public void Advance(TimeSpan delta) => _inner.Advance(delta);

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override long GetTimestamp() => _inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        // The timer exists before the test hears of it, so an advance can never run ahead of it.
        var timer = _inner.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _created);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }
}
