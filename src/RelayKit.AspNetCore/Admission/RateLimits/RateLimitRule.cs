namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// One set of limits that applies to a request, with the identity of the counters it uses:
/// every request that resolves to the same <paramref name="CounterId"/> shares its counters.
/// </summary>
/// <param name="Scope">Whose limit this is.</param>
/// <param name="CounterId">Identifies the counters, e.g. <c>key/alice</c> or <c>model/gpt-*</c>.</param>
/// <param name="Limits">The limits; unset ones do not apply.</param>
internal sealed record RateLimitRule(RateLimitScope Scope, string CounterId, RateLimitOptions Limits)
{
    /// <summary>The requests-per-minute counter's id, made once with the rule rather than on every use.</summary>
    public string RequestsCounterId { get; } = CounterIds.Requests(CounterId);

    /// <summary>The tokens-per-minute counter's id, made once with the rule rather than on every use.</summary>
    public string TokensCounterId { get; } = CounterIds.Tokens(CounterId);
}
