using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>Where an app client for a model talks when the relay is off: the model's provider, as configured.</summary>
/// <param name="Kind">The provider's wire format.</param>
/// <param name="BaseUrl">The provider's base URL as its SDK takes it.</param>
/// <param name="ApiKey">The provider's key.</param>
/// <param name="UpstreamModel">The model name the provider knows.</param>
internal sealed record AppModelTarget(ModelRelayProviderKind Kind, Uri BaseUrl, string? ApiKey, string UpstreamModel)
{
    /// <summary>The kind of the provider configured for <paramref name="model"/>, or null when no entry routes it.</summary>
    public static ModelRelayProviderKind? TryResolveKind(ModelRelayOptions options, string model) =>
        Route(options, model) is { } candidate && options.Providers.TryGetValue(candidate.Entry.Provider.Name, out var provider) ? provider.Kind : null;

    /// <summary>
    /// The configured provider of <paramref name="model"/>, found as the relay routes it (a name, an alias or a pattern
    /// such as <c>o*-mini</c>), so the app's clients reach with the relay off what they reach through it.
    /// </summary>
    public static AppModelTarget Resolve(ModelRelayOptions options, string model)
    {
        if (Route(options, model) is not { } candidate)
        {
            throw new InvalidOperationException(
                $"The app's client for model '{model}' needs ModelRelay:Models:{model} (with its Provider, or a pattern that matches it) configured to reach the provider directly.");
        }

        var name = candidate.Entry.Name.Text;
        if (!options.Providers.TryGetValue(candidate.Entry.Provider.Name, out var provider) || provider.Kind is not { } kind || provider.BaseUrl is null)
        {
            throw new InvalidOperationException(
                $"The app's client for model '{model}' needs ModelRelay:Models:{name}:Provider to name a provider with its Kind and BaseUrl.");
        }

        return new AppModelTarget(kind, new Uri(provider.BaseUrl), provider.ApiKey, candidate.UpstreamModel);
    }

    // The route table keeps only entries whose provider is complete, as the relay does.
    private static Routing.UpstreamCandidate? Route(ModelRelayOptions options, string model) =>
        new Routing.ModelRouteTable(options, DateTimeOffset.UnixEpoch).Resolve(model) is [var first, ..] ? first : null;
}
