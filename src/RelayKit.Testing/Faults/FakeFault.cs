namespace RelayKit.Testing;

/// <summary>
/// A fault the fake injects into an answer: an error status in the provider's exact error shape,
/// latency, or a broken stream. Faults attached to one rule combine, so a rule can add latency and
/// cut the stream at once.
/// </summary>
public sealed record FakeFault
{
    /// <summary>The error status to answer with instead of a reply, if any.</summary>
    public int? Status { get; init; }

    /// <summary>
    /// The provider error type; when <see langword="null"/> the fake picks the provider's usual type for
    /// <see cref="Status"/> (for example <c>rate_limit_error</c> for 429 on Anthropic).
    /// </summary>
    public string? ErrorType { get; init; }

    /// <summary>The error message; a default names the fault.</summary>
    public string? Message { get; init; }

    /// <summary>Sent as <c>retry-after</c> (whole seconds, rounded up) and <c>retry-after-ms</c>.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Wait before the first byte of the answer.</summary>
    public TimeSpan? FirstByteDelay { get; init; }

    /// <summary>Wait between streamed events.</summary>
    public TimeSpan? BetweenEventsDelay { get; init; }

    /// <summary>End the stream abruptly after this many events: no usage, no terminator.</summary>
    public int? CutStreamAfterEvents { get; init; }

    /// <summary>End the stream properly but without its usage (OpenAI usage chunk, Anthropic <c>message_delta</c> usage).</summary>
    public bool OmitUsage { get; init; }

    /// <summary>Send a mid-stream error (Anthropic <c>event: error</c>, OpenAI error chunk) after this many events.</summary>
    public int? StreamErrorAfterEvents { get; init; }

    /// <summary>Reset the connection after this many events (0: before any response).</summary>
    public int? ResetConnectionAfterEvents { get; init; }

    /// <summary>A 429 with <c>retry-after</c> and <c>retry-after-ms</c> in the provider's rate-limit error shape.</summary>
    /// <param name="retryAfter">The wait the answer asks for.</param>
    public static FakeFault RateLimited(TimeSpan retryAfter) => new() { Status = 429, RetryAfter = retryAfter };

    /// <summary>A server error (500 by default, or 503) in the provider's error shape.</summary>
    /// <param name="status">The status code, 500 or above.</param>
    public static FakeFault ServerError(int status = 500)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 500);
        return new() { Status = status };
    }

    /// <summary>Anthropic's 529 <c>overloaded_error</c> (on OpenAI routes, a 503 <c>server_error</c>).</summary>
    public static FakeFault Overloaded() => new() { Status = 529 };

    /// <summary>An error of any status in the provider's shape, for example 400 <c>invalid_request_error</c>.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="errorType">The provider error type.</param>
    /// <param name="message">The error message.</param>
    public static FakeFault Error(int status, string? errorType = null, string? message = null) =>
        new() { Status = status, ErrorType = errorType, Message = message };

    /// <summary>Latency before the first byte and between streamed events.</summary>
    /// <param name="firstByte">Wait before the first byte.</param>
    /// <param name="betweenEvents">Wait between streamed events.</param>
    public static FakeFault Latency(TimeSpan firstByte, TimeSpan? betweenEvents = null) =>
        new() { FirstByteDelay = firstByte, BetweenEventsDelay = betweenEvents };

    /// <summary>A stream that stops after <paramref name="events"/> events, with no usage and no terminator.</summary>
    /// <param name="events">How many events reach the client.</param>
    public static FakeFault CutStreamAfter(int events)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        return new() { CutStreamAfterEvents = events };
    }

    /// <summary>A stream that ends normally but reports no usage.</summary>
    public static FakeFault StreamWithoutUsage() => new() { OmitUsage = true };

    /// <summary>A mid-stream error event after <paramref name="events"/> events.</summary>
    /// <param name="events">How many events reach the client before the error.</param>
    /// <param name="errorType">The provider error type; <c>overloaded_error</c> / <c>server_error</c> by default.</param>
    public static FakeFault StreamError(int events, string? errorType = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        return new() { StreamErrorAfterEvents = events, ErrorType = errorType };
    }

    /// <summary>A connection reset, before any response (0) or after <paramref name="events"/> streamed events.</summary>
    /// <remarks>
    /// The fake flushes the events and then aborts the connection. A reset discards what the client has not
    /// read yet (a TCP reset drops unread bytes; the in-memory TestServer fails the reader at once), so a
    /// client may see fewer events; what it always sees is a failed read instead of an ended stream.
    /// </remarks>
    /// <param name="events">How many events the fake sends before the reset.</param>
    public static FakeFault ConnectionReset(int events = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        return new() { ResetConnectionAfterEvents = events };
    }

    /// <summary>Combines two faults; values set on <paramref name="other"/> win.</summary>
    /// <param name="other">The fault to lay over this one.</param>
    public FakeFault CombineWith(FakeFault other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new()
        {
            Status = other.Status ?? Status,
            ErrorType = other.ErrorType ?? ErrorType,
            Message = other.Message ?? Message,
            RetryAfter = other.RetryAfter ?? RetryAfter,
            FirstByteDelay = other.FirstByteDelay ?? FirstByteDelay,
            BetweenEventsDelay = other.BetweenEventsDelay ?? BetweenEventsDelay,
            CutStreamAfterEvents = other.CutStreamAfterEvents ?? CutStreamAfterEvents,
            OmitUsage = other.OmitUsage || OmitUsage,
            StreamErrorAfterEvents = other.StreamErrorAfterEvents ?? StreamErrorAfterEvents,
            ResetConnectionAfterEvents = other.ResetConnectionAfterEvents ?? ResetConnectionAfterEvents,
        };
    }
}
