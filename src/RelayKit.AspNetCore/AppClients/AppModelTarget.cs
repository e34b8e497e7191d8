using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>Where an app client for a model talks when the relay is off: the model's provider, as configured.</summary>
/// <param name="Kind">The provider's wire format.</param>
/// <param name="BaseUrl">The provider's base URL as its SDK takes it.</param>
/// <param name="ApiKey">The provider's key.</param>
/// <param name="UpstreamModel">The model name the provider knows.</param>
internal sealed record AppModelTarget(ModelRelayProviderKind Kind, Uri BaseUrl, string? ApiKey, string UpstreamModel)
{
    /// <summary>The kind of the provider configured for <paramref name="model"/> by name or alias, or null when none is.</summary>
    public static ModelRelayProviderKind? TryResolveKind(ModelRelayOptions options, string model)
    {
        var entry = options.Models.FirstOrDefault(m =>
            string.Equals(m.Key, model, StringComparison.Ordinal) || m.Value.Aliases.Contains(model, StringComparer.Ordinal)).Value;
        return entry?.Provider is { } name && options.Providers.TryGetValue(name, out var provider) ? provider.Kind : null;
    }

    /// <summary>The configured provider of <paramref name="model"/> (its name or one of its aliases).</summary>
    public static AppModelTarget Resolve(ModelRelayOptions options, string model)
    {
        var (name, entry) = options.Models.FirstOrDefault(m =>
            string.Equals(m.Key, model, StringComparison.Ordinal) || m.Value.Aliases.Contains(model, StringComparer.Ordinal));
        if (entry is null)
        {
            throw new InvalidOperationException(
                $"The app's client for model '{model}' needs ModelRelay:Models:{model} (with its Provider) configured to reach the provider directly.");
        }

        if (entry.Provider is null || !options.Providers.TryGetValue(entry.Provider, out var provider) || provider.Kind is not { } kind || provider.BaseUrl is null)
        {
            throw new InvalidOperationException(
                $"The app's client for model '{model}' needs ModelRelay:Models:{name}:Provider to name a provider with its Kind and BaseUrl.");
        }

        return new AppModelTarget(kind, new Uri(provider.BaseUrl), provider.ApiKey, entry.UpstreamModel ?? name);
    }
}
