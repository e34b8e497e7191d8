using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Rate limits for one relay instance. Concurrency uses <see cref="ConcurrencyLimiter"/> partitions of a
/// <see cref="PartitionedRateLimiter"/> (which also gives FIFO queueing for keys that may wait);
/// requests and tokens per minute use <see cref="TokenBucket"/>s driven by <see cref="TimeProvider"/>,
/// checked and taken together under one lock so a rejected request uses up nothing.
/// </summary>
internal sealed class InProcessRelayRateLimiter : IRelayRateLimiter
{
    private const int MaxQueuedPerCounter = 1024;

    // Full buckets carry no state worth keeping; forgetting them bounds memory to recently active counters.
    private const int SweepEveryOperations = 4096;

    private readonly IRateLimitPolicySource _policies;
    private readonly IOptionsMonitor<RelayRateLimitsOptions> _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    // One per concurrency counter for the life of the limiter: counters come from the configured rules, so they are few.
    private readonly ConcurrentDictionary<string, ConcurrencyGate> _slots = new(StringComparer.Ordinal);
    private int _operationsSinceSweep;

    public InProcessRelayRateLimiter(IRateLimitPolicySource policies, IOptionsMonitor<RelayRateLimitsOptions> options, TimeProvider time)
    {
        _policies = policies;
        _options = options;
        _time = time;
    }

    /// <summary>Counters held in memory (for tests of the sweep).</summary>
    internal int BucketCount
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    public async ValueTask<RelayRateLimitLease> AcquireAsync(string keyName, string model, long estimatedTokens, CancellationToken cancellationToken = default, RateLimitPolicy? countedWith = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(estimatedTokens);
        var policy = _policies.GetPolicy(keyName, model);
        if (countedWith is not null)
        {
            policy = policy.AsFallbackAfter(countedWith);
        }

        if (policy.Rules.Count == 0)
        {
            return RelayRateLimitLease.Granted(null, null, [], estimatedTokens, null);
        }

        var started = _time.GetTimestamp();
        var (slots, slotRejection) = await AcquireSlotsAsync(policy, started, cancellationToken);
        if (slotRejection is not null)
        {
            var (requests, tokens) = Peek(policy);
            return RelayRateLimitLease.Rejected(slotRejection, requests, tokens);
        }

        try
        {
            while (true)
            {
                var decision = TryTakeRates(policy, estimatedTokens);
                if (decision.Rejection is null)
                {
                    return RelayRateLimitLease.Granted(decision.Requests, decision.Tokens, decision.Charges, estimatedTokens, slots, decision.RequestCharges);
                }

                var waitLeft = policy.QueueTimeout - _time.GetElapsedTime(started);
                if (decision.Rejection.RetryAfter is not { } retryAfter || retryAfter > waitLeft)
                {
                    if (slots is not null)
                    {
                        await slots.DisposeAsync();
                    }

                    return RelayRateLimitLease.Rejected(decision.Rejection, decision.Requests, decision.Tokens);
                }

                await Task.Delay(retryAfter, _time, cancellationToken);
            }
        }
        catch
        {
            if (slots is not null)
            {
                await slots.DisposeAsync();
            }

            throw;
        }
    }

    public ValueTask CorrectTokensAsync(RelayRateLimitLease lease, long actualTokens, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        var delta = actualTokens - lease.ChargedTokens;
        if (delta == 0 || lease.TokenCharges.Count == 0)
        {
            lease.ChargedTokens = actualTokens;
            return default;
        }

        lock (_gate)
        {
            TakeLocked(lease.TokenCharges, CounterIds.Tokens, delta);
        }

        lease.ChargedTokens = actualTokens;
        return default;
    }

    public ValueTask ReturnAsync(RelayRateLimitLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (lease.Returned)
            {
                return default;
            }

            lease.Returned = true;
            TakeLocked(lease.RequestCharges, CounterIds.Requests, -1);
            TakeLocked(lease.TokenCharges, CounterIds.Tokens, -lease.ChargedTokens);
            lease.ChargedTokens = 0;
        }

