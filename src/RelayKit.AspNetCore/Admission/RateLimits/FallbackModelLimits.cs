using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Holds a request to the limits of each fallback model (<c>models</c>) it reaches. Admission counts the request against
/// its own <c>model</c>; a fallback model's limits (the model's and the key-and-model pair's) are taken only when the
/// forwarder is about to send it there, so a request counts against every model it reaches and no other: listing a
/// limited model as a fallback does not pass its limit, and listing it does not use it up. A fallback over its limit is
/// passed over at once (the next road is tried); step 7 settles the lease with the request's own.
/// </summary>
/// <remarks>
/// Taken late rather than with the request's own lease at admission because an early lease on every listed model would
/// hold concurrency slots and minute counts on models the request almost never reaches (a fallback serves only when
/// the roads before it fail), refusing other callers of those models for nothing.
/// </remarks>
internal sealed class FallbackModelLimits(IRelayRateLimiter limiter, IRateLimitPolicySource policies, RelayMetrics? metrics = null)
{
    /// <summary>
    /// Takes the candidate's fallback model's limits, once per model per request. Null when the request may go there
    /// (the candidate is of the request's own model, or its model's lease is held); otherwise the refusal, and how long
    /// until a retry can pass.
    /// </summary>
    public async ValueTask<(RelayError Error, TimeSpan? RetryAfter)?> AdmitAsync(RelayRequestContext context, UpstreamCandidate candidate)
    {
        // Only a request admitted by rate limits (it holds a lease) reaches here with limits to keep. The fallback's limits
        // are compared by counter, not by model entry: an alias, or a pattern's limit matching both names, is one counter
        // the request already counted against, while a key's limit on the fallback alone is not, even when one wildcard
        // entry serves both models.
        if (candidate.RequestedAs is not { } model || context.RateLimitLease is null)
        {
            return null;
        }

        var keyName = context.Caller!.KeyName;
        var counted = policies.GetPolicy(keyName, context.Fields!.Model);
        if (policies.GetPolicy(keyName, model).AsFallbackAfter(counted).Rules.Count == 0)
        {
            return null;
        }

        var leases = context.FallbackRateLimitLeases;
        if (leases is not null)
        {
            foreach (var held in leases)
            {
                if (string.Equals(held.Model, model, StringComparison.OrdinalIgnoreCase))
                {
                    return null;
                }
            }
        }

        if (leases is { Count: > 0 })
        {
            // A counter an earlier fallback of this request already counted against (a pattern matching both) counts
            // the request once too.
            counted = new RateLimitPolicy([.. counted.Rules, .. leases.SelectMany(held => policies.GetPolicy(keyName, held.Model).Rules)], TimeSpan.Zero);
        }

        var lease = await limiter.AcquireAsync(keyName, model, context.RateLimitTokens, context.RequestAborted, countedWith: counted);
        if (lease.StoreUnavailable)
        {
            await lease.DisposeAsync();
            return (RelayError.StoreUnavailable(context.RequestId), Hosting.StoreFailures.RetryAfter);
        }

        if (lease.Rejection is { } rejection)
        {
            await lease.DisposeAsync();
            metrics?.RateLimitRefused(model, RateLimitAdmission.LimitName(rejection));
            return (RelayError.RateLimited($"Rate limit reached for {RateLimitAdmission.Describe(rejection)} (the fallback '{model}')."), rejection.RetryAfter);
        }

        (context.FallbackRateLimitLeases ??= []).Add((model, lease));
        return null;
    }

    /// <summary>
    /// Gives back the lease <see cref="AdmitAsync"/> took last, when the attempt it was taken for sent nothing (its
    /// upstream's format cannot carry the request, or its breaker refused): the model was not reached, so its request,
    /// tokens and slot go back, and a later road to it takes them again.
    /// </summary>
    public async ValueTask GiveBackLastAsync(RelayRequestContext context)
    {
        if (context.FallbackRateLimitLeases is not { Count: > 0 } leases)
        {
            return;
        }

        var (_, lease) = leases[^1];
        leases.RemoveAt(leases.Count - 1);
        try
        {
            await limiter.ReturnAsync(lease, CancellationToken.None);
        }
        finally
        {
            await lease.DisposeAsync();
        }
    }
}
