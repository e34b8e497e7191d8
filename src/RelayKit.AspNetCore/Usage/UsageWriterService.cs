using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Drains the usage queue into the store in batches, in the background. On shutdown it waits until
/// every queued record is stored. It drains in <see cref="StoppedAsync"/>, after every hosted service
/// (the web server included) has stopped, so records of requests that finish during the server's
/// graceful drain are stored too.
/// </summary>
internal sealed class UsageWriterService : IHostedLifecycleService, IAsyncDisposable
{
    private const int MaxAttempts = 5;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(30);

    private readonly UsageQueue _queue;
    private readonly IUsageStore _store;
    private readonly RelayMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly int _batchSize;
    private readonly int _capacity;
    private readonly TimeSpan _flushInterval;
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _flushNow = new();
    private readonly bool _retriesUntilStored;
    private Task? _loop;
    private int _disposed;

    public UsageWriterService(
        UsageQueue queue,
        IUsageStore store,
        RelayMetrics metrics,
        TimeProvider timeProvider,
        IOptions<UsageOptions> options,
        ILogger<UsageWriterService> logger)
    {
        _queue = queue;
        _store = store;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _batchSize = options.Value.BatchSize;
        _capacity = options.Value.QueueCapacity;
        _flushInterval = options.Value.FlushInterval;

        // Under Wait the queue holds requests back rather than lose a record, so the writer must not drop a batch
        // either: it retries until the store takes it (requests wait once the queue is full) or the host's shutdown
        // gives up. Under the drop policies it gives up after MaxAttempts, as a full queue would drop records anyway.
        _retriesUntilStored = options.Value.WhenQueueFull == UsageQueueFullMode.Wait;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _queue.Complete();
        await _flushNow.CancelAsync();
        if (_loop is null)
        {
            return;
        }

        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out: stop retrying and say what was not stored.
            await _abort.CancelAsync();
            UsageLog.ShutdownIncomplete(_logger, _queue.Reader.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container may dispose this twice: it is both a service and the hosted service's instance.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Complete();
        await _flushNow.CancelAsync();
        await _abort.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _abort.Dispose();
        _flushNow.Dispose();
    }

    private async Task RunAsync()
    {
        var batch = new List<UsageRecord>(_batchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            await LetRecordsGatherAsync(reader);
            while (batch.Count < _batchSize && reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            await WriteAsync(batch);
            batch.Clear();
            ReportDropped();
        }

        ReportDropped();
    }

    /// <summary>
    /// Waits <see cref="UsageOptions.FlushInterval"/> before a batch that would not be full, unless the host is
    /// stopping or the queue is already full (a full queue would make callers wait or records be dropped).
    /// </summary>
    /// <remarks>
    /// The pause is measured on the system clock, not the injected <see cref="TimeProvider"/>: it only coalesces
    /// disk writes, and with a test's fake clock records must still reach the store without the test advancing it.
    /// </remarks>
    private async Task LetRecordsGatherAsync(ChannelReader<UsageRecord> reader)
    {
        if (_flushInterval <= TimeSpan.Zero || _flushNow.IsCancellationRequested || reader.Count >= Math.Min(_batchSize, _capacity))
        {
            return;
        }

        try
        {
            await Task.Delay(_flushInterval, TimeProvider.System, _flushNow.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopping: write what is queued now.
        }
    }

    private async Task WriteAsync(List<UsageRecord> batch)
    {
        var delay = FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.AppendAsync(batch, _abort.Token);
                return;
            }
            catch (Exception exception) when ((_retriesUntilStored || attempt < MaxAttempts) && !_abort.IsCancellationRequested)
            {
                UsageLog.WriteFailed(_logger, exception, batch.Count, attempt);
                if (batch.Count > 1 && await WriteOneByOneAsync(batch))
                {
                    return;
                }

                try
                {
                    await Task.Delay(delay, _timeProvider, _abort.Token);
                }
                catch (OperationCanceledException)
                {
                    // Shutdown gave up waiting; the next attempt runs without delay, and its failure is final.
                }

                delay = delay * 2 > LongestRetryDelay ? LongestRetryDelay : delay * 2;
            }
            catch (Exception exception)
            {
                // The store is a side record of requests already served: losing a batch is logged and
                // counted, never allowed to stop the writer.
                UsageLog.RecordsLost(_logger, exception, batch.Count, attempt);
                _metrics.UsageDropped(batch.Count);
                return;
            }
        }
    }

    /// <summary>
    /// After a batch failed: writes its records one at a time, so one record the store cannot take never costs the
    /// others theirs, nor (under <see cref="UsageQueueFullMode.Wait"/>) blocks the queue for good. When the store took
    /// some, it is up, and the records it refused alone are dropped (logged, counted); when it took none, it is down,
    /// and what is left of the batch (all of it) is retried as before. Returns whether the store took some.
    /// </summary>
    private async Task<bool> WriteOneByOneAsync(List<UsageRecord> batch)
    {
        List<(UsageRecord Record, Exception Error)>? refused = null;
        var stored = 0;
        foreach (var record in batch)
        {
            try
            {
                await _store.AppendAsync([record], _abort.Token);
                stored++;
            }
            catch (Exception exception) when (!_abort.IsCancellationRequested)
            {
                (refused ??= []).Add((record, exception));
            }
        }

        if (stored == 0)
        {
            return false;
        }

        foreach (var (record, error) in refused ?? [])
        {
            UsageLog.RecordRejected(_logger, error, record.RequestId);
        }

        if (refused is { Count: > 0 })
        {
            _metrics.UsageDropped(refused.Count);
        }

        return true;
    }

    private void ReportDropped()
    {
        var dropped = _queue.TakeDropped();
        if (dropped > 0)
        {
            UsageLog.RecordsDropped(_logger, dropped, _queue.FullMode);
            _metrics.UsageDropped(dropped);
        }
    }
}
