using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Rate limits shared by every relay instance that uses the same Redis: one atomic script per
/// admission checks and takes every limit of the request (see <see cref="RedisRateLimitScripts"/>).
/// </summary>
/// <remarks>
/// Tolerance: counts are exact across instances (one script at a time); what varies is time. Each
/// instance refills buckets by its own clock, so a skew of <c>s</c> seconds between instances lets a
/// limit of <c>L</c> per minute admit up to about <c>L × s / 60</c> more or fewer; a concurrency slot of a
/// crashed instance is held until its lease expires (<see cref="RelayRateLimitsOptions.ConcurrencyLeaseExpiry"/>).
/// When Redis cannot be reached (<see cref="RedisOutageBreaker"/>), a request does not wait for it: by default it is
/// admitted without limits (rate limits protect throughput, while budgets, which do not depend on Redis, protect
/// money), or refused with a retryable 503 under <see cref="RedisUnavailableMode.Refuse"/>.
/// </remarks>
internal sealed class RedisRelayRateLimiter : IRelayRateLimiter
{
    private readonly RedisOutageBreaker _redis;
    private readonly IRateLimitPolicySource _policies;
    private readonly IOptionsMonitor<RelayRateLimitsOptions> _options;
    private readonly TimeProvider _time;

    public RedisRelayRateLimiter(
        RedisOutageBreaker redis,
        IRateLimitPolicySource policies,
        IOptionsMonitor<RelayRateLimitsOptions> options,
        TimeProvider time)
    {
        _redis = redis;
        _policies = policies;
        _options = options;
        _time = time;
    }

    public async ValueTask<RelayRateLimitLease> AcquireAsync(string keyName, string model, long estimatedTokens, CancellationToken cancellationToken = default, RateLimitPolicy? countedWith = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(estimatedTokens);
        var policy = _policies.GetPolicy(keyName, model);
        if (countedWith is not null)
        {
            policy = policy.AsFallbackAfter(countedWith);
        }

        var limits = Constraints(policy, estimatedTokens);
        if (limits.Count == 0)
        {
            return RelayRateLimitLease.Granted(null, null, [], estimatedTokens, null);
        }

        var options = _options.CurrentValue;
        var keys = limits.Select(l => l.Key).ToArray();
        var leaseId = Guid.NewGuid().ToString("N");
        var started = _time.GetTimestamp();
        while (true)
        {
            var utcNow = _time.GetUtcNow();
            var args = new RedisValue[3 + (limits.Count * 3)];
            args[0] = utcNow.ToUnixTimeMilliseconds();
            args[1] = leaseId;
            args[2] = (long)options.ConcurrencyLeaseExpiry.TotalMilliseconds;
            for (var i = 0; i < limits.Count; i++)
            {
                args[3 + (i * 3)] = limits[i].Dimension == RateLimitDimension.Concurrency ? "c" : "r";
                args[4 + (i * 3)] = limits[i].Value;
                args[5 + (i * 3)] = limits[i].Cost;
            }

            if (await _redis.GetDatabaseAsync() is not { } database)
            {
                return WithoutRedis(options, estimatedTokens);
            }

            RedisResult[] result;
            try
            {
                result = (RedisResult[])(await database.ScriptEvaluateAsync(RedisRateLimitScripts.Acquire, keys, args))!;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _redis.Failed(ex);
                return WithoutRedis(options, estimatedTokens);
            }

            RateLimitQuota? requests = null;
            RateLimitQuota? tokens = null;
            RateLimitRejection? rejection = null;
            for (var i = 0; i < limits.Count; i++)
            {
                var limit = limits[i];
                var verdict = (int)result[1 + (i * 4)];
                var remaining = (long)result[2 + (i * 4)];
                var wait = TimeSpan.FromMilliseconds((long)result[3 + (i * 4)]);
                var resetAfter = TimeSpan.FromMilliseconds((long)result[4 + (i * 4)]);
                if (verdict != 1)
                {
                    var retry = limit.Dimension == RateLimitDimension.Concurrency ? options.ConcurrencyRetryAfter : verdict == 0 ? wait : (TimeSpan?)null;
                    rejection = RateLimitRejection.Worse(rejection, new(limit.Dimension, limit.Scope, retry));
                }

                var quota = new RateLimitQuota(limit.Value, remaining, resetAfter, utcNow + resetAfter);
                if (limit.Dimension == RateLimitDimension.Requests)
                {
                    requests = RateLimitQuota.Tighter(requests, quota);
                }
                else if (limit.Dimension == RateLimitDimension.Tokens)
                {
                    tokens = RateLimitQuota.Tighter(tokens, quota);
                }
            }

            if ((int)result[0] == 1)
            {
                var charges = limits
                    .Where(l => l.Dimension == RateLimitDimension.Tokens)
                    .Select(l => new CounterCharge(l.CounterId, l.Value))
                    .ToList();
                var requestCharges = limits
                    .Where(l => l.Dimension == RateLimitDimension.Requests)
                    .Select(l => new CounterCharge(l.CounterId, l.Value))
                    .ToList();
                var slotKeys = limits.Where(l => l.Dimension == RateLimitDimension.Concurrency).Select(l => l.Key).ToArray();
                var slots = slotKeys.Length == 0
                    ? null
                    : new RedisConcurrencySlots(_redis, slotKeys, leaseId, options.ConcurrencyLeaseExpiry, _time);
                return RelayRateLimitLease.Granted(requests, tokens, charges, estimatedTokens, slots, requestCharges);
            }

            // Redis cannot signal a freed slot, so a queued request polls at the retry-after interval.
            var waitLeft = policy.QueueTimeout - _time.GetElapsedTime(started);
            if (rejection!.RetryAfter is not { } retryAfter || retryAfter > waitLeft)
            {
                return RelayRateLimitLease.Rejected(rejection, requests, tokens);
            }

            await Task.Delay(retryAfter, _time, cancellationToken);
        }
    }

