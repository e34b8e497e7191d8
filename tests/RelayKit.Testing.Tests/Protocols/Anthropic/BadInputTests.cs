using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using RelayKit.Testing.Tests.Faults;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

public sealed class BadInputTests
{
    public static TheoryData<string, string, string?, int, string, string> Cases => new()
    {
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[""", 400, "invalid_request_error", "JSON" },
        { "POST", "v1/messages", """[1,2,3]""", 400, "invalid_request_error", "JSON object" },
        { "POST", "v1/messages", "", 400, "invalid_request_error", "empty" },
        { "POST", "v1/messages", """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "model: Field required" },
        { "POST", "v1/messages", """{"model":"","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "model: Field required" },
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "max_tokens: Field required" },
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "max_tokens" },
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":10}""", 400, "invalid_request_error", "messages: Field required" },
        { "POST", "v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[]}""", 400, "invalid_request_error", "at least one message" },
        {
            "POST", "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"any"}}""",
            400, "invalid_request_error", "tool_choice"
        },
        {
            "POST", "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"a","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"b"}}""",
            400, "invalid_request_error", "Tool 'b' not found"
        },
        { "POST", "v1/messages/count_tokens", """{"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "model: Field required" },
        { "POST", "v1/complete-me", """{"model":"claude-sonnet-4-5"}""", 404, "not_found_error", "Not Found" },
        { "GET", "v1/messages", null, 405, "invalid_request_error", "GET" },
        { "DELETE", "v1/messages/count_tokens", null, 405, "invalid_request_error", "DELETE" },
        { "POST", "v1/models", "{}", 405, "invalid_request_error", "POST" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_requests_get_the_anthropic_error_shape_and_a_4xx(string method, string path, string? body, int status, string type, string messagePart)
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(new HttpMethod(method), path, body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        FaultTestsShape(text, type, response);
        Assert.Contains(messagePart, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var recorded = Assert.Single(fake.Requests);
        Assert.Equal(status, recorded.StatusCode);
        Assert.Equal(FakeWireFormat.Anthropic, recorded.WireFormat);
    }

    [Fact]
    public async Task A_body_that_is_not_json_by_content_type_is_a_400()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();
        using var request = AnthropicSdk.Raw(HttpMethod.Post, "v1/messages");
        request.Content = new StringContent("model=claude", Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        FaultTestsShape(await response.Content.ReadAsStringAsync(), "invalid_request_error", response);
    }

    [Fact]
    public async Task Missing_anthropic_version_is_a_400_invalid_request_error()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var noVersion = AnthropicSdk.Raw(HttpMethod.Post, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", headers: false);
        noVersion.Headers.Add("x-api-key", "sk-ant-test-key");
        using var response = await http.SendAsync(noVersion);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        FaultTestsShape(text, "invalid_request_error", response);
        Assert.Contains("anthropic-version: header is required", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sdk_surfaces_a_bad_request_as_its_bad_request_exception()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        var ask = AnthropicSdk.Ask("hi") with
        {
            Tools = [MessagesTests.Tool("a", """{"type":"object"}""")],
            ToolChoice = new ToolChoiceTool("missing"),
        };

        var e = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => client.Messages.Create(ask));

        Assert.Equal(global::Anthropic.Models.ErrorType.InvalidRequestError, e.Type!.Value());
        Assert.Contains("missing", e.ApiMessage, StringComparison.Ordinal);
    }

    private static void FaultTestsShape(string body, string type, HttpResponseMessage response) =>
        AnthropicFaultTests.AssertErrorShape(body, type, response.Headers.GetValues("request-id").Single());
}
