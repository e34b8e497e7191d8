using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// What one attempt at an upstream came to: the attempt's telemetry, its answer, or the error to give when none came; whether
/// it failed, and whether the caller left before any answer (which says nothing about the upstream).
/// </summary>
internal readonly record struct UpstreamAttemptResult(
    Usage.UpstreamAttempt? Attempt, HttpResponseMessage? Response, RelayError? Error, bool Failed, bool CallerLeft);

/// <summary>
/// One upstream key's breaker: Polly's circuit breaker, opened by <see cref="ModelRelayResilienceOptions.BreakAfterFailures"/>
/// failed attempts with no success among them, open for <see cref="ModelRelayResilienceOptions.BreakFor"/>, then half-open
/// for one trial attempt (Polly lets one through and refuses the rest until it ends).
/// </summary>
/// <remarks>
/// Polly moves an open breaker to half-open only when an attempt is made through it, so its state alone would keep
/// saying "open" after the break: the break's end is remembered here (from <c>OnOpened</c>) and an upstream is passed over
/// only until then.
/// </remarks>
internal sealed class UpstreamBreaker(TimeProvider timeProvider)
{
    private long _openUntil;
    private long _restUntil;

    public ResiliencePipeline<UpstreamAttemptResult> Pipeline { get; set; } = ResiliencePipeline<UpstreamAttemptResult>.Empty;

    public CircuitBreakerStateProvider State { get; } = new();

    /// <summary>Whether the upstream key is resting: its break has not ended (or it was isolated by hand).</summary>
    public bool IsOpen => State.CircuitState == CircuitState.Isolated
        || (State.CircuitState == CircuitState.Open && timeProvider.GetUtcNow().UtcTicks < Volatile.Read(ref _openUntil))
        || timeProvider.GetUtcNow().UtcTicks < Volatile.Read(ref _restUntil);

    /// <summary>Called as the breaker opens; returns when its break ends.</summary>
    public DateTimeOffset Opened(TimeSpan breakFor)
    {
        var until = timeProvider.GetUtcNow() + breakFor;
        Volatile.Write(ref _openUntil, until.UtcTicks);
        return until;
    }

    /// <summary>Another instance's breaker for the same upstream key opened: this one passes it over until then too.</summary>
    public void RestUntil(DateTimeOffset until)
    {
        long current;
        do
        {
            current = Volatile.Read(ref _restUntil);
            if (current >= until.UtcTicks)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _restUntil, until.UtcTicks, current) != current);
    }

    /// <summary>
    /// The state as the status page names it: <c>closed</c>; <c>open</c> while the upstream key rests; <c>half-open</c>
    /// once the break is over (the next attempt is the trial) and while the trial is under way.
    /// </summary>
    public string StateName => State.CircuitState switch
    {
        CircuitState.Closed => "closed",
        CircuitState.HalfOpen => "half-open",
        _ => IsOpen ? "open" : "half-open",
    };
}

/// <summary>
/// Chooses each attempt's upstream and key: the lowest priority with an upstream not yet tried that is usable (a key
/// neither cooling after a 429 nor behind an open breaker); within it the upstream with the fewest requests in flight for
/// its weight, and among equals the one whose weighted turn it is (smooth weighted round-robin, as nginx balances), so
/// requests spread by weight exactly when they come one at a time and towards the idle upstream when they pile up.
/// </summary>
/// <remarks>
/// The attempts themselves are a loop in the forwarder rather than Polly's retry strategy: each attempt chooses anew
/// (another upstream, another key), passes over resting ones and never waits longer than
/// <see cref="ModelRelayResilienceOptions.MaxRetryAfter"/>, which a retry of one callback does not model. Polly's circuit
/// breaker is used as it is, one per upstream key.
/// </remarks>
internal sealed partial class UpstreamSelection
{
    private readonly IOptionsMonitor<ModelRelayOptions> options;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<UpstreamSelection> logger;
    private readonly UpstreamCooldown? cooldown;
    private readonly ModelRouter? router;
    private readonly IUpstreamRestShare? share;
    private readonly Status.History.StatusHistory? history;