    public async ValueTask CorrectTokensAsync(RelayRateLimitLease lease, long actualTokens, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        var delta = actualTokens - lease.ChargedTokens;
        if (delta == 0 || await TakeAsync(lease.TokenCharges, CounterIds.Tokens, delta))
        {
            lease.ChargedTokens = actualTokens;
        }
    }

    public async ValueTask ReturnAsync(RelayRateLimitLease lease, CancellationToken cancellationToken = default)
    {
        if (lease.Returned)
        {
            return;
        }

        lease.Returned = true;
        await TakeAsync(lease.RequestCharges, CounterIds.Requests, -1);
        await CorrectTokensAsync(lease, 0, cancellationToken);
    }

    /// <summary>Takes <paramref name="amount"/> (negative: gives it back) from each charged counter; false when Redis could not be reached.</summary>
    private async ValueTask<bool> TakeAsync(IReadOnlyList<CounterCharge> charges, Func<string, string> counter, long amount)
    {
        if (charges.Count == 0)
        {
            return true;
        }

        var keys = charges.Select(c => Key(counter(c.CounterId))).ToArray();
        var args = new RedisValue[2 + keys.Length];
        args[0] = _time.GetUtcNow().ToUnixTimeMilliseconds();
        args[1] = amount;
        for (var i = 0; i < keys.Length; i++)
        {
            args[2 + i] = charges[i].Limit;
        }

        if (await _redis.GetDatabaseAsync() is not { } database)
        {
            return false;
        }

        try
        {
            await database.ScriptEvaluateAsync(RedisRateLimitScripts.CorrectTokens, keys, args);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _redis.Failed(ex);
            return false;
        }
    }

    /// <summary>What a request with limits gets while Redis is out: admitted unlimited, or refused (fail-closed).</summary>
    private RelayRateLimitLease WithoutRedis(RelayRateLimitsOptions options, long estimatedTokens)
    {
        if (options.RedisUnavailable == RedisUnavailableMode.Refuse)
        {
            _redis.CountRefused();
            return RelayRateLimitLease.Unavailable();
        }

        _redis.CountUnlimited();
        return RelayRateLimitLease.Granted(null, null, [], estimatedTokens, null);
    }

    private List<RedisLimit> Constraints(RateLimitPolicy policy, long estimatedTokens)
    {
        var limits = new List<RedisLimit>();
        foreach (var rule in policy.Rules)
        {
            if (rule.Limits.MaxConcurrentRequests is { } max)
            {
                limits.Add(new RedisLimit(Key(CounterIds.Concurrency(rule.CounterId)), rule.CounterId, rule.Scope, RateLimitDimension.Concurrency, max, 1));
            }

            if (rule.Limits.RequestsPerMinute is { } rpm)
            {
                limits.Add(new RedisLimit(Key(CounterIds.Requests(rule.CounterId)), rule.CounterId, rule.Scope, RateLimitDimension.Requests, rpm, 1));
            }

            if (rule.Limits.TokensPerMinute is { } tpm)
            {
                limits.Add(new RedisLimit(Key(CounterIds.Tokens(rule.CounterId)), rule.CounterId, rule.Scope, RateLimitDimension.Tokens, tpm, estimatedTokens));
            }
        }

        return limits;
    }

    // The prefix in braces is a Redis Cluster hash tag: every counter hashes to one slot, so one
    // script may touch a key's, a model's and a pair's counters.
    private RedisKey Key(string counter) => "{" + _options.CurrentValue.RedisKeyPrefix + "}:" + counter;

    private sealed record RedisLimit(RedisKey Key, string CounterId, RateLimitScope Scope, RateLimitDimension Dimension, long Value, long Cost);
}
