using System.ClientModel;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NJsonSchema;
using OpenAI.Chat;
using OpenAI.Responses;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>
/// Structured outputs on the OpenAI routes: Chat Completions <c>response_format</c> (<c>json_schema</c>, <c>json_object</c>)
/// and Responses <c>text.format</c>, through the SDK's structured-output options (Microsoft.Extensions.AI's
/// <c>GetResponseAsync&lt;T&gt;</c>: <see cref="StructuredOutputChatClientTests"/>).
/// </summary>
public sealed class StructuredOutputTests
{
    // Optional properties (note, tags) and a nested object: a non-strict answer may leave the optional ones out.
    private const string PlanSchema = """
        {
          "type": "object",
          "properties": {
            "title": { "type": "string", "minLength": 4 },
            "steps": { "type": "array", "items": { "type": "string" }, "minItems": 2, "maxItems": 4 },
            "priority": { "type": "string", "enum": ["low", "high"] },
            "estimate": { "type": "object", "properties": { "hours": { "type": "integer", "minimum": 1, "maximum": 40 } }, "required": ["hours"], "additionalProperties": false },
            "note": { "type": "string" },
            "tags": { "type": "array", "items": { "type": "string" } }
          },
          "required": ["title", "steps", "priority", "estimate"],
          "additionalProperties": false
        }
        """;

    // The strict form: every property required, the optional one (note) nullable instead, as OpenAI's strict mode demands.
    private const string StrictPlanSchema = """
        {
          "type": "object",
          "properties": {
            "title": { "type": "string", "minLength": 4 },
            "steps": { "type": "array", "items": { "type": "string" }, "minItems": 2, "maxItems": 4 },
            "priority": { "type": "string", "enum": ["low", "high"] },
            "estimate": { "type": "object", "properties": { "hours": { "type": "integer", "minimum": 1, "maximum": 40 } }, "required": ["hours"], "additionalProperties": false },
            "note": { "type": ["string", "null"] }
          },
          "required": ["title", "steps", "priority", "estimate", "note"],
          "additionalProperties": false
        }
        """;

    public sealed record CityFacts(string City, string Country, int Population, bool IsCapital);

