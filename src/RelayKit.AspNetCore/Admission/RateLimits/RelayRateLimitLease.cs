namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The admission decision for one request. When granted it holds the request's concurrency slots
/// until disposed, and remembers the tokens charged so the charge can be corrected to actual usage.
/// Either way it carries the quota data for the rate-limit response headers.
/// </summary>
internal sealed class RelayRateLimitLease : IAsyncDisposable
{
    private IAsyncDisposable? _slots;

    private RelayRateLimitLease(
        RateLimitRejection? rejection,
        RateLimitQuota? requests,
        RateLimitQuota? tokens,
        IReadOnlyList<CounterCharge> tokenCharges,
        IReadOnlyList<CounterCharge> requestCharges,
        long chargedTokens,
        IAsyncDisposable? slots,
        bool storeUnavailable = false)
    {
        StoreUnavailable = storeUnavailable;
        Rejection = rejection;
        Requests = requests;
        Tokens = tokens;
        TokenCharges = tokenCharges;
        RequestCharges = requestCharges;
        ChargedTokens = chargedTokens;
        _slots = slots;
    }

    /// <summary>Whether the request may go ahead.</summary>
    public bool IsAcquired => Rejection is null && !StoreUnavailable;

    /// <summary>
    /// Whether the request is refused because the limits' store (Redis) is unreachable and the relay is set to
    /// refuse then (<see cref="RedisUnavailableMode.Refuse"/>), rather than for any limit.
    /// </summary>
    public bool StoreUnavailable { get; }

    /// <summary>Why the request was rejected; <see langword="null"/> when it was admitted.</summary>
    public RateLimitRejection? Rejection { get; }

    /// <summary>The tightest requests-per-minute quota, or <see langword="null"/> when none applies.</summary>
    public RateLimitQuota? Requests { get; }

    /// <summary>The tightest tokens-per-minute quota, or <see langword="null"/> when none applies.</summary>
    public RateLimitQuota? Tokens { get; }

    /// <summary>The token counters this request was charged against.</summary>
    internal IReadOnlyList<CounterCharge> TokenCharges { get; }

    /// <summary>The requests-per-minute counters this request took one request from.</summary>
    internal IReadOnlyList<CounterCharge> RequestCharges { get; }

    /// <summary>Whether the charges were given back (<see cref="IRelayRateLimiter.ReturnAsync"/>): only once.</summary>
    internal bool Returned { get; set; }

    /// <summary>Tokens currently charged: the estimate, then the actual usage once corrected.</summary>
    internal long ChargedTokens { get; set; }

    /// <summary>The concurrency slots held (for tests of Redis lease renewal).</summary>
    internal IAsyncDisposable? Slots => Volatile.Read(ref _slots);

    /// <summary>An admitted request.</summary>
    public static RelayRateLimitLease Granted(
        RateLimitQuota? requests,
        RateLimitQuota? tokens,
        IReadOnlyList<CounterCharge> tokenCharges,
        long chargedTokens,
        IAsyncDisposable? slots,
        IReadOnlyList<CounterCharge>? requestCharges = null) =>
        new(null, requests, tokens, tokenCharges, requestCharges ?? [], chargedTokens, slots);

    /// <summary>A rejected request.</summary>
    public static RelayRateLimitLease Rejected(RateLimitRejection rejection, RateLimitQuota? requests, RateLimitQuota? tokens) =>
        new(rejection, requests, tokens, [], [], 0, null);

    /// <summary>A request refused because the limits' store is unreachable (fail-closed).</summary>
    public static RelayRateLimitLease Unavailable() => new(null, null, null, [], [], 0, null, storeUnavailable: true);

    /// <summary>Releases the concurrency slots; safe to call more than once.</summary>
    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _slots, null)?.DisposeAsync() ?? default;
}
