using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using NJsonSchema;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

public sealed class MessagesTests
{
    private const string WeatherSchema = """
        {
          "type": "object",
          "properties": {
            "city": { "type": "string", "minLength": 2 },
            "unit": { "type": "string", "enum": ["celsius", "fahrenheit"] },
            "days": { "type": "integer", "minimum": 1, "maximum": 7 },
            "when": { "type": "string", "format": "date" },
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

    private const string TimeSchema = """
        { "type": "object", "properties": { "zone": { "type": "string", "enum": ["UTC", "CET"] } }, "required": ["zone"] }
        """;

    [Fact]
    public async Task Create_returns_the_scripted_text_with_usage_counted_from_it()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().ForModel("claude-*").RespondWithText("Hello from the fake Claude.");
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(AnthropicSdk.Ask("Say hello"));

        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);
        Assert.Equal("claude-sonnet-4-5", message.Model.Raw());
        var text = Assert.Single(message.Content);
        Assert.True(text.TryPickText(out var block));
        Assert.Equal("Hello from the fake Claude.", block.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Null(message.StopSequence);
        Assert.Equal(AnthropicSdk.CountTokens("Hello from the fake Claude."), message.Usage.OutputTokens);
        Assert.Equal(AnthropicSdk.CountTokens("Say hello"), message.Usage.InputTokens);
    }

    [Fact]
    public async Task Create_sends_the_key_and_version_headers_and_the_fake_records_them_redacted()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        using var http = fake.CreateClient();

        await client.Messages.Create(AnthropicSdk.Ask("hi"));
        using var raw = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages",
            """{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(2, fake.Requests.Count);
        var sdk = fake.Requests[0];
        Assert.Equal(FakeEndpoint.AnthropicMessages, sdk.Endpoint);
        Assert.Equal(FakeWireFormat.Anthropic, sdk.WireFormat);
        Assert.Equal(AnthropicSdk.SdkVersion, sdk.Headers["anthropic-version"]);

        // SDK 13.x sends its API key as a bearer token; curl and older SDKs send x-api-key. Both are secrets.
        Assert.Equal("[redacted]", sdk.Headers["Authorization"]);
        Assert.Equal("[redacted]", fake.Requests[1].Headers["x-api-key"]);
        Assert.Equal(AnthropicSdk.Version, fake.Requests[1].Headers["anthropic-version"]);
        Assert.All(fake.Requests, r => Assert.DoesNotContain(r.Headers.Values, v => v.Contains("sk-ant-test-key", StringComparison.Ordinal)));
        Assert.Equal("claude-sonnet-4-5", sdk.Model);
        Assert.Equal(256, sdk.MaxOutputTokens);
        Assert.Equal("hi", sdk.LastUserMessage);
        Assert.Equal(200, sdk.StatusCode);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
    }

    [Fact]
    public async Task Generated_answers_are_deterministic_for_the_same_seed_and_request()
    {
        await using var first = new FakeUpstream(new FakeUpstreamOptions { Seed = 7 });
        await using var second = new FakeUpstream(new FakeUpstreamOptions { Seed = 7 });
        await using var other = new FakeUpstream(new FakeUpstreamOptions { Seed = 8 });

        var a = await AnthropicSdk.Client(first).Messages.Create(AnthropicSdk.Ask("Tell me something"));
        var b = await AnthropicSdk.Client(second).Messages.Create(AnthropicSdk.Ask("Tell me something"));
        var c = await AnthropicSdk.Client(other).Messages.Create(AnthropicSdk.Ask("Tell me something"));

        Assert.Equal(Text(a), Text(b));
        Assert.NotEqual(Text(a), Text(c));
        Assert.False(string.IsNullOrWhiteSpace(Text(a)));
        Assert.Equal(AnthropicSdk.CountTokens(Text(a)), a.Usage.OutputTokens);
    }

