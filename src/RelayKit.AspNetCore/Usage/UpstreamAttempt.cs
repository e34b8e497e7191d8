using System.Diagnostics;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// One attempt at an upstream, from sending the request to the end of its response: ends the
/// attempt's span and reports the outcome to upstream health exactly once.
/// </summary>
internal sealed class UpstreamAttempt(UpstreamHealthTracker health, TimeProvider timeProvider, string provider, Activity? span) : IDisposable
{
    private readonly long _startedAt = timeProvider.GetTimestamp();
    private TimeSpan? _latency;
    private int? _status;
    private bool _finished;

    /// <summary>The upstream answered with <paramref name="status"/>; the attempt's latency is the time until now.</summary>
    public void Answered(int status)
    {
        _latency = timeProvider.GetElapsedTime(_startedAt);
        _status = status;
    }

    /// <summary>
    /// No response came: <paramref name="error"/> is the timeout or connection failure, or null when the
    /// caller went away first (which says nothing about the upstream's health).
    /// </summary>
    public void Failed(RelayError? error)
    {
        if (error is not null)
        {
            health.RecordAttempt(provider, succeeded: false, timeProvider.GetElapsedTime(_startedAt));
        }

        Finish(null, error?.Code ?? "client_aborted");
    }

    /// <summary>The response ended: in full, cut off by the upstream, or abandoned by the caller.</summary>
    public void Ended(bool completed, bool clientAborted)
    {
        var status = _status ?? 0;

        // A 5xx or 429 means the upstream could not serve; a stream it broke off is a failure too. A 4xx
        // caused by the caller's request says nothing against the upstream.
        var upstreamFailed = status >= 500 || status == 429 || (!completed && !clientAborted);
        health.RecordAttempt(provider, !upstreamFailed, _latency ?? timeProvider.GetElapsedTime(_startedAt));
        Finish(status, !completed && !clientAborted ? "upstream_broken" : clientAborted && !completed ? "client_aborted" : null);
    }

    /// <summary>Ends the span if nothing else did (the relay failed mid-attempt).</summary>
    public void Dispose() => Finish(_status, "relay_error");

    private void Finish(int? status, string? errorType)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        RelayActivitySource.CompleteAttempt(span, status, errorType);
    }
}
