using System.Diagnostics.CodeAnalysis;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// The IHttpClientFactory names of the relay's outgoing clients, one per provider, so a host can add
/// its own handlers for one provider (<c>services.AddHttpClient("RelayKit.Upstream.openai")</c>).
/// </summary>
internal static class UpstreamClientNames
{
    public const string Prefix = "RelayKit.Upstream.";

    public static string For(string provider) => Prefix + provider;

    public static bool TryGetProvider(string? clientName, [NotNullWhen(true)] out string? provider)
    {
        provider = clientName is not null && clientName.StartsWith(Prefix, StringComparison.Ordinal) ? clientName[Prefix.Length..] : null;
        return provider is not null;
    }
}
