using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Routing;

/// <summary>A configured provider, ready to send to: its base URL ends in '/' so operation paths append.</summary>
internal sealed record UpstreamProvider(string Name, WireFormat Format, Uri BaseUri, string? ApiKey)
{
    /// <summary>Omits the key so a provider never reaches a log or an error through ToString.</summary>
    public override string ToString() => $"{Name} ({Format}, {BaseUri})";
}
