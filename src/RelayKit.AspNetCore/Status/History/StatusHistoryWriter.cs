using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// Writes the status history off the request path: every <see cref="Interval"/> it adds the counts
/// <see cref="StatusHistory"/> gathered to the store, rolls the recent hours and days up again (so other instances'
/// late minutes count), and once an hour prunes what is past retention. It writes a last time when the host stops.
/// </summary>
internal sealed partial class StatusHistoryWriter(
    StatusHistory history,
    IStatusStore store,
    IOptionsMonitor<UpstreamHealthOptions> options,
    TimeProvider timeProvider,
    ILogger<StatusHistoryWriter> logger) : BackgroundService
{
    /// <summary>How often gathered counts are written.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a lasting incident may go unseen before the store ends it: its instance sends it again on every write, so
    /// one unseen this long belongs to an instance that stopped (or crashed) before it could end it.
    /// </summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    // Hours rolled up again on each write: another instance's minutes may land a little late.
    private static readonly TimeSpan RollUpAgain = TimeSpan.FromHours(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    /// <summary>Writes what gathered now, rolls up and prunes when due (the timer's work; tests call it directly).</summary>
    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var (minutes, incidents) = history.Take();
            try
            {
                await store.AddAsync(minutes, incidents, cancellationToken);
            }
            catch
            {
                history.PutBack(minutes, incidents);
                throw;
            }

            var now = timeProvider.GetUtcNow();
            await store.RollUpAsync(now - RollUpAgain, now, options.CurrentValue.DownErrorRate, cancellationToken);
            var ended = await store.EndAbandonedAsync(now - AbandonedAfter, cancellationToken);
            if (ended > 0)
            {
                LogAbandonedEnded(ended);
            }

            if (now - _lastPrune >= TimeSpan.FromHours(1))
            {
                await store.PruneAsync(now, cancellationToken);
                _lastPrune = now;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await TryFlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // The host is stopping: what gathered since the last write is written now, so a restart loses none of it.
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await TryFlushAsync(last.Token);
    }

    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogWriteFailed(ex);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(2, LogLevel.Information, "Ended {Count} status incidents whose instance stopped seeing them (it stopped before they ended)")]
    private partial void LogAbandonedEnded(int count);

    [LoggerMessage(1, LogLevel.Warning, "The status history could not be written; its counts are kept for the next try (up to an hour)")]
    private partial void LogWriteFailed(Exception exception);
}
