namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// What one attempt at an upstream came to: the attempt's telemetry, its answer, or the error to give when none came; whether
/// it failed, and whether the caller left before any answer (which says nothing about the upstream).
/// </summary>
internal readonly record struct UpstreamAttemptResult(
    Usage.UpstreamAttempt? Attempt, HttpResponseMessage? Response, Protocols.RelayError? Error, bool Failed, bool CallerLeft)
{
    /// <summary>
    /// The result as Polly's telemetry logs it (<see cref="UpstreamSelection"/> sets it as the result formatter): the
    /// status, or what came instead. The record's own ToString would print the whole answer (its headers) and the
    /// attempt; a log needs neither.
    /// </summary>
    public string Describe() =>
        Response is { } response ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : CallerLeft ? "caller left"
        : Error is not null ? "no answer"
        : Failed ? "failed" : "ok";
}
