using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Rejects limiter settings that would misbehave, at start.</summary>
/// <param name="where">The settings' configuration path, such as <c>ModelRelay:RateLimits</c>.</param>
internal sealed class RelayRateLimitsOptionsValidator(string where) : IValidateOptions<RelayRateLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayRateLimitsOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.RedisKeyPrefix) || options.RedisKeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            failures.Add($"{where}:RedisKeyPrefix must be non-empty and must not contain braces.");
        }

        if (options.ConcurrencyLeaseExpiry < TimeSpan.FromSeconds(3))
        {
            failures.Add($"{where}:ConcurrencyLeaseExpiry must be at least 3 seconds.");
        }

        if (options.ConcurrencyRetryAfter <= TimeSpan.Zero)
        {
            failures.Add($"{where}:ConcurrencyRetryAfter must be positive.");
        }

        if (options.UpstreamDefaultCooldown <= TimeSpan.Zero || options.UpstreamMaxCooldown < options.UpstreamDefaultCooldown)
        {
            failures.Add($"{where}:UpstreamDefaultCooldown must be positive and not above UpstreamMaxCooldown.");
        }

        if (!Enum.IsDefined(options.RedisUnavailable))
        {
            failures.Add($"{where}:RedisUnavailable must be Allow or Refuse.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