    [Fact]
    public async Task A_json_schema_response_format_gets_a_generated_value_valid_for_the_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(ChatCompletionsTests.WeatherSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 11 });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather", BinaryData.FromString(ChatCompletionsTests.WeatherSchema)),
        };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Weather as JSON")], options);

        var text = Assert.Single(completion.Content).Text;
        Assert.Empty(schema.Validate(text));
        using var parsed = JsonDocument.Parse(text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(O200k.Count(text), completion.Usage.OutputTokenCount);
        Assert.NotNull(fake.Requests[0].OutputSchema);
        Assert.False(fake.Requests[0].IsOutputSchemaStrict);
    }

    [Fact]
    public async Task A_strict_schema_gets_every_property_and_a_non_strict_one_may_leave_optional_ones_out()
    {
        var strictSchema = await JsonSchema.FromJsonAsync(StrictPlanSchema);
        var looseSchema = await JsonSchema.FromJsonAsync(PlanSchema);
        var looseMissing = 0;
        for (var seed = 1; seed <= 12; seed++)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
            ChatCompletion strict = await chat.CompleteChatAsync([new UserChatMessage($"Plan {seed}")], new ChatCompletionOptions
            {
                ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("plan", BinaryData.FromString(StrictPlanSchema), jsonSchemaIsStrict: true),
            });
            ChatCompletion loose = await chat.CompleteChatAsync([new UserChatMessage($"Plan {seed}")], new ChatCompletionOptions
            {
                ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("plan", BinaryData.FromString(PlanSchema), jsonSchemaIsStrict: false),
            });

            Assert.Empty(strictSchema.Validate(strict.Content[0].Text));
            Assert.Equal(["title", "steps", "priority", "estimate", "note"], JsonNode.Parse(strict.Content[0].Text)!.AsObject().Select(p => p.Key));
            Assert.Empty(looseSchema.Validate(loose.Content[0].Text));
            looseMissing += JsonNode.Parse(loose.Content[0].Text)!.AsObject().Count < 6 ? 1 : 0;
        }

        Assert.True(looseMissing > 0, "over 12 seeds a non-strict answer should leave out an optional property at least once");
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"],"additionalProperties":false}""", "In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'b'.")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"required":["a"],"additionalProperties":false}""", "In context=('properties', 'a'), 'additionalProperties' is required to be supplied and to be false.")]
    [InlineData("""{"type":"array","items":{"type":"string"}}""", "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"array\"'.")]
    public async Task A_strict_schema_the_api_refuses_is_a_400_that_says_why(string schema, string reason)
    {
        await using var fake = new FakeUpstream();
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("shape", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };

        var error = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], options));

        Assert.Equal(400, error.Status);
        var body = JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("Invalid schema for response_format 'shape': " + reason, body["message"]!.GetValue<string>());
        Assert.Equal("response_format", body["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Structured_output_streams_as_content_deltas_that_join_into_the_value()
    {
        var schema = await JsonSchema.FromJsonAsync(StrictPlanSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 3 });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("plan", BinaryData.FromString(StrictPlanSchema), jsonSchemaIsStrict: true),
        };

        var pieces = new List<string>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Plan it")], options))
        {
            pieces.AddRange(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.True(pieces.Count > 5, $"the JSON should arrive token by token, got {pieces.Count} pieces");
        var streamed = string.Concat(pieces);
        Assert.Empty(schema.Validate(streamed));

        // The same request answered whole gives the same value: generation depends on the seed and request only.
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("Plan it")], options);
        Assert.Equal(streamed, whole.Content[0].Text);
    }

    [Fact]
    public async Task The_generated_value_is_the_same_for_the_same_seed_and_differs_for_another()
    {
        async Task<string> AskAsync(int seed)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var options = new ChatCompletionOptions
            {
                ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather", BinaryData.FromString(ChatCompletionsTests.WeatherSchema)),
            };
            ChatCompletion completion = await OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("JSON please")], options);
            return completion.Content[0].Text;
        }

        var first = await AskAsync(5);
        var again = await AskAsync(5);
        var otherSeed = await AskAsync(6);

        Assert.Equal(first, again);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public async Task Json_object_mode_returns_a_json_object()
    {
        await using var fake = new FakeUpstream();
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Answer in JSON")], options);

        var value = JsonNode.Parse(completion.Content[0].Text);
        Assert.IsType<JsonObject>(value);
        Assert.False(string.IsNullOrWhiteSpace(value["answer"]?.GetValue<string>()));
        Assert.True(fake.Requests[0].RequiresJsonOutput);
        Assert.Null(fake.Requests[0].OutputSchema);
    }

    [Fact]
    public async Task Json_object_mode_without_the_word_json_in_the_messages_is_a_400()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake);
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };

        var chat = await Assert.ThrowsAsync<ClientResultException>(() => client.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("Give me an object")], options));
        using var responses = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/responses",
            """{"model":"gpt-4o","input":"Give me an object","text":{"format":{"type":"json_object"}}}""");
        using var mentioned = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/responses",
            """{"model":"gpt-4o","instructions":"Reply in JSON.","input":"Give me an object","text":{"format":{"type":"json_object"}}}""");

        Assert.Equal(400, chat.Status);
        var chatError = JsonNode.Parse(chat.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", chatError["message"]!.GetValue<string>());
        Assert.Equal("messages", chatError["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, responses.StatusCode);
        Assert.Equal("input", JsonNode.Parse(await responses.Content.ReadAsStringAsync())!["error"]!["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, mentioned.StatusCode);
    }

    [Fact]
    public async Task A_script_pins_the_structured_output()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("Paris").RespondWithJson(new CityFacts("Paris", "France", 2_100_000, true));
        fake.Setup().RespondWithJson("""{ "city": "Oslo", "country": "Norway", "population": 700000, "isCapital": true }""");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
        };

        ChatCompletion paris = await chat.CompleteChatAsync([new UserChatMessage("Facts about Paris")], options);
        ChatCompletion oslo = await chat.CompleteChatAsync([new UserChatMessage("Facts about Oslo")], options);

        // Written compactly, as the API sends JSON, and in the web defaults' camelCase.
        Assert.Equal("""{"city":"Paris","country":"France","population":2100000,"isCapital":true}""", paris.Content[0].Text);
        Assert.Equal("""{"city":"Oslo","country":"Norway","population":700000,"isCapital":true}""", oslo.Content[0].Text);
        Assert.Equal(new CityFacts("Paris", "France", 2_100_000, true), JsonSerializer.Deserialize<CityFacts>(paris.Content[0].Text, JsonSerializerOptions.Web));
    }

    [Fact]
    public void A_scripted_json_that_is_not_json_is_refused_when_scripted()
    {
        var fake = new FakeUpstream();
        var error = Assert.Throws<ArgumentException>(() => fake.Setup().RespondWithJson("{ not json"));
        Assert.Contains("not JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_responses_api_text_format_gets_a_value_valid_for_the_schema_and_echoes_the_format()
    {
        var schema = await JsonSchema.FromJsonAsync(StrictPlanSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 4 });
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("Plan the trip")])
        {
            TextOptions = new ResponseTextOptions
            {
                TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("plan", BinaryData.FromString(StrictPlanSchema), jsonSchemaIsStrict: true),
            },
        };

        ResponseResult response = await client.CreateResponseAsync(options);

        var text = response.GetOutputText();
        Assert.Empty(schema.Validate(text));
        Assert.Equal(5, JsonNode.Parse(text)!.AsObject().Count);
        Assert.Equal(ResponseTextFormatKind.JsonSchema, response.TextOptions.TextFormat.Kind);

        var streamed = new System.Text.StringBuilder();
        options.StreamingEnabled = true;
        await foreach (var update in client.CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                streamed.Append(delta.Delta);
            }
        }

        Assert.Equal(text, streamed.ToString());
    }

    [Fact]
    public async Task A_strict_responses_text_format_the_api_refuses_is_a_400_naming_the_schema()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/responses",
            """{"model":"gpt-4o","input":"hi","text":{"format":{"type":"json_schema","name":"plan","strict":true,"schema":""" + PlanSchema + "}}}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("text.format.schema", error["param"]!.GetValue<string>());
        Assert.EndsWith("Missing 'note'.", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_json_schema_format_without_a_name_is_a_400_naming_the_parameter()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("response_format.json_schema.name", error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_response_format_type_is_a_400()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'yaml'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    internal const string CitySchema = """
        {
          "type": "object",
          "properties": {
            "city": { "type": "string" },
            "country": { "type": "string" },
            "population": { "type": "integer" },
            "isCapital": { "type": "boolean" }
          },
          "required": ["city", "country", "population", "isCapital"],
          "additionalProperties": false
        }
        """;
}
