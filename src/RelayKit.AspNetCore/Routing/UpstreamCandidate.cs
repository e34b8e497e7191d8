namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Where one request may go: a provider and the model name to send it. Routing yields a list of these
/// in order of preference; the forwarder tries the next one only while nothing has reached the caller.
/// </summary>
internal sealed record UpstreamCandidate(ModelEntry Entry, string UpstreamModel)
{
    public UpstreamProvider Provider => Entry.Provider;
}
