using Polly;
using Polly.CircuitBreaker;

namespace RelayKit.AspNetCore.Routing;

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
    /// <summary>
    /// The <c>retry-after</c> told a caller whose request met this breaker's trial under way. The trial ends when its
    /// upstream answers, which nobody can know ahead: a good answer puts the key back at once, a bad one rests it for
    /// <see cref="ModelRelayResilienceOptions.BreakFor"/>. The whole break would keep callers away long after a trial
    /// that took a second; the smallest value <c>retry-after</c> can say costs a caller who comes back too early only
    /// one more refusal from the relay (nothing is sent upstream and nothing charged).
    /// </summary>
    public static readonly TimeSpan TrialRetryAfter = TimeSpan.FromSeconds(1);

    private long _openUntil;
    private long _restUntil;

    public ResiliencePipeline<UpstreamAttemptResult> Pipeline { get; set; } = ResiliencePipeline<UpstreamAttemptResult>.Empty;

    public CircuitBreakerStateProvider State { get; } = new();

    /// <summary>Whether the upstream key is resting: its break has not ended (or it was isolated by hand).</summary>
    public bool IsOpen => State.CircuitState == CircuitState.Isolated
        || (State.CircuitState == CircuitState.Open && timeProvider.GetUtcNow().UtcTicks < Volatile.Read(ref _openUntil))
        || Resting;

    /// <summary>Whether another instance's rest (<see cref="RestUntil"/>) keeps this upstream key out of rotation now.</summary>
    private bool Resting => timeProvider.GetUtcNow().UtcTicks < Volatile.Read(ref _restUntil);

    /// <summary>
    /// Whether the breaker holds nothing a fresh one would not: closed and not resting. Such a breaker may be dropped
    /// (<see cref="ModelBreakers"/>); what it loses is at most the failures counted in its window, which a breaker idle
    /// for its sampling window (<see cref="ModelRelayResilienceOptions.BreakFor"/>) has forgotten already.
    /// </summary>
    public bool Idle => State.CircuitState == CircuitState.Closed && !Resting;

    /// <summary>
    /// Whether the breaker opened and its break is over, with no attempt since (Polly still says open until the next
    /// attempt, which would be the trial) and no rest of another instance's: the upstream key is back in rotation already,
    /// so dropping it (<see cref="ModelBreakers"/>) costs only that trial's caution.
    /// </summary>
    public bool BreakOver => State.CircuitState == CircuitState.Open
        && timeProvider.GetUtcNow().UtcTicks >= Volatile.Read(ref _openUntil)
        && !Resting;

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
    /// How long until a request may be sent through this breaker: zero when it may now; the rest of the break (its own,
    /// or another instance's); <see cref="TrialRetryAfter"/> while its trial is under way; null when it was isolated by hand.
    /// </summary>
    public TimeSpan? UsableIn()
    {
        var now = timeProvider.GetUtcNow().UtcTicks;
        var state = State.CircuitState;
        if (state == CircuitState.Isolated)
        {
            return null;
        }

        var until = Math.Max(Volatile.Read(ref _restUntil), state == CircuitState.Open ? Volatile.Read(ref _openUntil) : 0);
        var wait = until > now ? TimeSpan.FromTicks(until - now) : TimeSpan.Zero;
        return state == CircuitState.HalfOpen && wait < TrialRetryAfter ? TrialRetryAfter : wait;
    }

    /// <summary>
    /// The state as the status page names it: <c>closed</c>; <c>open</c> while the upstream key rests, by its own break or
    /// by another instance's (shared over Redis); <c>half-open</c> once the break is over (the next attempt is the trial)
    /// and while the trial is under way.
    /// </summary>
    public string StateName => State.CircuitState switch
    {
        CircuitState.Isolated => "open",
        _ when Resting => "open",
        CircuitState.Closed => "closed",
        CircuitState.HalfOpen => "half-open",
        _ => IsOpen ? "open" : "half-open",
    };
}
