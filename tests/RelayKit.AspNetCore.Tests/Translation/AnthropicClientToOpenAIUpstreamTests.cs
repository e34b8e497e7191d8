using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>The official Anthropic SDK against a GPT model on the fake OpenAI upstream, through the translators.</summary>
public sealed class AnthropicClientToOpenAIUpstreamTests : IAsyncDisposable
{
    private readonly FakeUpstream _fake = new();
    private readonly TranslatingRelayHandler _relay;
    private readonly AnthropicClient _client;

    public AnthropicClientToOpenAIUpstreamTests()
    {
        _relay = new TranslatingRelayHandler(_fake, "gpt-5.5-2026-01-01");
        _client = new AnthropicClient
        {
            ApiKey = "rk-test",
            BaseUrl = "http://relay",
            HttpClient = new HttpClient(_relay),
            MaxRetries = 0,
            ResponseValidation = true,
        };
    }

    public async ValueTask DisposeAsync()
    {
        _relay.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Text_answer_with_cached_usage_reads_as_an_anthropic_message()
    {
        _fake.Setup().ForModel("gpt-*").RespondWith(new FakeReply { Text = "Hello from GPT.", CachedInputTokens = 5 });

        var message = await _client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt-5.5",
            MaxTokens = 200,
            System = "Be brief.",
            Messages = [new UserMessageParam("Say hello to the relay and to everyone reading this test.")],
            StopSequences = ["STOP"],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from GPT.", text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal("gpt-5.5", message.Model.Raw());
        var received = Assert.Single(_fake.Requests);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("gpt-5.5-2026-01-01", received.Model);
        Assert.Equal("Be brief.", received.SystemPrompt);
        Assert.Equal(200, (int)received.Body!["max_completion_tokens"]!);
        Assert.Equal("STOP", (string?)received.Body["stop"]![0]);

        // OpenAI's prompt_tokens includes cached tokens; Anthropic's input_tokens leaves them out.
        var prompt = await UpstreamPromptTokensAsync();
        Assert.Equal(5, message.Usage.CacheReadInputTokens);
        Assert.Equal(prompt - 5, message.Usage.InputTokens);
        Assert.Equal(0, message.Usage.CacheCreationInputTokens);
    }

    [Fact]
    public async Task Tool_loop_sends_tool_results_as_tool_messages_and_reads_tool_use_blocks()
    {
        _fake.Setup().ForModel("gpt-*").Times(1).RespondWithToolCall("get_weather", """{"city":"Oslo"}""");
        _fake.Setup().ForModel("gpt-*").RespondWithText("Cold in Oslo.");
        var tool = new Tool
        {
            Name = "get_weather",
            Description = "Weather now",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
                Required = ["city"],
            },
        };
        var first = await _client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt-5.5",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Weather in Oslo?")],
            Tools = [tool],
            ToolChoice = new ToolChoiceTool { Name = "get_weather", DisableParallelToolUse = true },
        });

        Assert.Equal(StopReason.ToolUse, first.StopReason!.Value());
        Assert.True(first.Content.Single().TryPickToolUse(out var use));
        Assert.Equal("get_weather", use.Name);
        Assert.Equal("Oslo", use.Input["city"].GetString());
        var sent = _fake.Requests[0].Body!;
        Assert.Equal("function", (string?)sent["tools"]![0]!["type"]);
        Assert.Equal("get_weather", (string?)sent["tools"]![0]!["function"]!["name"]);
        Assert.Equal("get_weather", (string?)sent["tool_choice"]!["function"]!["name"]);
        Assert.False((bool)sent["parallel_tool_calls"]!);

        var second = await _client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt-5.5",
            MaxTokens = 100,
            Messages =
            [
                new UserMessageParam("Weather in Oslo?"),
                new AssistantMessageParam(new List<ContentBlockParam> { new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } }),
                new UserMessageParam(new List<ContentBlockParam>
                {
                    new ToolResultBlockParam(use.ID) { Content = "-3 C" },
                    new TextBlockParam("Answer in three words."),
                }),
            ],
            Tools = [tool],
        });

        Assert.True(second.Content.Single().TryPickText(out var answer));
        Assert.Equal("Cold in Oslo.", answer.Text);
        var messages = (JsonArray)_fake.Requests[1].Body!["messages"]!;
        Assert.Equal(["user", "assistant", "tool", "user"], messages.Select(m => (string)m!["role"]!));
        Assert.Equal(use.ID, (string?)messages[1]!["tool_calls"]![0]!["id"]);
        Assert.Equal(use.ID, (string?)messages[2]!["tool_call_id"]);
        Assert.Equal("-3 C", (string?)messages[2]!["content"]);
        Assert.Equal("Answer in three words.", (string?)messages[3]!["content"]);
    }

    [Fact]
    public async Task Streamed_text_and_tool_call_arrive_as_anthropic_events_with_real_usage()
    {
        _fake.Setup().ForModel("gpt-*").RespondWith(new FakeReply
        {
            Text = "Checking the weather.",
            ToolCalls = [new FakeToolCall("get_weather", """{"city":"Lima","days":2}""")],
            CachedInputTokens = 2,
        });

        var types = new List<string>();
        var text = "";
        var json = "";
        string? toolName = null;
        MessageDeltaUsage? usage = null;
        StopReason? stop = null;
        await foreach (var streamEvent in _client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "gpt-5.5",
            MaxTokens = 100,
            Messages = [new UserMessageParam("Weather in Lima for two days?")],
        }))
        {
            types.Add(streamEvent.Json.GetProperty("type").GetString()!);
            if (streamEvent.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var use))
            {
                toolName = use.Name;
            }

            if (streamEvent.TryPickContentBlockDelta(out var delta))
            {
                if (delta.Delta.TryPickText(out var t))
                {
                    text += t.Text;
                }

                if (delta.Delta.TryPickInputJson(out var j))
                {
                    json += j.PartialJson;
                }
            }

            if (streamEvent.TryPickDelta(out var messageDelta))
            {
                usage = messageDelta.Usage;
                stop = messageDelta.Delta.StopReason?.Value();
            }
        }

        Assert.True(_fake.Requests[0].IncludeUsage, "the upstream stream must be asked for usage");
        Assert.Equal("Checking the weather.", text);
        Assert.Equal("get_weather", toolName);
        Assert.Equal("""{"city":"Lima","days":2}""", json);
        Assert.Equal(StopReason.ToolUse, stop);
        Assert.Equal("message_start", types[0]);
        Assert.Equal("content_block_start", types[1]);
        Assert.DoesNotContain("error", types);
        Assert.Equal(["message_delta", "message_stop"], types[^2..]);
        Assert.NotNull(usage);
        Assert.Equal(_relay.LastStreamUsage!.OutputTokens, usage.OutputTokens);
        Assert.Equal(2, usage.CacheReadInputTokens);
        Assert.Equal(_relay.LastStreamUsage.InputTokens, usage.InputTokens);
        Assert.Equal(_relay.LastStreamUsage.TotalInputTokens - 2, usage.InputTokens);
        Assert.True(usage.OutputTokens > 0);
    }

    [Fact]
    public async Task Upstream_quota_error_reaches_the_sdk_as_a_billing_error()
    {
        _fake.Setup().ForModel("gpt-*").WithFault(FakeFault.Error(429, "insufficient_quota", "You exceeded your current quota."));

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => _client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt-5.5",
            MaxTokens = 10,
            Messages = [new UserMessageParam("hi")],
        }));

        Assert.Equal(402, (int)error.StatusCode);
        Assert.Contains("quota", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<long> UpstreamPromptTokensAsync()
    {
        using var http = _fake.CreateClient();
        using var response = await http.PostAsync("v1/chat/completions", new StringContent(_relay.LastUpstreamBody!.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        return (long)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!["prompt_tokens"]!;
    }
}
