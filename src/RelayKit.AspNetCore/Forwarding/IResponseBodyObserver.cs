namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Sees the upstream response as the forwarder passes it on, chunk by chunk, without holding it up:
/// the seam where metering reads usage from a stream that is never buffered.
/// </summary>
internal interface IResponseBodyObserver
{
    /// <summary>The upstream answered with these status and headers.</summary>
    void OnResponseStarted(HttpResponseMessage response);

    /// <summary>A chunk that has just been written to the caller.</summary>
    void OnBodyChunk(ReadOnlySpan<byte> chunk);

    /// <summary>The body ended: <paramref name="completed"/> is false when it was cut short.</summary>
    void OnResponseEnded(bool completed);
}
