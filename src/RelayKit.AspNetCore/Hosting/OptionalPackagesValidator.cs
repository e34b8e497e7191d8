using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// Fails the host's start when configuration chooses a store that an optional package provides and that package's
/// builder call was not made (PostgreSQL storage, Redis rate limits), naming the package and the call, instead of
/// failing the first request.
/// </summary>
internal sealed class OptionalPackagesValidator(RelaySection section, IServiceProvider services) :
    IValidateOptions<ModelRelayOptions>, IValidateOptions<UsageOptions>, IValidateOptions<RelayRateLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelRelayOptions options) =>
        options.Enabled && options.Budgets.Store == BudgetStoreKind.PostgreSql && !Has<IPostgreSqlStorage>()
            ? ValidateOptionsResult.Fail(RelayStores.MissingPostgreSql($"{section.Path}:Budgets:Store is PostgreSql"))
            : ValidateOptionsResult.Success;

    public ValidateOptionsResult Validate(string? name, UsageOptions options) =>
        options.Store == UsageStoreKind.PostgreSql && !Has<IPostgreSqlStorage>()
            ? ValidateOptionsResult.Fail(RelayStores.MissingPostgreSql($"{section.Path}:Usage:Store is PostgreSql"))
            : ValidateOptionsResult.Success;

    /// <remarks>A relay that is off (<c>Enabled=false</c>) uses no limiter, so its Redis setting is not checked, as its other settings are not.</remarks>
    public ValidateOptionsResult Validate(string? name, RelayRateLimitsOptions options) =>
        !string.IsNullOrWhiteSpace(options.Redis) && !Has<IRedisRateLimiterFactory>() && RelayEnabled()
            ? ValidateOptionsResult.Fail(MissingRedis(section))
            : ValidateOptionsResult.Success;

    internal static string MissingRedis(RelaySection section) =>
        $"{section.PathOf("RateLimits", "Redis")} is set, and Redis rate limits come from the RelayKit.Redis package: " +
        "add that package and call AddModelRelay().AddRedisRateLimits().";

    private bool Has<T>() where T : class => services.GetService<T>() is not null;

    private bool RelayEnabled() => services.GetRequiredService<IOptions<ModelRelayOptions>>().Value.Enabled;
}
