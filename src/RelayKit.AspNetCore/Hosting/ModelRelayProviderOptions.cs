namespace RelayKit.AspNetCore;

/// <summary>One upstream provider: where it is, which wire format it speaks and the key the relay uses for it.</summary>
public sealed class ModelRelayProviderOptions
{
    /// <summary>The wire format the provider speaks. Required.</summary>
    public ModelRelayProviderKind? Kind { get; set; }

    /// <summary>
    /// The provider's API base URL as its own SDK takes it: for OpenAI-style providers including the
    /// version segment (<c>https://api.openai.com/v1</c>), for Anthropic without it (<c>https://api.anthropic.com</c>). Required.
    /// </summary>
    public string? BaseUrl { get; set; }

    /// <summary>
    /// The provider's API key, sent as <c>Authorization: Bearer</c> (OpenAI) or <c>x-api-key</c> (Anthropic).
    /// Optional for providers without authentication. Keep it out of source: use environment variables or user secrets.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// A pool of API keys for the provider, used in turn (the one with the fewest requests in flight first); a key the
    /// provider answers 429 rests alone for as long as its <c>retry-after</c> asks, while the others go on. Set this or
    /// <see cref="ApiKey"/> (a pool of one), not both.
    /// </summary>
    public IList<string> ApiKeys { get; } = new List<string>();

    /// <summary>
    /// The header the key is sent in: <c>Authorization</c> (as <c>Bearer</c>; the default for OpenAI), <c>x-api-key</c>
    /// (the default for Anthropic), <c>api-key</c> (Azure OpenAI) or <c>x-goog-api-key</c> (Google).
    /// </summary>
    public string? AuthHeader { get; set; }

    /// <summary>Headers sent on every request to this provider (<c>anthropic-beta</c>, an organization header); they replace a caller's header of the same name.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>A health probe of the provider (<c>Probe:Interval</c>, <c>Probe:Timeout</c>); unset: the provider is not probed.</summary>
    public ModelRelayProbeOptions? Probe { get; set; }
}
