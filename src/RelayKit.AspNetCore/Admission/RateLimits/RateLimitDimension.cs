namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>What a limit counts.</summary>
internal enum RateLimitDimension
{
    /// <summary>Requests per minute.</summary>
    Requests,

    /// <summary>Tokens per minute.</summary>
    Tokens,

    /// <summary>Requests in flight.</summary>
    Concurrency,
}
