namespace RelayKit.AspNetCore.Routing;

/// <summary>One configured model (a name or a wildcard pattern) and the provider that serves it.</summary>
internal sealed record ModelEntry(ModelPattern Name, UpstreamProvider Provider, string? UpstreamModel, IReadOnlyList<string> Aliases);
