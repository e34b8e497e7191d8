using System.Text.Json.Nodes;
using NJsonSchema;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary><c>POST /v1/chat/completions</c> through the official OpenAI SDK.</summary>
public sealed class ChatCompletionsTests
{
    internal const string WeatherSchema = """
        {
          "type": "object",
          "properties": {
            "city": { "type": "string", "minLength": 3 },
            "unit": { "type": "string", "enum": ["celsius", "fahrenheit"] },
            "days": { "type": "integer", "minimum": 1, "maximum": 7 },
            "when": { "type": "string", "format": "date-time" },
            "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 3 },
            "location": {
              "type": "object",
              "properties": {
                "lat": { "type": "number", "minimum": -90, "maximum": 90 },
                "lon": { "type": "number", "minimum": -180, "maximum": 180 }
              },
              "required": ["lat", "lon"],
              "additionalProperties": false
            }
          },
          "required": ["city", "unit", "days", "location"],
          "additionalProperties": false
        }
        """;

    internal const string TimeSchema = """
        { "type": "object", "properties": { "zone": { "type": "string", "enum": ["UTC", "CET"] } }, "required": ["zone"], "additionalProperties": false }
        """;

    [Fact]
    public async Task Completes_with_the_scripted_text_and_usage_counted_from_it()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().ForModel("gpt-*").RespondWithText("The capital of France is Paris.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        ChatCompletion completion = await chat.CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("What is the capital of France?")]);

        Assert.Equal("The capital of France is Paris.", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal("gpt-4o", completion.Model);
        Assert.Equal(O200k.Count("The capital of France is Paris."), completion.Usage.OutputTokenCount);
        Assert.Equal(O200k.Count("Be brief.\nWhat is the capital of France?"), completion.Usage.InputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Streams_chunks_with_one_id_and_created_and_a_final_usage_update()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        const string Text = "Streaming works one token at a time, and the usage arrives last.";
        fake.Setup().RespondWithText(Text);
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("stream please")]))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count > 5, $"expected one chunk per token, got {updates.Count}");
        Assert.Single(updates.Select(u => u.CompletionId).Distinct());
        Assert.StartsWith("chatcmpl-", updates[0].CompletionId, StringComparison.Ordinal);
        Assert.Single(updates.Select(u => u.CreatedAt).Distinct());
        Assert.Equal(clock.GetUtcNow(), updates[0].CreatedAt);
        Assert.Equal(ChatMessageRole.Assistant, updates[0].Role);
        Assert.Equal(Text, string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(ChatFinishReason.Stop, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);

        var usage = Assert.Single(updates, u => u.Usage is not null);
        Assert.Same(updates[^1], usage);
        Assert.Equal(O200k.Count(Text), usage.Usage.OutputTokenCount);
        Assert.Equal(O200k.Count("stream please"), usage.Usage.InputTokenCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Raw_stream_ends_with_DONE_and_has_a_usage_chunk_only_when_include_usage_is_set(bool includeUsage)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Two words.");
        var body = $$"""
            {"model":"gpt-4o","stream":true,"stream_options":{"include_usage":{{(includeUsage ? "true" : "false")}}},
             "messages":[{"role":"user","content":"hello"}]}
            """;

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions", body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        var data = OpenAITestClients.SseData(text);
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data.SkipLast(1).Select(d => JsonNode.Parse(d)!.AsObject()).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string)c["object"]!));
        Assert.Single(chunks.Select(c => (string)c["id"]!).Distinct());
        Assert.Single(chunks.Select(c => (long)c["created"]!).Distinct());

        var usageChunks = chunks.Where(c => c["usage"] is JsonObject).ToList();
        if (includeUsage)
        {
            var usage = Assert.Single(usageChunks);
            Assert.Same(chunks[^1], usage);
            Assert.Empty(usage["choices"]!.AsArray());
            Assert.Equal(O200k.Count("Two words."), (int)usage["usage"]!["completion_tokens"]!);

            // With include_usage every other chunk carries "usage": null, as OpenAI sends it.
            Assert.All(chunks.SkipLast(1), c => Assert.True(c.ContainsKey("usage") && c["usage"] is null));
        }
        else
        {
            Assert.Empty(usageChunks);
            Assert.All(chunks, c => Assert.Single(c["choices"]!.AsArray()));
            Assert.Equal("stop", (string)chunks[^1]["choices"]![0]!["finish_reason"]!);
        }
    }

    [Fact]
    public async Task Returns_scripted_tool_calls_complete()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("weather").RespondWithToolCalls(
            new FakeToolCall("get_weather", """{"city":"Paris"}"""),
            new FakeToolCall("get_time", """{"zone":"CET"}""", "call_fixed"));
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("What's the weather and time in Paris?")], WithTools());

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal(2, completion.ToolCalls.Count);
        Assert.Equal("get_weather", completion.ToolCalls[0].FunctionName);
        Assert.StartsWith("call_", completion.ToolCalls[0].Id, StringComparison.Ordinal);
        Assert.Equal("""{"city":"Paris"}""", completion.ToolCalls[0].FunctionArguments.ToString());
        Assert.Equal("get_time", completion.ToolCalls[1].FunctionName);
        Assert.Equal("call_fixed", completion.ToolCalls[1].Id);
        Assert.NotEqual(completion.ToolCalls[0].Id, completion.ToolCalls[1].Id);
    }

    [Fact]
    public async Task Streams_tool_calls_as_indexed_deltas_with_id_name_and_argument_fragments()
    {
        await using var fake = new FakeUpstream();
        const string WeatherArguments = """{"city":"Paris","unit":"celsius","days":3}""";
        fake.Setup().RespondWithToolCalls(
            new FakeToolCall("get_weather", WeatherArguments),
            new FakeToolCall("get_time", """{"zone":"CET"}"""));
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var toolUpdates = new List<StreamingChatToolCallUpdate>();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("weather?")], WithTools()))
        {
            toolUpdates.AddRange(update.ToolCallUpdates);
            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal([0, 1], toolUpdates.Select(u => u.Index).Distinct());
        foreach (var (index, name, arguments) in new[] { (0, "get_weather", WeatherArguments), (1, "get_time", """{"zone":"CET"}""") })
        {
            var updates = toolUpdates.Where(u => u.Index == index).ToList();
            Assert.StartsWith("call_", updates[0].ToolCallId, StringComparison.Ordinal);
            Assert.Equal(name, updates[0].FunctionName);
            Assert.All(updates.Skip(1), u => Assert.Null(u.ToolCallId));
            Assert.True(updates.Count(u => u.FunctionArgumentsUpdate?.ToString().Length > 0) > 1, "arguments should arrive in several fragments");
            Assert.Equal(arguments, string.Concat(updates.Select(u => u.FunctionArgumentsUpdate?.ToString())));
        }
    }

    [Fact]
    public async Task A_tool_choice_naming_a_function_gets_generated_arguments_valid_for_its_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(WeatherSchema);
        for (var seed = 1; seed <= 12; seed++)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
            var options = WithTools();
            options.ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather");

            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage($"anything {seed}")], options);

            var call = Assert.Single(completion.ToolCalls);
            Assert.Equal("get_weather", call.FunctionName);
            Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
            var errors = schema.Validate(call.FunctionArguments.ToString());
            Assert.True(errors.Count == 0, $"seed {seed}: {call.FunctionArguments} → {string.Join("; ", errors)}");
        }
    }

    [Fact]
    public async Task A_required_tool_choice_streams_a_generated_call_of_one_offered_tool_valid_for_its_schema()
    {
        var schemas = new Dictionary<string, JsonSchema>
        {
            ["get_weather"] = await JsonSchema.FromJsonAsync(WeatherSchema),
            ["get_time"] = await JsonSchema.FromJsonAsync(TimeSchema),
        };
        var seen = new HashSet<string>();
        for (var seed = 1; seed <= 10; seed++)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
            var options = WithTools();
            options.ToolChoice = ChatToolChoice.CreateRequiredChoice();

            string? name = null;
            var arguments = "";
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("go")], options))
            {
                foreach (var tool in update.ToolCallUpdates)
                {
                    name ??= tool.FunctionName;
                    arguments += tool.FunctionArgumentsUpdate?.ToString();
                }
            }

            Assert.NotNull(name);
            seen.Add(name);
            var errors = schemas[name].Validate(arguments);
            Assert.True(errors.Count == 0, $"seed {seed}: {name}({arguments}) → {string.Join("; ", errors)}");
        }

        Assert.Equal(2, seen.Count);
    }

    [Theory]
    [InlineData(FakeFinishReason.Stop, "stop")]
    [InlineData(FakeFinishReason.Length, "length")]
    [InlineData(FakeFinishReason.ContentFilter, "content_filter")]
    [InlineData(FakeFinishReason.StopSequence, "stop")]
    [InlineData(FakeFinishReason.PauseTurn, "stop")]
    [InlineData(FakeFinishReason.FunctionCall, "function_call")]
    [InlineData(FakeFinishReason.ToolCalls, "tool_calls")]
    public async Task Renders_every_finish_reason_whole_and_streamed(FakeFinishReason reason, string wire)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(reason == FakeFinishReason.ToolCalls
            ? FakeReply.WithToolCalls(new FakeToolCall("get_time", """{"zone":"UTC"}"""))
            : FakeReply.WithText("Some text.", reason));
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var expected = wire switch
        {
            "length" => ChatFinishReason.Length,
            "content_filter" => ChatFinishReason.ContentFilter,
            "function_call" => ChatFinishReason.FunctionCall,
            "tool_calls" => ChatFinishReason.ToolCalls,
            _ => ChatFinishReason.Stop,
        };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        ChatFinishReason? streamed = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            streamed ??= update.FinishReason;
        }

        Assert.Equal(expected, completion.FinishReason);
        Assert.Equal(expected, streamed);
        using var raw = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var json = JsonNode.Parse(await raw.Content.ReadAsStringAsync())!;
        Assert.Equal(wire, (string)json["choices"]![0]!["finish_reason"]!);
    }

    internal static ChatCompletionOptions WithTools()
    {
        var options = new ChatCompletionOptions();
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString(WeatherSchema)));
        options.Tools.Add(ChatTool.CreateFunctionTool("get_time", "Time in a zone", BinaryData.FromString(TimeSchema)));
        return options;
    }
}
