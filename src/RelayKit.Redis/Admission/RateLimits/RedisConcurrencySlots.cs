using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The Redis concurrency slots of one admitted request: renewed every third of the lease expiry
/// while the request runs, released on dispose. If the instance dies, renewal stops and the slots
/// expire on their own.
/// </summary>
internal sealed class RedisConcurrencySlots : IAsyncDisposable
{
    private readonly IDatabase _database;
    private readonly RedisKey[] _keys;
    private readonly string _leaseId;
    private readonly TimeSpan _expiry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _renewal;
    private Task _pendingRenewal = Task.CompletedTask;
    private int _disposed;

    public RedisConcurrencySlots(IDatabase database, RedisKey[] keys, string leaseId, TimeSpan expiry, TimeProvider time, ILogger logger)
    {
        _database = database;
        _keys = keys;
        _leaseId = leaseId;
        _expiry = expiry;
        _time = time;
        _logger = logger;
        var period = expiry / 3;
        _renewal = time.CreateTimer(static state => ((RedisConcurrencySlots)state!).StartRenewal(), this, period, period);
    }

    /// <summary>The renewal started last (for tests, which need to know it reached Redis).</summary>
    internal Task PendingRenewal => Volatile.Read(ref _pendingRenewal);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _renewal.DisposeAsync();
        try
        {
            await _database.ScriptEvaluateAsync(RedisRateLimitScripts.Release, _keys, [_leaseId]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RateLimitLog.ReleaseFailed(_logger, ex);
        }
    }

    private void StartRenewal() => Volatile.Write(ref _pendingRenewal, RenewAsync());

    private async Task RenewAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var expiresAt = _time.GetUtcNow().ToUnixTimeMilliseconds() + (long)_expiry.TotalMilliseconds;
        try
        {
            await _database.ScriptEvaluateAsync(
                RedisRateLimitScripts.Renew,
                _keys,
                [_leaseId, expiresAt, (long)_expiry.TotalMilliseconds + 60_000]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            RateLimitLog.RenewFailed(_logger, ex);
        }
    }
}
