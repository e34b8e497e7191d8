using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Routing;

/// <summary>
/// Two instances on one Redis share which upstream keys rest: a breaker one opens, and a 429 one was answered, make the
/// other pass the upstream key over too, before it has failed there itself.
/// </summary>
public sealed class SharedRestsTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}""";

    private static Action<Dictionary<string, string?>> OnRedis(string prefix, Action<Dictionary<string, string?>>? more = null) => s =>
    {
        s["ModelRelay:RateLimits:Redis"] = TestServers.RequireRedis();
        s["ModelRelay:RateLimits:RedisKeyPrefix"] = prefix;
        more?.Invoke(s);
    };

    private static void PrimaryAndFallback(Dictionary<string, string?> s)
    {
        RelaySettings.PrimaryAndFallback(s);
        s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
        s["ModelRelay:Resilience:BreakFor"] = "00:01:00";
    }

    [SkippableFact]
    public async Task A_breaker_one_instance_opens_makes_the_other_pass_the_upstream_over()
    {
        var prefix = "relaykit-rests-" + Guid.NewGuid().ToString("N");
        await using var first = FakeRelay.Create(OnRedis(prefix, PrimaryAndFallback));
        await using var second = FakeRelay.Create(OnRedis(prefix, PrimaryAndFallback));
        var firstHttp = first.App.CreateClient();
        var secondHttp = second.App.CreateClient();

        // The second instance is up and listening before the first learns anything.
        var (warm, _, _) = await RawRelayCall.PostAsync(secondHttp, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, warm);
        var sentBefore = second.Recorder.Exchanges.Count;

        first.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        for (var i = 0; i < 2; i++)
        {
            var (status, _, headers) = await RawRelayCall.PostAsync(firstHttp, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.Equal(200, status);
            Assert.Equal("azure", headers.GetValues("x-relaykit-provider").Single());
        }

        await WaitUntilAsync(() => Breaker(second, "openai") is { IsOpen: true }, "the second instance never heard of the open breaker");

        // openai answers the second instance well, but it rests there too until the first instance's break ends.
        var (served, body, servedBy) = await RawRelayCall.PostAsync(secondHttp, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(served == 200, body.ToString());
        Assert.Equal("azure", servedBy.GetValues("x-relaykit-provider").Single());
        Assert.Equal("1", servedBy.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(["azure"], second.Recorder.Exchanges.Skip(sentBefore).Select(e => e.Provider));
    }

    [SkippableFact]
    public async Task A_429_one_instance_was_answered_rests_the_key_on_the_other()
    {
        var prefix = "relaykit-rests-" + Guid.NewGuid().ToString("N");
        await using var first = FakeRelay.Create(OnRedis(prefix));
        await using var second = FakeRelay.Create(OnRedis(prefix));
        var secondHttp = second.App.CreateClient();
        var (warm, _, _) = await RawRelayCall.PostAsync(secondHttp, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, warm);
        var sentBefore = second.Recorder.Exchanges.Count;

        first.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.RateLimited(TimeSpan.FromMinutes(1)));
        var (limited, _, _) = await RawRelayCall.PostAsync(first.App.CreateClient(), "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(429, limited);

        var cooldown = second.App.Services.GetRequiredService<UpstreamCooldown>();
        await WaitUntilAsync(() => cooldown.RemainingCooldown("openai") is not null, "the second instance never heard of the 429");

        // The second instance answers with the wait itself instead of sending the upstream a request it would refuse.
        var (status, body, headers) = await RawRelayCall.PostAsync(secondHttp, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(int.Parse(headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture) > 30);
        Assert.Equal(sentBefore, second.Recorder.Exchanges.Count);
    }

    private static UpstreamBreaker? Breaker(FakeRelay relay, string provider)
    {
        var upstream = relay.App.Services.GetRequiredService<ModelRouter>().Table.Upstreams.First(u => u.Provider.Name == provider && u.EntryName == "gpt-5.5");
        return upstream.ExistingBreaker(0);
    }

    /// <summary>Pub/sub delivers in the background: waits (bounded) for the other instance to have heard.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }
}
