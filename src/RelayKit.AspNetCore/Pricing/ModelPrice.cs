namespace RelayKit.AspNetCore.Pricing;

/// <summary>
/// What a model costs, in US dollars per million tokens. Bound from configuration
/// (<c>"Models": { "gpt-5": { "Price": { "Input": 1.25, "Output": 10 } } }</c>); a configured price
/// replaces the built-in one for that model as a whole.
/// </summary>
public sealed class ModelPrice
{
    /// <summary>Dollars per million prompt tokens that were neither read from nor written to a cache.</summary>
    public decimal Input { get; set; }

    /// <summary>Dollars per million output tokens, reasoning tokens included.</summary>
    public decimal Output { get; set; }

    /// <summary>Dollars per million prompt tokens read from the provider's cache; <see cref="Input"/> when not set.</summary>
    public decimal? CachedInput { get; set; }

    /// <summary>Dollars per million prompt tokens written to the provider's cache; <see cref="Input"/> when not set.</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>
    /// The model costs nothing. A model without a price is refused; a model marked free is served
    /// and charged zero.
    /// </summary>
    public bool Free { get; set; }

    /// <summary>The price of a cached prompt token per million, defaulting to <see cref="Input"/>.</summary>
    public decimal EffectiveCachedInput => CachedInput ?? Input;

    /// <summary>The price of a cache-write prompt token per million, defaulting to <see cref="Input"/>.</summary>
    public decimal EffectiveCacheWrite => CacheWrite ?? Input;
}
