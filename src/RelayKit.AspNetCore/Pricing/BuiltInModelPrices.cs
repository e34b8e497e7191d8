using System.Collections.Frozen;

namespace RelayKit.AspNetCore.Pricing;

/// <summary>
/// List prices (US dollars per million tokens, standard tier, short context) and output caps of
/// well-known models, as published by OpenAI, Anthropic and DeepSeek in late 2025. Prices change:
/// configuration overrides any entry, and a model missing here needs a configured price (or
/// <c>"Free": true</c>) to be served.
/// </summary>
internal static class BuiltInModelPrices
{
    /// <summary>The table, keyed by model name without a date suffix, case-insensitive.</summary>
    public static FrozenDictionary<string, KnownModel> Table { get; } = Build();

    private static FrozenDictionary<string, KnownModel> Build()
    {
        var table = new Dictionary<string, KnownModel>(StringComparer.OrdinalIgnoreCase);

        void Add(string model, decimal input, decimal cachedInput, decimal output, int maxOutput, decimal? cacheWrite = null) =>
            table.Add(model, new KnownModel(
                new ModelPrice { Input = input, CachedInput = cachedInput, Output = output, CacheWrite = cacheWrite },
                maxOutput));

        // OpenAI: cache writes are not billed separately (CacheWrite defaults to Input).
        Add("gpt-4o", 2.50m, 1.25m, 10.00m, 16_384);
        Add("gpt-4o-mini", 0.15m, 0.075m, 0.60m, 16_384);
        Add("gpt-4.1", 2.00m, 0.50m, 8.00m, 32_768);
        Add("gpt-4.1-mini", 0.40m, 0.10m, 1.60m, 32_768);
        Add("gpt-4.1-nano", 0.10m, 0.025m, 0.40m, 32_768);
        Add("gpt-5", 1.25m, 0.125m, 10.00m, 128_000);
        Add("gpt-5-mini", 0.25m, 0.025m, 2.00m, 128_000);
        Add("gpt-5-nano", 0.05m, 0.005m, 0.40m, 128_000);
        Add("gpt-5.1", 1.25m, 0.125m, 10.00m, 128_000);
        Add("o3", 2.00m, 0.50m, 8.00m, 100_000);
        Add("o3-mini", 1.10m, 0.55m, 4.40m, 100_000);
        Add("o4-mini", 1.10m, 0.275m, 4.40m, 100_000);
        Add("text-embedding-3-small", 0.02m, 0.02m, 0m, 0);
        Add("text-embedding-3-large", 0.13m, 0.13m, 0m, 0);
        Add("text-embedding-ada-002", 0.10m, 0.10m, 0m, 0);

        // Anthropic: CacheWrite is the 5-minute cache write (1.25x input); CachedInput the cache read.
        Add("claude-opus-4-0", 15.00m, 1.50m, 75.00m, 32_000, 18.75m);
        Add("claude-opus-4", 15.00m, 1.50m, 75.00m, 32_000, 18.75m);
        Add("claude-opus-4-1", 15.00m, 1.50m, 75.00m, 32_000, 18.75m);
        Add("claude-opus-4-5", 5.00m, 0.50m, 25.00m, 64_000, 6.25m);
        Add("claude-sonnet-4-0", 3.00m, 0.30m, 15.00m, 64_000, 3.75m);
        Add("claude-sonnet-4", 3.00m, 0.30m, 15.00m, 64_000, 3.75m);
        Add("claude-sonnet-4-5", 3.00m, 0.30m, 15.00m, 64_000, 3.75m);
        Add("claude-haiku-4-5", 1.00m, 0.10m, 5.00m, 64_000, 1.25m);

        // DeepSeek (V3.2 pricing): cache hit / cache miss input, one output price.
        Add("deepseek-chat", 0.28m, 0.028m, 0.42m, 8_192);
        Add("deepseek-reasoner", 0.28m, 0.028m, 0.42m, 65_536);

        return table.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
