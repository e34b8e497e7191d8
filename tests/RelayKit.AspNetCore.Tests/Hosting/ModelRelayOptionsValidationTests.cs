using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

public sealed class ModelRelayOptionsValidationTests
{
    public static TheoryData<string, string?, string> Failures => new()
    {
        { "ModelRelay:Models:gpt-5.5:Provider", "azure", "ModelRelay:Models:gpt-5.5:Provider names the unknown provider 'azure'; configured providers: anthropic, openai." },
        { "ModelRelay:Models:gpt-5.5:Provider", "", "ModelRelay:Models:gpt-5.5:Provider is missing" },
        { "ModelRelay:Providers:openai:BaseUrl", "", "ModelRelay:Providers:openai:BaseUrl is missing" },
        { "ModelRelay:Providers:openai:BaseUrl", "api.openai.com/v1", "ModelRelay:Providers:openai:BaseUrl 'api.openai.com/v1' is not an absolute http or https URL." },
        { "ModelRelay:Providers:openai:BaseUrl", "ftp://files.example/v1", "ModelRelay:Providers:openai:BaseUrl 'ftp://files.example/v1' is not an absolute http or https URL." },
        { "ModelRelay:Providers:deepseek:BaseUrl", "https://api.deepseek.com/v1", "ModelRelay:Providers:deepseek:Kind is missing; set it to OpenAI or Anthropic." },
        { "ModelRelay:Models:claude-code-opus-4.8:UpstreamModel", " ", "ModelRelay:Models:claude-code-opus-4.8:UpstreamModel is blank" },
        { "ModelRelay:Models:text-embedding-3-small:Aliases:0", "default", "ModelRelay:Models:text-embedding-3-small:Aliases:0 'default' is already used by ModelRelay:Models:gpt-5.5." },
        { "ModelRelay:Models:text-embedding-3-small:Aliases:0", "gpt-5.5", "ModelRelay:Models:text-embedding-3-small:Aliases:0 'gpt-5.5' is already used by ModelRelay:Models:gpt-5.5." },
        { "ModelRelay:Models:text-embedding-3-small:Aliases:0", "emb-*", "ModelRelay:Models:text-embedding-3-small:Aliases:0 'emb-*' is a wildcard pattern" },
        { "ModelRelay:Keys:1:Name", "Alice", "ModelRelay:Keys:1:Name 'Alice' duplicates ModelRelay:Keys:0:Name; key names must be unique." },
        { "ModelRelay:Keys:1:Name", "", "ModelRelay:Keys:1:Name is missing" },
        { "ModelRelay:Keys:1:SecretSha256", "", "ModelRelay:Keys:1:Secret is missing; set Secret or SecretSha256." },
        { "ModelRelay:Keys:1:SecretSha256", "abc123", "ModelRelay:Keys:1:SecretSha256 is not 64 hexadecimal digits (its 6 characters are not shown" },
        { "ModelRelay:Keys:1:Secret", "rk-another", "ModelRelay:Keys:1 sets both Secret and SecretSha256; set only one." },
        { "ModelRelay:Keys:1:SecretSha256", RelaySettingsHash.OfAlice, "ModelRelay:Keys:1 has the same secret as ModelRelay:Keys:0; every key needs its own secret." },
        { "ModelRelay:MaxRequestBodySize", "0", "ModelRelay:MaxRequestBodySize must be a positive number of bytes." },
        { "ModelRelay:ConnectTimeout", "00:00:00", "ModelRelay:ConnectTimeout must be positive" },
        { "ModelRelay:UpstreamTimeout", "-00:00:01", "ModelRelay:UpstreamTimeout must be positive" },
        { "ModelRelay:Keys:0:Budget", "-0.01", "ModelRelay:Keys:0:Budget must be between 0 and 1,000,000,000,000 US dollars, with at most 15 decimal places." },
        { "ModelRelay:Keys:0:Budget", "79228162514264337593543950335", "ModelRelay:Keys:0:Budget must be between 0 and 1,000,000,000,000 US dollars, with at most 15 decimal places." },
        { "ModelRelay:Keys:0:Budget", "5.0000000000000000000000000001", "ModelRelay:Keys:0:Budget must be between 0 and 1,000,000,000,000 US dollars, with at most 15 decimal places." },
        { "ModelRelay:Budgets:LeaseRequests", "-1", "ModelRelay:Budgets:LeaseRequests must be between 0 (no leases) and 10000." },
        { "ModelRelay:Budgets:LeaseRequests", "10001", "ModelRelay:Budgets:LeaseRequests must be between 0 (no leases) and 10000." },
        { "ModelRelay:Budgets:ExpirySweepInterval", "00:00:00", "ModelRelay:Budgets:ExpirySweepInterval must be positive" },
        { "ModelRelay:Budgets:ReservationLifetime", "00:00:05", "ModelRelay:Budgets:ReservationLifetime must be at least a minute" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_bad_setting_fails_with_a_message_that_names_it(string key, string? value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(RelaySettings.Unreachable().With(key, value)));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith(expected, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void The_starting_configuration_is_valid()
    {
        var options = Resolve(RelaySettings.Unreachable());

        Assert.Equal(2, options.Providers.Count);
        Assert.Equal(2, options.Keys.Count);
    }

    [Fact]
    public void A_duplicate_secret_is_reported_without_the_secret()
    {
        var settings = RelaySettings.Unreachable()
            .With("ModelRelay:Keys:1:SecretSha256", null)
            .With("ModelRelay:Keys:1:Secret", RelaySettings.AliceKey);

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(settings));

        Assert.Contains("ModelRelay:Keys:1 has the same secret as ModelRelay:Keys:0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(RelaySettings.AliceKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_pasted_as_its_hash_is_reported_without_the_secret()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(RelaySettings.Unreachable().With("ModelRelay:Keys:1:SecretSha256", RelaySettings.AliceKey + "-typo")));

        Assert.StartsWith("ModelRelay:Keys:1:SecretSha256 is not 64 hexadecimal digits", Assert.Single(error.Failures), StringComparison.Ordinal);
        Assert.DoesNotContain(RelaySettings.AliceKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_provider_kind_is_named_rather_than_reported_as_a_missing_provider()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(RelaySettings.Unreachable().With("ModelRelay:Providers:openai:Kind", "Gemini")));

        Assert.Equal("ModelRelay:Providers:openai:Kind 'Gemini' is not a provider kind; use OpenAI or Anthropic.", error.Failures.First());
    }

    [Fact]
    public void Several_problems_are_reported_together()
    {
        var settings = RelaySettings.Unreachable()
            .With("ModelRelay:Providers:openai:BaseUrl", "")
            .With("ModelRelay:Keys:1:Name", "alice");

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(settings));

        Assert.Equal(2, error.Failures.Count());
    }

    [Fact]
    public void Messages_name_the_section_the_relay_was_bound_to()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(RelaySettings.Unreachable().ToDictionary(kv => kv.Key.Replace("ModelRelay:", "Gateway:Relay:", StringComparison.Ordinal), kv => kv.Value))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Gateway:Relay:Models:gpt-5.5:Provider"] = "nope" })
            .Build();
        var services = new ServiceCollection();
        services.AddModelRelay(configuration.GetSection("Gateway:Relay"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ModelRelayOptions>>().Value);

        Assert.StartsWith("Gateway:Relay:Models:gpt-5.5:Provider names the unknown provider 'nope'", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ModelRelay:Budgets:Store", "PostgreSql", "ModelRelay:Budgets:PostgreSqlConnectionString is required when Store is PostgreSql.")]
    [InlineData("ModelRelay:Budgets:PostgreSqlSchema", "Bad-Name", "ModelRelay:Budgets:PostgreSqlSchema must be a lower-case SQL identifier")]
    public void The_budget_store_choice_is_checked_at_start(string key, string value, string expected)
    {
        var settings = RelaySettings.Unreachable().With("ModelRelay:Budgets:Store", "PostgreSql").With(key, value);

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(settings));

        Assert.Contains(error.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_disabled_relay_is_not_validated()
    {
        var settings = RelaySettings.Unreachable()
            .With("ModelRelay:Enabled", "false")
            .With("ModelRelay:Providers:openai:BaseUrl", "");

        var options = Resolve(settings);

        Assert.False(options.Enabled);
    }

    [Fact]
    public void Options_configured_in_code_are_validated_too()
    {
        var services = new ServiceCollection();
        services.AddModelRelay(o => o.Models["gpt-5.5"] = new ModelRelayModelOptions { Provider = "openai" });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ModelRelayOptions>>().Value);

        Assert.StartsWith("ModelRelay:Models:gpt-5.5:Provider names the unknown provider 'openai'; configured providers: none.", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_setting_stops_the_host_from_starting()
    {
        await using var app = new RelayApp(RelaySettings.Unreachable().With("ModelRelay:Models:gpt-5.5:Provider", "azure"));

        var error = Assert.Throws<OptionsValidationException>(() => app.Server);

        Assert.Contains("ModelRelay:Models:gpt-5.5:Provider names the unknown provider 'azure'", error.Message, StringComparison.Ordinal);
    }

    private static ModelRelayOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddModelRelay();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ModelRelayOptions>>().Value;
    }
}
