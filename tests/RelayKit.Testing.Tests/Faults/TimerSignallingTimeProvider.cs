using Microsoft.Extensions.Time.Testing;

namespace RelayKit.Testing.Tests.Faults;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that signals each time code starts waiting on it, so a test advances
/// the clock exactly when the fake is in a delay instead of guessing with real sleeps.
/// </summary>
internal sealed class TimerSignallingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
{
    private readonly SemaphoreSlim _waits = new(0);

    /// <summary>Completes when a timer with a finite due time has been created (one signal per timer).</summary>
    public Task WaitStartedAsync(CancellationToken cancellationToken = default) => _waits.WaitAsync(cancellationToken);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            _waits.Release();
        }

        return timer;
    }
}
