namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Partition key of an in-process concurrency limiter. The limit is part of the key, so a changed
/// limit gets a new <c>ConcurrencyLimiter</c>; the old one is disposed by the partitioned limiter once idle.
/// </summary>
internal readonly record struct ConcurrencyPartition(string CounterId, int Limit);
