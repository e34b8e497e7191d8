using RelayKit.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// A service container with rate limiting registered the way the relay will register it, on
/// in-memory configuration that tests change and reload, and on a <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class RateLimitTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public RateLimitTestHost(IDictionary<string, string?> settings, FakeTimeProvider? time = null)
    {
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(Configuration)
            .AddSingleton<TimeProvider>(Time)
            .AddOptions<ModelRelayOptions>().BindConfiguration(ModelRelayOptions.SectionName).Services
            .AddRelayRateLimits(RelaySection.Default);
        new ModelRelayBuilder(services).AddRedisRateLimits();
        _services = services
            .BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }

    public FakeTimeProvider Time { get; }

    public IConfigurationRoot Configuration { get; }

    public IServiceProvider Services => _services;

    public IRelayRateLimiter Limiter => _services.GetRequiredService<IRelayRateLimiter>();

    /// <summary>Changes one setting and reloads, as a changed appsettings.json would.</summary>
    public void Change(string key, string? value)
    {
        Configuration[key] = value;
        Configuration.Reload();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
