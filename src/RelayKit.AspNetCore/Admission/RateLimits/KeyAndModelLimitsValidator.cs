using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Rejects limits of the relay's keys and models that cannot be enforced, at start and on every reload.</summary>
/// <param name="settingsPath">The relay's configuration section, such as <c>ModelRelay</c>.</param>
internal sealed class KeyAndModelLimitsValidator(string settingsPath) : IValidateOptions<ModelRelayOptions>
{
    /// <summary>The longest wait a key may configure: longer would hold connections open for too long.</summary>
    internal static readonly TimeSpan MaxQueueTimeout = TimeSpan.FromMinutes(10);

    public ValidateOptionsResult Validate(string? name, ModelRelayOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Skip;
        }

        // Names, secrets and duplicates are the relay core's validator's business; this one checks limits only.
        var failures = new List<string>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var where = $"{settingsPath}:Keys:{i}";
            if (key.QueueTimeout < TimeSpan.Zero || key.QueueTimeout > MaxQueueTimeout)
            {
                failures.Add($"{where}:QueueTimeout must be between 0 and {MaxQueueTimeout}.");
            }

            ValidateLimits(key, where, failures);
            foreach (var (model, limits) in key.ModelLimits)
            {
                var modelWhere = $"{where}:ModelLimits:{model}";
                if (string.IsNullOrWhiteSpace(model))
                {
                    failures.Add($"{modelWhere} needs a model name or pattern.");
                }

                ValidateLimits(limits, modelWhere, failures);
            }
        }

        foreach (var (modelName, model) in options.Models)
        {
            ValidateLimits(model, $"{settingsPath}:Models:{modelName}", failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateLimits(RateLimitOptions limits, string where, List<string> failures)
    {
        if (limits.RequestsPerMinute is <= 0)
        {
            failures.Add($"{where}:RequestsPerMinute must be positive (leave it out for no limit).");
        }

        if (limits.TokensPerMinute is <= 0)
        {
            failures.Add($"{where}:TokensPerMinute must be positive (leave it out for no limit).");
        }

        if (limits.MaxConcurrentRequests is <= 0)
        {
            failures.Add($"{where}:MaxConcurrentRequests must be positive (leave it out for no limit).");
        }
    }
}
