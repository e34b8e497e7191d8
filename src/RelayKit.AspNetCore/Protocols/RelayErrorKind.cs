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
}
