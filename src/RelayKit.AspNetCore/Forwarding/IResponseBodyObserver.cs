namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Sees the upstream response as the forwarder passes it on, chunk by chunk, without holding it up:
/// the seam where metering reads usage from a stream that is never buffered.
/// </summary>
internal interface IResponseBodyObserver
{
    /// <summary>The upstream answered with these status and headers.</summary>
    void OnResponseStarted(HttpResponseMessage response);

    /// <summary>
    /// A chunk of the upstream's body as it arrived, before it is passed on (or held whole, see
    /// <see cref="RelayRequestContext.HoldWholeAnswer"/>).
    /// </summary>
    void OnBodyChunk(ReadOnlySpan<byte> chunk);

    /// <summary>
    /// The body ended: <paramref name="completed"/> is false when it was cut short. For an answer held whole,
    /// this comes once the upstream's body has fully arrived, before the response starts.
    /// </summary>
    void OnResponseEnded(bool completed);
}
