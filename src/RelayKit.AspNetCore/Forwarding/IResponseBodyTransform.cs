namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Rewrites the upstream response on its way to the caller, chunk by chunk (translation between wire
/// formats, stripping a usage chunk the caller did not ask for). At most one per request, set on
/// <see cref="RelayRequestContext.ResponseTransform"/>. Observers always see the upstream's own bytes,
/// before any transform, so metering reads usage in the upstream's format.
/// </summary>
internal interface IResponseBodyTransform
{
    /// <summary>
    /// Called once the upstream answered, before any byte reaches the caller: may set the caller's status
    /// and headers (the forwarder has copied the upstream's already and drops Content-Length).
    /// </summary>
    void OnResponseStarted(HttpResponseMessage response, Microsoft.AspNetCore.Http.HttpResponse callerResponse);

    /// <summary>Turns one upstream chunk into what the caller receives; writes nothing to hold a chunk back.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken);

    /// <summary>The upstream body ended; <paramref name="completed"/> is false when it was cut short.</summary>
    ValueTask CompleteAsync(bool completed, Stream caller, CancellationToken cancellationToken);

    /// <summary>
    /// After <see cref="CompleteAsync"/>: whether the event stream the caller received reached its normal end (false: the
    /// transform ended it with an error event of its own). Null when the transform does not restate the stream; the
    /// forwarder then judges by the upstream's end event and writes the error event itself.
    /// </summary>
    bool? StreamCompleted => null;
}
