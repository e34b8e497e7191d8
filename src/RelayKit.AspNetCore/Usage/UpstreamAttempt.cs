using System.Diagnostics;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// One attempt at an upstream, from sending the request to the end of its response: ends the
/// attempt's span and reports the outcome to upstream health exactly once, and adds the attempt to the
/// request's usage record (<see cref="RelayRequestContext.AddAttempt"/>) once it answered or failed. An
/// attempt that did neither (its breaker refused it before sending) is not one and is not added.
/// </summary>
internal sealed class UpstreamAttempt(
    UpstreamHealthTracker health, TimeProvider timeProvider, RelayRequestContext context, string provider, string upstreamModel, Activity? span, string? historyModel)
    : IDisposable
{
    private readonly long _startedAt = timeProvider.GetTimestamp();
    private TimeSpan? _latency;
    private int? _status;
    private bool _finished;
    private bool _made;

    /// <summary>The upstream answered with <paramref name="status"/>; the attempt's latency is the time until now.</summary>
    public void Answered(int status)
    {
        var latency = timeProvider.GetElapsedTime(_startedAt);
        _latency = latency;
        _status = status;
        Made(status, null, latency);
    }

    /// <summary>
    /// No response came: <paramref name="error"/> is the timeout or connection failure, or null when the
    /// caller went away first (which says nothing about the upstream's health). Null with the caller still there is the
    /// relay's own failure (an exception the breaker's pipeline caught), recorded as <c>relay_error</c>.
    /// </summary>
    public void Failed(RelayError? error)
    {
        var latency = timeProvider.GetElapsedTime(_startedAt);
        if (error is not null)
        {
            health.RecordAttempt(provider, succeeded: false, latency, historyModel);
        }

        var errorType = error?.Code
            ?? (context.ClientAborted || context.RequestAborted.IsCancellationRequested ? "client_aborted" : "relay_error");
        Made(null, errorType, latency);
        Finish(null, errorType);
    }

    /// <summary>The response ended: in full, cut off by the upstream, or abandoned by the caller.</summary>
    public void Ended(bool completed, bool clientAborted)
    {
        var status = _status ?? 0;

        // A 5xx or 429 means the upstream could not serve; a stream it broke off is a failure too. A 4xx
        // caused by the caller's request says nothing against the upstream.
        var upstreamFailed = status >= 500 || status == 429 || (!completed && !clientAborted);
        health.RecordAttempt(provider, !upstreamFailed, _latency ?? timeProvider.GetElapsedTime(_startedAt), historyModel);
        Finish(status, !completed && !clientAborted ? "upstream_broken" : clientAborted && !completed ? "client_aborted" : null);
    }

    /// <summary>Ends the span if nothing else did (the relay failed mid-attempt).</summary>
    public void Dispose() => Finish(_status, "relay_error");

    /// <summary>Adds the attempt to the request's usage record, once.</summary>
    private void Made(int? status, string? errorType, TimeSpan latency)
    {
        if (_made)
        {
            return;
        }

        _made = true;
        context.AddAttempt(new UsageAttempt { Provider = provider, UpstreamModel = upstreamModel, StatusCode = status, ErrorType = errorType, Latency = latency });
    }

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
