namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Creates the limiter whose counters live in Redis. It lives in the RelayKit.Redis package (so the core carries no
/// Redis client a user did not ask for), which registers this with <c>AddRedisRateLimits()</c>; the relay asks for it
/// only when <see cref="RelayRateLimitsOptions.Redis"/> is set.
/// </summary>
internal interface IRedisRateLimiterFactory
{
    IRelayRateLimiter Create(IServiceProvider services);
}
