using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The Redis concurrency slots of one admitted request: renewed every third of the lease expiry
/// while the request runs, released on dispose. If the instance dies, renewal stops and the slots
/// expire on their own. While Redis is out, renewal is skipped and a release is kept for when it is back
/// (<see cref="RedisOutageBreaker.ReleaseLater"/>); disposing twice releases once.
/// </summary>
internal sealed class RedisConcurrencySlots : IAsyncDisposable
{
    private readonly RedisOutageBreaker _breaker;
    private readonly RedisKey[] _keys;
    private readonly string _leaseId;
    private readonly TimeSpan _expiry;
    private readonly TimeProvider _time;
    private readonly ITimer _renewal;
    private Task _pendingRenewal = Task.CompletedTask;
    private int _disposed;

    public RedisConcurrencySlots(RedisOutageBreaker breaker, RedisKey[] keys, string leaseId, TimeSpan expiry, TimeProvider time)
    {
        _breaker = breaker;
        _keys = keys;
        _leaseId = leaseId;
        _expiry = expiry;
        _time = time;
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
        if (await _breaker.GetDatabaseAsync() is not { } database)
        {
            _breaker.ReleaseLater(_keys, _leaseId);
            return;
        }

        try
        {
            await database.ScriptEvaluateAsync(RedisRateLimitScripts.Release, _keys, [_leaseId]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _breaker.Failed(ex);
            _breaker.ReleaseLater(_keys, _leaseId);
        }
        catch (ObjectDisposedException)
        {
            // The relay is stopping and closed its connection: the slots expire with their lease.
        }
    }

    private void StartRenewal() => Volatile.Write(ref _pendingRenewal, RenewAsync());

    private async Task RenewAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (await _breaker.GetDatabaseAsync() is not { } database)
        {
            return;
        }

        var expiresAt = _time.GetUtcNow().ToUnixTimeMilliseconds() + (long)_expiry.TotalMilliseconds;
        try
        {
            await database.ScriptEvaluateAsync(
                RedisRateLimitScripts.Renew,
                _keys,
                [_leaseId, expiresAt, (long)_expiry.TotalMilliseconds + 60_000]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _breaker.Failed(ex);
        }
        catch (ObjectDisposedException)
        {
            // The relay is stopping.
        }
    }
}
