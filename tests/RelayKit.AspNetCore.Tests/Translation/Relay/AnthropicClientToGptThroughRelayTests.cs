using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Relay;

/// <summary>The official Anthropic SDK against a GPT model, through the relay's request path, on the fake OpenAI upstream.</summary>
public sealed class AnthropicClientToGptThroughRelayTests
{
    private const string Gpt = "gpt-5.5";

    [Fact]
    public async Task A_message_goes_upstream_as_a_chat_completion_and_comes_back_as_a_message()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel(Gpt).RespondWith(new FakeReply { Text = "Hello from GPT.", CachedInputTokens = 2 });
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = Gpt,
            MaxTokens = 300,
            System = "Be brief.",
            StopSequences = ["STOP"],
            Messages = [new UserMessageParam("Say hello.")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from GPT.", text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(Gpt, message.Model.Raw());
        Assert.Equal(2, message.Usage.CacheReadInputTokens);

        var exchange = Assert.Single(relay.Recorder.Exchanges);
        Assert.Equal("http://fake-upstream/v1/chat/completions", exchange.Uri.AbsoluteUri);
        Assert.Equal("Bearer " + RelaySettings.OpenAiProviderKey, exchange.Headers["Authorization"]);
        var sent = JsonNode.Parse(exchange.Body)!.AsObject();
        Assert.Equal(Gpt, (string?)sent["model"]);
        Assert.Equal("system", (string?)sent["messages"]![0]!["role"]);
        Assert.Equal("Be brief.", (string?)sent["messages"]![0]!["content"]);
        Assert.Equal("Say hello.", (string?)sent["messages"]![1]!["content"]);
        Assert.Equal(300, (int)(sent["max_completion_tokens"] ?? sent["max_tokens"])!);
        Assert.Equal("STOP", (string?)sent["stop"]![0]);
        Snapshot.Match(JToken.Parse(exchange.Body), "Anthropic_message_to_GPT_upstream_request");
        Snapshot.Match(JToken.Parse(JsonSerializer.Serialize(message)), "Anthropic_message_to_GPT_response", o => o.IgnoreField("id"));
    }

    [Fact]
    public async Task A_streamed_tool_use_arrives_as_anthropic_events_and_asks_openai_for_usage()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel(Gpt).RespondWithToolCall("get_weather", """{"city":"Paris"}""");
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

        var json = new StringBuilder();
        string? name = null;
        StopReason? stop = null;
        long outputTokens = 0;
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = Gpt,
            MaxTokens = 256,
            Messages = [new UserMessageParam("Weather in Paris?")],
            Tools = [tool],
            ToolChoice = new ToolChoiceTool { Name = "get_weather" },
        }))
        {
            if (e.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var use))
            {
                name = use.Name;
            }
            else if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var part))
            {
                json.Append(part.PartialJson);
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                stop = messageDelta.Delta.StopReason?.Value();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal("get_weather", name);
        Assert.Equal("Paris", (string?)JsonNode.Parse(json.ToString())!["city"]);
        Assert.Equal(StopReason.ToolUse, stop);
        Assert.True(outputTokens > 0, "usage reaches the Anthropic caller from OpenAI's usage chunk");

        var sent = JsonNode.Parse(Assert.Single(relay.Recorder.Exchanges).Body)!.AsObject();
        Assert.True((bool)sent["stream"]!);
        Assert.True((bool)sent["stream_options"]!["include_usage"]!);
        Assert.Equal("function", (string?)sent["tool_choice"]!["type"]);
        Assert.Equal("get_weather", (string?)sent["tool_choice"]!["function"]!["name"]);
        Assert.Equal("get_weather", (string?)sent["tools"]![0]!["function"]!["name"]);
    }

    [Fact]
    public async Task An_openai_rate_limit_reaches_the_anthropic_client_as_a_rate_limit_error()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel(Gpt).RespondWithError(429, "rate_limit_exceeded", "Slow down");
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(new MessageCreateParams
        {
            Model = Gpt,
            MaxTokens = 10,
            Messages = [new UserMessageParam("hi")],
        }));

        Assert.IsType<AnthropicRateLimitException>(ex);
        Assert.Contains("Slow down", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_openai_quota_error_reaches_the_anthropic_client_as_a_402_billing_error_not_retried(bool metered)
    {
        await using var relay = FakeRelay.Create(s =>
        {
            if (metered)
            {
                s["ModelRelay:Keys:0:Budget"] = "1";
                s["ModelRelay:Models:gpt-5.5:Price:Input"] = "1";
                s["ModelRelay:Models:gpt-5.5:Price:Output"] = "10";
            }
        });
        relay.Fake.Setup().ForModel(Gpt).RespondWithError(429, "insufficient_quota", "You exceeded your current quota.");
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(new MessageCreateParams
        {
            Model = Gpt,
            MaxTokens = 10,
            Messages = [new UserMessageParam("hi")],
        }));

        // The status, not only the body, says billing: the SDK retries a 429 and gives up on a 402 at once.
        Assert.Equal(402, (int)ex.StatusCode);
        Assert.Contains("quota", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Single(relay.Fake.Requests);
    }
}
