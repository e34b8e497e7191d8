using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admin;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore;

/// <summary>Adds the operations API (keys created at run time, top-ups, refunds) to the relay.</summary>
public static class ModelRelayAdminBuilderExtensions
{
    /// <summary>
    /// Adds the services behind <c>app.MapModelRelayAdmin()</c> and lets callers authenticate with keys
    /// created through it. Created keys are stored where the budget ledger is (the same SQLite file or
    /// PostgreSQL schema; in memory when the ledger is); settings come from <c>ModelRelay:Admin</c>.
    /// </summary>
    /// <param name="builder">The relay builder from <c>AddModelRelay()</c>.</param>
    /// <returns>The same builder.</returns>
    public static IModelRelayBuilder AddAdmin(this IModelRelayBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(RelayAdminEndpoints)))
        {
            return builder;
        }

        services.AddSingleton<IValidateOptions<ModelRelayOptions>>(provider =>
            new ModelRelayAdminOptionsValidator((provider.GetService<Hosting.RelaySection>() ?? Hosting.RelaySection.Default).Path));
        services.TryAddSingleton<IRelayKeyStore>(provider =>
            RelayStores.CreateKeyStore(provider, provider.GetService<BudgetStorageOptions>() ?? new BudgetStorageOptions()));
        services.TryAddSingleton<CreatedKeyLookup>();
        services.AddSingleton<RelayAdminEndpoints>();
        services.AddSingleton<RelayAdminUsageEndpoint>();
        services.AddSingleton<RelayAdminSpendEndpoint>();
        services.AddSingleton<OperatorConsolePage>();
        return builder;
    }
}
