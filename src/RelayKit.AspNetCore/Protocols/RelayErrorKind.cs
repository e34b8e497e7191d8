namespace RelayKit.AspNetCore.Protocols;

/// <summary>What went wrong, independent of wire format; each format names it its own way.</summary>
internal enum RelayErrorKind
{
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    UpstreamUnreachable,
    UpstreamTimeout,
    Internal,
    RateLimited,
    InsufficientQuota,

    /// <summary>The relay is stopping and can no longer take requests; a retry reaches another instance or the next start.</summary>
    Unavailable,
}
