#pragma warning disable OPENAI001 // ChatClient.Endpoint is marked experimental in the OpenAI SDK.
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI.Chat;
using RelayKit.AspNetCore.AppClients;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace RelayKit.AspNetCore.Tests.AppClients;

/// <summary>The app's own clients: in-process through the relay when it is on, straight to the providers when it is off.</summary>
public sealed class AppClientsTests
{
    private const string Gpt = "gpt-5.5";
    private const string Claude = "claude-code-opus-4.8";

    [Fact]
    public async Task With_the_relay_on_both_chat_clients_go_through_the_relay_under_the_app_key()
    {
        await using var relay = FakeRelay.Create(services: services => new ModelRelayBuilder(services).AddChatClient(Gpt).AddChatClient(Claude));
        relay.Fake.Setup().ForModel(Gpt).RespondWithText("GPT says hi.");
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Claude says hi.");

        var gpt = relay.App.Services.GetRequiredKeyedService<IChatClient>(Gpt);
        var claude = relay.App.Services.GetRequiredKeyedService<IChatClient>(Claude);
        var gptAnswer = await gpt.GetResponseAsync("Say hi.");
        var claudeText = "";
        await foreach (var update in claude.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "Say hi.")]))
        {
            claudeText += update.Text;
        }

        Assert.Equal("GPT says hi.", gptAnswer.Text);
        Assert.Equal("Claude says hi.", claudeText);
        Assert.Same(gpt, relay.App.Services.GetRequiredService<IChatClient>());
        Assert.Equal(["http://fake-upstream/v1/chat/completions", "http://fake-upstream/v1/messages"],
            relay.Recorder.Exchanges.Select(e => e.Uri.AbsoluteUri));
        Assert.Equal("claude-opus-4-8", relay.Fake.Requests[1].Model);
        Assert.True(relay.Fake.Requests[1].IsStreaming);
        var relayed = relay.App.Logs.GetSnapshot().Where(r => r.Message.StartsWith("Relayed", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, relayed.Count);
        Assert.All(relayed, r => Assert.Contains("for key app", r.Message, StringComparison.Ordinal));
        var appKey = relay.App.Services.GetRequiredService<AppRelayKey>().Secret;
        Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), r => r.Message.Contains(appKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_relay_on_the_official_sdk_clients_reach_the_other_format_through_translation()
    {
        await using var relay = FakeRelay.Create(services: services => new ModelRelayBuilder(services).AddOpenAIChatClient(Claude).AddAnthropicClient(Gpt));
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Translated from Claude.");
        relay.Fake.Setup().ForModel(Gpt).RespondWithText("Translated from GPT.");

        ChatCompletion completion = await relay.App.Services.GetRequiredKeyedService<ChatClient>(Claude).CompleteChatAsync([new UserChatMessage("hi")]);
        var message = await relay.App.Services.GetRequiredKeyedService<AnthropicClient>(Gpt).Messages.Create(new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = Gpt,
            MaxTokens = 50,
            Messages = [new Anthropic.Models.Messages.UserMessageParam("hi")],
        });

        Assert.Equal("Translated from Claude.", completion.Content[0].Text);
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Translated from GPT.", text.Text);
        Assert.Equal("/v1/messages", relay.Fake.Requests[0].Path);
        Assert.Equal("/v1/chat/completions", relay.Fake.Requests[1].Path);

        // Looking a model up goes in-process too, and is answered by the relay itself.
        var model = await relay.App.Services.GetRequiredKeyedService<AnthropicClient>(Gpt).Models.Retrieve(Gpt);
        Assert.Equal(Gpt, model.ID);
        Assert.Equal(2, relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task With_the_relay_off_the_clients_talk_straight_to_the_providers_with_no_relay_code_on_the_path()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var official = await fake.StartAsync();
        fake.Setup().ForModel(Gpt).RespondWithText("Direct from OpenAI.");
        fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Direct from Anthropic.");
        var relayUpstreamCalls = 0;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Create(new Uri(official, "v1"), official).With("ModelRelay:Enabled", "false"));
        builder.Services.AddModelRelay()
            .ConfigureUpstreamHandler((_, _) =>
            {
                relayUpstreamCalls++;
                return new HttpClientHandler();
            })
            .AddChatClient(Gpt).AddChatClient(Claude).AddAnthropicClient(Claude);
        using var app = builder.Build();
        await app.StartAsync();

        var gpt = app.Services.GetRequiredKeyedService<IChatClient>(Gpt);
        var claude = app.Services.GetRequiredKeyedService<IChatClient>(Claude);
        var gptAnswer = await gpt.GetResponseAsync("hi");
        var claudeAnswer = await claude.GetResponseAsync("hi");

        Assert.Equal("Direct from OpenAI.", gptAnswer.Text);
        Assert.Equal("Direct from Anthropic.", claudeAnswer.Text);
        Assert.Equal(["/v1/chat/completions", "/v1/messages"], fake.Requests.Select(r => r.Path));
        Assert.Equal([Gpt, "claude-opus-4-8"], fake.Requests.Select(r => r.Model));

        // The clients' own transports point at the providers; nothing of RelayKit is in between.
        var openAI = gpt.GetService<ChatClient>();
        Assert.NotNull(openAI);
        Assert.Equal(new Uri(official, "v1").AbsoluteUri.TrimEnd('/'), openAI.Endpoint.AbsoluteUri.TrimEnd('/'));
        var anthropic = app.Services.GetRequiredKeyedService<AnthropicClient>(Claude);
        Assert.Equal(official.AbsoluteUri.TrimEnd('/'), anthropic.BaseUrl.TrimEnd('/'));
        Assert.Equal(RelaySettings.AnthropicProviderKey, anthropic.ApiKey);
        Assert.Equal(0, relayUpstreamCalls);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_client_for_a_pattern_model_reaches_the_same_provider_with_the_relay_on_or_off()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var official = await fake.StartAsync();
        fake.Setup().ForModel("o4-mini").RespondWithText("Direct from the pattern's provider.");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Create(new Uri(official, "v1"), official)
            .With("ModelRelay:Enabled", "false")
            .With("ModelRelay:Models:o*-mini:Provider", "openai"));
        builder.Services.AddModelRelay().AddChatClient("o4-mini");
        using var app = builder.Build();
        await app.StartAsync();

        var answer = await app.Services.GetRequiredKeyedService<IChatClient>("o4-mini").GetResponseAsync("hi");

        Assert.Equal("Direct from the pattern's provider.", answer.Text);
        Assert.Equal("o4-mini", fake.Requests.Single().Model);
        await app.StopAsync();
    }

    [Fact]
    public async Task With_the_relay_off_a_client_that_cannot_reach_its_model_stops_the_start_saying_why()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Unreachable().With("ModelRelay:Enabled", "false"));
        builder.Services.AddModelRelay()
            .AddOpenAIChatClient(Claude)
            .AddAnthropicClient(Gpt)
            .AddChatClient(Claude);
        using var app = builder.Build();

        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());

        Assert.Equal(2, failure.Failures.Count());
        Assert.Contains(failure.Failures, f => f.StartsWith($"AddOpenAIChatClient(\"{Claude}\"): the model is served by provider 'anthropic' in the Anthropic format", StringComparison.Ordinal)
            && f.Contains("Register it with AddAnthropicClient or AddChatClient, or keep the relay on.", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith($"AddAnthropicClient(\"{Gpt}\"): the model is served by provider 'openai' in the OpenAI format", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configuration_that_only_turns_the_relay_off_stops_the_start_naming_what_the_client_needs()
    {
        var failure = await StartWithOnlyAsync(new() { ["ModelRelay:Enabled"] = "false" }, Gpt);

        Assert.Equal(
            [$"AddChatClient(\"{Gpt}\") with the relay off (ModelRelay:Enabled=false): the app's client for model '{Gpt}' needs ModelRelay:Models:{Gpt} (with its Provider, or a pattern that matches it) and that provider under ModelRelay:Providers (Kind, BaseUrl, ApiKey) configured to reach the provider directly."],
            failure.Failures);
    }

    [Fact]
    public async Task With_the_relay_off_a_provider_without_its_key_stops_the_start()
    {
        var failure = await StartWithOnlyAsync(
            new()
            {
                ["ModelRelay:Enabled"] = "false",
                ["ModelRelay:Providers:local:Kind"] = "OpenAI",
                ["ModelRelay:Providers:local:BaseUrl"] = "http://127.0.0.1:11434/v1",
                ["ModelRelay:Models:llama:Provider"] = "local",
            },
            "llama");

        Assert.Equal(
            ["AddChatClient(\"llama\") with the relay off (ModelRelay:Enabled=false) calls provider 'local' itself and needs its key: set ModelRelay:Providers:local:ApiKey."],
            failure.Failures);
    }

    [Fact]
    public async Task With_the_relay_bound_to_another_section_the_messages_name_that_section()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Relay:Enabled"] = "false",
            ["Gateway:Relay:Providers:local:Kind"] = "OpenAI",
            ["Gateway:Relay:Providers:local:BaseUrl"] = "http://127.0.0.1:11434/v1",
            ["Gateway:Relay:Models:llama:Provider"] = "local",
        });
        builder.Services.AddModelRelay(builder.Configuration.GetSection("Gateway:Relay")).AddChatClient("llama");
        using var app = builder.Build();

        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());

        Assert.Equal(
            ["AddChatClient(\"llama\") with the relay off (Gateway:Relay:Enabled=false) calls provider 'local' itself and needs its key: set Gateway:Relay:Providers:local:ApiKey."],
            failure.Failures);
    }

    private static async Task<Microsoft.Extensions.Options.OptionsValidationException> StartWithOnlyAsync(Dictionary<string, string?> settings, string model)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear(); // this configuration and nothing else (no appsettings.json from the test output)
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddModelRelay().AddChatClient(model);
        using var app = builder.Build();
        return await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
    }

    [Fact]
    public async Task With_the_relay_on_the_same_registrations_start_without_provider_keys()
    {
        // Through the relay the clients reach any model with the app's relay key: nothing of the above applies.
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Unreachable());
        builder.Services.AddModelRelay().AddOpenAIChatClient(Claude).AddAnthropicClient(Gpt);
        using var app = builder.Build();

        await app.StartAsync();

        Assert.NotNull(app.Services.GetRequiredKeyedService<ChatClient>(Claude));
        await app.StopAsync();
    }
}
