using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;

using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore;

/// <summary>Registers the model relay's services.</summary>
public static class ModelRelayServiceCollectionExtensions
{
    /// <summary>Adds the model relay, configured from the <c>ModelRelay</c> configuration section.</summary>
    /// <param name="services">The services to add to.</param>
    /// <returns>A builder for further relay configuration.</returns>
    public static IModelRelayBuilder AddModelRelay(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (FirstBinding(services, ModelRelayOptions.SectionName))
        {
            services.AddOptions<ModelRelayOptions>().BindConfiguration(ModelRelayOptions.SectionName);
        }

        return AddCore(services, RelaySection.Default);
    }

    /// <summary>Adds the model relay, configured from the given configuration section.</summary>
    /// <param name="services">The services to add to.</param>
    /// <param name="section">The section of the shape documented for <c>ModelRelay</c>.</param>
    /// <returns>A builder for further relay configuration.</returns>
    public static IModelRelayBuilder AddModelRelay(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        if (FirstBinding(services, section.Path))
        {
            services.AddOptions<ModelRelayOptions>().Bind(section);
        }

        return AddCore(services, new RelaySection(section.Path, _ => section));
    }

    /// <summary>Adds the model relay, configured in code.</summary>
    /// <param name="services">The services to add to.</param>
    /// <param name="configure">Configures the relay's options.</param>
    /// <returns>A builder for further relay configuration.</returns>
    public static IModelRelayBuilder AddModelRelay(this IServiceCollection services, Action<ModelRelayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ModelRelayOptions>().Configure(configure);
        return AddCore(services, new RelaySection(ModelRelayOptions.SectionName, _ => null));
    }

    /// <summary>
    /// Whether the section at <paramref name="path"/> is not bound yet. A second <c>AddModelRelay()</c> (a test's
    /// <c>ConfigureTestServices</c> reaching for <c>ConfigureUpstreamHandler</c>) adds to the first; binding the same
    /// section again would append every configured key and list entry a second time.
    /// </summary>
    private static bool FirstBinding(IServiceCollection services, string path)
    {
        if (services.Any(d => d.ServiceType == typeof(BoundRelaySection) && d.ImplementationInstance is BoundRelaySection bound
            && string.Equals(bound.Path, path, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        services.AddSingleton(new BoundRelaySection(path));
        return true;
    }

    private static ModelRelayBuilder AddCore(IServiceCollection services, RelaySection section)
    {
        services.AddOptions<ModelRelayOptions>().ValidateOnStart();
        if (!services.Any(d => d.ServiceType == typeof(RelayRequestHandler)))
        {
            // The first AddModelRelay's section is the relay's: every options class binds its subsection of it, and
            // every validator names settings by its path.
            services.AddSingleton(section);
            services.AddSingleton<IValidateOptions<ModelRelayOptions>>(sp => new ModelRelayOptionsValidator(section.Path, section.Resolve(sp)));
            services.AddSingleton(sp => new OptionalPackagesValidator(section, sp));
            services.AddSingleton<IValidateOptions<ModelRelayOptions>>(sp => sp.GetRequiredService<OptionalPackagesValidator>());
            services.AddSingleton<IValidateOptions<UsageOptions>>(sp => sp.GetRequiredService<OptionalPackagesValidator>());
            services.AddSingleton<IValidateOptions<RelayRateLimitsOptions>>(sp => sp.GetRequiredService<OptionalPackagesValidator>());
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();

        // The outgoing clients come from IHttpClientFactory (one named client per provider), so the host's
        // own handler configuration and handler rotation apply; the primary handler is set up in
        // UpstreamHandlerSetup.
        services.AddHttpClient();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HttpClientFactoryOptions>, UpstreamHandlerSetup>());

        services.TryAddSingleton<RelayKeyAuthenticator>();
        services.TryAddSingleton<ModelRouter>();
        services.TryAddSingleton<Routing.UpstreamSelection>();
        services.TryAddSingleton<UpstreamForwarder>();
        if (!services.Any(d => d.ServiceType == typeof(Status.UpstreamProbes)))
        {
            // Probes of the providers that ask for them (Providers:<name>:Probe), for the status page and the breakers.
            services.AddSingleton<Status.UpstreamProbes>();
            services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => sp.GetRequiredService<Status.UpstreamProbes>());
        }

        services.TryAddSingleton<RelayRequestHandler>();
        services.TryAddSingleton<RelayPipeline>();
        services.TryAddSingleton<StoreFailures>();

        // The services of steps 4 and 7; their order is RelayPipeline's.
        services.AddRelayRateLimits(section);
        services.AddRelayBudgets();

        // Usage records, metrics, spans and upstream health (options under the section's Usage and UpstreamHealth).
        services.AddRelayUsageSettlement(section);
        return new ModelRelayBuilder(services);
    }
}
