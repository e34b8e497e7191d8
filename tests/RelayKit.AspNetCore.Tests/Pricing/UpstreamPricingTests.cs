using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Pricing;

/// <summary>
/// Which price and output cap an upstream of a model entry is held, charged and limited at: the entry's configured
/// price when it has one (shared by its upstreams), else the price of the model the upstream really is.
/// </summary>
public sealed class UpstreamPricingTests
{
    [Fact]
    public async Task A_fallback_to_another_model_is_priced_and_capped_as_that_model_when_the_entry_has_no_price()
    {
        // "gpt-5" is a known model, and so is the Claude model it falls back to; neither price is configured.
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:gpt-5:Upstreams:0:Provider"] = "openai";
            s["ModelRelay:Models:gpt-5:Upstreams:1:Provider"] = "anthropic";
            s["ModelRelay:Models:gpt-5:Upstreams:1:UpstreamModel"] = "claude-opus-4-1";
            s["ModelRelay:Models:gpt-5:Upstreams:1:Priority"] = "1";
        });
        var (first, fallback, prices) = Candidates(relay, "gpt-5");

        Assert.Equal((1.25m, 10.00m), (prices.PriceOf(first)!.Input, prices.PriceOf(first)!.Output));
        Assert.Equal(128_000, prices.OutputCapOf(first));

        // Claude's own price and cap, not gpt-5's: a cap of 128,000 would be refused by the Claude upstream.
        Assert.Equal((15.00m, 75.00m), (prices.PriceOf(fallback)!.Input, prices.PriceOf(fallback)!.Output));
        Assert.Equal(32_000, prices.OutputCapOf(fallback));
    }

    [Fact]
    public async Task An_entrys_configured_price_and_cap_hold_for_every_one_of_its_upstreams()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:gpt-5:Upstreams:0:Provider"] = "openai";
            s["ModelRelay:Models:gpt-5:Upstreams:1:Provider"] = "anthropic";
            s["ModelRelay:Models:gpt-5:Upstreams:1:UpstreamModel"] = "claude-opus-4-1";
            s["ModelRelay:Models:gpt-5:Price:Input"] = "2";
            s["ModelRelay:Models:gpt-5:Price:Output"] = "8";
            s["ModelRelay:Models:gpt-5:MaxOutputTokens"] = "4000";
        });
        var (first, fallback, prices) = Candidates(relay, "gpt-5");

        foreach (var candidate in new[] { first, fallback })
        {
            Assert.Equal((2m, 8m), (prices.PriceOf(candidate)!.Input, prices.PriceOf(candidate)!.Output));
            Assert.Equal(4000, prices.OutputCapOf(candidate));
        }
    }

    private static (UpstreamCandidate First, UpstreamCandidate Fallback, RelayPriceCatalog Prices) Candidates(FakeRelay relay, string model)
    {
        var services = relay.App.Services;
        var candidates = services.GetRequiredService<ModelRouter>().Table.Resolve(model);
        Assert.Equal(2, candidates.Count);
        return (candidates[0], candidates[1], services.GetRequiredService<RelayPriceCatalog>());
    }
}
