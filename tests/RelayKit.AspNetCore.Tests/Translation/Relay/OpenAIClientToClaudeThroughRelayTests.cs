#pragma warning disable OPENAI001 // The Responses client is marked experimental in the OpenAI SDK.
using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using OpenAI.Chat;
using OpenAI.Responses;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Relay;

/// <summary>The official OpenAI SDK against a Claude model, through the relay's request path, on the fake Anthropic upstream.</summary>
public sealed class OpenAIClientToClaudeThroughRelayTests
{
    private const string Claude = "claude-code-opus-4.8";

    [Fact]
    public async Task A_chat_completion_goes_upstream_as_a_message_and_comes_back_as_a_chat_completion()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWith(new FakeReply { Text = "Bonjour, Paris.", CachedInputTokens = 4 });
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(Claude);

        ClientResult<ChatCompletion> result = await chat.CompleteChatAsync(
            [new SystemChatMessage("Answer in French."), new UserChatMessage("Say hello to Paris.")],
            new ChatCompletionOptions { Temperature = 0.5f, TopP = 0.9f, StopSequences = { "END" } });

        var completion = result.Value;
        Assert.Equal("Bonjour, Paris.", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(Claude, completion.Model);
        Assert.Equal(4, completion.Usage.InputTokenDetails.CachedTokenCount);

        var exchange = Assert.Single(relay.Recorder.Exchanges);
        Assert.Equal("http://fake-upstream/v1/messages", exchange.Uri.AbsoluteUri);
        Assert.Equal(RelaySettings.AnthropicProviderKey, exchange.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", exchange.Headers["anthropic-version"]);
        var sent = JsonNode.Parse(exchange.Body)!.AsObject();
        Assert.Equal("claude-opus-4-8", (string?)sent["model"]);
        Assert.Equal("Answer in French.", (string?)sent["system"]);
        Assert.Equal(4096, (int)sent["max_tokens"]!); // the documented default: Anthropic requires max_tokens
        Assert.Equal(0.5, (double)sent["temperature"]!, 3);
        Assert.Equal(0.9, (double)sent["top_p"]!, 3);
        Assert.Equal("END", (string?)sent["stop_sequences"]![0]);
        Assert.Equal("user", (string?)sent["messages"]![0]!["role"]);
        Assert.Single(sent["messages"]!.AsArray());
        Snapshot.Match(JToken.Parse(exchange.Body), "OpenAI_chat_to_Claude_upstream_request");
        Snapshot.Match(JToken.Parse(result.GetRawResponse().Content.ToString()), "OpenAI_chat_to_Claude_response",
            o => o.IgnoreField("id").IgnoreField("created"));
    }

    [Fact]
    public async Task A_streamed_tool_call_arrives_as_chat_chunks_with_usage()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithToolCall("get_weather", """{"city":"Paris","unit":"celsius"}""");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(Claude);
        var tool = ChatTool.CreateFunctionTool("get_weather", "Current weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), MaxOutputTokenCount = 200 };

        var arguments = new StringBuilder();
        string? name = null;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("What is the weather in Paris?")], options))
        {
            updates++;
            foreach (var part in update.ToolCallUpdates)
            {
                name ??= part.FunctionName;
                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("get_weather", name);
        Assert.Equal("Paris", (string?)JsonNode.Parse(arguments.ToString())!["city"]);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.True(updates > 2, "the stream arrives in pieces");
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);

        var sent = JsonNode.Parse(Assert.Single(relay.Recorder.Exchanges).Body)!.AsObject();
        Assert.True((bool)sent["stream"]!);
        Assert.Equal(200, (int)sent["max_tokens"]!);
        Assert.Equal("any", (string?)sent["tool_choice"]!["type"]);
        Assert.Equal("get_weather", (string?)sent["tools"]![0]!["name"]);
        Assert.Equal("object", (string?)sent["tools"]![0]!["input_schema"]!["type"]);
        Assert.Null(sent["stream_options"]);
    }

    [Fact]
    public async Task A_responses_request_goes_to_claude_and_comes_back_as_a_response()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Short answer.");
        var responses = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetResponsesClient();

        ResponseResult response = await responses.CreateResponseAsync(new CreateResponseOptions(Claude, [ResponseItem.CreateUserMessageItem("Tell me about relays.")])
        {
            Instructions = "Be terse.",
            MaxOutputTokenCount = 64,
        });

        Assert.Equal("Short answer.", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        var sent = JsonNode.Parse(Assert.Single(relay.Recorder.Exchanges).Body)!.AsObject();
        Assert.Equal("http://fake-upstream/v1/messages", relay.Recorder.Exchanges[0].Uri.AbsoluteUri);
        Assert.Equal("Be terse.", (string?)sent["system"]);
        Assert.Equal(64, (int)sent["max_tokens"]!);
        Snapshot.Match(JToken.Parse(relay.Recorder.Exchanges[0].Body), "Responses_to_Claude_upstream_request");
    }

    [Fact]
    public async Task A_streamed_responses_tool_call_comes_back_as_response_events()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithToolCall("lookup", """{"q":"relay"}""");
        var responses = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetResponsesClient();
        var tool = ResponseTool.CreateFunctionTool("lookup", BinaryData.FromString("""{"type":"object","properties":{"q":{"type":"string"}}}"""), false, "Search");
        var options = new CreateResponseOptions(Claude, [ResponseItem.CreateUserMessageItem("Look up relay.")]) { Tools = { tool }, StreamingEnabled = true };

        FunctionCallResponseItem? call = null;
        await foreach (var update in responses.CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem done })
            {
                call = done;
            }
        }

        Assert.NotNull(call);
        Assert.Equal("lookup", call.FunctionName);
        Assert.Equal("relay", (string?)JsonNode.Parse(call.FunctionArguments.ToString())!["q"]);
        Assert.True((bool)JsonNode.Parse(relay.Recorder.Exchanges[0].Body)!["stream"]!);
    }

    [Theory]
    [InlineData(null, 4096)]
    [InlineData("1000", 1000)]
    public async Task Without_a_limit_anthropic_gets_the_routes_configured_cap_else_4096(string? configured, int expected)
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:claude-code-opus-4.8:MaxOutputTokens"] = configured);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(Claude);

        await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal(expected, relay.Fake.Requests.Single().MaxOutputTokens);
    }

    [Theory]
    [InlineData("\"n\":3", "n", "n=1")]
    [InlineData("\"stream\":true,\"stream_options\":\"yes\"", "stream_options", "must be an object")]
    [InlineData("\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}", "stream_options.include_usage", "must be a boolean")]
    public async Task An_untranslatable_field_is_a_400_naming_it_and_nothing_goes_upstream(string field, string param, string message)
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Claude}}",{{field}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);

        using var response = await http.SendAsync(request);

        Assert.Equal(400, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal("untranslatable_field", (string?)error["code"]);
        Assert.Contains(message, (string?)error["message"], StringComparison.Ordinal);
        Assert.Empty(relay.Recorder.Exchanges);
    }

    [Fact]
    public async Task An_anthropic_overload_reaches_the_openai_client_as_a_503_in_its_format()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithError(529, "overloaded_error", "Overloaded");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(Claude);

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(503, ex.Status);
        var error = JsonNode.Parse(ex.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("server_error", (string?)error["type"]);
        Assert.Equal("Overloaded", (string?)error["message"]);
    }

    [Fact]
    public async Task The_model_list_shows_models_of_both_formats_to_either_caller()
    {
        await using var relay = FakeRelay.Create();
        var models = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetOpenAIModelClient().GetModelsAsync();

        Assert.Contains(models.Value, m => m.Id == Claude);
        Assert.Contains(models.Value, m => m.Id == "gpt-5.5");
    }
}
