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
/// <remarks>
/// When the <see cref="UsageOutbox"/> is in use it also drains that: records committed in the ledger store with their
/// settle are appended to the usage store (idempotent by request id) and only then deleted from the outbox, so a crash
/// at any point leaves each record in one place or both, never in neither. It drains at start (rows a previous process
/// left), whenever a record is written, every <see cref="OutboxPollInterval"/> (rows other instances on a shared
/// PostgreSQL ledger wrote) and once more on shutdown. Several instances draining one outbox may append a record twice;
/// the usage store keeps it once.
/// </remarks>
internal sealed class UsageWriterService : IHostedLifecycleService, IAsyncDisposable
{
    private const int MaxAttempts = 5;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>How often the outbox is read when nothing was written to it in this process.</summary>
    internal static readonly TimeSpan OutboxPollInterval = TimeSpan.FromSeconds(5);

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
    private readonly UsageOutbox _outbox;
    private readonly CancellationTokenSource _stopDraining = new();
    private Task? _loop;
    private Task? _outboxLoop;
    private int _disposed;

    public UsageWriterService(
        UsageQueue queue,
        IUsageStore store,
        RelayMetrics metrics,
        TimeProvider timeProvider,
        IOptions<UsageOptions> options,
        ILogger<UsageWriterService> logger,
        UsageOutbox outbox)
    {
        _outbox = outbox;
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
        if (_outbox.Enabled)
        {
            _outboxLoop ??= Task.Run(DrainOutboxAsync, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _queue.Complete();
        await _flushNow.CancelAsync();
        await _stopDraining.CancelAsync();
        if (_loop is null)
        {
            return;
        }

        try
        {
            await _loop.WaitAsync(cancellationToken);
            if (_outboxLoop is not null)
            {
                await _outboxLoop.WaitAsync(cancellationToken);
            }
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
        await _stopDraining.CancelAsync();
        await _abort.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_outboxLoop is not null)
        {
            await _outboxLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stopDraining.Dispose();
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
                if (batch.Count > 1 && await WriteOneByOneAsync(batch) is { } left)
                {
                    if (left.Count == 0)
                    {
                        return;
                    }

                    // The store is up but failed these for a passing reason: only they are tried again.
                    batch = left;
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
    /// none, it is down: returns null, and the whole batch is retried as before. When it took some, it is up: a record it
    /// refused for what it is (a constraint, an overflow) is dropped (logged, counted), and one it failed on for a
    /// passing reason (a dead pooled connection after a restart, a timeout: <see cref="Hosting.StoreFailures.IsTransient"/>)
    /// is returned, to be retried, never dropped.
    /// </summary>
    private async Task<List<UsageRecord>?> WriteOneByOneAsync(List<UsageRecord> batch)
    {
        List<(UsageRecord Record, Exception Error)>? refused = null;
        List<UsageRecord> left = [];
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
                if (Hosting.StoreFailures.IsTransient(exception))
                {
                    left.Add(record);
                }
                else
                {
                    (refused ??= []).Add((record, exception));
                }
            }
        }

        if (stored == 0)
        {
            return null;
        }

        foreach (var (record, error) in refused ?? [])
        {
            UsageLog.RecordRejected(_logger, error, record.RequestId);
        }

        if (refused is { Count: > 0 })
        {
            _metrics.UsageDropped(refused.Count);
        }

        return left;
    }

    /// <summary>Moves the outbox into the store until shutdown, then once more; a failure waits and tries again.</summary>
    private async Task DrainOutboxAsync()
    {
        var delay = FirstRetryDelay;
        while (!_stopDraining.IsCancellationRequested)
        {
            bool more;
            try
            {
                more = await DrainOutboxOnceAsync();
                delay = FirstRetryDelay;
            }
            catch (Exception exception) when (!_abort.IsCancellationRequested)
            {
                // The ledger store or the usage store is down: the records wait in the outbox, durably.
                UsageLog.WriteFailed(_logger, exception, 0, 1);
                await WaitQuietlyAsync(delay, _stopDraining.Token);
                delay = delay * 2 > LongestRetryDelay ? LongestRetryDelay : delay * 2;
                continue;
            }

            if (more)
            {
                continue;
            }

            try
            {
                if (await _outbox.WaitAsync(OutboxPollInterval, _stopDraining.Token))
                {
                    // Let the records of concurrent requests gather into one batch, as the queue does.
                    await WaitQuietlyAsync(_flushInterval, _stopDraining.Token);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Shutting down: what is left is stored now, unless the store fails (then it waits in the outbox for the next start).
        try
        {
            while (!_abort.IsCancellationRequested && await DrainOutboxOnceAsync())
            {
            }
        }
        catch (Exception exception)
        {
            UsageLog.WriteFailed(_logger, exception, 0, 1);
        }
    }

    private static async Task WaitQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, TimeProvider.System, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: drain now.
        }
    }

    /// <summary>Stores one batch of the outbox and deletes it there; true when a full batch was moved (more may wait).</summary>
    private async Task<bool> DrainOutboxOnceAsync()
    {
        var ledger = _outbox.Store;
        var rows = await ledger.ReadOutboxAsync(_batchSize, _abort.Token);
        if (rows.Count == 0)
        {
            return false;
        }

        var batch = new List<UsageRecord>(rows.Count);
        foreach (var row in rows)
        {
            try
            {
                batch.Add(UsageOutboxJson.DeserializeRecord(row.Record));
            }
            catch (System.Text.Json.JsonException exception)
            {
                // Not a record this relay wrote: it can never be stored, and would stop the outbox for good.
                UsageLog.RecordRejected(_logger, exception, row.RequestId);
                _metrics.UsageDropped(1);
            }
        }

        HashSet<string>? keep = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        if (batch.Count > 0)
        {
            try
            {
                await _store.AppendAsync(batch, _abort.Token);
            }
            catch (Exception exception) when (!_abort.IsCancellationRequested)
            {
                // One record the store refuses must not keep the others out: one by one, as the queue's batches.
                UsageLog.WriteFailed(_logger, exception, batch.Count, 1);
                if (batch.Count == 1 || await WriteOneByOneAsync(batch) is not { } left)
                {
                    throw;
                }

                if (left.Count > 0)
                {
                    // Failed for a passing reason: they stay in the outbox and are tried again after the back-off.
                    keep = left.Select(r => r.RequestId).ToHashSet(StringComparer.Ordinal);
                    failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(exception);
                }
            }
        }

        // Stored (or refused alone while the store took others): out of the outbox, in one ledger unit.
        await ledger.RunAsync(async session =>
        {
            foreach (var row in rows)
            {
                if (keep is null || !keep.Contains(row.RequestId))
                {
                    await session.DeleteOutboxAsync(row.RequestId);
                }
            }

            return true;
        }, _abort.Token);
        failure?.Throw();
        return rows.Count == _batchSize;
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
