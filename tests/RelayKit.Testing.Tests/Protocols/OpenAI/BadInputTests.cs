using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Client mistakes get OpenAI's error shape and a 4xx, never a 500.</summary>
public sealed class BadInputTests
{
    public static TheoryData<string, string, string?, string?, int, string?> Cases => new()
    {
        // method, path, content type, body, expected status, expected param
        { "POST", "/v1/chat/completions", "application/json", "{\"model\":\"gpt-4o\",\"messages\":[", 400, null },
        // Chat Completions names no param for a missing model ("you must provide a model parameter"), as the real API.
        { "POST", "/v1/chat/completions", "application/json", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, null },
        { "POST", "/v1/chat/completions", "application/json", "{\"model\":42,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, null },
        { "POST", "/v1/chat/completions", "application/json", "{\"model\":\"gpt-4o\"}", 400, "messages" },
        { "POST", "/v1/chat/completions", "application/json", "{\"model\":\"gpt-4o\",\"messages\":\"hi\"}", 400, "messages" },
        { "POST", "/v1/chat/completions", "application/json", "[1,2,3]", 400, null },
        { "POST", "/v1/chat/completions", "application/json", "", 400, null },
        { "POST", "/v1/chat/completions", "text/plain", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, null },
        { "POST", "/v1/chat/completions", "application/json", new string('[', 5000) + new string(']', 5000), 400, null },
        { "PUT", "/v1/chat/completions", null, null, 405, null }, // GET lists stored completions
        { "DELETE", "/v1/models", null, null, 405, null },
        { "POST", "/v1/models", "application/json", "{}", 405, null },
        { "GET", "/v1/nothing-here", null, null, 404, null },
        { "POST", "/v2/chat/completions", "application/json", "{}", 404, null },
        { "POST", "/v1/embeddings", "application/json", "{\"model\":\"text-embedding-3-small\"}", 400, "input" },
        { "POST", "/v1/embeddings", "application/json", "{\"model\":\"text-embedding-3-small\",\"input\":[]}", 400, "input" },
        { "POST", "/v1/embeddings", "application/json", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\",\"encoding_format\":\"int8\"}", 400, "encoding_format" },
        { "POST", "/v1/embeddings", "application/json", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\",\"dimensions\":100000000}", 400, "dimensions" },
        { "POST", "/v1/embeddings", "application/json", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\",\"dimensions\":0}", 400, "dimensions" },
        { "POST", "/v1/responses", "application/json", "{\"model\":\"gpt-4o\"}", 400, "input" },
        { "POST", "/v1/responses", "application/json", "{\"model\":\"gpt-4o\",\"input\":7}", 400, "input" },
        { "POST", "/v1/responses", "application/json", "{\"input\":\"hi\"}", 400, "model" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Answers_client_mistakes_in_the_openai_error_shape(string method, string path, string? contentType, string? body, int status, string? param)
    {
        await using var fake = new FakeUpstream();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpenAITestClients.ApiKey);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType!);
        }

        using var response = await fake.CreateClient().SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = Assert.IsType<JsonObject>(Assert.Single(json).Value);
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.False(string.IsNullOrWhiteSpace((string)error["message"]!));
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(status, fake.Requests.Single().StatusCode);
        if (status == 405)
        {
            Assert.NotEmpty(response.Content.Headers.Allow);
        }
    }

    [Theory]
    [InlineData("POST", "/v1/xyz", 404, "Unknown request URL: POST /v1/xyz. Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.", "unknown_url")]
    [InlineData("GET", "/v1/models/gpt-4o/extra", 404, "Unknown request URL: GET /v1/models/gpt-4o/extra. Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.", "unknown_url")]
    [InlineData("PUT", "/v1/chat/completions", 405, "Invalid method for URL (PUT /v1/chat/completions)", null)]
    [InlineData("DELETE", "/v1/models/gpt-4o", 405, "Invalid method for URL (DELETE /v1/models/gpt-4o)", null)]
    public async Task A_path_the_api_does_not_serve_gets_the_real_apis_error_not_model_not_found(string method, string path, int status, string message, string? code)
    {
        await using var fake = new FakeUpstream();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpenAITestClients.ApiKey);

        using var response = await fake.CreateClient().SendAsync(request);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, (string)error["message"]!);
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.Null((string?)error["param"]);
        Assert.Equal(code, (string?)error["code"]);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}]}""", "you must provide a model parameter", null, null)]
    [InlineData("/v1/responses", """{"input":"hi"}""", "Missing required parameter: 'model'.", "model", "missing_required_parameter")]
    [InlineData("/v1/responses", """{"model":"gpt-4o"}""", "Missing required parameter: 'input'.", "input", "missing_required_parameter")]
    [InlineData("/v1/responses", """{"model":"gpt-4o","input":7}""", "Invalid type for 'input': expected a string or an array.", "input", "invalid_type")]
    public async Task A_missing_or_mistyped_parameter_carries_the_param_and_code_of_the_real_api(string path, string body, string message, string? param, string? code)
    {
        await using var fake = new FakeUpstream();

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), path, body);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(message, (string)error["message"]!);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(code, (string?)error["code"]);
    }

    [Theory]
    [InlineData(401, "invalid_request_error", "invalid_api_key")]
    [InlineData(403, "request_forbidden", "unsupported_country_region_territory")]
    [InlineData(404, "invalid_request_error", "model_not_found")]
    [InlineData(429, "requests", "rate_limit_exceeded")]
    [InlineData(500, "server_error", null)]
    public async Task A_scripted_fault_answers_with_the_type_and_code_the_api_pairs_with_its_status(int status, string type, string? code)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.Error(status));

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(type, (string)error["type"]!);
        Assert.Equal(code, (string?)error["code"]);
        if (status == 404)
        {
            Assert.Equal("The model `gpt-4o` does not exist or you do not have access to it.", (string)error["message"]!);
        }
    }

    [Fact]
    public async Task Odd_but_valid_shapes_are_answered_not_rejected()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        string[] bodies =
        [
            """{"model":"gpt-4o","messages":[1, null, {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}""",
            """{"model":"gpt-4o","messages":[{"role":"user","content":null}],"tools":[{"type":"function","function":{"name":5}}],"tool_choice":{"type":"function"}}""",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":"lots","stream":"yes"}""",

            // Scalars and arrays where objects belong: read as absent, as the fields above.
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":"x"}""",
            """{"model":"gpt-4o","messages":[{"role":"assistant","content":null,"tool_calls":[1,{"function":"f"}]},{"role":"user","content":"hi"}]}""",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":"f"}}""",
        ];

        foreach (var body in bodies)
        {
            using var response = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions", body);
            Assert.True((int)response.StatusCode == 200, $"{body} → {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        using var oddFormat = await OpenAITestClients.PostJsonAsync(http, "/v1/embeddings", """{"model":"text-embedding-3-small","input":"hi","encoding_format":5}""");
        Assert.True((int)oddFormat.StatusCode == 200, $"encoding_format 5 → {(int)oddFormat.StatusCode} {await oddFormat.Content.ReadAsStringAsync()}");

        using var tokens = await OpenAITestClients.PostJsonAsync(http, "/v1/embeddings", """{"model":"text-embedding-3-small","input":[[1,2,3],[4,5]],"encoding_format":"float"}""");
        Assert.Equal(2, JsonNode.Parse(await tokens.Content.ReadAsStringAsync())!["data"]!.AsArray().Count);
    }
}
