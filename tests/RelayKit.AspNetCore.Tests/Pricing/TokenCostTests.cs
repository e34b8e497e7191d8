using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Tests.Pricing;

public sealed class TokenCostTests
{
    private static readonly ModelPriceCatalog Catalog = new();

    private static ModelPrice Price(string model)
    {
        Assert.True(Catalog.TryGetPrice(model, out var price), model);
        return price;
    }

    [Fact]
    public void OpenAI_usage_bills_cached_prompt_tokens_at_the_cached_price_and_reasoning_once()
    {
        // gpt-4o-mini: input 0.15, cached 0.075, output 0.60 per million.
        var usage = TokenUsage.FromOpenAI(promptTokens: 1234, cachedTokens: 200, completionTokens: 567, reasoningTokens: 100);

        Assert.Equal(new TokenUsage(1034, 200, 0, 567, 100), usage);
        Assert.Equal(((1034 * 0.15m) + (200 * 0.075m) + (567 * 0.60m)) / 1_000_000m, TokenCost.Of(Price("gpt-4o-mini"), usage));
        Assert.Equal(TokenCost.Of(Price("gpt-4o-mini"), usage with { ReasoningTokens = 0 }), TokenCost.Of(Price("gpt-4o-mini"), usage));
    }

    [Fact]
    public void Anthropic_usage_bills_cache_reads_and_cache_writes_separately()
    {
        // claude-sonnet-4-5: input 3, cache read 0.30, cache write 3.75, output 15 per million.
        var usage = TokenUsage.FromAnthropic(inputTokens: 100, cacheReadInputTokens: 1000, cacheCreationInputTokens: 2000, outputTokens: 50);

        Assert.Equal(3100, usage.TotalInputTokens);
        Assert.Equal(0.00885m, TokenCost.Of(Price("claude-sonnet-4-5-20250929"), usage));
    }

    [Fact]
    public void Cost_is_exact_decimal_without_rounding()
    {
        var price = new ModelPrice { Input = 0.0375m, Output = 0.15m };

        Assert.Equal(0.0000000375m, TokenCost.Of(price, new TokenUsage(1, 0, 0, 0)));
        Assert.Equal(0.0000001875m, TokenCost.Of(price, new TokenUsage(1, 0, 0, 1)));
    }

    [Fact]
    public void A_free_model_costs_nothing()
    {
        var price = new ModelPrice { Input = 5m, Output = 5m, Free = true };

        Assert.Equal(0m, TokenCost.Of(price, new TokenUsage(1_000_000, 1, 1, 1_000_000)));
        Assert.Equal(0m, TokenCost.WorstCase(price, 1_000_000, 1_000_000));
    }

    [Fact]
    public void Worst_case_prices_every_prompt_token_at_the_dearest_prompt_class()
    {
        var opus = Price("claude-opus-4-1");

        Assert.Equal(((1000 * 18.75m) + (10 * 75m)) / 1_000_000m, TokenCost.WorstCase(opus, 1000, 10));
        Assert.True(TokenCost.WorstCase(opus, 1000, 10) >= TokenCost.Of(opus, TokenUsage.FromAnthropic(0, 0, 1000, 10)));
    }
}
