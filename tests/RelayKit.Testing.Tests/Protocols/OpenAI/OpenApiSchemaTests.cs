using System.Text.Json.Nodes;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Non-streaming OpenAI answers (and stream chunks) validated against the official OpenAPI schemas.</summary>
public sealed class OpenApiSchemaTests(OpenApiSchemas schemas) : IClassFixture<OpenApiSchemas>
{
    private const string Tools = """
        "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]
        """;

    public static TheoryData<string, string, string> Answers => new()
    {
        { "CreateChatCompletionResponse", "/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""" },
        { "CreateChatCompletionResponse", "/v1/chat/completions", """{"model":"gpt-4o","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}""" },
        { "CreateChatCompletionResponse", "/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],""" + Tools + ""","tool_choice":"required"}""" },
        { "CreateEmbeddingResponse", "/v1/embeddings", """{"model":"text-embedding-3-small","input":["a","b"],"dimensions":8,"encoding_format":"float"}""" },
        { "ListModelsResponse", "/v1/models", "" },
        { "Response", "/v1/responses", """{"model":"gpt-4o","instructions":"Be brief.","input":"hi"}""" },
        { "Response", "/v1/responses", """{"model":"gpt-4o","max_output_tokens":2,"input":[{"role":"user","content":"hi"}]}""" },
        { "Response", "/v1/responses", """{"model":"gpt-4o","input":"hi","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"tool_choice":"required"}""" },
        { "ErrorResponse", "/v1/chat/completions", """{"messages":[]}""" },
        { "ErrorResponse", "/v1/responses", """{"input":"hi"}""" },
        { "ErrorResponse", "/v1/xyz", "{}" },
        { "Model", "/v1/models/gpt-4o", "" },
        { "ErrorResponse", "/v1/models/gpt-nope", "" },
        { "ErrorResponse", "/v1/chat/completions/nothing", "" },
        { "CreateChatCompletionResponse", "/v1/chat/completions", """{"model":"gpt-4o","n":2,"logprobs":true,"top_logprobs":3,"messages":[{"role":"user","content":"hi"}]}""" },
        { "CreateChatCompletionResponse", "/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":""" + ChatJsonSchema + "}" },
        { "Response", "/v1/responses", """{"model":"gpt-4o","input":"hi","top_logprobs":2,"include":["message.output_text.logprobs"],"text":{"format":""" + ResponsesJsonSchema + "}}" },
    };

    private const string ChatJsonSchema = """
        {"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}
        """;

    private const string ResponsesJsonSchema = """
        {"type":"json_schema","name":"city","strict":true,"schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}
        """;

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Answers_validate_against_the_openapi_schema(string schema, string path, string body)
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        using var response = body.Length == 0
            ? await http.GetAsync(new Uri(path, UriKind.Relative))
            : await OpenAITestClients.PostJsonAsync(http, path, body);
        var json = await response.Content.ReadAsStringAsync();

        var errors = schemas.Validate(schema, json);

        Assert.True(errors.Count == 0, $"{schema}: {string.Join("; ", errors)}\n{json}");
    }

    [Fact]
    public async Task Every_chat_stream_chunk_validates_against_the_chunk_schema()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        foreach (var body in new[]
        {
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""",
            """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],""" + Tools + ""","tool_choice":"required"}""",
            """{"model":"gpt-4o","stream":true,"n":2,"logprobs":true,"top_logprobs":2,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""",
        })
        {
            using var response = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions", body);
            var chunks = OpenAITestClients.SseData(await response.Content.ReadAsStringAsync()).SkipLast(1).ToList();
            Assert.NotEmpty(chunks);
            foreach (var chunk in chunks)
            {
                var errors = schemas.Validate("CreateChatCompletionStreamResponse", chunk);
                Assert.True(errors.Count == 0, $"{string.Join("; ", errors)}\n{chunk}");
            }
        }
    }

    [Fact]
    public async Task Every_responses_stream_event_validates_against_the_stream_event_schema()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        foreach (var body in new[]
        {
            """{"model":"gpt-4o","stream":true,"input":"hi"}""",
            """{"model":"gpt-4o","stream":true,"max_output_tokens":2,"input":"Tell me a long story."}""",
            """{"model":"gpt-4o","stream":true,"input":"hi","top_logprobs":2,"include":["message.output_text.logprobs"]}""",
            """{"model":"gpt-4o","stream":true,"input":"hi","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"tool_choice":"required"}""",
        })
        {
            using var response = await OpenAITestClients.PostJsonAsync(http, "/v1/responses", body);
            var events = OpenAITestClients.SseData(await response.Content.ReadAsStringAsync());
            Assert.NotEmpty(events);
            if (body.Contains("top_logprobs", StringComparison.Ordinal))
            {
                Assert.Contains(events, data => JsonNode.Parse(data)!["logprobs"] is JsonArray { Count: > 0 });
            }

            var errors = new List<string>();
            foreach (var data in events)
            {
                var json = JsonNode.Parse(data)!.AsObject();
                var type = (string)json["type"]!;
                var schema = schemas.VariantFor("ResponseStreamEvent", type);
                Assert.True(schema is not null, $"no stream event in the spec has type {type}");

                // The documented exception: before the answer is complete the API sends "usage": null, which the spec
                // does not mark nullable; the field is optional, so it is checked as absent.
                if (json["response"] is JsonObject partial && partial.ContainsKey("usage") && partial["usage"] is null)
                {
                    partial.Remove("usage");
                }

                errors.AddRange(schemas.Validate(schema, json.ToJsonString()).Select(error => $"{schema}: {error}"));
            }

            Assert.True(errors.Count == 0, string.Join("\n", errors.Distinct().Take(30)));
        }
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(529)]
    public async Task Every_scripted_fault_validates_against_the_error_schema(int status)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.Error(status));

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var json = await response.Content.ReadAsStringAsync();

        Assert.Empty(schemas.Validate("ErrorResponse", json));
    }

    [Fact]
    public async Task The_schema_check_catches_a_broken_answer()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        json["choices"]![0]!["finish_reason"] = "bored";
        json.AsObject().Remove("created");

        var errors = schemas.Validate("CreateChatCompletionResponse", json.ToJsonString());

        Assert.Contains("  NotInEnumeration at #/choices[0].finish_reason", errors);
        Assert.Contains("PropertyRequired at #/created", errors);
    }

    [Fact]
    public async Task Base64_embeddings_are_the_documented_exception()
    {
        // The spec types "embedding" as an array of numbers only; encoding_format=base64 answers with a string
        // (what the API really sends, and what the .NET SDK asks for), so that variant is checked against
        // the schema with the vector swapped back to floats.
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/embeddings",
            """{"model":"text-embedding-3-small","input":"a","dimensions":4,"encoding_format":"base64"}""");
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var bytes = Convert.FromBase64String((string)json["data"]![0]!["embedding"]!);
        var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

        Assert.NotEmpty(schemas.Validate("CreateEmbeddingResponse", json.ToJsonString()));
        json["data"]![0]!["embedding"] = new JsonArray(floats.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray());
        Assert.Empty(schemas.Validate("CreateEmbeddingResponse", json.ToJsonString()));
    }
}