    [Fact]
    public async Task Streaming_through_the_sdk_yields_the_text_and_cumulative_usage()
    {
        const string reply = "Streaming works, one token at a time.";
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText(reply);
        var client = AnthropicSdk.Client(fake);

        var types = new List<string>();
        var text = "";
        RawMessageStartEvent? start = null;
        RawMessageDeltaEvent? delta = null;
        await foreach (var e in client.Messages.CreateStreaming(AnthropicSdk.Ask("stream please")))
        {
            e.Validate();
            if (e.TryPickStart(out var s))
            {
                types.Add("message_start");
                start = s;
            }
            else if (e.TryPickContentBlockStart(out _))
            {
                types.Add("content_block_start");
            }
            else if (e.TryPickContentBlockDelta(out var d))
            {
                types.Add("content_block_delta");
                Assert.True(d.Delta.TryPickText(out var t));
                text += t.Text;
            }
            else if (e.TryPickContentBlockStop(out _))
            {
                types.Add("content_block_stop");
            }
            else if (e.TryPickDelta(out var md))
            {
                types.Add("message_delta");
                delta = md;
            }
            else if (e.TryPickStop(out _))
            {
                types.Add("message_stop");
            }
        }

        Assert.Equal(reply, text);
        Assert.Equal("message_start", types[0]);
        Assert.Equal("content_block_start", types[1]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], types[^3..]);
        Assert.True(types.Count(t => t == "content_block_delta") > 1, "text should arrive in several deltas");
        Assert.NotNull(start);
        Assert.Empty(start.Message.Content);
        Assert.Null(start.Message.StopReason);
        Assert.Equal(AnthropicSdk.CountTokens("stream please"), start.Message.Usage.InputTokens);
        Assert.NotNull(delta);
        Assert.Equal(StopReason.EndTurn, delta.Delta.StopReason!.Value());
        Assert.Equal(AnthropicSdk.CountTokens(reply), delta.Usage.OutputTokens);
        Assert.Equal(AnthropicSdk.CountTokens("stream please"), delta.Usage.InputTokens);
    }

    [Fact]
    public async Task Raw_stream_sends_the_events_in_the_official_order()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(new FakeReply
        {
            Text = "Let me check.",
            ToolCalls = [new FakeToolCall("get_weather", """{"city":"Paris","unit":"celsius","days":3}""")],
        });
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(
            AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", """
                {"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"weather?"}]}
                """));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = AnthropicSdk.ParseSse(body);
        var names = events.Select(e => e.Event).ToList();
        Assert.All(events, e => Assert.Equal(e.Event, e.Data.GetProperty("type").GetString()));

        // message_start, then the text block (with the one ping right after its start), then the tool block.
        Assert.Equal(["message_start", "content_block_start", "ping"], names[..3]);
        Assert.Equal(1, names.Count(n => n == "ping"));
        Assert.Equal(["message_delta", "message_stop"], names[^2..]);
        var textDeltas = events.Where(e => e.Event == "content_block_delta" && e.Data.GetProperty("index").GetInt32() == 0).ToList();
        Assert.All(textDeltas, e => Assert.Equal("text_delta", e.Data.GetProperty("delta").GetProperty("type").GetString()));
        Assert.Equal("Let me check.", string.Concat(textDeltas.Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString())));

        var toolStart = events.Single(e => e.Event == "content_block_start" && e.Data.GetProperty("index").GetInt32() == 1);
        var toolBlock = toolStart.Data.GetProperty("content_block");
        Assert.Equal("tool_use", toolBlock.GetProperty("type").GetString());
        Assert.Equal("get_weather", toolBlock.GetProperty("name").GetString());
        Assert.StartsWith("toolu_", toolBlock.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, toolBlock.GetProperty("input").ValueKind);
        var jsonDeltas = events.Where(e => e.Event == "content_block_delta" && e.Data.GetProperty("index").GetInt32() == 1).ToList();
        Assert.True(jsonDeltas.Count > 1, "tool input should arrive in several fragments");
        Assert.All(jsonDeltas, e => Assert.Equal("input_json_delta", e.Data.GetProperty("delta").GetProperty("type").GetString()));
        var json = string.Concat(jsonDeltas.Select(e => e.Data.GetProperty("delta").GetProperty("partial_json").GetString()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"city":"Paris","unit":"celsius","days":3}"""), JsonNode.Parse(json)));

        // Each block: start, deltas, stop, and blocks never interleave.
        for (var index = 0; index < 2; index++)
        {
            var positions = events.Select((e, i) => (e, i))
                .Where(x => x.e.Data.TryGetProperty("index", out var n) && n.GetInt32() == index)
                .Select(x => x.i).ToList();
            Assert.Equal("content_block_start", names[positions[0]]);
            Assert.Equal("content_block_stop", names[positions[^1]]);
            Assert.Equal(positions.Count, positions[^1] - positions[0] + 1 - (index == 0 ? 1 : 0));
        }

        var messageDelta = events.Single(e => e.Event == "message_delta").Data;
        Assert.Equal("tool_use", messageDelta.GetProperty("delta").GetProperty("stop_reason").GetString());
        var usage = messageDelta.GetProperty("usage");
        var expectedOutput = AnthropicSdk.CountTokens("Let me check.") + AnthropicSdk.CountTokens("get_weather")
            + AnthropicSdk.CountTokens("""{"city":"Paris","unit":"celsius","days":3}""");
        Assert.Equal(expectedOutput, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(AnthropicSdk.CountTokens("weather?"), usage.GetProperty("input_tokens").GetInt32());
        var startUsage = events[0].Data.GetProperty("message").GetProperty("usage");
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32(), startUsage.GetProperty("input_tokens").GetInt32());
        Assert.True(startUsage.GetProperty("output_tokens").GetInt32() < expectedOutput);
    }

    [Fact]
    public async Task Quotes_and_non_ascii_text_stream_as_raw_utf8_and_reassemble_exactly()
    {
        const string reply = "Café \"au lait\" – naïve 🌊 日本語 <b>&</b>";
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText(reply);
        using var http = fake.CreateClient();

        var text = "";
        await foreach (var e in AnthropicSdk.Client(fake).Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
        {
            if (e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        using var raw = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        var body = await raw.Content.ReadAsStringAsync();

        Assert.Equal(reply, text);
        Assert.Contains("é", body, StringComparison.Ordinal);
        Assert.Contains("語", body, StringComparison.Ordinal);
        Assert.Contains("\\\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0022", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(FakeFinishReason.Stop, StopReason.EndTurn)]
    [InlineData(FakeFinishReason.Length, StopReason.MaxTokens)]
    [InlineData(FakeFinishReason.StopSequence, StopReason.StopSequence)]
    [InlineData(FakeFinishReason.ToolCalls, StopReason.ToolUse)]
    [InlineData(FakeFinishReason.PauseTurn, StopReason.PauseTurn)]
    [InlineData(FakeFinishReason.ContentFilter, StopReason.Refusal)]
    public async Task Every_stop_reason_reaches_the_sdk_whole_and_streamed(FakeFinishReason finish, StopReason expected)
    {
        await using var fake = new FakeUpstream();
        var reply = finish == FakeFinishReason.ToolCalls
            ? FakeReply.WithToolCalls(new FakeToolCall("get_time", """{"zone":"UTC"}"""))
            : FakeReply.WithText("Partial answer", finish);
        fake.Setup().RespondWith(reply);
        var client = AnthropicSdk.Client(fake);
        var ask = AnthropicSdk.Ask("go") with { StopSequences = ["END"] };

        var message = await client.Messages.Create(ask);
        StopReason? streamed = null;
        string? streamedSequence = null;
        await foreach (var e in client.Messages.CreateStreaming(ask))
        {
            if (e.TryPickDelta(out var delta))
            {
                streamed = delta.Delta.StopReason!.Value();
                streamedSequence = delta.Delta.StopSequence;
            }
        }

        Assert.Equal(expected, message.StopReason!.Value());
        Assert.Equal(expected, streamed);
        var sequence = expected == StopReason.StopSequence ? "END" : null;
        Assert.Equal(sequence, message.StopSequence);
        Assert.Equal(sequence, streamedSequence);
    }

    [Fact]
    public async Task Generated_text_stops_at_max_tokens_with_the_max_tokens_stop_reason()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { GeneratedSentences = 6 });
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(AnthropicSdk.Ask("Write a lot", maxTokens: 5));

        Assert.Equal(StopReason.MaxTokens, message.StopReason!.Value());
        Assert.Equal(5, message.Usage.OutputTokens);
        Assert.Equal(5, AnthropicSdk.CountTokens(Text(message)));
    }

    [Fact]
    public async Task Scripted_tool_use_comes_back_as_tool_use_blocks_whole_and_streamed()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("weather").RespondWithToolCalls(
            new FakeToolCall("get_weather", """{"city":"Oslo","unit":"celsius","days":2,"location":{"lat":59.9,"lon":10.7}}"""),
            new FakeToolCall("get_time", """{"zone":"CET"}""", "toolu_fixed_id"));
        var client = AnthropicSdk.Client(fake);
        var ask = AnthropicSdk.Ask("What is the weather in Oslo?") with { Tools = [Tool("get_weather", WeatherSchema), Tool("get_time", TimeSchema)] };

        var message = await client.Messages.Create(ask);

        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        var calls = message.Content.Select(c => c.TryPickToolUse(out var t) ? t : null).OfType<ToolUseBlock>().ToList();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.StartsWith("toolu_", calls[0].ID, StringComparison.Ordinal);
        Assert.Equal("toolu_fixed_id", calls[1].ID);
        Assert.Equal("Oslo", calls[0].Input["city"].GetString());
        Assert.Equal("CET", calls[1].Input["zone"].GetString());

        var streamed = await StreamToolCallsAsync(client, ask);
        Assert.Equal(["get_weather", "get_time"], streamed.Select(c => c.Name));
        Assert.Equal("toolu_fixed_id", streamed[1].Id);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"city":"Oslo","unit":"celsius","days":2,"location":{"lat":59.9,"lon":10.7}}"""),
            JsonNode.Parse(streamed[0].Json)));
    }

    [Fact]
    public async Task Tool_choice_tool_forces_a_generated_call_of_that_tool_valid_for_its_schema()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        var schema = await JsonSchema.FromJsonAsync(WeatherSchema);
        var ask = AnthropicSdk.Ask("Anything at all") with
        {
            Tools = [Tool("get_time", TimeSchema), Tool("get_weather", WeatherSchema)],
            ToolChoice = new ToolChoiceTool("get_weather"),
        };

        var message = await client.Messages.Create(ask);

        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        var call = Assert.Single(message.Content.Select(c => c.TryPickToolUse(out var t) ? t : null).OfType<ToolUseBlock>());
        Assert.Equal("get_weather", call.Name);
        var input = JsonSerializer.Serialize(call.Input);
        Assert.Empty(schema.Validate(input));

        var streamed = Assert.Single(await StreamToolCallsAsync(client, ask));
        Assert.Equal("get_weather", streamed.Name);
        Assert.Empty(schema.Validate(streamed.Json));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(input), JsonNode.Parse(streamed.Json)), "same seed and request, same arguments");
    }

    [Fact]
    public async Task Tool_choice_any_forces_a_generated_call_of_one_offered_tool_valid_for_its_schema()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        var schemas = new Dictionary<string, JsonSchema>
        {
            ["get_weather"] = await JsonSchema.FromJsonAsync(WeatherSchema),
            ["get_time"] = await JsonSchema.FromJsonAsync(TimeSchema),
        };

        var names = new HashSet<string>();
        foreach (var prompt in new[] { "one", "two", "three", "four", "five", "six" })
        {
            var ask = AnthropicSdk.Ask(prompt) with
            {
                Tools = [Tool("get_weather", WeatherSchema), Tool("get_time", TimeSchema)],
                ToolChoice = new ToolChoiceAny(),
            };
            var message = await client.Messages.Create(ask);
            var call = Assert.Single(message.Content.Select(c => c.TryPickToolUse(out var t) ? t : null).OfType<ToolUseBlock>());
            Assert.Empty(schemas[call.Name].Validate(JsonSerializer.Serialize(call.Input)));
            Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
            names.Add(call.Name);
        }

        Assert.Equal(2, names.Count);
    }

    [Fact]
    public async Task Over_real_http_the_sdk_gets_text_streams_and_tool_calls()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("weather").RespondWithToolCall("get_time", """{"zone":"UTC"}""");
        fake.Setup().RespondWithText("Over the wire.");
        var baseAddress = await fake.StartAsync();
        Assert.Equal("127.0.0.1", baseAddress.Host);
        var client = AnthropicSdk.Client(baseAddress);

        var message = await client.Messages.Create(AnthropicSdk.Ask("hello"));
        var text = "";
        long? outputTokens = null;
        await foreach (var e in client.Messages.CreateStreaming(AnthropicSdk.Ask("hello")))
        {
            if (e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }

            if (e.TryPickDelta(out var md))
            {
                outputTokens = md.Usage.OutputTokens;
            }
        }

        var tools = await client.Messages.Create(AnthropicSdk.Ask("weather?") with { Tools = [Tool("get_time", TimeSchema)] });

        Assert.Equal("Over the wire.", Text(message));
        Assert.Equal("Over the wire.", text);
        Assert.Equal(message.Usage.OutputTokens, outputTokens);
        Assert.True(tools.Content[0].TryPickToolUse(out var call));
        Assert.Equal("get_time", call.Name);
        Assert.All(fake.Requests, r => Assert.Equal(AnthropicSdk.SdkVersion, r.Headers["anthropic-version"]));
        Assert.Equal(3, fake.Requests.Count);
    }

    internal static Tool Tool(string name, string schemaJson) => new()
    {
        Name = name,
        Description = $"The {name} tool.",
        InputSchema = InputSchema.FromRawUnchecked(JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(schemaJson)!),
    };

    internal static string Text(Message message) =>
        string.Concat(message.Content.Select(c => c.TryPickText(out var t) ? t.Text : ""));

    private static async Task<List<(string Id, string Name, string Json)>> StreamToolCallsAsync(global::Anthropic.AnthropicClient client, MessageCreateParams ask)
    {
        var calls = new List<(string Id, string Name, string Json)>();
        StopReason? stop = null;
        await foreach (var e in client.Messages.CreateStreaming(ask))
        {
            if (e.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var tool))
            {
                calls.Add((tool.ID, tool.Name, ""));
            }
            else if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var json))
            {
                calls[^1] = calls[^1] with { Json = calls[^1].Json + json.PartialJson };
            }
            else if (e.TryPickDelta(out var md))
            {
                stop = md.Delta.StopReason!.Value();
            }
        }

        Assert.Equal(StopReason.ToolUse, stop);
        return calls;
    }
}
