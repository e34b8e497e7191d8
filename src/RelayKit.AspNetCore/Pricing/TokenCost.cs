namespace RelayKit.AspNetCore.Pricing;

/// <summary>Exact dollar cost of token usage at a price; no rounding, <see cref="decimal"/> throughout.</summary>
internal static class TokenCost
{
    private const decimal TokensPerPriceUnit = 1_000_000m;

    /// <summary>The cost of <paramref name="usage"/> at <paramref name="price"/>.</summary>
    public static decimal Of(ModelPrice price, TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(price);
        ArgumentNullException.ThrowIfNull(usage);
        if (price.Free)
        {
            return 0m;
        }

        var perMillion =
            (usage.InputTokens * price.Input)
            + (usage.CachedInputTokens * price.EffectiveCachedInput)
            + (usage.CacheWriteTokens * price.EffectiveCacheWrite)
            + (usage.OutputTokens * price.Output);
        return perMillion / TokensPerPriceUnit;
    }

    /// <summary>
    /// The most <paramref name="promptTokens"/> prompt tokens and <paramref name="outputTokens"/>
    /// output tokens can cost: every prompt token at the dearest prompt class (a cache write usually
    /// costs more than a plain input token).
    /// </summary>
    public static decimal WorstCase(ModelPrice price, long promptTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(price);
        if (price.Free)
        {
            return 0m;
        }

        var promptPrice = Math.Max(price.Input, Math.Max(price.EffectiveCachedInput, price.EffectiveCacheWrite));
        return ((promptTokens * promptPrice) + (outputTokens * price.Output)) / TokensPerPriceUnit;
    }
}
