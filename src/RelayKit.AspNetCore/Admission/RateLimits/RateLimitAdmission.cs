using System.Globalization;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Usage.Telemetry;

using RelayKit.AspNetCore.Admission.Budgets;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Step 4's rate-limit check: leaves out upstreams that are cooling down after a 429, then holds the
/// request to its key's, its model's and the pair's limits, charged with the request's estimated tokens.
/// An admitted request's lease goes on the context; its headers go on the response at once.
/// </summary>
internal sealed class RateLimitAdmission : IRelayAdmission
{
    // The estimator wants a price; rate limits count tokens only, so any price does.
    private static readonly ModelPrice NoPrice = new() { Free = true };

    private readonly IRelayRateLimiter _limiter;
    private readonly IRateLimitPolicySource _policies;
    private readonly UpstreamCooldown _cooldown;
    private readonly WorstCaseEstimator _estimator;
    private readonly PromptCountGate _gate;
    private readonly RelayMetrics? _metrics;

    public RateLimitAdmission(
        IRelayRateLimiter limiter, IRateLimitPolicySource policies, UpstreamCooldown cooldown, WorstCaseEstimator estimator, PromptCountGate gate, RelayMetrics? metrics = null)
    {
        _limiter = limiter;
        _policies = policies;
        _cooldown = cooldown;
        _estimator = estimator;
        _gate = gate;
        _metrics = metrics;
    }

    public async ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
    {
        var model = context.Fields!.Model;
        var format = WireFormatOf(context);
        var response = context.HttpContext.Response;

        if (LeaveOutCoolingUpstreams(context) is { } wait)
        {
            _metrics?.RateLimitRefused(model, "upstream");
            RateLimitHeaderWriter.WriteRetryAfter(response.Headers, wait);
            return RelayError.RateLimited(
                $"The upstream for '{model}' is rate limited; try again in {Seconds(wait)} s.");
        }

        var keyName = context.Caller!.KeyName;

        // Counting the prompt costs a tokenizer pass; only a tokens-per-minute limit needs it.
        var countsTokens = CountsTokens(keyName, model) || FallbacksCountTokens(context, keyName);
        long tokens = 0;
        if (countsTokens)
        {
            // A large prompt is counted only while its key holds a counting slot, as budget admission counts it.
            var (slot, busy) = await _gate.EnterAsync(context);
            if (busy is not null)
            {
                return busy;
            }

            using (slot)
            {
                tokens = EstimateTokens(context);
            }
        }

        var lease = await _limiter.AcquireAsync(keyName, model, tokens, context.RequestAborted);
        if (lease.StoreUnavailable)
        {
            // Fail-closed while the limits' Redis is down: the same retryable 503 as any other store outage.
            await lease.DisposeAsync();
            RateLimitHeaderWriter.WriteRetryAfter(response.Headers, Hosting.StoreFailures.RetryAfter);
            return RelayError.StoreUnavailable(context.RequestId);
        }

        if (lease.Rejection is { } rejection)
        {
            // A refused request keeps nothing: whatever slots the lease took before the refusal go back now.
            await lease.DisposeAsync();
            _metrics?.RateLimitRefused(model, LimitName(rejection));
            RateLimitHeaderWriter.Write(response.Headers, format, lease);
            return rejection.RetryAfter is { } retryAfter
                ? RelayError.RateLimited(
                    $"Rate limit reached for {Describe(rejection)}; try again in {Seconds(retryAfter)} s.")
                : RelayError.RateLimitTooLarge(
                    $"This request's estimated tokens exceed the whole tokens-per-minute limit of {Whose(rejection.Scope)}; it can never pass. Ask for fewer output tokens or send a shorter prompt.");
        }

        // Step 7 (RateLimitSettlement) releases it, however the request ends: the handler settles every admitted request.
        context.RateLimitLease = lease;
        context.RateLimitTokens = tokens;
        if (lease.Requests is not null || lease.Tokens is not null)
        {
            // Written now: the forwarder never replaces a header the relay set before it (ProxyHeaders), so the relay's
            // own limits win over the upstream's same-named ones.
            RateLimitHeaderWriter.Write(response.Headers, format, lease);
        }

        return null;
    }

