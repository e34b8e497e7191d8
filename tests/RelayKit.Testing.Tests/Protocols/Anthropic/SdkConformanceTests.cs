using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Core;
using Anthropic.Models;
using Anthropic.Models.Messages;
using Anthropic.Models.Models;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>
/// Every Anthropic-format answer and stream event the fake sends carries every field the official SDK's model types
/// require (see <see cref="SdkRequiredFields"/>), and passes the SDK's own <c>Validate()</c>.
/// </summary>
public sealed class SdkConformanceTests
{
    private const string Tool = """
        "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"tool_choice":{"type":"tool","name":"get_weather"}
        """;

    public static TheoryData<string, string> Messages => new()
    {
        // name, body (stream is added by the test)
        { "text", """{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]""" },
        { "tool_use", """{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"weather?"}],""" + Tool },
        { "max_tokens", """{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"Tell me a long story."}]""" },
        { "stop_sequence", """{"model":"claude-haiku-4-5","max_tokens":100,"stop_sequences":["END"],"messages":[{"role":"user","content":"stop"}]""" },
        { "thinking", """{"model":"claude-opus-4-6","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"think"}]""" },
        { "redacted_thinking", """{"model":"claude-opus-4-6","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"redact"}]""" },
        { "thinking + tool_use", """{"model":"claude-opus-4-6","max_tokens":2048,"thinking":{"type":"adaptive"},"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"messages":[{"role":"user","content":"lookup"}]""" },
        { "structured output", """{"model":"claude-sonnet-4-5","max_tokens":1024,"output_config":{"format":{"type":"json_schema","schema":""" + StructuredOutputTests.RecipeSchema + """}},"messages":[{"role":"user","content":"recipe"}]""" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task A_message_has_every_field_the_sdk_requires(string name, string body)
    {
        await using var fake = Fake();
        var json = await SendAsync(fake, HttpMethod.Post, "v1/messages", body + ",\"stream\":false}");

        AssertComplete<Message>(json, name);
        var blocks = JsonNode.Parse(json)!["content"]!.AsArray().Select(b => (string)b!["type"]!).ToList();
        var expected = name switch
        {
            "thinking" => ["thinking", "text"],
            "redacted_thinking" => ["redacted_thinking", "text"],
            "thinking + tool_use" => ["thinking", "tool_use"],
            "tool_use" => ["tool_use"],
            _ => new List<string> { "text" },
        };
        Assert.Equal(expected, blocks);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Every_stream_event_has_every_field_the_sdk_requires(string name, string body)
    {
        await using var fake = Fake();
        var events = AnthropicSdk.ParseSse(await SendAsync(fake, HttpMethod.Post, "v1/messages", body + ",\"stream\":true}"));

        Assert.Equal(["message_start", "content_block_start"], events.Take(2).Select(e => e.Event));
        Assert.Equal("message_stop", events[^1].Event);
        var missing = new List<string>();
        foreach (var (type, data) in events.Where(e => e.Event != "ping"))
        {
            Assert.Equal(type, data.GetProperty("type").GetString());
            missing.AddRange(SdkRequiredFields.Missing<RawMessageStreamEvent>(data.GetRawText()).Select(path => $"{type} {path}"));
            JsonSerializer.Deserialize<RawMessageStreamEvent>(data.GetRawText())!.Validate();
        }

        Assert.True(missing.Count == 0, $"{name}: missing {string.Join(", ", missing.Distinct())}");
    }

    [Fact]
    public async Task Count_tokens_models_and_model_have_every_field_the_sdk_requires()
    {
        await using var fake = Fake();

        AssertComplete<MessageTokensCount>(await SendAsync(fake, HttpMethod.Post, "v1/messages/count_tokens",
            """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"""), "count_tokens");
        AssertComplete<ModelListPageResponse>(await SendAsync(fake, HttpMethod.Get, "v1/models"), "models");
        AssertComplete<ModelListPageResponse>(await SendAsync(fake, HttpMethod.Get, "v1/models?limit=1&after_id=claude-opus-4-8"), "models page");
        AssertComplete<ModelInfo>(await SendAsync(fake, HttpMethod.Get, "v1/models/claude-haiku-4-5"), "model");
    }

    public static TheoryData<string, string, string?, string> Errors => new()
    {
        // method, path, body, expected error type
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", "invalid_request_error" },
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":5""", "invalid_request_error" },
        { "GET", "v1/models/claude-unknown-1", null, "not_found_error" },
        { "GET", "v1/models?limit=1001", null, "invalid_request_error" },
        { "POST", "v1/nothing-here", "{}", "not_found_error" },
        { "GET", "v1/messages", null, "invalid_request_error" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task An_error_has_the_shape_and_a_type_the_sdk_knows(string method, string path, string? body, string type)
    {
        await using var fake = Fake();

        AssertError(await SendAsync(fake, new HttpMethod(method), path, body), type);
    }

    [Theory]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(529, "overloaded_error")]
    public async Task A_scripted_fault_answers_with_the_type_the_api_uses_for_its_status(int status, string type)
    {
        await using var fake = Fake();
        fake.Setup().WithFault(FakeFault.Error(status));
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(status, (int)response.StatusCode);
        AssertError(await response.Content.ReadAsStringAsync(), type);
    }

    [Fact]
    public async Task A_mid_stream_error_event_has_a_type_the_sdk_knows()
    {
        await using var fake = Fake();
        fake.Setup().WithFault(FakeFault.StreamError(3));

        var events = AnthropicSdk.ParseSse(await SendAsync(fake, HttpMethod.Post, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));

        var (name, data) = events[^1];
        Assert.Equal("error", name);
        Assert.Equal("overloaded_error", data.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(SdkRequiredFields.Missing(SdkErrorTypes()["overloaded_error"], data.GetProperty("error").GetRawText()));
    }

    [Fact]
    public async Task The_check_catches_a_missing_nullable_field_at_any_depth()
    {
        await using var fake = Fake();
        var message = JsonNode.Parse(await SendAsync(fake, HttpMethod.Post, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"""))!.AsObject();
        message.Remove("container");
        message["usage"]!.AsObject().Remove("server_tool_use");
        message["usage"]!["cache_creation"]!.AsObject().Remove("ephemeral_1h_input_tokens");
        message["content"]![0]!.AsObject().Remove("citations");

        var missing = SdkRequiredFields.Missing<Message>(message.ToJsonString());

        Assert.Equal(["$.container", "$.content[0].citations", "$.usage.cache_creation.ephemeral_1h_input_tokens", "$.usage.server_tool_use"], missing.Order());
        Assert.Null(JsonSerializer.Deserialize<Message>(message.ToJsonString())!.Container); // what the SDK alone would let through
    }

    [Fact]
    public void Sdk_keys_are_read_from_the_sdk_not_guessed()
    {
        Assert.Equal("ephemeral_5m_input_tokens", SdkRequiredFields.KeyOf(typeof(CacheCreation).GetProperty(nameof(CacheCreation.Ephemeral5mInputTokens))!));
        Assert.Equal("stop_details", SdkRequiredFields.KeyOf(typeof(Message).GetProperty(nameof(Message.StopDetails))!));
        Assert.Equal("max_input_tokens", SdkRequiredFields.KeyOf(typeof(ModelInfo).GetProperty(nameof(ModelInfo.MaxInputTokens))!));
    }

    private static FakeUpstream Fake()
    {
        var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("stop").RespondWithText("It ends here", FakeFinishReason.StopSequence);
        fake.Setup().WhenLastUserMessageContains("redact").RespondWith(FakeReply.WithText("Done.") with { RedactedThinking = "EmwKAhgBEgy3va3pzixQ" });
        fake.Setup().WhenLastUserMessageContains("lookup").RespondWith(
            FakeReply.WithToolCalls(new FakeToolCall("get_weather", """{"city":"Oslo"}""")) with { Thinking = "The user wants the weather." });
        return fake;
    }

    private static async Task<string> SendAsync(FakeUpstream fake, HttpMethod method, string path, string? body = null)
    {
        using var http = fake.CreateClient();
        using var response = await http.SendAsync(AnthropicSdk.Raw(method, path, body));
        return await response.Content.ReadAsStringAsync();
    }

    private static void AssertComplete<T>(string json, string what) where T : ModelBase
    {
        var missing = SdkRequiredFields.Missing<T>(json);
        Assert.True(missing.Count == 0, $"{what}: missing {string.Join(", ", missing)}\n{json}");
        JsonSerializer.Deserialize<T>(json)!.Validate();
    }

    /// <summary>Anthropic's error envelope, whose <c>error.type</c> is one the SDK has a model for, with that model's fields.</summary>
    private static void AssertError(string json, string type)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(["type", "error", "request_id"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", root.GetProperty("type").GetString());
        Assert.StartsWith("req_", root.GetProperty("request_id").GetString(), StringComparison.Ordinal);
        var error = root.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.True(SdkErrorTypes().TryGetValue(type, out var model), $"the SDK has no error type {type}");
        Assert.Empty(SdkRequiredFields.Missing(model, error.GetRawText()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    /// <summary>The SDK's error models (<c>InvalidRequestError</c>, <c>OverloadedError</c>…) by the <c>type</c> constant each carries.</summary>
    private static Dictionary<string, System.Type> SdkErrorTypes() =>
        typeof(InvalidRequestError).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(InvalidRequestError).Namespace && typeof(JsonModel).IsAssignableFrom(t) && !t.IsAbstract
                && t.GetConstructor(System.Type.EmptyTypes) is not null && t.GetProperty("Type")?.PropertyType == typeof(JsonElement)
                && t.GetProperty("Message") is not null)
            .Select(t => (Model: t, Value: (JsonElement)t.GetProperty("Type")!.GetValue(Activator.CreateInstance(t))!))
            .Where(t => t.Value.ValueKind == JsonValueKind.String && t.Value.GetString()!.EndsWith("_error", StringComparison.Ordinal))
            .ToDictionary(t => t.Value.GetString()!, t => t.Model);
}
