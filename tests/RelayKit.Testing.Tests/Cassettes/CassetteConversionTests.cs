using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteConversionTests : IAsyncLifetime
{
    private readonly CassetteFolder _folder = new();
    private readonly FakeUpstream _upstream = new();
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _upstream.Setup().WhenLastUserMessageContains("weather").RespondWithToolCall("get_weather", """{"city":"Paris","unit":"celsius"}""");
        _upstream.Setup().RespondWithText("Paris is the capital of France, on the Seine.");
        _address = await _upstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_streamed_openai_recording_answers_a_non_streamed_sdk_call()
    {
        string streamedText = "";
        ChatTokenUsage? streamedUsage = null;
        await using (var recorder = Fake("openai-stream", CassetteRecordMode.Once))
        {
            await foreach (var update in OpenAIChat(recorder).CompleteChatStreamingAsync([new UserChatMessage("What is the capital of France?")]))
            {
                streamedText += string.Concat(update.ContentUpdate.Select(p => p.Text));
                streamedUsage ??= update.Usage;
            }
        }

        Assert.Equal("Paris is the capital of France, on the Seine.", streamedText);
        await using var replayer = Fake("openai-stream", CassetteRecordMode.None);
        ChatCompletion completion = await OpenAIChat(replayer).CompleteChatAsync([new UserChatMessage("What is the capital of France?")]);

        Assert.Equal(streamedText, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.NotNull(streamedUsage);
        Assert.Equal(streamedUsage.OutputTokenCount, completion.Usage.OutputTokenCount);
        Assert.Equal(streamedUsage.InputTokenCount, completion.Usage.InputTokenCount);
        Assert.Equal(1, replayer.Cassette!.ReplayedCount);
    }

    [Fact]
    public async Task A_streamed_tool_call_is_assembled_for_a_non_streamed_request()
    {
        var request = Chat("What is the weather in Paris?", stream: true);
        request["tools"] = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "get_weather", ["parameters"] = new JsonObject { ["type"] = "object" } },
        });
        await using (var recorder = Fake("openai-tool", CassetteRecordMode.Once))
        {
            await SendStreamAsync(recorder.CreateClient(), Post("/v1/chat/completions", request));
        }

        request.Remove("stream");
        request.Remove("stream_options");
        await using var replayer = Fake("openai-tool", CassetteRecordMode.None);
        var answer = await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions", request));

        Assert.Equal(200, answer.Status);
        Assert.Equal("chat.completion", (string?)answer.Body!["object"]);
        var call = answer.Body["choices"]![0]!["message"]!["tool_calls"]![0]!;
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        Assert.Equal("""{"city":"Paris","unit":"celsius"}""", (string?)call["function"]!["arguments"]);
        Assert.StartsWith("call_", (string?)call["id"], StringComparison.Ordinal);
        Assert.Equal("tool_calls", (string?)answer.Body["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task A_non_streamed_anthropic_recording_streams_to_the_sdk()
    {
        var parameters = new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam("What is the capital of France?")],
        };
        Message recorded;
        await using (var recorder = Fake("anthropic-whole", CassetteRecordMode.Once))
        {
            recorded = await AnthropicClientFor(recorder).Messages.Create(parameters);
        }

        Assert.True(recorded.Content[0].TryPickText(out var recordedText));
        await using var replayer = Fake("anthropic-whole", CassetteRecordMode.None);
        var text = "";
        long? outputTokens = null;
        string? id = null;
        await foreach (var streamEvent in AnthropicClientFor(replayer).Messages.CreateStreaming(parameters))
        {
            if (streamEvent.TryPickStart(out var start))
            {
                id = start.Message.ID;
            }

            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var piece))
            {
                text += piece.Text;
            }

            if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal(recordedText!.Text, text);
        Assert.Equal(recorded.ID, id);
        Assert.Equal(recorded.Usage.OutputTokens, outputTokens);
    }

    [Fact]
    public async Task A_whole_anthropic_recording_streams_every_block_whole_and_in_its_order()
    {
        const string question = """{"max_tokens":256,"messages":[{"content":"Plan, then call.","role":"user"}],"model":"claude-sonnet-4-5"}""";
        await File.WriteAllTextAsync(_folder.FileOf("anthropic-blocks"), """
            {"version":1,"interactions":[{"recordedAt":"2026-11-24T00:00:00.000Z",
              "request":{"method":"POST","path":"/v1/messages","headers":{},"body":QUESTION},
              "response":{"status":200,"headersMs":1,"headers":{"content-type":"application/json"},"body":
                {"id":"msg_blocks","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_reason":"tool_use","stop_sequence":null,
                 "usage":{"input_tokens":9,"output_tokens":40},
                 "content":[{"type":"thinking","thinking":"Think first.","signature":"sig=="},{"type":"text","text":"First."},
                            {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},{"type":"text","text":"Second."}]}}}]}
            """.Replace("QUESTION", question, StringComparison.Ordinal));
        await using var replayer = Fake("anthropic-blocks", CassetteRecordMode.None);
        var streamed = (JsonObject)JsonNode.Parse(question)!;
        streamed["stream"] = true;

        var answer = await SendJsonAsync(replayer.CreateClient(), Post("/v1/messages", streamed, ("anthropic-version", "2023-06-01")));

        var data = answer.Text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonNode.Parse(l[6..])!).ToList();
        Assert.Equal(["thinking", "text", "tool_use", "text"],
            data.Where(d => (string?)d["type"] == "content_block_start").Select(d => (string?)d["content_block"]!["type"]));
        string Deltas(int index, string field) => string.Concat(data
            .Where(d => (string?)d["type"] == "content_block_delta" && (int)d["index"]! == index)
            .Select(d => (string?)d["delta"]![field]));
        Assert.Equal(("Think first.", "sig=="), (Deltas(0, "thinking"), Deltas(0, "signature")));
        Assert.Equal(("First.", "Second."), (Deltas(1, "text"), Deltas(3, "text")));
        Assert.Equal("""{"city":"Paris"}""", Deltas(2, "partial_json"));
        var end = data.Single(d => (string?)d["type"] == "message_delta");
        Assert.Equal(("tool_use", 40), ((string?)end["delta"]!["stop_reason"], (int)end["usage"]!["output_tokens"]!));
        Assert.Equal("message_stop", (string?)data[^1]["type"]);

        // The fields the stream adds around the recording are there for the SDK, null as the API sends them.
        var start = data[0]!["message"]!.AsObject();
        Assert.All(["container", "stop_details", "diagnostics"], field => Assert.True(start.ContainsKey(field) && start[field] is null, field));
        Assert.All(["container", "stop_details"], field => Assert.True(end["delta"]!.AsObject().ContainsKey(field), field));
        Assert.True(data.First(d => (string?)d["content_block"]?["type"] == "text")["content_block"]!.AsObject().ContainsKey("citations"));
    }

    [Fact]
    public async Task A_streamed_anthropic_tool_use_is_assembled_for_the_sdk()
    {
        await using (var recorder = Fake("anthropic-tool", CassetteRecordMode.Once))
        {
            var events = await SendStreamAsync(recorder.CreateClient(), Post("/v1/messages", Messages("What is the weather in Paris?", stream: true), ("anthropic-version", "2023-06-01")));
            Assert.Equal("message_stop", events[^1].Event);
        }

        await using var replayer = Fake("anthropic-tool", CassetteRecordMode.None);
        var message = await AnthropicClientFor(replayer).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam("What is the weather in Paris?")],
        });

        var toolUse = message.Content.Select(b => b.TryPickToolUse(out var t) ? t : null).Single(t => t is not null)!;
        Assert.Equal("get_weather", toolUse.Name);
        Assert.Equal("Paris", toolUse.Input["city"].GetString());
        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
    }

    [Fact]
    public async Task A_streamed_responses_recording_answers_with_its_final_response()
    {
        var request = new JsonObject { ["model"] = "gpt-4o-mini", ["input"] = "What is the capital of France?", ["stream"] = true };
        List<SseItem> events;
        await using (var recorder = Fake("responses", CassetteRecordMode.Once))
        {
            events = await SendStreamAsync(recorder.CreateClient(), Post("/v1/responses", request));
        }

        request.Remove("stream");
        await using var replayer = Fake("responses", CassetteRecordMode.None);
        var answer = await SendJsonAsync(replayer.CreateClient(), Post("/v1/responses", request));
        var completed = JsonNode.Parse(events.Single(e => e.Event == "response.completed").Data)!["response"];
        Assert.True(JsonNode.DeepEquals(completed, answer.Body), answer.Text);
        Assert.Equal("completed", (string?)answer.Body?["status"]);
    }

    private FakeUpstream Fake(string name, CassetteRecordMode mode) =>
        new(new FakeUpstreamOptions { Cassette = _folder.Options(name, mode, _address) });

    private static ChatClient OpenAIChat(FakeUpstream fake)
    {
        var http = fake.CreateClient();
        return new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
        });
    }

    private static AnthropicClient AnthropicClientFor(FakeUpstream fake)
    {
        var http = fake.CreateClient();
        return new AnthropicClient { ApiKey = "sk-ant-test", BaseUrl = http.BaseAddress!.ToString().TrimEnd('/'), HttpClient = http, MaxRetries = 0 };
    }
}
