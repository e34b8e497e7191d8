using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Tests.Pricing;

public sealed class ModelPriceCatalogTests
{
    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("GPT-4o-mini")]
    [InlineData("gpt-4o-2024-08-06")]
    [InlineData("gpt-4.1-nano")]
    [InlineData("gpt-5-mini")]
    [InlineData("o3")]
    [InlineData("o4-mini-2025-04-16")]
    [InlineData("text-embedding-3-large")]
    [InlineData("claude-opus-4-1-20250805")]
    [InlineData("claude-sonnet-4-20250514")]
    [InlineData("claude-haiku-4-5")]
    [InlineData("deepseek-chat")]
    public void Well_known_models_and_their_dated_snapshots_have_a_built_in_price(string model)
    {
        var catalog = new ModelPriceCatalog();

        Assert.True(catalog.TryGetPrice(model, out var price));
        Assert.True(price.Input > 0);
        Assert.NotNull(catalog.GetOutputCap(model));
    }

    [Theory]
    [InlineData("gpt-4o-audio-preview")]
    [InlineData("gpt-4o-mini-realtime-preview")]
    [InlineData("my-finetune")]
    [InlineData("claude-sonnet-4-5-experimental")]
    public void A_model_that_only_starts_like_a_known_one_has_no_price(string model)
    {
        var catalog = new ModelPriceCatalog();

        Assert.False(catalog.TryGetPrice(model, out _));
        Assert.Null(catalog.GetOutputCap(model));
    }

    [Fact]
    public void Configuration_replaces_the_built_in_price_and_adds_models()
    {
        var catalog = new ModelPriceCatalog(
            new Dictionary<string, ModelPrice>
            {
                ["gpt-4o"] = new() { Input = 1m, Output = 2m },
                ["gpt-5.5"] = new() { Input = 1.25m, Output = 10m, CachedInput = 0.125m, CacheWrite = 1.5m },
                ["local-llama"] = new() { Free = true },
            },
            new Dictionary<string, int> { ["gpt-5.5"] = 64_000 });

        Assert.True(catalog.TryGetPrice("gpt-4o", out var gpt4o));
        Assert.Equal((1m, 2m, 1m, 1m), (gpt4o.Input, gpt4o.Output, gpt4o.EffectiveCachedInput, gpt4o.EffectiveCacheWrite));
        Assert.True(catalog.TryGetPrice("GPT-5.5", out var gpt55));
        Assert.Equal(1.5m, gpt55.EffectiveCacheWrite);
        Assert.Equal(64_000, catalog.GetOutputCap("gpt-5.5"));
        Assert.True(catalog.TryGetPrice("local-llama", out var free));
        Assert.True(free.Free);
        Assert.Equal(16_384, catalog.GetOutputCap("gpt-4o"));
    }

    [Fact]
    public void A_negative_configured_price_is_refused()
    {
        var exception = Assert.Throws<ArgumentException>(() => new ModelPriceCatalog(
            new Dictionary<string, ModelPrice> { ["bad"] = new() { Input = 1m, Output = -1m } }));

        Assert.Contains("'bad'", exception.Message, StringComparison.Ordinal);
    }
}