    public UpstreamSelection(
        IOptionsMonitor<ModelRelayOptions> options,
        TimeProvider timeProvider,
        ILogger<UpstreamSelection> logger,
        UpstreamCooldown? cooldown = null,
        ModelRouter? router = null,
        IUpstreamRestShare? share = null,
        Status.History.StatusHistory? history = null)
    {
        this.history = history;
        this.options = options;
        this.timeProvider = timeProvider;
        this.logger = logger;
        this.cooldown = cooldown;
        this.router = router;
        this.share = share;
        share?.Subscribe(Received);
    }

    /// <summary>The most candidates one request may have: tried ones are kept in one 64-bit mask.</summary>
    public const int MaxCandidates = 64;

    private static readonly Func<UpstreamSelection, ModelUpstream, int, UpstreamBreaker> CreateBreakerOf =
        static (self, upstream, key) => self.CreateBreaker(upstream, key);

    public ModelRelayResilienceOptions Resilience => options.CurrentValue.Resilience;

    /// <summary>
    /// The next attempt's candidate (its index) and key, among those not in <paramref name="tried"/>; (-1, -1) when none
    /// is left that may be used.
    /// </summary>
    public (int Candidate, int Key) Next(IReadOnlyList<UpstreamCandidate> candidates, ulong tried)
    {
        var start = 0;
        while (start < candidates.Count)
        {
            var group = candidates[start].Group;
            var end = start + 1;
            while (end < candidates.Count && candidates[end].Group == group)
            {
                end++;
            }

            var pick = end - start == 1 ? One(candidates, start, tried) : Among(candidates, start, end, tried);
            if (pick.Candidate >= 0)
            {
                return pick;
            }

            start = end;
        }

        return (-1, -1);
    }

