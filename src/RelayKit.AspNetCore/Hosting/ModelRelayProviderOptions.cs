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
}
