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

    /// <summary>
    /// Where it stands in the order of attempts: candidates of one group share its requests by weight, a lower group is
    /// tried first. Its upstream's priority, unless the caller steered the request (<see cref="RouteSteering"/>).
    /// </summary>
    public int Group { get; init; } = Upstream.Priority;

    /// <summary>The name the caller asked for this candidate by, when it came from the request's <c>models</c> list; null for the request's own model.</summary>
    public string? RequestedAs { get; init; }
}
