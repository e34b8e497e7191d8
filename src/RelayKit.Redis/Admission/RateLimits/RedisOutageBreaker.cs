using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Whether the rate-limit Redis may be asked right now. A request never waits for an unreachable Redis: the breaker
/// opens on the first failure (a command that failed or timed out, or the connection reporting itself lost) and a
/// background probe closes it again once a <c>PING</c> answers. The outage is logged once when it starts and once
/// when it ends, with how many requests went through without limits or were refused meanwhile.
/// </summary>
/// <remarks>
/// Hand-written rather than a Polly circuit breaker: Polly's breaker half-opens by letting a live request through,
/// which would make that caller wait out a timeout, and it knows nothing of the connection. Here StackExchange.Redis
/// does the reconnecting itself (<c>abortConnect=false</c>) and reports it (<see cref="IConnectionMultiplexer.IsConnected"/>,
/// <c>ConnectionFailed</c>, <c>ConnectionRestored</c>); what is left is one flag, two counters and a ping.
/// </remarks>
internal sealed class RedisOutageBreaker : IAsyncDisposable
{
    /// <summary>How often the probe pings while Redis is out (also woken at once when the library reconnects).</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly Task<IConnectionMultiplexer> _connection;
    private readonly IOptionsMonitor<RelayRateLimitsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisOutageBreaker> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<(RedisKey[] Keys, string LeaseId)> _pendingReleases = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _open;
    private long _openedAt;
    private long _unlimited;
    private long _refused;
    private Task _probe = Task.CompletedTask;

    public RedisOutageBreaker(
        RateLimitRedisConnection connection,
        IOptionsMonitor<RelayRateLimitsOptions> options,
        TimeProvider time,
        ILogger<RedisOutageBreaker> logger)
    {
        _connection = connection.Connection;
        _options = options;
        _time = time;
        _logger = logger;
        _ = WatchAsync();
    }

    /// <summary>Whether an outage is under way (for tests).</summary>
    internal bool IsOpen
    {
        get
        {
            lock (_lock)
            {
                return _open;
            }
        }
    }

    /// <summary>The probe started by the current or last outage (for tests, which wait for Redis to be found back).</summary>
    internal Task Probe
    {
        get
        {
            lock (_lock)
            {
                return _probe;
            }
        }
    }

    /// <summary>
    /// The database to use, or <see langword="null"/> while Redis is out: then the caller goes on without it at once.
    /// Only the very first requests, while the relay's first connect is under way, wait (for at most its connect timeout).
    /// </summary>
    public async ValueTask<IDatabase?> GetDatabaseAsync()
    {
        if (IsOpen)
        {
            return null;
        }

        IConnectionMultiplexer redis;
        try
        {
            redis = await _connection;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Failed(ex);
            return null;
        }

        if (!redis.IsConnected)
        {
            Open(nameof(ConnectionFailureType.UnableToConnect), "not connected to Redis; the connection retries in the background");
            return null;
        }

        return redis.GetDatabase();
    }

    /// <summary>A command to Redis failed or timed out: opens the breaker (logging once) and starts the probe.</summary>
    public void Failed(Exception exception) => Open(exception.GetType().Name, exception.Message);

    private void Open(string failure, string reason)
    {
        lock (_lock)
        {
            if (_open || _stopping.IsCancellationRequested)
            {
                return;
            }

            _open = true;
            _openedAt = _time.GetTimestamp();
            _unlimited = 0;
            _refused = 0;
            _probe = ProbeAsync();
        }

        RateLimitLog.RedisOutageStarted(
            _logger, failure, Usage.LogValue.Of(reason)!, _options.CurrentValue.RedisUnavailable);
    }

    /// <summary>Counts a request that went through without limits during the outage.</summary>
    public void CountUnlimited() => Interlocked.Increment(ref _unlimited);

    /// <summary>Counts a request refused during the outage.</summary>
    public void CountRefused() => Interlocked.Increment(ref _refused);

    /// <summary>
    /// Keeps the release of concurrency slots that could not reach Redis, to send once it is back; until then they
    /// are held in Redis at most until their lease expires. Releasing is idempotent (removing a lease id), so a
    /// release sent twice frees nothing that another request holds.
    /// </summary>
    public void ReleaseLater(RedisKey[] keys, string leaseId) => _pendingReleases.Enqueue((keys, leaseId));

    public async ValueTask DisposeAsync()
    {
        Task probe;
        lock (_lock)
        {
            _stopping.Cancel();
            _wake.TrySetResult();
            probe = _probe;
        }

        await probe;
        _stopping.Dispose();
    }

    private async Task WatchAsync()
    {
        try
        {
            var redis = await _connection;
            redis.ConnectionFailed += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    Open(e.FailureType.ToString(), e.Exception?.Message ?? "the connection to Redis was lost");
                }
            };
            redis.ConnectionRestored += (_, _) =>
            {
                lock (_lock)
                {
                    _wake.TrySetResult();
                }
            };
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Failed(ex);
        }
    }

    private async Task ProbeAsync()
    {
        // Off the caller's thread: Failed is called on the request path, under the lock.
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            Task wake;
            lock (_lock)
            {
                wake = _wake.Task;
            }

            try
            {
                await Task.WhenAny(wake, Task.Delay(ProbeInterval, _time, _stopping.Token));
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_lock)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }

            if (_stopping.IsCancellationRequested || !await PingsAsync())
            {
                continue;
            }

            await FlushReleasesAsync();
            long unlimited, refused;
            TimeSpan lasted;
            lock (_lock)
            {
                _open = false;
                unlimited = Interlocked.Exchange(ref _unlimited, 0);
                refused = Interlocked.Exchange(ref _refused, 0);
                lasted = _time.GetElapsedTime(_openedAt);
            }

            RateLimitLog.RedisOutageEnded(_logger, lasted, unlimited, refused);
            return;
        }
    }

    private async Task<bool> PingsAsync()
    {
        try
        {
            var redis = await _connection;
            if (!redis.IsConnected)
            {
                return false;
            }

            await redis.GetDatabase().PingAsync();
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task FlushReleasesAsync()
    {
        var database = (await _connection).GetDatabase();
        var failed = 0;
        while (_pendingReleases.TryDequeue(out var release))
        {
            try
            {
                await database.ScriptEvaluateAsync(RedisRateLimitScripts.Release, release.Keys, [release.LeaseId]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                failed++;
            }
        }

        if (failed > 0)
        {
            RateLimitLog.ReleaseFailed(_logger, failed);
        }
    }
}
