using System.Diagnostics.CodeAnalysis;
using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>Where an app client for a model talks when the relay is off: the model's provider, as configured.</summary>
/// <param name="Provider">The provider's configured name.</param>
/// <param name="Kind">The provider's wire format.</param>
/// <param name="BaseUrl">The provider's base URL as its SDK takes it.</param>
/// <param name="ApiKey">The provider's key.</param>
/// <param name="UpstreamModel">The model name the provider knows.</param>
internal sealed record AppModelTarget(string Provider, ModelRelayProviderKind Kind, Uri BaseUrl, string? ApiKey, string UpstreamModel)
{
    /// <summary>The kind of the provider configured for <paramref name="model"/>, or null when no entry routes it.</summary>
    public static ModelRelayProviderKind? TryResolveKind(ModelRelayOptions options, string model) =>
        Route(options, model) is { } candidate && options.Providers.TryGetValue(candidate.Entry.Provider.Name, out var provider) ? provider.Kind : null;

    /// <summary>
    /// The configured provider of <paramref name="model"/>, found as the relay routes it (a name, an alias or a pattern
    /// such as <c>o*-mini</c>), so the app's clients reach with the relay off what they reach through it.
    /// </summary>
    public static AppModelTarget Resolve(ModelRelayOptions options, string model, string settingsPath) =>
        TryResolve(options, model, settingsPath, out var target, out var missing) ? target : throw new InvalidOperationException(missing);

    /// <summary>
    /// The target of <paramref name="model"/>; otherwise false, with what configuration is missing, named under the
    /// relay's section <paramref name="settingsPath"/>.
    /// </summary>
    public static bool TryResolve(ModelRelayOptions options, string model, string settingsPath, [NotNullWhen(true)] out AppModelTarget? target, [NotNullWhen(false)] out string? missing)
    {
        target = null;
        if (Route(options, model) is not { } candidate)
        {
            missing = $"the app's client for model '{model}' needs {settingsPath}:Models:{model} (with its Provider, or a pattern that matches it) "
                + $"and that provider under {settingsPath}:Providers (Kind, BaseUrl, ApiKey) configured to reach the provider directly.";
            return false;
        }

        var name = candidate.Entry.Name.Text;
        var providerName = candidate.Entry.Provider.Name;
        if (!options.Providers.TryGetValue(providerName, out var provider) || provider.Kind is not { } kind || provider.BaseUrl is null)
        {
            missing = $"the app's client for model '{model}' needs {settingsPath}:Models:{name}:Provider to name a provider with its Kind and BaseUrl.";
            return false;
        }

        target = new AppModelTarget(providerName, kind, new Uri(provider.BaseUrl), provider.ApiKey, candidate.UpstreamModel);
        missing = null;
        return true;
    }

    // The route table keeps only entries whose provider is complete, as the relay does.
    private static Routing.UpstreamCandidate? Route(ModelRelayOptions options, string model) =>
        new Routing.ModelRouteTable(options, DateTimeOffset.UnixEpoch).Resolve(model) is [var first, ..] ? first : null;
}
