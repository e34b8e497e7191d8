using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>Registers the budget ledger, the worst-case estimator and the expiry sweeper.</summary>
internal static class BudgetServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IBudgetLedger"/> over the storage <paramref name="options"/> selects, the
    /// <see cref="WorstCaseEstimator"/> and the hosted <see cref="ReservationExpirySweeper"/>.
    /// </summary>
    internal static IServiceCollection AddBudgetLedger(this IServiceCollection services, BudgetStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddOptions<BudgetEstimateOptions>();
        services.TryAddSingleton(options);

        if (options.Problems().FirstOrDefault() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        services.TryAddSingleton(RelayFiles.Create);
        services.TryAddSingleton<ILedgerStore>(sp => RelayStores.CreateLedgerStore(sp, sp.GetRequiredService<BudgetStorageOptions>()));

        services.TryAddSingleton<IBudgetLedger>(provider =>
        {
            var time = provider.GetRequiredService<TimeProvider>();
            var ledger = new BudgetLedger(provider.GetRequiredService<ILedgerStore>(), time, provider.GetRequiredService<ILogger<BudgetLedger>>());

            // The options registered (from configuration, by AddModelRelay) win over the ones passed here.
            var leaseRequests = provider.GetRequiredService<BudgetStorageOptions>().EffectiveLeaseRequests;
            return leaseRequests > 0
                ? new LeasedBudgetLedger(ledger, time, leaseRequests, provider.GetRequiredService<ILogger<LeasedBudgetLedger>>())
                : ledger;
        });
        services.TryAddSingleton<PromptTokenCounter>();
        services.TryAddSingleton<WorstCaseEstimator>();
        services.TryAddSingleton<PromptCountGate>();
        services.AddHostedService<ReservationExpirySweeper>();
        return services;
    }
}
