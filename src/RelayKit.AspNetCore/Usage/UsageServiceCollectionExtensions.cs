using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Usage.Stores;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>Registers the usage path: recorder, background store writer, store, metrics, spans, upstream health and health checks.</summary>
internal static class UsageServiceCollectionExtensions
{
    /// <summary>The tag on RelayKit's health checks, for <c>MapHealthChecks(…, new() { Predicate = c => c.Tags.Contains("relaykit") })</c>.</summary>
    public const string HealthCheckTag = "relaykit";

    /// <summary>
    /// Adds the usage services. Options come from <paramref name="configureUsage"/> and
    /// <paramref name="configureHealth"/> on top of anything configured for
    /// <see cref="UsageOptions"/> and <see cref="UpstreamHealthOptions"/>, and are validated at start.
    /// Calling it again only adds the configuration.
    /// </summary>
    public static IServiceCollection AddRelayUsage(
        this IServiceCollection services,
        Action<UsageOptions>? configureUsage = null,
        Action<UpstreamHealthOptions>? configureHealth = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var usageOptions = services.AddOptions<UsageOptions>();
        var healthOptions = services.AddOptions<UpstreamHealthOptions>();
        if (configureUsage is not null)
        {
            usageOptions.Configure(configureUsage);
        }

        if (configureHealth is not null)
        {
            healthOptions.Configure(configureHealth);
        }

        if (services.Any(d => d.ServiceType == typeof(UsageRecorder)))
        {
            return services;
        }

        usageOptions.ValidateOnStart();
        healthOptions.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageOptions>, UsageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UpstreamHealthOptions>, UpstreamHealthOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<RelayMetrics>();
        services.TryAddSingleton<RelayActivitySource>();
        services.TryAddSingleton<UpstreamHealthTracker>();

        // The status page's stored history: counted here, written by a background service to the usage store's database.
        services.TryAddSingleton<Status.History.StatusHistory>();
        services.TryAddSingleton<Status.History.IStatusStore>(provider => RelayStores.CreateStatusStore(provider, provider.GetRequiredService<IOptions<UsageOptions>>().Value));
        services.TryAddSingleton<Status.History.StatusHistoryWriter>();
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<Status.History.StatusHistoryWriter>());

        services.TryAddSingleton(RelayFiles.Create);
        services.TryAddSingleton<IUsageStore>(provider => RelayStores.CreateUsageStore(provider, provider.GetRequiredService<IOptions<UsageOptions>>().Value));
        services.TryAddSingleton<UsageQueue>();
        services.AddSingleton<UsageRecorder>();
        services.TryAddSingleton<UsageOutbox>();
        services.AddSingleton<UsageWriterService>();
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<UsageWriterService>());

        services.AddHealthChecks()
            .AddCheck<UsageStoreHealthCheck>("relaykit-usage-store", tags: [HealthCheckTag])
            .AddCheck<UpstreamsHealthCheck>("relaykit-upstreams", tags: [HealthCheckTag]);
        return services;
    }

    /// <summary>
    /// The relay's usage wiring, called by <c>AddModelRelay</c>: the usage services with options bound from the relay
    /// section's <c>Usage</c>, <c>UpstreamHealth</c> and <c>Billing</c> subsections, the per-attempt telemetry the forwarder reports
    /// to, and the settlement that records each request.
    /// </summary>
    public static IServiceCollection AddRelayUsageSettlement(this IServiceCollection services, Hosting.RelaySection section)
    {
        if (!services.Any(d => d.ServiceType == typeof(UsageSettlement)))
        {
            section.Bind<UsageOptions>(services, "Usage");
            section.Bind<UpstreamHealthOptions>(services, "UpstreamHealth");

            // What the billing part of /relay/usage says about refunds (Billing:RefundPolicy).
            section.Bind<RelayBillingOptions>(services, "Billing");
            services.AddOptions<RelayBillingOptions>().ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RelayBillingOptions>, RelayBillingOptionsValidator>());
        }

        services.AddRelayUsage();
        services.TryAddSingleton<UpstreamAttemptTracker>();

        // The upstream clients' header events carry the provider's key: nothing below Information from them,
        // and the rest at the levels the host configured.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LoggerFilterOptions>, Forwarding.UpstreamHeaderLogFilter>());

        // Step 7's record of each request (RelayPipeline); the budget's settle builds the record it commits with the charge.
        services.TryAddSingleton<UsageSettlement>();
        return services;
    }
}