        return default;
    }

    /// <summary>Takes <paramref name="amount"/> (negative: gives it back) from each charged counter, at its current limit.</summary>
    private void TakeLocked(IReadOnlyList<CounterCharge> charges, Func<string, string> counter, long amount)
    {
        var now = _time.GetTimestamp();
        foreach (var charge in charges)
        {
            var id = counter(charge.CounterId);
            Bucket(id, _buckets.TryGetValue(id, out var existing) ? existing.Limit : charge.Limit, now).Take(amount);
        }
    }

    private async ValueTask<(ConcurrencySlotGroup? Slots, RateLimitRejection? Rejection)> AcquireSlotsAsync(
        RateLimitPolicy policy, long started, CancellationToken cancellationToken)
    {
        List<RateLimitLease>? leases = null;
        foreach (var rule in policy.Rules)
        {
            if (rule.Limits.MaxConcurrentRequests is not { } max)
            {
                continue;
            }

            var gate = _slots.GetOrAdd(rule.CounterId, static _ => new ConcurrencyGate(MaxQueuedPerCounter));
            RateLimitLease? lease;
            try
            {
                lease = await AcquireSlotAsync(gate, max, policy.QueueTimeout - _time.GetElapsedTime(started), cancellationToken);
            }
            catch when (leases is not null)
            {
                // The caller went away while queued for a later rule's slot: the slots already taken go back.
                await new ConcurrencySlotGroup(leases).DisposeAsync();
                throw;
            }

            if (lease is not { IsAcquired: true })
            {
                lease?.Dispose();
                if (leases is not null)
                {
                    await new ConcurrencySlotGroup(leases).DisposeAsync();
                }

                return (null, new RateLimitRejection(RateLimitDimension.Concurrency, rule.Scope, _options.CurrentValue.ConcurrencyRetryAfter));
            }

            (leases ??= []).Add(lease);
        }

        return (leases is null ? null : new ConcurrencySlotGroup(leases), null);
    }

    private async ValueTask<RateLimitLease?> AcquireSlotAsync(ConcurrencyGate gate, int limit, TimeSpan waitLeft, CancellationToken cancellationToken)
    {
        if (waitLeft <= TimeSpan.Zero)
        {
            return gate.TryAcquire(limit);
        }

        using var timeout = new CancellationTokenSource(waitLeft, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await gate.AcquireAsync(limit, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private RateDecision TryTakeRates(RateLimitPolicy policy, long estimatedTokens)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            RateLimitRejection? rejection = null;
            foreach (var rule in policy.Rules)
            {
                if (rule.Limits.RequestsPerMinute is { } rpm)
                {
                    var bucket = Bucket(rule.RequestsCounterId, rpm, now);
                    if (!bucket.Has(1))
                    {
                        rejection = RateLimitRejection.Worse(rejection, new RateLimitRejection(RateLimitDimension.Requests, rule.Scope, bucket.TimeUntil(1)));
                    }
                }

                if (rule.Limits.TokensPerMinute is { } tpm)
                {
                    var bucket = Bucket(rule.TokensCounterId, tpm, now);
                    if (estimatedTokens > tpm)
                    {
                        rejection = RateLimitRejection.Worse(rejection, new RateLimitRejection(RateLimitDimension.Tokens, rule.Scope, null));
                    }
                    else if (!bucket.Has(estimatedTokens))
                    {
                        rejection = RateLimitRejection.Worse(rejection, new RateLimitRejection(RateLimitDimension.Tokens, rule.Scope, bucket.TimeUntil(estimatedTokens)));
                    }
                }
            }

            var charges = new List<CounterCharge>();
            var requestCharges = new List<CounterCharge>();
            if (rejection is null)
            {
                foreach (var rule in policy.Rules)
                {
                    if (rule.Limits.RequestsPerMinute is { } rpm)
                    {
                        _buckets[rule.RequestsCounterId].Take(1);
                        requestCharges.Add(new CounterCharge(rule.CounterId, rpm));
                    }

                    if (rule.Limits.TokensPerMinute is { } tpm)
                    {
                        _buckets[rule.TokensCounterId].Take(estimatedTokens);
                        charges.Add(new CounterCharge(rule.CounterId, tpm));
                    }
                }
            }

            var (requests, tokens) = QuotasLocked(policy);
            SweepLocked(now);
            return new RateDecision(rejection, requests, tokens, charges, requestCharges);
        }
    }

    private (RateLimitQuota? Requests, RateLimitQuota? Tokens) Peek(RateLimitPolicy policy)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var rule in policy.Rules)
            {
                if (rule.Limits.RequestsPerMinute is { } rpm)
                {
                    Bucket(rule.RequestsCounterId, rpm, now);
                }

                if (rule.Limits.TokensPerMinute is { } tpm)
                {
                    Bucket(rule.TokensCounterId, tpm, now);
                }
            }

            return QuotasLocked(policy);
        }
    }

    private (RateLimitQuota? Requests, RateLimitQuota? Tokens) QuotasLocked(RateLimitPolicy policy)
    {
        var utcNow = _time.GetUtcNow();
        RateLimitQuota? requests = null;
        RateLimitQuota? tokens = null;
        foreach (var rule in policy.Rules)
        {
            if (rule.Limits.RequestsPerMinute is not null)
            {
                requests = RateLimitQuota.Tighter(requests, _buckets[rule.RequestsCounterId].Quota(utcNow));
            }

            if (rule.Limits.TokensPerMinute is not null)
            {
                tokens = RateLimitQuota.Tighter(tokens, _buckets[rule.TokensCounterId].Quota(utcNow));
            }
        }

        return (requests, tokens);
    }

    private TokenBucket Bucket(string id, long limit, long now)
    {
        if (_buckets.TryGetValue(id, out var bucket))
        {
            bucket.Advance(limit, now, _time);
        }
        else
        {
            bucket = new TokenBucket(limit, now);
            _buckets.Add(id, bucket);
        }

        return bucket;
    }

    private void SweepLocked(long now)
    {
        if (++_operationsSinceSweep < SweepEveryOperations)
        {
            return;
        }

        _operationsSinceSweep = 0;
        foreach (var (id, bucket) in _buckets)
        {
            bucket.Advance(bucket.Limit, now, _time);
            if (bucket.IsFull)
            {
                _buckets.Remove(id);
            }
        }
    }

    private sealed record RateDecision(RateLimitRejection? Rejection, RateLimitQuota? Requests, RateLimitQuota? Tokens, List<CounterCharge> Charges, List<CounterCharge> RequestCharges);
}
