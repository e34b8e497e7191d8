using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Samples.MinimalApi;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// README "Tests with the fake upstream": the recipe that points the relay of an app under test at a
/// <see cref="FakeUpstream"/> in one call, exactly as documented, on an app that already calls <c>AddModelRelay()</c>.
/// </summary>
public sealed class WebApplicationFactoryRecipeTests
{
    [Fact]
    public async Task One_call_in_ConfigureTestServices_sends_the_apps_relay_to_the_fake()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("answered by the test's fake");

        // The app as deployed: both providers configured to the official APIs, its own AddModelRelay() and clients.
        await using var app = Samples.SampleApp.Create(web => web
            .UseSetting("ModelRelay:Providers:openai:BaseUrl", "https://api.openai.com/v1")
            .UseSetting("ModelRelay:Providers:anthropic:BaseUrl", "https://api.anthropic.com")
            // The recipe: one call.
            .ConfigureTestServices(services => services.AddModelRelay().ConfigureUpstreamHandler((_, _) => fake.CreateHandler())));
        using var http = app.CreateClient();

        using var response = await http.GetAsync("/ask?q=hello");

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var answers = await response.Content.ReadFromJsonAsync<AskAnswers>();
        Assert.Equal("answered by the test's fake", answers!.Gpt);
        Assert.Equal("answered by the test's fake", answers.Claude);
        Assert.Equal(2, fake.Requests.Count);
        Assert.Contains(fake.Requests, r => r.Path == "/v1/chat/completions");
        Assert.Contains(fake.Requests, r => r.Path == "/v1/messages");
    }

    [Fact]
    public void A_second_AddModelRelay_binds_the_configured_keys_once()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(RelaySettings.Unreachable())
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        services.AddModelRelay();
        services.AddModelRelay().ConfigureUpstreamHandler((_, _) => null);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ModelRelayOptions>>().Value;
        Assert.Equal(["alice", "bob"], options.Keys.Select(k => k.Name));
        Assert.Equal(["gpt-*", "claude-*", "text-*", "o*", "default"], options.Keys[0].Models);
    }
}
