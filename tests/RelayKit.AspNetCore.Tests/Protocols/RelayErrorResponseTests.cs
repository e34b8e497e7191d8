using System.ClientModel;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Protocols;

/// <summary>Every error the relay answers itself, in the caller's wire format, with the status the SDKs act on.</summary>
public sealed class RelayErrorResponseTests
{
    private const string Chat = "v1/chat/completions";
    private const string Messages = "v1/messages";
    private const string ChatBody = """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""";
    private const string MessagesBody = """{"model":"claude-code-opus-4.8","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task No_key_is_401_in_both_formats()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var openAi = await RawRelayCall.PostAsync(http, Chat, ChatBody);
        var anthropic = await RawRelayCall.PostAsync(http, Messages, MessagesBody, anthropicVersion: "2023-06-01");

        AssertOpenAiError(openAi, 401, "invalid_request_error", "invalid_api_key", "No relay key was sent");
        AssertAnthropicError(anthropic, 401, "authentication_error", "No relay key was sent");
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task An_unknown_key_is_401_to_both_sdks()
    {
        await using var relay = FakeRelay.Create();

        var openAi = await Assert.ThrowsAsync<ClientResultException>(() =>
            relay.App.CreateOpenAiClient("rk-nobody").GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        var anthropic = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() =>
            relay.App.CreateAnthropicClient("rk-nobody").Messages.Create(Params("claude-code-opus-4.8")));

        Assert.Equal(401, openAi.Status);
        Assert.Contains("The relay key is not valid.", openAi.Message, StringComparison.Ordinal);
        Assert.Equal(401, (int)anthropic.StatusCode);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task A_model_the_key_may_not_use_is_answered_exactly_as_an_unknown_one()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        // Bob may use gpt-5.5 only: o4-mini is configured, o4-mimi is not; nothing may tell the two apart.
        var configured = await RawRelayCall.PostAsync(http, Chat, ChatBody.Replace("gpt-5.5", "o4-mini", StringComparison.Ordinal), bearer: RelaySettings.BobKey);
        var unknown = await RawRelayCall.PostAsync(http, Chat, ChatBody.Replace("gpt-5.5", "o4-mimi", StringComparison.Ordinal), bearer: RelaySettings.BobKey);
        var sdk = await Assert.ThrowsAsync<ClientResultException>(() =>
            relay.App.CreateOpenAiClient(RelaySettings.BobKey).GetChatClient("o4-mini").CompleteChatAsync([new UserChatMessage("hi")]));
        var anthropic = await Assert.ThrowsAsync<AnthropicNotFoundException>(() =>
            relay.App.CreateAnthropicClient(RelaySettings.BobKey).Messages.Create(Params("claude-code-opus-4.8")));

        AssertOpenAiError(configured, 404, "invalid_request_error", "model_not_found", "The model 'o4-mini' is not configured on this relay.");
        Assert.Equal(
            unknown.Body.ToString().Replace("o4-mimi", "MODEL", StringComparison.Ordinal),
            configured.Body.ToString().Replace("o4-mini", "MODEL", StringComparison.Ordinal));
        Assert.Equal(404, sdk.Status);
        Assert.Contains("The model 'claude-code-opus-4.8' is not configured on this relay", anthropic.Message, StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task An_unknown_model_is_404_naming_the_closest_models_the_key_may_use()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var openAi = await RawRelayCall.PostAsync(http, Chat, ChatBody.Replace("gpt-5.5", "gpt5.5", StringComparison.Ordinal), bearer: RelaySettings.AliceKey);
        var anthropic = await Assert.ThrowsAsync<AnthropicNotFoundException>(() =>
            relay.App.CreateAnthropicClient(RelaySettings.AliceKey).Messages.Create(Params("claude-opus-4.8")));
        var forBob = await RawRelayCall.PostAsync(http, Chat, ChatBody.Replace("gpt-5.5", "claude-opus-4.8", StringComparison.Ordinal), bearer: RelaySettings.BobKey);

        AssertOpenAiError(openAi, 404, "invalid_request_error", "model_not_found", "The model 'gpt5.5' is not configured on this relay. Closest configured models: gpt-5.5,");
        Assert.Equal("model", openAi.Body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("Closest configured models: claude-code-opus-4.8", anthropic.Message, StringComparison.Ordinal);
        Assert.Equal("The model 'claude-opus-4.8' is not configured on this relay. Closest configured models: gpt-5.5.", forBob.Body.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory]
    [InlineData(Chat, "{\"model\":", "application/json", "invalid_json", "The request body is not valid JSON")]
    [InlineData(Chat, "[1,2]", "application/json", "invalid_json", "The request body must be a JSON object.")]
    [InlineData(Chat, """{"model":"gpt-5.5","model":"o4-mini","messages":[]}""", "application/json", "invalid_json", "The request body is not valid JSON")]
    [InlineData(Chat, """{"messages":[]}""", "application/json", "missing_required_parameter", "The request body has no 'model'")]
    [InlineData(Chat, ChatBody, "text/plain", "unsupported_content_type", "The request body must be JSON with 'Content-Type: application/json' (got 'text/plain')")]
    [InlineData(Chat, ChatBody, "application/x-www-form-urlencoded", "unsupported_content_type", "The request body must be JSON")]
    public async Task A_malformed_request_is_400_in_openai_format(string path, string body, string contentType, string code, string message)
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, path, body, bearer: RelaySettings.AliceKey, contentType: contentType);

        AssertOpenAiError(answer, 400, "invalid_request_error", code, message);
        Assert.Empty(relay.Fake.Requests);
    }

    [Theory]
    [InlineData("{\"model\":", "application/json", "The request body is not valid JSON")]
    [InlineData("""{"max_tokens":10,"messages":[]}""", "application/json", "The request body has no 'model'")]
    [InlineData(MessagesBody, "text/plain", "The request body must be JSON")]
    public async Task A_malformed_request_is_400_in_anthropic_format(string body, string contentType, string message)
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, Messages, body, apiKey: RelaySettings.AliceKey, contentType: contentType);

        AssertAnthropicError(answer, 400, "invalid_request_error", message);
    }

    [Theory]
    [InlineData(Chat, "gpt-5.5")]
    [InlineData(Chat, "claude-code-opus-4.8")]
    [InlineData(Messages, "claude-code-opus-4.8")]
    [InlineData(Messages, "gpt-5.5")]
    [InlineData("/v1/relay/estimate?endpoint=chat/completions", "gpt-5.5")]
    public async Task A_body_that_is_not_utf8_is_400_invalid_json_in_the_callers_format_and_never_forwarded(string path, string model)
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();
        var anthropic = path == Messages;
        var bytes = Encoding.UTF8.GetBytes((anthropic ? MessagesBody : ChatBody)
            .Replace(anthropic ? "claude-code-opus-4.8" : "gpt-5.5", model, StringComparison.Ordinal)
            .Replace("\"hi\"", "\"h\u0001i\"", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)1)] = 0xFF;

        var answer = anthropic
            ? await RawRelayCall.PostAsync(http, path, bytes, apiKey: RelaySettings.AliceKey)
            : await RawRelayCall.PostAsync(http, path, bytes, bearer: RelaySettings.AliceKey);

        const string message = "The request body is not valid JSON: it is not valid UTF-8 text.";
        if (anthropic)
        {
            AssertAnthropicError(answer, 400, "invalid_request_error", message);
        }
        else if (path.StartsWith("/v1/relay/", StringComparison.Ordinal))
        {
            // The relay's own endpoint: the same error, without a request id (nothing is relayed).
            Assert.Equal(400, answer.Status);
            Assert.Equal("invalid_json", answer.Body.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(message, answer.Body.GetProperty("error").GetProperty("message").GetString());
        }
        else
        {
            AssertOpenAiError(answer, 400, "invalid_request_error", "invalid_json", message);
        }

        Assert.Empty(relay.Fake.Requests);
    }

    [Theory]
    [InlineData("GET", "/v1/chat/completions", false, "POST")]
    [InlineData("PUT", "/v1/responses", false, "POST")]
    [InlineData("DELETE", "/v1/embeddings", false, "POST")]
    [InlineData("GET", "/v1/messages", true, "POST")]
    [InlineData("PATCH", "/v1/messages/count_tokens", true, "POST")]
    [InlineData("POST", "/v1/models", false, "GET")]
    [InlineData("DELETE", "/v1/models", true, "GET")]
    public async Task A_wrong_method_is_405_in_the_callers_format_naming_the_method_to_use(string method, string path, bool anthropic, string allowed)
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
        if (anthropic)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }

        using var response = await http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(405, (int)response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        var message = $"{method} is not allowed on this endpoint; it takes {allowed}.";
        if (anthropic)
        {
            Assert.Equal("error", body.GetProperty("type").GetString());
            Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal(message, body.GetProperty("error").GetProperty("message").GetString());
        }
        else
        {
            Assert.Equal("method_not_allowed", body.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(message, body.GetProperty("error").GetProperty("message").GetString());
        }

        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task An_untranslated_endpoint_on_a_model_of_the_other_format_is_400_saying_the_model_cannot_do_it()
    {
        await using var relay = FakeRelay.Create();

        // Chat, Messages and Responses are translated; embeddings and token counting have no counterpart.
        var openAi = await Assert.ThrowsAsync<ClientResultException>(() =>
            relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetEmbeddingClient("claude-code-opus-4.8").GenerateEmbeddingAsync("hi"));
        var anthropic = await Assert.ThrowsAsync<AnthropicBadRequestException>(() =>
            relay.App.CreateAnthropicClient(RelaySettings.AliceKey).Messages.CountTokens(new MessageCountTokensParams
            {
                Model = "gpt-5.5",
                Messages = [new UserMessageParam("hi")],
            }));

        Assert.Equal(400, openAi.Status);
        Assert.Contains("model_not_supported", openAi.Message, StringComparison.Ordinal);
        Assert.Contains("The model 'claude-code-opus-4.8' cannot create embeddings", openAi.Message, StringComparison.Ordinal);
        Assert.Contains("The model 'gpt-5.5' cannot count tokens here: its provider 'openai' serves it in the OpenAI format", anthropic.Message, StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_whether_or_not_its_length_is_announced()
    {
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:MaxRequestBodySize", "2048"));
        using var http = relay.App.CreateClient();
        var big = ChatBody.Replace("\"hi\"", "\"" + new string('x', 4096) + "\"", StringComparison.Ordinal);
        var bigMessages = MessagesBody.Replace("\"hi\"", "\"" + new string('x', 4096) + "\"", StringComparison.Ordinal);

        var announced = await Assert.ThrowsAsync<ClientResultException>(() =>
            relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage(new string('x', 4096))]));
        var chunked = await RawRelayCall.PostAsync(http, Chat, big, bearer: RelaySettings.AliceKey, chunked: true);
        var anthropic = await RawRelayCall.PostAsync(http, Messages, bigMessages, apiKey: RelaySettings.AliceKey, chunked: true);
        var small = await RawRelayCall.PostAsync(http, Chat, ChatBody, bearer: RelaySettings.AliceKey, chunked: true);

        Assert.Equal(413, announced.Status);
        AssertOpenAiError(chunked, 413, "invalid_request_error", "request_too_large", "The request body is larger than this relay accepts (2048 bytes).");
        AssertAnthropicError(anthropic, 413, "request_too_large", "The request body is larger than this relay accepts");
        Assert.Equal(200, small.Status);
        Assert.Single(relay.Fake.Requests);
    }

    [Fact]
    public async Task The_model_list_needs_a_key_too()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var openAi = await RawRelayCall.GetAsync(http, "v1/models");
        var anthropic = await RawRelayCall.GetAsync(http, "v1/models", apiKey: "rk-wrong", anthropicVersion: "2023-06-01");

        AssertOpenAiError(openAi, 401, "invalid_request_error", "invalid_api_key", "No relay key was sent");
        AssertAnthropicError(anthropic, 401, "authentication_error", "The relay key is not valid.");
    }

    [Fact]
    public async Task The_model_list_answers_in_anthropics_shape_when_asked_with_anthropic_version()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.GetAsync(http, "v1/models", apiKey: RelaySettings.BobKey, anthropicVersion: "2023-06-01");

        Assert.Equal(200, status);
        Assert.False(body.GetProperty("has_more").GetBoolean());
        Assert.Equal("gpt-5.5", body.GetProperty("first_id").GetString());
        var model = Assert.Single(body.GetProperty("data").EnumerateArray());
        Assert.Equal("model", model.GetProperty("type").GetString());
        Assert.True(DateTimeOffset.TryParse(model.GetProperty("created_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.StartsWith("req_", headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embeddings_of_a_claude_model_say_the_model_cannot_embed()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, "v1/embeddings", """{"model":"claude-code-opus-4.8","input":"hello"}""", bearer: RelaySettings.AliceKey);

        AssertOpenAiError(answer, 400, "invalid_request_error", "model_not_supported", "The model 'claude-code-opus-4.8' cannot create embeddings");
        Assert.Equal("model", answer.Body.GetProperty("error").GetProperty("param").GetString());
        Assert.DoesNotContain("/v1/messages", answer.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task Counting_tokens_of_a_gpt_model_says_its_format_has_no_count_endpoint()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, "v1/messages/count_tokens",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");

        AssertAnthropicError(answer, 400, "invalid_request_error", "The model 'gpt-5.5' cannot count tokens here");
        Assert.Contains("no messages.count_tokens endpoint", answer.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    private static MessageCreateParams Params(string model) => new()
    {
        Model = model,
        MaxTokens = 16,
        Messages = [new UserMessageParam("hi")],
    };

    private static void AssertOpenAiError((int Status, JsonElement Body, System.Net.Http.Headers.HttpResponseHeaders Headers) answer, int status, string type, string code, string messageStart)
    {
        Assert.Equal(status, answer.Status);
        var error = answer.Body.GetProperty("error");
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        Assert.StartsWith(messageStart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.StartsWith("req_", answer.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        Assert.Equal("false", answer.Headers.GetValues("x-should-retry").Single());
    }

    private static void AssertAnthropicError((int Status, JsonElement Body, System.Net.Http.Headers.HttpResponseHeaders Headers) answer, int status, string type, string messageStart)
    {
        Assert.Equal(status, answer.Status);
        Assert.Equal(["type", "error"], answer.Body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", answer.Body.GetProperty("type").GetString());
        var error = answer.Body.GetProperty("error");
        Assert.Equal(["type", "message"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.StartsWith(messageStart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("req_", answer.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
    }
}
