namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Where one request may go: an upstream of the model's entry and the model name to send it. Routing yields a list of
/// these, lowest priority first; the forwarder chooses among them (<see cref="UpstreamSelection"/>) and tries the next
/// only while nothing has reached the caller.
/// </summary>
internal sealed record UpstreamCandidate(ModelEntry Entry, ModelUpstream Upstream, string UpstreamModel)
{
    /// <summary>The entry's first upstream, sending <paramref name="upstreamModel"/>.</summary>
    public UpstreamCandidate(ModelEntry entry, string upstreamModel)
        : this(entry, entry.Upstreams[0], upstreamModel)
    {
    }

    public UpstreamProvider Provider => Upstream.Provider;
}