    private bool CountsTokens(string keyName, string model) =>
        _policies.GetPolicy(keyName, model).Rules.Any(r => r.Limits.TokensPerMinute is not null);

    /// <summary>
    /// Whether a fallback model (<c>models</c>) the request may reach has a tokens-per-minute limit: its lease, taken when
    /// the forwarder reaches it (<see cref="FallbackModelLimits"/>), is charged the estimate counted here.
    /// </summary>
    private bool FallbacksCountTokens(RelayRequestContext context, string keyName)
    {
        string? last = null;
        foreach (var candidate in context.Candidates)
        {
            if (candidate.RequestedAs is { } fallback && !string.Equals(fallback, last, StringComparison.Ordinal))
            {
                last = fallback;
                if (_policies.GetPolicy(keyName, fallback).AsFallback.Rules.Any(r => r.Limits.TokensPerMinute is not null))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static RateLimitWireFormat WireFormatOf(RelayRequestContext context) =>
        context.CallerFormat == WireFormat.Anthropic ? RateLimitWireFormat.Anthropic : RateLimitWireFormat.OpenAI;

    /// <summary>
    /// Drops the candidates that are cooling down; when none is left, the shortest remaining wait.
    /// </summary>
    private TimeSpan? LeaveOutCoolingUpstreams(RelayRequestContext context)
    {
        TimeSpan? shortest = null;

        // Made only once a candidate is found cooling: nearly always none is, and the list stays as it is.
        List<Routing.UpstreamCandidate>? usable = null;
        var candidates = context.Candidates;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (_cooldown.RemainingCooldown(candidates[i].Provider) is { } remaining)
            {
                shortest = shortest is { } s && s < remaining ? s : remaining;
                if (usable is null)
                {
                    usable = new List<Routing.UpstreamCandidate>(candidates.Count);
                    for (var j = 0; j < i; j++)
                    {
                        usable.Add(candidates[j]);
                    }
                }
            }
            else
            {
                usable?.Add(candidates[i]);
            }
        }

        if (usable is null)
        {
            return null;
        }

        if (usable.Count == 0)
        {
            return shortest;
        }

        context.Candidates = usable;
        return null;
    }

    /// <summary>Prompt tokens (counted with a tokenizer) plus the output cap.</summary>
    private long EstimateTokens(RelayRequestContext context)
    {
        if (context.Operation.PromptFormat is not { } promptFormat)
        {
            return 0;
        }

        var upstreamModel = context.Candidates.Count > 0 ? context.Candidates[0].UpstreamModel : context.Fields!.Model;
        var estimate = _estimator.Estimate(context, promptFormat, upstreamModel, NoPrice, null);
        // Saturating: an output limit of long's size (a caller's 1e20) is refused as too large, never wrapped negative.
        return estimate.OutputTokens > long.MaxValue - estimate.PromptTokens ? long.MaxValue : estimate.PromptTokens + estimate.OutputTokens;
    }

    /// <summary>The limit's name in the refusal metric: <c>model.requests</c>, <c>key_model.tokens</c>…</summary>
    internal static string LimitName(RateLimitRejection rejection) =>
        $"{Whose(rejection.Scope)}.{rejection.Dimension.ToString().ToLowerInvariant()}";

    private static string Whose(RateLimitScope scope) => scope switch
    {
        RateLimitScope.Key => "key",
        RateLimitScope.Model => "model",
        _ => "key_model",
    };

    /// <summary>The limit in words, for the refusal's message.</summary>
    internal static string Describe(RateLimitRejection rejection)
    {
        var what = rejection.Dimension switch
        {
            RateLimitDimension.Requests => "requests per minute",
            RateLimitDimension.Tokens => "tokens per minute",
            _ => "concurrent requests",
        };
        var whose = rejection.Scope switch
        {
            RateLimitScope.Key => "this key",
            RateLimitScope.Model => "this model",
            _ => "this key on this model",
        };
        return $"{what} of {whose}";
    }

    private static string Seconds(TimeSpan wait) =>
        Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
