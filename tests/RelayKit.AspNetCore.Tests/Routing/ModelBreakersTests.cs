using Microsoft.Extensions.Time.Testing;
using Polly;
using Polly.CircuitBreaker;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Tests.Routing;

/// <summary>
/// The breakers of one key of a wildcard upstream, one per model name sent: bounded however many names callers send,
/// making room by dropping the least recently used idle breaker and never a resting one.
/// </summary>
public sealed class ModelBreakersTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private UpstreamBreaker? Add(ModelBreakers breakers, string model) => breakers.GetOrAdd(model, time, static t => new UpstreamBreaker(t));

    [Fact]
    public void A_full_set_makes_room_by_dropping_the_least_recently_used_idle_breaker_and_keeps_resting_ones()
    {
        var breakers = new ModelBreakers();
        for (var i = 0; i < ModelBreakers.Capacity; i++)
        {
            Assert.NotNull(Add(breakers, $"m{i}"));
        }

        // m0 is the oldest but rests (another instance's word); m1 was used again since.
        breakers.Find("m0")!.RestUntil(time.GetUtcNow().AddMinutes(1));
        var m1 = breakers.Find("m1");

        var added = Add(breakers, "new-model");

        Assert.NotNull(added);
        Assert.Equal(ModelBreakers.Capacity, breakers.Count);
        Assert.NotNull(breakers.Find("m0"));
        Assert.Same(m1, breakers.Find("m1"));
        Assert.Null(breakers.Find("m2")); // the least recently used idle one
        Assert.Same(added, Add(breakers, "new-model"));
    }

    [Fact]
    public void When_every_kept_breaker_rests_a_new_model_goes_without_one_and_none_is_dropped()
    {
        var breakers = new ModelBreakers();
        var until = time.GetUtcNow().AddMinutes(1);
        for (var i = 0; i < ModelBreakers.Capacity; i++)
        {
            Add(breakers, $"m{i}")!.RestUntil(until);
        }

        Assert.Null(Add(breakers, "flood-1"));
        Assert.Null(Add(breakers, "flood-2"));
        Assert.Equal(ModelBreakers.Capacity, breakers.Count);
        Assert.All(Enumerable.Range(0, ModelBreakers.Capacity), i => Assert.True(breakers.Find($"m{i}")!.IsOpen));

        // The rests over, the breakers are idle again and make room.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull(Add(breakers, "flood-1"));
        Assert.Equal(ModelBreakers.Capacity, breakers.Count);
    }
    [Fact]
    public async Task Breakers_whose_break_is_over_make_room_so_new_models_are_not_left_without_a_breaker_for_good()
    {
        // A flood of names an upstream in trouble failed: every kept breaker opened (by Polly, as the relay's do).
        var breakers = new ModelBreakers();
        for (var i = 0; i < ModelBreakers.Capacity; i++)
        {
            await OpenAsync(Add(breakers, $"m{i}")!);
        }

        Assert.Null(Add(breakers, "new-model"));

        // The breaks end. Nobody sends those names again, so Polly keeps them "open" until their next attempt; they no
        // longer rest, and a new model gets a breaker of its own (the least recently used one whose break is over goes).
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.False(breakers.Find("m5")!.IsOpen);
        var added = Add(breakers, "new-model");
        Assert.NotNull(added);
        Assert.Equal(ModelBreakers.Capacity, breakers.Count);
        Assert.Null(breakers.Find("m0"));
        Assert.NotNull(breakers.Find("m5"));
    }

    /// <summary>Opens a breaker as the relay's open: Polly's circuit breaker, 2 failures in a row, a 30 s break.</summary>
    private async Task OpenAsync(UpstreamBreaker breaker)
    {
        breaker.Pipeline = new ResiliencePipelineBuilder<UpstreamAttemptResult> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<UpstreamAttemptResult>
            {
                FailureRatio = 1.0,
                MinimumThroughput = 2,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(30),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result.Failed),
                StateProvider = breaker.State,
                OnOpened = args =>
                {
                    breaker.Opened(args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        for (var i = 0; i < 2; i++)
        {
            await breaker.Pipeline.ExecuteAsync(static _ => ValueTask.FromResult(new UpstreamAttemptResult(null, null, null, Failed: true, CallerLeft: false)));
        }

        Assert.True(breaker.IsOpen);
    }
}
