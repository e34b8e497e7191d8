using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

public sealed class RateLimitOptionsTests
{
    [Fact]
    public async Task Limits_that_cannot_be_enforced_are_refused()
    {
        var settings = Settings.Key("alice", rpm: 0);
        settings["ModelRelay:Keys:0:ModelLimits:gpt-*:TokensPerMinute"] = "-5";
        settings["ModelRelay:Keys:0:QueueTimeout"] = "01:00:00";
        settings["ModelRelay:Models:gpt-4o:MaxConcurrentRequests"] = "0";
        await using var host = new RateLimitTestHost(settings);

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<ModelRelayOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("Keys:0:RequestsPerMinute", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("ModelLimits:gpt-*:TokensPerMinute", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("QueueTimeout", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Models:gpt-4o:MaxConcurrentRequests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Store_settings_are_validated()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelRelay:RateLimits:RedisKeyPrefix"] = "{bad}",
            ["ModelRelay:RateLimits:ConcurrencyLeaseExpiry"] = "00:00:01",
        };
        await using var host = new RateLimitTestHost(settings);

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value);

        Assert.Equal(2, error.Failures.Count());
    }

    [Fact]
    public async Task An_exact_model_name_wins_over_patterns_and_a_longer_pattern_over_a_shorter_one()
    {
        var settings = Settings.Key("alice");
        settings["ModelRelay:Keys:0:ModelLimits:*:RequestsPerMinute"] = "1";
        settings["ModelRelay:Keys:0:ModelLimits:gpt-*:RequestsPerMinute"] = "2";
        settings["ModelRelay:Keys:0:ModelLimits:gpt-4o-*:RequestsPerMinute"] = "3";
        settings["ModelRelay:Keys:0:ModelLimits:gpt-4o-mini:RequestsPerMinute"] = "4";
        await using var host = new RateLimitTestHost(settings);
        var source = host.Services.GetRequiredService<IRateLimitPolicySource>();

        int? Rpm(string model) => source.GetPolicy("alice", model).Rules.Single(r => r.Scope == RateLimitScope.KeyModel).Limits.RequestsPerMinute;

        Assert.Equal(4, Rpm("gpt-4o-mini"));
        Assert.Equal(3, Rpm("gpt-4o-2024-08-06"));
        Assert.Equal(2, Rpm("gpt-4.1"));
        Assert.Equal(1, Rpm("claude-sonnet"));
        Assert.Empty(source.GetPolicy("bob", "gpt-4o").Rules);
    }
}
