using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>Every options class of the relay binds from the section given to <c>AddModelRelay(section)</c>, and every message names it.</summary>
public sealed class RelaySectionBindingTests
{
    [Fact]
    public void Rate_limits_usage_and_health_bind_from_the_given_section_and_not_from_ModelRelay()
    {
        using var provider = Build(new()
        {
            ["Custom:RateLimits:UpstreamDefaultCooldown"] = "00:00:07",
            ["Custom:RateLimits:RedisKeyPrefix"] = "custom-prefix",
            ["Custom:Usage:BatchSize"] = "17",
            ["Custom:UpstreamHealth:MinimumAttempts"] = "9",

            // The default section, which a relay bound to Custom must not read.
            ["ModelRelay:RateLimits:Redis"] = "127.0.0.1:1",
            ["ModelRelay:RateLimits:UpstreamDefaultCooldown"] = "00:00:42",
            ["ModelRelay:Usage:BatchSize"] = "99",
        });

        var limits = provider.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(7), limits.UpstreamDefaultCooldown);
        Assert.Equal("custom-prefix", limits.RedisKeyPrefix);
        Assert.Null(limits.Redis);
        Assert.Equal(17, provider.GetRequiredService<IOptions<UsageOptions>>().Value.BatchSize);
        Assert.Equal(9, provider.GetRequiredService<IOptions<UpstreamHealthOptions>>().Value.MinimumAttempts);
    }

    [Fact]
    public void A_redis_setting_under_the_given_section_takes_effect_and_is_named_by_its_path()
    {
        using var provider = Build(new() { ["Custom:RateLimits:Redis"] = "127.0.0.1:1" });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value);

        Assert.StartsWith("Custom:RateLimits:Redis is set, and Redis rate limits come from the RelayKit.Redis package", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Rate_limit_admin_and_key_limit_messages_name_the_given_section()
    {
        var services = Services(new()
        {
            ["Custom:RateLimits:ConcurrencyLeaseExpiry"] = "00:00:01",
            ["Custom:Admin:Key"] = "short",
            ["Custom:Keys:0:RequestsPerMinute"] = "0",
        });
        services.AddModelRelay(Configuration(services).GetSection("Custom")).AddAdmin();
        using var provider = services.BuildServiceProvider();

        var limits = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value);
        var relay = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ModelRelayOptions>>().Value);

        Assert.StartsWith("Custom:RateLimits:ConcurrencyLeaseExpiry must be at least 3 seconds.", Assert.Single(limits.Failures), StringComparison.Ordinal);
        Assert.Contains("Custom:Admin:Key must be at least 16 characters long.", relay.Failures);
        Assert.Contains(relay.Failures, f => f.StartsWith("Custom:Keys:0:RequestsPerMinute must be positive", StringComparison.Ordinal));
        Assert.DoesNotContain(relay.Failures.Concat(limits.Failures), f => f.Contains("ModelRelay:", StringComparison.Ordinal));
    }

    private static ServiceProvider Build(Dictionary<string, string?> extra)
    {
        var services = Services(extra);
        services.AddModelRelay(Configuration(services).GetSection("Custom"));
        return services.BuildServiceProvider();
    }

    private static ServiceCollection Services(Dictionary<string, string?> extra)
    {
        var settings = RelaySettings.Unreachable().ToDictionary(kv => kv.Key.Replace("ModelRelay:", "Custom:", StringComparison.Ordinal), kv => kv.Value);
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services;
    }

    private static IConfiguration Configuration(ServiceCollection services) =>
        (IConfiguration)services.Single(d => d.ServiceType == typeof(IConfiguration)).ImplementationInstance!;
}
