namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The limits one caller key, one model, or one key-and-model pair is held to. A limit left unset
/// (<see langword="null"/>) does not apply. The same property names appear on keys, on models and
/// in a key's <c>ModelLimits</c>, so configuration reads the same everywhere.
/// </summary>
public class RateLimitOptions
{
    /// <summary>
    /// Requests admitted per minute. Enforced as a token bucket that holds this many requests and
    /// refills continuously at this many per minute, like the providers' own limits.
    /// </summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>
    /// Tokens (prompt plus completion) admitted per minute. Each request is charged its estimated
    /// tokens when admitted and corrected to its actual usage when the response has been read.
    /// </summary>
    public long? TokensPerMinute { get; set; }

    /// <summary>Requests in flight at the same time.</summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>Whether any of the limits is set.</summary>
    internal bool HasAnyLimit => RequestsPerMinute is not null || TokensPerMinute is not null || MaxConcurrentRequests is not null;
}
