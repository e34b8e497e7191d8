namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// What the relay put on the wire towards its upstreams, unredacted (the fake itself redacts secret
/// headers): request URL, headers and body, and, for error answers, the upstream's exact body.
/// </summary>
public sealed class UpstreamRecorder
{
    private readonly Lock _gate = new();
    private readonly List<RecordedExchange> _exchanges = [];
    private readonly TaskCompletionSource _firstSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the relay has sent its first upstream request.</summary>
    public Task FirstRequestSent => _firstSent.Task;

    public IReadOnlyList<RecordedExchange> Exchanges
    {
        get
        {
            lock (_gate)
            {
                return [.. _exchanges];
            }
        }
    }

    internal void Add(RecordedExchange exchange)
    {
        lock (_gate)
        {
            _exchanges.Add(exchange);
        }

        _firstSent.TrySetResult();
    }
}