    /// <summary>Whether a candidate not in <paramref name="tried"/> has a usable key (changes no turn, unlike <see cref="Next"/>).</summary>
    public bool AnyLeft(IReadOnlyList<UpstreamCandidate> candidates, ulong tried)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if ((tried & (1UL << i)) == 0 && PickKey(candidates[i].Upstream, takeTurn: false) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The breaker of an upstream key, or null when breakers are off.</summary>
    public UpstreamBreaker? BreakerOf(ModelUpstream upstream, int key) =>
        Resilience.BreakAfterFailures > 0 ? upstream.Breaker(key, this, CreateBreakerOf) : null;

    /// <summary>
    /// Whether an upstream's answer counts against its key's breaker: the upstream could not serve (a 429 only cools its
    /// key, a 4xx is the request's). The forwarder judges its attempts by the same statuses.
    /// </summary>
    public static bool CountsAgainstBreaker(int status) => status is 408 or 500 or 502 or 503 or 504 or 529;

    /// <summary>
    /// Passes a probe's outcome (<see cref="Status.UpstreamProbes"/>) through the breaker of one key of each upstream:
    /// a failed probe counts as a failed attempt there, and a breaker whose break is over takes it as its trial (closing on
    /// a good one, opening again on a failure). A good probe is not counted by a closed breaker: it only lists models, so
    /// it cannot vouch for a model's deployment, and as a success in the breaker's window it would keep the failures of
    /// real requests from ever opening it. A breaker that is resting, or whose trial is under way, refuses a probe as it
    /// refuses a request; it is then not counted there. Returns how many breakers counted it.
    /// </summary>
    /// <remarks>
    /// The probe is sent once per key and its outcome given to each breaker of that key (one per model the provider
    /// serves), rather than sent inside each breaker's pipeline: that would send one probe per model, or, nested,
    /// let one resting breaker keep the outcome from the others.
    /// </remarks>
    public async Task<int> CountProbeAsync(IEnumerable<ModelUpstream> upstreams, int key, bool failed, CancellationToken cancellationToken)
    {
        var counted = 0;
        foreach (var upstream in upstreams)
        {
            if (BreakerOf(upstream, key) is not { } breaker)
            {
                return 0; // breakers are off
            }

            if (!failed && breaker.State.CircuitState == CircuitState.Closed)
            {
                continue;
            }

            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            try
            {
                var outcome = await breaker.Pipeline.ExecuteOutcomeAsync(
                    static (_, failed) => ValueTask.FromResult(Outcome.FromResult(new UpstreamAttemptResult(null, null, null, failed, CallerLeft: false))),
                    context,
                    failed);
                counted += outcome.Exception is BrokenCircuitException ? 0 : 1;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        return counted;
    }

    /// <summary>
    /// Records a 429 of one key, so the next attempts (this request's and others') pass it over for as long as it asked;
    /// false when there is nowhere to record it.
    /// </summary>
    public bool CoolDown(UpstreamProvider provider, int key, HttpResponseMessage response)
    {
        if (cooldown is null)
        {
            return false;
        }

        var name = provider.KeyName(key);
        var until = cooldown.RecordRateLimitedResponse(name, response.Headers);
        share?.Publish(new UpstreamRest(UpstreamRest.CoolDown, name, until));
        return true;
    }

    private static bool KeyNamed(UpstreamProvider provider, string name)
    {
        for (var key = 0; key < provider.KeyCount; key++)
        {
            if (string.Equals(provider.KeyName(key), name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A rest another instance published: its breaker opened, or its key was answered 429.</summary>
    private void Received(UpstreamRest rest)
    {
        // A message is another process's word: a rest is never longer than this instance would take itself (a skewed clock
        // or a garbled message must not rest an upstream until restart), and a name this configuration lacks is dropped.
        var now = timeProvider.GetUtcNow();
        if (rest.Kind == UpstreamRest.CoolDown)
        {
            if (cooldown is not null && router is not null && router.Table.Upstreams.Any(u => KeyNamed(u.Provider, rest.Name)))
            {
                var longest = now + cooldown.LongestWait;
                cooldown.RecordUntil(rest.Name, rest.Until < longest ? rest.Until : longest);
            }

            return;
        }

        if (rest.Kind != UpstreamRest.Breaker || router is null || Resilience.BreakAfterFailures <= 0)
        {
            return;
        }

        var breakEnds = now + Resilience.BreakFor;
        rest = rest with { Until = rest.Until < breakEnds ? rest.Until : breakEnds };

        foreach (var upstream in router.Table.Upstreams)
        {
            for (var key = 0; key < upstream.Provider.KeyCount; key++)
            {
                if (string.Equals(upstream.BreakerName(key), rest.Name, StringComparison.Ordinal))
                {
                    BreakerOf(upstream, key)?.RestUntil(rest.Until);
                }
            }
        }
    }

    private (int Candidate, int Key) One(IReadOnlyList<UpstreamCandidate> candidates, int index, ulong tried)
    {
        if ((tried & (1UL << index)) != 0)
        {
            return (-1, -1);
        }

        var key = PickKey(candidates[index].Upstream);
        return key < 0 ? (-1, -1) : (index, key);
    }

    private (int Candidate, int Key) Among(IReadOnlyList<UpstreamCandidate> candidates, int start, int end, ulong tried)
    {
        // Each upstream's load is read once: other requests change it meanwhile, and two reads could disagree.
        Span<int> keys = stackalloc int[end - start];
        Span<int> load = stackalloc int[end - start];
        var best = -1;
        for (var i = start; i < end; i++)
        {
            var upstream = candidates[i].Upstream;
            // Only whether a key is usable here: the provider's key turn moves only for the upstream chosen, below, or
            // a provider sharing its priority with another would have its turn moved by the other's requests too.
            keys[i - start] = (tried & (1UL << i)) != 0 ? -1 : PickKey(upstream, takeTurn: false);
            load[i - start] = Volatile.Read(ref upstream.InFlight);
            if (keys[i - start] >= 0 && (best < 0 || LessLoaded(load[i - start], upstream.Weight, load[best - start], candidates[best].Upstream.Weight)))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return (-1, -1);
        }

        // Among those as little loaded as the best (the best among them), the one whose weighted turn it is.
        var turns = candidates[start].Entry.Turns;
        int chosen;
        lock (turns)
        {
            long total = 0;
            chosen = -1;
            for (var i = start; i < end; i++)
            {
                var upstream = candidates[i].Upstream;
                if (keys[i - start] < 0
                    || (i != best && LessLoaded(load[best - start], candidates[best].Upstream.Weight, load[i - start], upstream.Weight)))
                {
                    continue;
                }

                upstream.Turn += upstream.Weight;
                total += upstream.Weight;
                if (chosen < 0 || upstream.Turn > candidates[chosen].Upstream.Turn)
                {
                    chosen = i;
                }
            }

            candidates[chosen].Upstream.Turn -= total;
        }

        var key = PickKey(candidates[chosen].Upstream);
        return (chosen, key >= 0 ? key : keys[chosen - start]);
    }

    /// <summary>Fewer requests in flight for its weight (compared without dividing).</summary>
    private static bool LessLoaded(int aLoad, int aWeight, int bLoad, int bWeight) => (long)aLoad * bWeight < (long)bLoad * aWeight;

    /// <summary>The usable key of the upstream's provider with the fewest requests in flight, taking turns; -1 when none is.</summary>
    private int PickKey(ModelUpstream upstream, bool takeTurn = true)
    {
        var provider = upstream.Provider;
        var count = provider.KeyCount;
        var first = count == 1 || !takeTurn ? 0 : provider.NextTurn();
        var best = -1;
        for (var n = 0; n < count; n++)
        {
            var key = (first + n) % count;
            if ((best < 0 || provider.InFlightOn(key) < provider.InFlightOn(best)) && Usable(upstream, key))
            {
                best = key;
            }
        }

        return best;
    }

    /// <summary>How long the upstream key still cools down after a 429, or null when it does not.</summary>
    public TimeSpan? CoolingFor(ModelUpstream upstream, int key) => cooldown?.RemainingCooldown(upstream.Provider.KeyName(key));

    private bool Usable(ModelUpstream upstream, int key) =>
        cooldown?.RemainingCooldown(upstream.Provider.KeyName(key)) is null && BreakerOf(upstream, key) is not { IsOpen: true };

    private UpstreamBreaker CreateBreaker(ModelUpstream upstream, int key)
    {
        var resilience = Resilience;
        var name = upstream.Provider.KeyName(key);
        var model = upstream.UpstreamModel ?? "(caller's model)";
        var breaker = new UpstreamBreaker(timeProvider);
        breaker.Pipeline = new ResiliencePipelineBuilder<UpstreamAttemptResult> { TimeProvider = timeProvider }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<UpstreamAttemptResult>
            {
                // Every attempt in the window failed, and at least BreakAfterFailures of them: failures in a row.
                FailureRatio = 1.0,
                MinimumThroughput = Math.Max(2, resilience.BreakAfterFailures),
                SamplingDuration = resilience.BreakFor,
                BreakDuration = resilience.BreakFor,
                // Polly has no neutral outcome: what it does not handle counts as a success. A caller who left before the
                // answer proves nothing about the upstream, so it must not close a half-open breaker (that would send
                // full traffic to an upstream nobody tried): during the trial it counts as a failure, and the breaker
                // rests once more. While closed it counts as Polly's success, which at worst postpones a break (the
                // ratio is 1.0), and never lets callers open a breaker by hanging up.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: OperationCanceledException } or { Result.CallerLeft: true } => breaker.State.CircuitState == CircuitState.HalfOpen,
                    { Exception: not null } => true,
                    _ => args.Outcome.Result.Failed,
                }),
                StateProvider = breaker.State,
                OnOpened = args =>
                {
                    var until = breaker.Opened(args.BreakDuration);
                    share?.Publish(new UpstreamRest(UpstreamRest.Breaker, upstream.BreakerName(key), until));
                    LogBreakerOpened(name, model, resilience.BreakAfterFailures, args.BreakDuration);
                    history?.Started(upstream.BreakerName(key), upstream.Provider.Name, upstream.UpstreamModel ?? "", "breaker",
                        $"Breaker of {name} ({model}) opened after {resilience.BreakAfterFailures} failed attempts in a row");
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogBreakerClosed(name, model);
                    history?.Ended(upstream.BreakerName(key));
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return breaker;
    }

    [LoggerMessage(1, LogLevel.Warning, "Upstream {Upstream} ({Model}) failed {Failures} attempts in a row; it rests for {BreakFor} before one trial request")]
    private partial void LogBreakerOpened(string upstream, string model, int failures, TimeSpan breakFor);

    [LoggerMessage(2, LogLevel.Information, "Upstream {Upstream} ({Model}) answered its trial request; it is back in rotation")]
    private partial void LogBreakerClosed(string upstream, string model);
}
