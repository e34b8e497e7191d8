namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>What goes wrong with one request of a burst: a fault the fake upstream plays, or the caller walking away.</summary>
internal enum FaultKind
{
    /// <summary>Nothing: the answer is complete.</summary>
    None,

    /// <summary>The upstream answers 502 in its own error shape.</summary>
    UpstreamError,

    /// <summary>The upstream resets the connection before its status line.</summary>
    ResetBeforeHeaders,

    /// <summary>The upstream resets the connection after two streamed events.</summary>
    ResetMidStream,

    /// <summary>The upstream closes cleanly after two streamed events, without usage or terminator.</summary>
    CutMidStream,

    /// <summary>The upstream waits before its first byte, then answers in full.</summary>
    SlowFirstByte,

    /// <summary>The caller cancels its request after the first streamed event.</summary>
    AbortAfterFirstEvent,

    /// <summary>The caller cancels its request before any header came back (the upstream is slow to answer).</summary>
    AbortBeforeHeaders,
}
