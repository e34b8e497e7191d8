using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>The official OpenAI SDK against a Claude model on the fake Anthropic upstream, through the translators.</summary>
public sealed class OpenAIClientToAnthropicUpstreamTests : IAsyncDisposable
{
    private readonly FakeUpstream _fake = new();
    private readonly TranslatingRelayHandler _relay;
    private readonly ChatClient _client;

    public OpenAIClientToAnthropicUpstreamTests()
    {
        _relay = new TranslatingRelayHandler(_fake, "claude-opus-4-8");
        _client = new ChatClient("claude-code-opus-4.8", new ApiKeyCredential("rk-test"), new OpenAIClientOptions
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
    public async Task Text_answer_with_cached_usage_reads_as_a_chat_completion()
    {
        _fake.Setup().ForModel("claude-*").RespondWith(new FakeReply { Text = "Bonjour, Paris.", CachedInputTokens = 4, CacheCreationInputTokens = 2 });

        ChatCompletion completion = await _client.CompleteChatAsync(
            [new SystemChatMessage("Answer in French."), new UserChatMessage("Say hello to Paris, the capital of France, in a short and friendly sentence.")],
            new ChatCompletionOptions { Temperature = 0.2f, MaxOutputTokenCount = 300, StopSequences = { "END" } });

        Assert.Equal("Bonjour, Paris.", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("claude-code-opus-4.8", completion.Model);
        var received = Assert.Single(_fake.Requests);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("claude-opus-4-8", received.Model);
        Assert.Equal("Answer in French.", received.SystemPrompt);
        Assert.Equal(300, received.MaxOutputTokens);
        Assert.Equal(0.2, (double)received.Body!["temperature"]!, 3);
        Assert.Equal("END", (string?)received.Body["stop_sequences"]![0]);

        // Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes them.
        var upstreamUsage = await UpstreamUsageAsync("Say hello to Paris");
        Assert.Equal(4, upstreamUsage.CacheRead);
        Assert.Equal(2, upstreamUsage.CacheWrite);
        Assert.True(upstreamUsage.Input > 0);
        Assert.Equal(upstreamUsage.Input + 4 + 2, completion.Usage.InputTokenCount);
        Assert.Equal(4, completion.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(upstreamUsage.Output, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Tool_call_loop_round_trips_ids_names_and_arguments()
    {
        _fake.Setup().ForModel("claude-*").WhenLastUserMessageContains("weather").Times(1)
            .RespondWithToolCall("get_weather", """{"city":"Paris","unit":"celsius"}""");
        _fake.Setup().ForModel("claude-*").RespondWithText("It is 21 degrees in Paris.");
        var tool = ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), AllowParallelToolCalls = false };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];

        ChatCompletion first = await _client.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonNode.Parse(call.FunctionArguments.ToString())!["city"]!.GetValue<string>());
        var sent = _fake.Requests[0].Body!;
        Assert.Equal("get_weather", (string?)sent["tools"]![0]!["name"]);
        Assert.Equal("object", (string?)sent["tools"]![0]!["input_schema"]!["type"]);
        Assert.Equal("any", (string?)sent["tool_choice"]!["type"]);
        Assert.True((bool)sent["tool_choice"]!["disable_parallel_tool_use"]!);

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"temperature":21}"""));
        options.ToolChoice = ChatToolChoice.CreateAutoChoice();
        ChatCompletion second = await _client.CompleteChatAsync(messages, options);

        Assert.Equal("It is 21 degrees in Paris.", second.Content[0].Text);
        var turns = (JsonArray)_fake.Requests[1].Body!["messages"]!;
        Assert.Equal(3, turns.Count);
        Assert.Equal("tool_use", (string?)turns[1]!["content"]![0]!["type"]);
        Assert.Equal(call.Id, (string?)turns[1]!["content"]![0]!["id"]);
        Assert.Equal("user", (string?)turns[2]!["role"]);
        Assert.Equal("tool_result", (string?)turns[2]!["content"]![0]!["type"]);
        Assert.Equal(call.Id, (string?)turns[2]!["content"]![0]!["tool_use_id"]);
        Assert.Equal("""{"temperature":21}""", (string?)turns[2]!["content"]![0]!["content"]);
    }

    [Fact]
    public async Task Streamed_text_arrives_as_chunks_with_usage()
    {
        _fake.Setup().ForModel("claude-*").RespondWith(new FakeReply { Text = "One two three four.", CachedInputTokens = 4 });

        var text = "";
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in _client.CompleteChatStreamingAsync([new UserChatMessage("Count to four.")]))
        {
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("One two three four.", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        var sent = _fake.Requests[0];
        Assert.True(sent.IsStreaming);
        Assert.Equal(_relay.LastStreamUsage!.TotalInputTokens, usage.InputTokenCount);
        Assert.Equal(4, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(_relay.LastStreamUsage.OutputTokens, usage.OutputTokenCount);
        Assert.True(usage.OutputTokenCount > 1);
    }

    [Fact]
    public async Task Streamed_tool_call_fragments_reassemble_in_the_sdk()
    {
        _fake.Setup().ForModel("claude-*").RespondWithToolCalls(
            new FakeToolCall("get_weather", """{"city":"Paris","days":3}"""),
            new FakeToolCall("get_time", """{"zone":"Europe/Paris"}"""));
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}""")),
                ChatTool.CreateFunctionTool("get_time", "Time", BinaryData.FromString("""{"type":"object","properties":{"zone":{"type":"string"}}}""")),
            },
        };

        var names = new Dictionary<int, string>();
        var ids = new Dictionary<int, string>();
        var arguments = new Dictionary<int, string>();
        ChatFinishReason? finish = null;
        await foreach (var update in _client.CompleteChatStreamingAsync([new UserChatMessage("Weather and time in Paris?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.FunctionName is not null)
                {
                    names[call.Index] = call.FunctionName;
                }

                if (call.ToolCallId is not null)
                {
                    ids[call.Index] = call.ToolCallId;
                }

                arguments[call.Index] = arguments.GetValueOrDefault(call.Index, "") + call.FunctionArgumentsUpdate?.ToString();
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("get_weather", names[0]);
        Assert.Equal("get_time", names[1]);
        Assert.StartsWith("toolu_", ids[0]);
        Assert.Equal("""{"city":"Paris","days":3}""", arguments[0]);
        Assert.Equal("""{"zone":"Europe/Paris"}""", arguments[1]);
    }

    [Fact]
    public async Task Upstream_overload_reaches_the_sdk_as_503()
    {
        _fake.Setup().ForModel("claude-*").RespondWithError(529, "overloaded_error", "Overloaded");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => _client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(503, error.Status);
        Assert.Contains("Overloaded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Untranslatable_request_is_a_400_naming_the_field_and_never_reaches_the_upstream()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => _client.CompleteChatAsync(
            [new UserChatMessage("hi")], new ChatCompletionOptions { IncludeLogProbabilities = true }));

        Assert.Equal(400, error.Status);
        Assert.Contains("logprobs", error.Message, StringComparison.Ordinal);
        Assert.Empty(_fake.Requests);
    }

    // The same prompt sent straight to the fake's Anthropic endpoint gives the untranslated usage to compare with.
    private async Task<(long Input, long CacheRead, long CacheWrite, long Output)> UpstreamUsageAsync(string prompt)
    {
        using var http = _fake.CreateClient();
        var body = _relay.LastUpstreamBody!.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request);
        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        Assert.Contains(prompt, body, StringComparison.Ordinal);
        return ((long)usage["input_tokens"]!, (long)usage["cache_read_input_tokens"]!, (long)usage["cache_creation_input_tokens"]!, (long)usage["output_tokens"]!);
    }
}
