using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>Wires metering and budgets into the request path.</summary>
internal static class RelayBudgetServiceCollectionExtensions
{
    /// <summary>
    /// Adds the meter, budget admission and settlement, and the ledger over <c>ModelRelay:Budgets</c>
    /// (<see cref="ModelRelayOptions.Budgets"/>), read when the ledger is first needed so every
    /// <c>AddModelRelay</c> overload configures it the same way.
    /// </summary>
    internal static IServiceCollection AddRelayBudgets(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(BudgetAdmission)))
        {
            return services;
        }

        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<ModelRelayOptions>>().Value.Budgets);

        // The options are registered above from configuration, so AddBudgetLedger's own (TryAdd) registration of them
        // gives way; it adds the store, the ledger, estimator and expiry sweeper.
        services.AddBudgetLedger(new BudgetStorageOptions());

        services.TryAddSingleton<RelayPriceCatalog>();
        services.TryAddSingleton<KeyBudgets>();
        services.AddSingleton<BudgetAdmission>();
        services.AddSingleton<MeteringAdmission>();
        services.AddSingleton<BudgetSettlement>();
        services.TryAddSingleton(sp => RelayStores.CreateSettleSpool(sp, sp.GetRequiredService<BudgetStorageOptions>()));
        services.AddSingleton<SettleRetrier>();
        services.TryAddSingleton<StoreFailures>();
        services.AddHostedService(sp => sp.GetRequiredService<SettleRetrier>());
        return services;
    }
}
