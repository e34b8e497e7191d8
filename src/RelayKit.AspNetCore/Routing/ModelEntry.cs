namespace RelayKit.AspNetCore.Routing;

/// <summary>One configured model (a name or a wildcard pattern) and the upstreams that serve it, lowest priority first.</summary>
internal sealed record ModelEntry(ModelPattern Name, IReadOnlyList<ModelUpstream> Upstreams, IReadOnlyList<string> Aliases)
{
    /// <summary>The provider of the first upstream: the one the model list and the status page name.</summary>
    public UpstreamProvider Provider => Upstreams[0].Provider;

    /// <summary>The first upstream's model name, when it differs from the name callers use.</summary>
    public string? UpstreamModel => Upstreams[0].UpstreamModel;

    /// <summary>Guards the weighted turn-taking among upstreams of one priority (<see cref="UpstreamSelection"/>).</summary>
    internal Lock Turns { get; } = new();
}
