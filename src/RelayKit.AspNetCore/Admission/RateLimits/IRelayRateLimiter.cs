namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Admits or rejects a request against the requests-per-minute, tokens-per-minute and concurrency
/// limits of its key, its model and the key-and-model pair, all at once: a rejected request uses up
/// none of them.
/// </summary>
internal interface IRelayRateLimiter
{
    /// <summary>
    /// Decides on one request, waiting up to the key's queue timeout when it has one. Dispose the
    /// returned lease when the response has finished, to release its concurrency slots.
    /// </summary>
    /// <param name="keyName">The caller key's name.</param>
    /// <param name="model">The model the request asks for.</param>
    /// <param name="estimatedTokens">Tokens the request is expected to use (prompt plus maximum output).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <param name="countedWith">
    /// Set when the request reaches <paramref name="model"/> as a fallback after admission: the policy its own lease counted
    /// it against. Only the model's and the pair's limits apply, less the counters that policy already holds, without
    /// waiting (<see cref="RateLimitPolicy.AsFallbackAfter"/>).
    /// </param>
    ValueTask<RelayRateLimitLease> AcquireAsync(string keyName, string model, long estimatedTokens, CancellationToken cancellationToken = default, RateLimitPolicy? countedWith = null);

    /// <summary>
    /// Replaces the tokens charged for an admitted request by what it actually used: a request that used
    /// fewer tokens gives the difference back, one that used more takes the rest (possibly below zero,
    /// delaying later requests until the counter has refilled).
    /// </summary>
    ValueTask CorrectTokensAsync(RelayRateLimitLease lease, long actualTokens, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back what an admitted request took from the requests- and tokens-per-minute counters, for a request
    /// the relay refused or failed before forwarding it (a budget refusal, for one): a rejected request uses up
    /// none of the limits. Once per lease; its concurrency slots are released by disposing it, as always.
    /// </summary>
    ValueTask ReturnAsync(RelayRateLimitLease lease, CancellationToken cancellationToken = default);
}
