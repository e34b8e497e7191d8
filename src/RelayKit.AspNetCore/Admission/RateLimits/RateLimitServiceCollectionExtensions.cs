using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Settlement;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Registers rate limiting; the relay builder calls this.</summary>
internal static class RateLimitServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IRelayRateLimiter"/> (in-process, or Redis when the relay section's <c>RateLimits:Redis</c>
    /// is set; <c>AddModelRelay</c> binds the options to that subsection), <see cref="IRateLimitPolicySource"/> reading the limits of <see cref="ModelRelayOptions"/>'s
    /// keys and models, <see cref="UpstreamCooldown"/>, and the admission and settlement steps that use them.
    /// Options are validated at start and limits follow configuration reloads.
    /// </summary>
    public static IServiceCollection AddRelayRateLimits(this IServiceCollection services, RelaySection section)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<ModelRelayOptions>().ValidateOnStart();
        services.AddOptions<RelayRateLimitsOptions>().ValidateOnStart();
        if (!services.Any(d => d.ServiceType == typeof(IRelayRateLimiter)))
        {
            section.Bind<RelayRateLimitsOptions>(services, "RateLimits");
            services.AddSingleton<IValidateOptions<ModelRelayOptions>>(new KeyAndModelLimitsValidator(section.Path));
            services.AddSingleton<IValidateOptions<RelayRateLimitsOptions>>(new RelayRateLimitsOptionsValidator(section.PathOf("RateLimits")));
        }

        services.TryAddSingleton<IRateLimitPolicySource, ConfiguredRateLimitPolicySource>();
        services.TryAddSingleton<UpstreamCooldown>();
        services.TryAddSingleton<FallbackModelLimits>();
        services.TryAddSingleton(sp => CreateLimiter(sp, section));

        // The token estimate is the budgets' worst-case count (prompt plus output cap).
        services.AddOptions<BudgetEstimateOptions>();
        services.TryAddSingleton<PromptTokenCounter>();
        services.TryAddSingleton<WorstCaseEstimator>();
        services.TryAddSingleton<PromptCountGate>();
        services.TryAddSingleton<RateLimitAdmission>();
        services.TryAddSingleton<RateLimitSettlement>();
        return services;
    }

    private static IRelayRateLimiter CreateLimiter(IServiceProvider services, RelaySection section)
    {
        // The store is chosen once at start: moving counters between stores while running would reset them.
        var options = services.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value;
        var policies = services.GetRequiredService<IRateLimitPolicySource>();
        var monitor = services.GetRequiredService<IOptionsMonitor<RelayRateLimitsOptions>>();
        var time = services.GetRequiredService<TimeProvider>();
        if (string.IsNullOrWhiteSpace(options.Redis))
        {
            return new InProcessRelayRateLimiter(policies, monitor, time);
        }

        var redis = services.GetService<IRedisRateLimiterFactory>()
            ?? throw new InvalidOperationException(Hosting.OptionalPackagesValidator.MissingRedis(section));
        return redis.Create(services);
    }
}
