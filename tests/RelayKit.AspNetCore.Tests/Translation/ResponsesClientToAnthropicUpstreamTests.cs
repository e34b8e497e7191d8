#pragma warning disable OPENAI001 // The Responses client is marked experimental in the OpenAI SDK.
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using OpenAI.Responses;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>The official OpenAI SDK's Responses client against a Claude model on the fake Anthropic upstream.</summary>
public sealed class ResponsesClientToAnthropicUpstreamTests : IAsyncDisposable
{
    private readonly FakeUpstream _fake = new();
    private readonly TranslatingRelayHandler _relay;
    private readonly ResponsesClient _client;

    public ResponsesClientToAnthropicUpstreamTests()
    {
        _relay = new TranslatingRelayHandler(_fake, "claude-opus-4-8");
        _client = new ResponsesClient(new ApiKeyCredential("rk-test"), new ResponsesClientOptions
        {
            Endpoint = new Uri("http://relay/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(_relay)),
            RetryPolicy = new ClientRetryPolicy(0),
        });
    }

    public async ValueTask DisposeAsync()
    {
        _relay.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Text_with_instructions_reads_as_a_response()
    {
        _fake.Setup().ForModel("claude-*").RespondWith(new FakeReply { Text = "Short answer.", CachedInputTokens = 3 });

        ResponseResult response = await _client.CreateResponseAsync(new CreateResponseOptions("claude-code-opus-4.8", [ResponseItem.CreateUserMessageItem("Give me a short answer about relays and translation.")])
        {
            Instructions = "Be terse.",
            MaxOutputTokenCount = 64,
        });

        Assert.Equal("Short answer.", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("claude-code-opus-4.8", response.Model);
        Assert.Equal(3, response.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        var received = Assert.Single(_fake.Requests);
        Assert.Equal("Be terse.", received.SystemPrompt);
        Assert.Equal(64, received.MaxOutputTokens);
        Assert.Equal("claude-opus-4-8", received.Model);
    }

    [Fact]
    public async Task Function_call_and_its_output_make_a_tool_loop()
    {
        _fake.Setup().ForModel("claude-*").Times(1).RespondWithToolCall("lookup", """{"q":"relay"}""");
        _fake.Setup().ForModel("claude-*").RespondWithText("Found it.");
        var tool = ResponseTool.CreateFunctionTool("lookup", BinaryData.FromString("""{"type":"object","properties":{"q":{"type":"string"}}}"""), false, "Search");
        var options = new CreateResponseOptions("claude-code-opus-4.8", [ResponseItem.CreateUserMessageItem("Look up relay.")]) { Tools = { tool } };

        ResponseResult first = await _client.CreateResponseAsync(options);

        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal("lookup", call.FunctionName);
        Assert.Equal("relay", JsonNode.Parse(call.FunctionArguments.ToString())!["q"]!.GetValue<string>());

        var next = new CreateResponseOptions("claude-code-opus-4.8",
        [
            ResponseItem.CreateUserMessageItem("Look up relay."),
            ResponseItem.CreateFunctionCallItem(call.CallId, call.FunctionName, call.FunctionArguments),
            ResponseItem.CreateFunctionCallOutputItem(call.CallId, "relay: a device that passes things on"),
        ])
        { Tools = { tool } };
        ResponseResult second = await _client.CreateResponseAsync(next);

        Assert.Equal("Found it.", second.GetOutputText());
        var turns = (JsonArray)_fake.Requests[1].Body!["messages"]!;
        Assert.Equal(["user", "assistant", "user"], turns.Select(t => (string)t!["role"]!));
        Assert.Equal(call.CallId, (string?)turns[1]!["content"]![0]!["id"]);
        Assert.Equal(call.CallId, (string?)turns[2]!["content"]![0]!["tool_use_id"]);
    }

    [Fact]
    public async Task Streamed_text_and_function_call_arrive_as_typed_events()
    {
        _fake.Setup().ForModel("claude-*").RespondWith(new FakeReply
        {
            Text = "Let me check.",
            ToolCalls = [new FakeToolCall("lookup", """{"q":"streams"}""")],
        });

        var text = "";
        var arguments = "";
        ResponseResult? completed = null;
        var kinds = new List<string>();
        await foreach (var update in _client.CreateResponseStreamingAsync(new CreateResponseOptions("claude-code-opus-4.8", [ResponseItem.CreateUserMessageItem("Check streams.")]) { StreamingEnabled = true }))
        {
            kinds.Add(update.GetType().Name);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text += delta.Delta;
                    break;
                case StreamingResponseFunctionCallArgumentsDeltaUpdate args:
                    arguments += args.Delta.ToString();
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }

        Assert.Equal("StreamingResponseCreatedUpdate", kinds[0]);
        Assert.Equal("Let me check.", text);
        Assert.Equal("""{"q":"streams"}""", arguments);
        Assert.NotNull(completed);
        Assert.Equal("Let me check.", completed.GetOutputText());
        var call = Assert.IsType<FunctionCallResponseItem>(completed.OutputItems[1]);
        Assert.Equal("lookup", call.FunctionName);
        Assert.Equal(_relay.LastStreamUsage!.TotalInputTokens, completed.Usage.InputTokenCount);
        Assert.Equal(_relay.LastStreamUsage.OutputTokens, completed.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Previous_response_id_is_refused_with_a_400_naming_it()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => _client.CreateResponseAsync(
            new CreateResponseOptions("claude-code-opus-4.8", [ResponseItem.CreateUserMessageItem("and then?")]) { PreviousResponseId = "resp_123" }));

        Assert.Equal(400, error.Status);
        Assert.Contains("previous_response_id", error.Message, StringComparison.Ordinal);
        Assert.Empty(_fake.Requests);
    }
}
