using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore;

/// <summary>
/// A model callers may ask for and where the relay sends it. Its rate limits (<see cref="RateLimitOptions"/>)
/// count every key's requests to it; a wildcard entry's limits are shared by all the models it matches.
/// </summary>
public sealed class ModelRelayModelOptions : RateLimitOptions
{
    /// <summary>
    /// The name of the provider (a key of <see cref="ModelRelayOptions.Providers"/>) that serves the model: the shorthand
    /// for one upstream. Set this or <see cref="Upstreams"/>.
    /// </summary>
    public string? Provider { get; set; }

    /// <summary>
    /// Several upstreams that serve the model: the relay tries the lowest <see cref="ModelRelayUpstreamOptions.Priority"/>
    /// first, spreads requests within a priority by <see cref="ModelRelayUpstreamOptions.Weight"/>, and falls back to the
    /// next upstream while nothing has reached the caller (see <see cref="ModelRelayOptions.Resilience"/>). Set this or
    /// <see cref="Provider"/>.
    /// </summary>
    public IList<ModelRelayUpstreamOptions> Upstreams { get; } = new List<ModelRelayUpstreamOptions>();

    /// <summary>
    /// The model name the provider knows, when it differs from the name callers use. Unset means the
    /// caller's model name is sent as it is (for a wildcard entry, whatever name matched). With <see cref="Provider"/> only.
    /// </summary>
    public string? UpstreamModel { get; set; }

    /// <summary>More names callers may use for this model.</summary>
    public IList<string> Aliases { get; } = new List<string>();

    /// <summary>
    /// What the model costs, in US dollars per million tokens (<c>Input</c>, <c>Output</c>, <c>CachedInput</c>,
    /// <c>CacheWrite</c>, or <c>Free: true</c>); replaces the built-in price. Keys with a budget may only use priced or free models.
    /// </summary>
    public Pricing.ModelPrice? Price { get; set; }

    /// <summary>The most output tokens the model produces; reserved (and sent upstream) when a request sets no limit.</summary>
    public int? MaxOutputTokens { get; set; }
}
