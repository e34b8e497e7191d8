namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Which provider's rate-limit headers a route answers with.</summary>
internal enum RateLimitWireFormat
{
    /// <summary><c>x-ratelimit-*</c> headers with Go-style durations (<c>6m0s</c>).</summary>
    OpenAI,

    /// <summary><c>anthropic-ratelimit-*</c> headers with RFC 3339 reset times.</summary>
    Anthropic,
}
