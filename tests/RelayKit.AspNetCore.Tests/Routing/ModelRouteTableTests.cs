using Microsoft.Extensions.Configuration;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Routing;

public sealed class ModelRouteTableTests
{
    private static readonly DateTimeOffset Compiled = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void An_exact_name_routes_to_its_provider_under_its_own_name()
    {
        var candidate = Assert.Single(Table().Resolve("gpt-5.5"));

        Assert.Equal("openai", candidate.Provider.Name);
        Assert.Equal(WireFormat.OpenAI, candidate.Provider.Format);
        Assert.Equal("gpt-5.5", candidate.UpstreamModel);
        Assert.Equal("http://openai.upstream.invalid/v1/", candidate.Provider.BaseUri.AbsoluteUri);
    }

    [Fact]
    public void An_alias_routes_to_the_upstream_model_name()
    {
        var candidate = Assert.Single(Table().Resolve("claude-code-opus-4.8"));

        Assert.Equal("anthropic", candidate.Provider.Name);
        Assert.Equal(WireFormat.Anthropic, candidate.Provider.Format);
        Assert.Equal("claude-opus-4-8", candidate.UpstreamModel);
    }

    [Fact]
    public void A_configured_alias_routes_like_the_model_it_names()
    {
        var candidate = Assert.Single(Table().Resolve("DEFAULT"));

        Assert.Equal("gpt-5.5", candidate.UpstreamModel);
    }

    [Fact]
    public void A_wildcard_entry_sends_the_callers_model_name()
    {
        var candidate = Assert.Single(Table().Resolve("o4-mini"));

        Assert.Equal("openai", candidate.Provider.Name);
        Assert.Equal("o4-mini", candidate.UpstreamModel);
    }

    [Fact]
    public void An_exact_name_wins_over_a_pattern_and_a_more_specific_pattern_over_a_general_one()
    {
        var table = Table(s => s
            .With("ModelRelay:Models:gpt-*:Provider", "anthropic")
            .With("ModelRelay:Models:gpt-5*:Provider", "openai")
            .With("ModelRelay:Models:gpt-5*:UpstreamModel", "gpt-5-fallback"));

        Assert.Equal("gpt-5.5", Assert.Single(table.Resolve("gpt-5.5")).UpstreamModel);
        Assert.Equal("gpt-5-fallback", Assert.Single(table.Resolve("gpt-5-nano")).UpstreamModel);
        Assert.Equal("anthropic", Assert.Single(table.Resolve("gpt-4o")).Provider.Name);
    }

    [Fact]
    public void An_unknown_model_has_no_candidates()
    {
        Assert.Empty(Table().Resolve("llama-3"));
    }

    [Fact]
    public void The_closest_names_are_those_the_caller_may_see()
    {
        var table = Table();

        Assert.Equal(["claude-code-opus-4.8", "default", "gpt-5.5"], table.Closest("claude-opus-4.8", _ => true, 3));
        Assert.Equal(["gpt-5.5"], table.Closest("claude-opus-4.8", name => name == "gpt-5.5", 3));
    }

    [Fact]
    public void The_listed_models_are_the_exact_names_and_aliases_in_order()
    {
        var listed = Table().ListedModels.Select(m => m.Name).ToList();

        Assert.Equal(["claude-code-opus-4.8", "default", "gpt-5.5", "text-embedding-3-small"], listed);
        Assert.Equal(Compiled, Table().CompiledAt);
    }

    private static ModelRouteTable Table(Func<Dictionary<string, string?>, Dictionary<string, string?>>? change = null)
    {
        var settings = RelaySettings.Unreachable();
        settings = change?.Invoke(settings) ?? settings;
        var options = new ModelRelayOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("ModelRelay").Bind(options);
        return new ModelRouteTable(options, Compiled);
    }
}
