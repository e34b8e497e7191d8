namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// One attempt the relay made at an upstream for a request (<see cref="UsageRecord.Attempts"/>): where it went, what came
/// back and how long the answer took to start. Only an attempt that was made counts: one a circuit breaker refused before
/// anything was sent is not one. It names the provider, never its key.
/// </summary>
public sealed record UsageAttempt
{
    /// <summary>The provider the attempt went to, by its configured name.</summary>
    public required string Provider { get; init; }

    /// <summary>The model name the provider was sent.</summary>
    public required string UpstreamModel { get; init; }

    /// <summary>The HTTP status code the upstream answered; <see langword="null"/> when no answer came (<see cref="ErrorType"/> says why).</summary>
    public int? StatusCode { get; init; }

    /// <summary>
    /// Why no answer came: <c>upstream_timeout</c>, <c>upstream_unreachable</c>, <c>client_aborted</c> (the caller went
    /// away first) or <c>relay_error</c> (the relay itself failed while sending); <see langword="null"/> when the upstream
    /// answered.
    /// </summary>
    public string? ErrorType { get; init; }

    /// <summary>
    /// Time from the start of the attempt to the start of the upstream's response (its status line and headers), or, when
    /// no response came, to the attempt's failure.
    /// </summary>
    public TimeSpan Latency { get; init; }
}
