using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Telemetry;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Routing;

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
    private readonly ILoggerFactory loggerFactory;
    private readonly UpstreamCooldown? cooldown;
    private readonly ModelRouter? router;
    private readonly IUpstreamRestShare? share;
    private readonly Status.History.StatusHistory? history;

    public UpstreamSelection(
        IOptionsMonitor<ModelRelayOptions> options,
        TimeProvider timeProvider,
        ILogger<UpstreamSelection> logger,
        ILoggerFactory loggerFactory,
        UpstreamCooldown? cooldown = null,
        ModelRouter? router = null,
        IUpstreamRestShare? share = null,
        Status.History.StatusHistory? history = null)
    {
        this.history = history;
        this.options = options;
        this.timeProvider = timeProvider;
        this.logger = logger;
        this.loggerFactory = loggerFactory;
        this.cooldown = cooldown;
        this.router = router;
        this.share = share;
        share?.Subscribe(Received);
    }

    /// <summary>The most candidates one request may have: tried ones are kept in one 64-bit mask.</summary>
    public const int MaxCandidates = 64;

    /// <summary>The name of every breaker's pipeline in Polly's telemetry (<c>pipeline.name</c>); its instance is the breaker's name.</summary>
    public const string PipelineName = "RelayKit.UpstreamBreaker";

    private static readonly Func<UpstreamSelection, ModelUpstream, int, string?, UpstreamBreaker> CreateBreakerOf =
        static (self, upstream, key, model) => self.CreateBreaker(upstream, key, model);

    public ModelRelayResilienceOptions Resilience => options.CurrentValue.Resilience;

    /// <summary>
    /// The next attempt's candidate (its index) and key, among those not in <paramref name="tried"/> and keys not
    /// <paramref name="passedOver"/> (refused by their breaker in this round); (-1, -1) when none is left that may be used.
    /// </summary>
    public (int Candidate, int Key) Next(IReadOnlyList<UpstreamCandidate> candidates, ulong tried, IReadOnlySet<(int Candidate, int Key)>? passedOver = null)
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

            var pick = end - start == 1 ? One(candidates, start, tried, passedOver) : Among(candidates, start, end, tried, passedOver);
            if (pick.Candidate >= 0)
            {
                return pick;
            }

            start = end;
        }

        return (-1, -1);
    }

    /// <summary>Whether a candidate not in <paramref name="tried"/> has a usable key (changes no turn, unlike <see cref="Next"/>).</summary>
    public bool AnyLeft(IReadOnlyList<UpstreamCandidate> candidates, ulong tried, IReadOnlySet<(int Candidate, int Key)>? passedOver = null)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if ((tried & (1UL << i)) == 0 && PickKey(candidates[i], i, passedOver, takeTurn: false) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The breaker of an upstream key, or null when breakers are off: the one its probes feed, and for an upstream that
    /// sends a configured model the one its requests go through too.
    /// </summary>
    public UpstreamBreaker? BreakerOf(ModelUpstream upstream, int key) =>
        Resilience.BreakAfterFailures > 0 ? upstream.Breaker(key, this, CreateBreakerOf) : null;

    /// <summary>
    /// The breaker an attempt at a candidate with one key goes through, made on first use; null when breakers are off, or
    /// when the upstream key keeps as many resting breakers of models as it may (<see cref="ModelBreakers"/>).
    /// </summary>
    public UpstreamBreaker? BreakerOf(UpstreamCandidate candidate, int key) =>
        Resilience.BreakAfterFailures > 0 ? candidate.Upstream.Breaker(key, candidate.UpstreamModel, this, CreateBreakerOf) : null;

    /// <summary>
    /// How long until one of the candidates may be tried again, for the <c>retry-after</c> of a request every candidate
    /// refused: the soonest over their keys of the end of a break or a cool-down, or <see cref="UpstreamBreaker.TrialRetryAfter"/>
    /// for a key whose trial is under way; at most <see cref="ModelRelayResilienceOptions.BreakFor"/> (a breaker lets a
    /// trial through at the latest then).
    /// </summary>
    public TimeSpan UsableIn(IReadOnlyList<UpstreamCandidate> candidates)
    {
        var soonest = Resilience.BreakFor;
        foreach (var candidate in candidates)
        {
            var upstream = candidate.Upstream;
            for (var key = 0; key < upstream.Provider.KeyCount; key++)
            {
                var wait = TimeSpan.Zero;
                foreach (var breaker in BreakersOn(candidate, key))
                {
                    var breakerWait = breaker is null ? TimeSpan.Zero : breaker.UsableIn() ?? Resilience.BreakFor;
                    wait = breakerWait > wait ? breakerWait : wait;
                }

                if (CoolingFor(upstream, key) is { } cooling && cooling > wait)
                {
                    wait = cooling;
                }

                soonest = wait < soonest ? wait : soonest;
            }
        }

        return soonest;
    }

    /// <summary>The breakers that must let an attempt at a candidate through with one key (when made): the key's, and the model's.</summary>
    private IEnumerable<UpstreamBreaker?> BreakersOn(UpstreamCandidate candidate, int key)
    {
        if (Resilience.BreakAfterFailures <= 0)
        {
            yield break;
        }

        var upstream = candidate.Upstream;
        yield return upstream.ExistingBreaker(key);
        if (upstream.PassThrough is not null)
        {
            yield return upstream.ExistingBreaker(key, candidate.UpstreamModel);
        }
    }

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
                else if (ModelOf(upstream, key, rest.Name) is { } model)
                {
                    // One model's breaker of an upstream that sends the caller's model name: kept among that key's
                    // breakers of models (bounded), made here if this instance has not sent the model yet.
                    upstream.Breaker(key, model, this, CreateBreakerOf)?.RestUntil(rest.Until);
                }
            }
        }
    }

    /// <summary>
    /// The model a breaker's name names, when it is one model's breaker of a key of an upstream that sends the caller's
    /// model name (<see cref="ModelUpstream.BreakerName(int, string?)"/>), and the model is one its entry serves; else null.
    /// </summary>
    private static string? ModelOf(ModelUpstream upstream, int key, string name)
    {
        if (upstream.PassThrough is not { } pattern)
        {
            return null;
        }

        var prefix = upstream.BreakerName(key).AsSpan()[..^1]; // "entry|key|" of "entry|key|*"
        if (!name.AsSpan().StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var model = name[prefix.Length..];
        return pattern.Matches(model) ? model : null;
    }

    private (int Candidate, int Key) One(IReadOnlyList<UpstreamCandidate> candidates, int index, ulong tried, IReadOnlySet<(int Candidate, int Key)>? passedOver)
    {
        if ((tried & (1UL << index)) != 0)
        {
            return (-1, -1);
        }

        var key = PickKey(candidates[index], index, passedOver);
        return key < 0 ? (-1, -1) : (index, key);
    }

    private (int Candidate, int Key) Among(
        IReadOnlyList<UpstreamCandidate> candidates, int start, int end, ulong tried, IReadOnlySet<(int Candidate, int Key)>? passedOver)
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
            keys[i - start] = (tried & (1UL << i)) != 0 ? -1 : PickKey(candidates[i], i, passedOver, takeTurn: false);
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

        var key = PickKey(candidates[chosen], chosen, passedOver);
        return (chosen, key >= 0 ? key : keys[chosen - start]);
    }

    /// <summary>Fewer requests in flight for its weight (compared without dividing).</summary>
    private static bool LessLoaded(int aLoad, int aWeight, int bLoad, int bWeight) => (long)aLoad * bWeight < (long)bLoad * aWeight;

    /// <summary>
    /// The usable key of the candidate's provider with the fewest requests in flight, taking turns, passing over the keys
    /// its breaker refused in this round (<paramref name="passedOver"/>, by the candidate's <paramref name="index"/>); -1
    /// when none is.
    /// </summary>
    private int PickKey(UpstreamCandidate candidate, int index, IReadOnlySet<(int Candidate, int Key)>? passedOver, bool takeTurn = true)
    {
        var provider = candidate.Provider;
        var count = provider.KeyCount;
        var first = count == 1 || !takeTurn ? 0 : provider.NextTurn();
        var best = -1;
        for (var n = 0; n < count; n++)
        {
            var key = (first + n) % count;
            if ((best < 0 || provider.InFlightOn(key) < provider.InFlightOn(best)) && passedOver?.Contains((index, key)) != true && Usable(candidate, key))
            {
                best = key;
            }
        }

        return best;
    }

    /// <summary>How long the upstream key still cools down after a 429, or null when it does not.</summary>
    public TimeSpan? CoolingFor(ModelUpstream upstream, int key) => cooldown?.RemainingCooldown(upstream.Provider.KeyName(key));

    /// <summary>
    /// Whether an attempt may go to the candidate with one key: the key does not cool down, and neither the key's breaker
    /// nor (for an upstream that sends the caller's model name) the model's rests. Breakers are read, not made: one
    /// not made yet is closed.
    /// </summary>
    private bool Usable(UpstreamCandidate candidate, int key)
    {
        if (cooldown?.RemainingCooldown(candidate.Provider.KeyName(key)) is not null)
        {
            return false;
        }

        foreach (var breaker in BreakersOn(candidate, key))
        {
            if (breaker is { IsOpen: true })
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Makes the breaker of one key of an upstream, for <paramref name="sent"/> (the model name sent, for one model's
    /// breaker of an upstream that sends the caller's model name; else null). Polly's telemetry (logs through the app's
    /// <see cref="ILoggerFactory"/>, metrics on Polly's own meter <c>Polly</c>) names it <see cref="PipelineName"/> and its
    /// breaker name (provider key by its place in the pool, never its value); its results are logged by
    /// <see cref="UpstreamAttemptResult.Describe"/>.
    /// </summary>
    private UpstreamBreaker CreateBreaker(ModelUpstream upstream, int key, string? sent)
    {
        var resilience = Resilience;
        var name = upstream.Provider.KeyName(key);
        var breakerName = upstream.BreakerName(key, sent);
        var model = LogValue.Of(sent ?? upstream.UpstreamModel) ?? "(caller's model)";
        var breaker = new UpstreamBreaker(timeProvider);
        var telemetry = new TelemetryOptions
        {
            LoggerFactory = loggerFactory,
            ResultFormatter = static (_, result) => result is UpstreamAttemptResult attempt ? attempt.Describe() : result,
        };
        breaker.Pipeline = new ResiliencePipelineBuilder<UpstreamAttemptResult>
        {
            TimeProvider = timeProvider,
            Name = PipelineName,
            InstanceName = LogValue.Of(breakerName),
        }
            .ConfigureTelemetry(telemetry)
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
                    share?.Publish(new UpstreamRest(UpstreamRest.Breaker, breakerName, until));
                    LogBreakerOpened(name, model, resilience.BreakAfterFailures, args.BreakDuration);
                    // One model's breaker of a pass-through upstream is named by the caller's text: the anonymous status
                    // history gets the provider and the entry's pattern instead (as UpstreamAttemptTracker.HistoryModel
                    // counts such attempts), or any caller could write incident titles there during an outage.
                    history?.Started(breakerName, upstream.Provider.Name, sent is null ? upstream.UpstreamModel ?? "" : "", "breaker",
                        sent is null
                            ? $"Breaker of {name} ({model}) opened after {resilience.BreakAfterFailures} failed attempts in a row"
                            : $"Breaker of {name} for a model of {upstream.EntryName} opened after {resilience.BreakAfterFailures} failed attempts in a row");
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogBreakerClosed(name, model);
                    history?.Ended(breakerName);
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
