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
        { "POST", "/v1/chat/completions", "application/json", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "model" },
        { "POST", "/v1/chat/completions", "application/json", "{\"model\":42,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "model" },
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
