using System.Text.Json;
using Anthropic.Models.Messages;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>The official Anthropic .NET SDK against the relay, with the fake upstream behind it.</summary>
public sealed class AnthropicClientThroughRelayTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_message_reaches_the_provider_under_its_upstream_name_and_comes_back()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").WhenLastUserMessageContains("hi").RespondWithText("hello from claude");
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var message = await client.Messages.Create(Params("claude-code-opus-4.8", "hi there"));

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("hello from claude", text.Text);
        var upstream = Assert.Single(relay.Fake.Requests);
        Assert.Equal("/v1/messages", upstream.Path);
        Assert.Equal("claude-opus-4-8", upstream.Model);
        Assert.Equal("http://fake-upstream/v1/messages", Assert.Single(relay.Recorder.Exchanges).Uri.AbsoluteUri);
    }

    [Fact]
    public async Task A_stream_reaches_the_client_event_by_event()
    {
        await using var relay = FakeRelay.Create();
        var gate = new FakeStreamGate();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("alpha beta gamma delta").HoldAfterEvents(3, gate);
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        await using var events = client.Messages.CreateStreaming(Params("claude-code-opus-4.8", "go")).GetAsyncEnumerator();
        var first = events.MoveNextAsync().AsTask();
        await gate.Reached.WaitAsync(Guard);

        Assert.True(await first.WaitAsync(Guard));
        Assert.True(events.Current.TryPickStart(out _));
        Assert.False(relay.Fake.Requests[0].Completion.IsCompleted);

        gate.Release();
        var text = "";
        while (await events.MoveNextAsync())
        {
            if (events.Current.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var part))
            {
                text += part.Text;
            }
        }

        Assert.Equal("alpha beta gamma delta", text);
    }

    [Fact]
    public async Task A_tool_use_comes_back_with_its_input()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithToolCall("get_weather", """{"city":"Paris"}""");
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        var tool = new Tool
        {
            Name = "get_weather",
            Description = "Weather for a city",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
                Required = ["city"],
            },
        };

        var message = await client.Messages.Create(Params("claude-code-opus-4.8", "weather in Paris?") with { Tools = [tool] });

        var use = Assert.Single(message.Content.Select(c => c.TryPickToolUse(out var u) ? u : null).OfType<ToolUseBlock>());
        Assert.Equal("get_weather", use.Name);
        Assert.Equal("Paris", use.Input["city"].GetString());
        Assert.Equal("get_weather", Assert.Single(relay.Fake.Requests[0].Tools).Name);
    }

    [Fact]
    public async Task Tokens_are_counted_by_the_provider()
    {
        await using var relay = FakeRelay.Create();
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var count = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-code-opus-4.8",
            Messages = [new UserMessageParam("how many tokens is this sentence?")],
        });

        Assert.True(count.InputTokens > 0);
        Assert.Equal("/v1/messages/count_tokens", relay.Fake.Requests[0].Path);
        Assert.Equal("claude-opus-4-8", relay.Fake.Requests[0].Model);
    }

    [Fact]
    public async Task The_model_list_comes_in_anthropics_format()
    {
        await using var relay = FakeRelay.Create();
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var page = await client.Models.List();

        Assert.Equal(["claude-code-opus-4.8", "default", "gpt-5.5", "text-embedding-3-small"], page.Items.Select(m => m.ID));
        Assert.Equal("claude-code-opus-4.8", page.Items[0].DisplayName);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task An_Anthropic_client_whose_host_adds_an_Authorization_header_is_let_in_by_its_x_api_key()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("both headers");
        var http = relay.App.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "corporate-gateway-token");
        var client = new Anthropic.AnthropicClient
        {
            ApiKey = RelaySettings.AliceKey,
            BaseUrl = relay.App.AnthropicEndpoint.AbsoluteUri.TrimEnd('/'),
            HttpClient = http,
            MaxRetries = 0,
        };

        var message = await client.Messages.Create(Params("claude-code-opus-4.8", "hi"));

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("both headers", text.Text);
        Assert.Equal("claude-opus-4-8", Assert.Single(relay.Fake.Requests).Model);
    }

    private static MessageCreateParams Params(string model, string text) => new()
    {
        Model = model,
        MaxTokens = 256,
        Messages = [new UserMessageParam(text)],
    };
}
