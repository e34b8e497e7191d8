using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// The configuration section <c>AddModelRelay</c> was given (<c>ModelRelay</c> unless another was passed): every options
/// class of the relay binds its subsection of it (<c>Budgets</c> through <see cref="ModelRelayOptions"/>, <c>Usage</c>,
/// <c>UpstreamHealth</c>, <c>RateLimits</c>), and every validator names a setting by its path under it.
/// </summary>
internal sealed class RelaySection
{
    private static readonly IConfiguration Empty = new ConfigurationBuilder().Build();

    private readonly Func<IServiceProvider, IConfigurationSection?> _resolve;

    /// <param name="path">The section's path, for messages.</param>
    /// <param name="resolve">The section itself, or null when the relay is configured in code only.</param>
    public RelaySection(string path, Func<IServiceProvider, IConfigurationSection?> resolve)
    {
        Path = path;
        _resolve = resolve;
    }

    /// <summary>The <c>ModelRelay</c> section of the host's configuration, as the parameterless <c>AddModelRelay()</c> binds it.</summary>
    public static RelaySection Default { get; } =
        new(ModelRelayOptions.SectionName, sp => sp.GetService<IConfiguration>()?.GetSection(ModelRelayOptions.SectionName));

    /// <summary>The section's path, such as <c>ModelRelay</c>.</summary>
    public string Path { get; }

    /// <summary>The section, or null when the relay is configured in code only.</summary>
    public IConfigurationSection? Resolve(IServiceProvider services) => _resolve(services);

    /// <summary>The configuration path of a setting under the section, such as <c>ModelRelay:RateLimits:Redis</c>.</summary>
    public string PathOf(params string[] segments) => string.Join(':', [Path, .. segments]);

    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to the <paramref name="subsection"/> of this section, following reloads
    /// of the configuration as <c>BindConfiguration</c> does.
    /// </summary>
    public void Bind<TOptions>(IServiceCollection services, string subsection) where TOptions : class
    {
        services.AddOptions<TOptions>().Configure<IServiceProvider>((options, provider) =>
        {
            var section = Resolve(provider);
            RenamedSettings.ThrowIfUsed<TOptions>(section, subsection);
            section?.GetSection(subsection).Bind(options);
        });
        services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(provider =>
            new ConfigurationChangeTokenSource<TOptions>(Options.DefaultName, (IConfiguration?)Resolve(provider) ?? Empty));
    }
}
