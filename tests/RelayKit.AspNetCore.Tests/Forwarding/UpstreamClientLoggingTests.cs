using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>
/// The upstream clients' log lines (IHttpClientFactory's <c>System.Net.Http.HttpClient.RelayKit.Upstream.*</c>)
/// are at the levels the host configured; only their header events, which carry the provider's key, never show.
/// </summary>
public sealed class UpstreamClientLoggingTests
{
    private const string UpstreamCategory = "System.Net.Http.HttpClient.RelayKit.Upstream";

    [Theory]
    [InlineData("Default", "Warning")]
    [InlineData("System.Net.Http.HttpClient", "Warning")]
    [InlineData(UpstreamCategory, "Warning")]
    [InlineData(UpstreamCategory + ".openai", "Warning")]
    public async Task A_host_that_turned_the_clients_down_gets_no_information_lines_from_them(string category, string level)
    {
        var logs = await RelayOneRequestAsync(new() { ["Logging:LogLevel:Default"] = "Information", [$"Logging:LogLevel:{category}"] = level });

        Assert.Empty(logs.Where(l => l.Category.StartsWith(UpstreamCategory, StringComparison.Ordinal)).Select(l => $"{l.Category} {l.Level}: {l.Message}"));
        if (category != "Default")
        {
            // The host's Information level still reaches the relay's own lines: only what it turned down is gone.
            Assert.Contains(logs, l => l.Category.StartsWith("RelayKit", StringComparison.Ordinal) && l.Level == LogLevel.Information);
        }
    }

    [Theory]
    [InlineData("Default", "Trace")]
    [InlineData(UpstreamCategory, "Trace")]
    [InlineData(UpstreamCategory + ".openai.ClientHandler", "Debug")]
    public async Task A_host_that_turned_the_clients_up_gets_their_lines_but_never_the_header_events(string category, string level)
    {
        var logs = await RelayOneRequestAsync(new() { ["Logging:LogLevel:Default"] = "Warning", [$"Logging:LogLevel:{category}"] = level });

        var upstream = logs.Where(l => l.Category.StartsWith(UpstreamCategory, StringComparison.Ordinal)).ToList();
        Assert.Contains(upstream, l => l.Level == LogLevel.Information && l.Message.StartsWith("Sending HTTP request POST", StringComparison.Ordinal));
        Assert.DoesNotContain(upstream, l => l.Level < LogLevel.Information);
        Assert.DoesNotContain(logs, l => (l.Message + l.State).Contains(RelaySettings.OpenAiProviderKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_header_events_would_carry_the_provider_key_in_their_state()
    {
        // What the relay keeps out: the same host without the relay's rule exports the key (so the test above can fail).
        var logs = await RelayOneRequestAsync(
            new() { ["Logging:LogLevel:Default"] = "Warning", [$"Logging:LogLevel:{UpstreamCategory}"] = "Trace" },
            withoutRelayFilter: true);

        Assert.Contains(logs, l => l.Level == LogLevel.Trace && l.State.Contains(RelaySettings.OpenAiProviderKey, StringComparison.Ordinal));
    }

    private static async Task<IReadOnlyList<CapturedLog>> RelayOneRequestAsync(Dictionary<string, string?> logging, bool withoutRelayFilter = false)
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var capture = new CapturingLoggerProvider();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();

        // The host's configuration is the test's alone (the test output holds the sample's appsettings.json).
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Create(new Uri("http://fake-upstream/v1"), new Uri("http://fake-upstream/")));
        builder.Configuration.AddInMemoryCollection(logging);
        builder.Logging.ClearProviders().AddProvider(capture);
        builder.Services.AddModelRelay().ConfigureUpstreamHandler((_, _) => fake.CreateHandler());
        if (withoutRelayFilter)
        {
            var rule = builder.Services.Single(d => d.ImplementationType == typeof(UpstreamHeaderLogFilter));
            builder.Services.Remove(rule);
        }

        await using var app = builder.Build();
        app.MapModelRelay();
        await app.StartAsync();
        using var http = app.GetTestClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hello"}]}""", bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.GetRawText());
        await app.StopAsync();
        return capture.Records;
    }
}
