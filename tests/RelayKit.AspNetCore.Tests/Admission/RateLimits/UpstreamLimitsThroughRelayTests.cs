using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>An upstream's own 429s, and the token charge corrected to the usage the upstream reported.</summary>
public sealed class UpstreamLimitsThroughRelayTests
{
    [Fact]
    public async Task After_an_upstream_429_the_relay_answers_the_remaining_wait_itself_until_the_cool_down_ends()
    {
        await using var relay = RateLimitedRelay.Create(_ => { });
        relay.Relay.Fake.Setup().ForModel("gpt-5.5").OnCall(1).WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(30)));

        var upstreamRefusal = await relay.ChatAsync();
        Assert.Equal(429, upstreamRefusal.Status);
        Assert.Single(relay.Relay.Fake.Requests);

        relay.Time!.Advance(TimeSpan.FromSeconds(10));
        var openAi = await relay.ChatAsync();
        var anthropicModelStillServed = await relay.MessagesAsync();

        // The relay kept the traffic off the cooling upstream and said how long is left.
        Assert.Equal(429, openAi.Status);
        Assert.Equal("20", RateLimitedRelay.Header(openAi.Headers, "retry-after"));
        Assert.Equal("20000", RateLimitedRelay.Header(openAi.Headers, "retry-after-ms"));
        Assert.Equal("rate_limit_exceeded", openAi.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("upstream", openAi.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, anthropicModelStillServed.Status);
        Assert.Equal(2, relay.Relay.Fake.Requests.Count);

        relay.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(3, relay.Relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task The_token_charge_is_corrected_to_the_reported_usage()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:TokensPerMinute", "100000"));

        // The first request is charged its estimate; the relay's meter reads the usage the fake upstream reported, and
        // the charge is corrected to it before the second request is counted.
        var firstAnswer = await relay.ChatAsync();
        var estimate = 100000 - Remaining(firstAnswer);
        Assert.True(estimate > 100);
        var used = firstAnswer.Body.GetProperty("usage").GetProperty("total_tokens").GetInt64();
        Assert.NotEqual(estimate, used);
        Assert.Equal(100000 - used - estimate, Remaining(await relay.ChatAsync()));
    }

    private static long Remaining((int Status, System.Text.Json.JsonElement Body, System.Net.Http.Headers.HttpResponseHeaders Headers) answer)
    {
        Assert.Equal(200, answer.Status);
        return long.Parse(RateLimitedRelay.Header(answer.Headers, "x-ratelimit-remaining-tokens"), CultureInfo.InvariantCulture);
    }
}
