using System.Text.Json.Nodes;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.State;

/// <summary>The stored-state answers validated against the official OpenAPI schemas.</summary>
public sealed class StoredStateSchemaTests(OpenApiSchemas schemas) : IClassFixture<OpenApiSchemas>
{
    [Fact]
    public async Task Stored_chat_completion_answers_validate_against_the_openapi_schemas()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        using var created = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            """{"model":"gpt-4o","store":true,"metadata":{"k":"v"},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"hi"}]}]}""");
        var id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;

        await AssertValidAsync("CreateChatCompletionResponse", await http.GetAsync(new Uri($"/v1/chat/completions/{id}", UriKind.Relative)));
        await AssertValidAsync("ChatCompletionList", await http.GetAsync(new Uri("/v1/chat/completions?metadata[k]=v", UriKind.Relative)));
        // The spec types a listed message's role as "assistant" only, yet its own example lists a "user" message, as
        // the API does: the fake keeps each message's role, so the check runs with the roles set aside.
        using var messages = await http.GetAsync(new Uri($"/v1/chat/completions/{id}/messages", UriKind.Relative));
        var list = JsonNode.Parse(await messages.Content.ReadAsStringAsync())!;
        Assert.Equal(["system", "user"], list["data"]!.AsArray().Select(m => (string?)m!["role"]));
        foreach (var message in list["data"]!.AsArray())
        {
            message!["role"] = "assistant";
        }

        Assert.Empty(schemas.Validate("ChatCompletionMessageList", list.ToJsonString()));
        await AssertValidAsync("CreateChatCompletionResponse", await OpenAITestClients.PostJsonAsync(http, $"/v1/chat/completions/{id}", """{"metadata":{"k":"w"}}"""));
        await AssertValidAsync("ChatCompletionDeleted", await http.DeleteAsync(new Uri($"/v1/chat/completions/{id}", UriKind.Relative)));
        await AssertValidAsync("ErrorResponse", await http.GetAsync(new Uri($"/v1/chat/completions/{id}", UriKind.Relative)), 404);
    }

    [Fact]
    public async Task Stored_response_answers_validate_against_the_openapi_schemas()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        using var created = await OpenAITestClients.PostJsonAsync(http, "/v1/responses",
            """{"model":"gpt-4o","input":[{"role":"user","content":"hi"},{"type":"message","role":"user","content":[{"type":"input_text","text":"there"}]}]}""");
        var id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;
        using var background = await OpenAITestClients.PostJsonAsync(http, "/v1/responses", """{"model":"gpt-4o","background":true,"input":"later"}""");
        var backgroundId = (string)JsonNode.Parse(await background.Content.ReadAsStringAsync())!["id"]!;

        await AssertValidAsync("Response", await http.GetAsync(new Uri($"/v1/responses/{id}", UriKind.Relative)));
        await AssertValidAsync("ResponseItemList", await http.GetAsync(new Uri($"/v1/responses/{id}/input_items", UriKind.Relative)));
        // A queued or cancelled response has no usage yet ("usage": null, as in streamed response.created events),
        // which the spec's Response schema does not allow for; the rest of it is checked.
        using var cancelled = await OpenAITestClients.PostJsonAsync(http, $"/v1/responses/{backgroundId}/cancel", "");
        var cancelledJson = JsonNode.Parse(await cancelled.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("cancelled", (string?)cancelledJson["status"]);
        Assert.Null(cancelledJson["usage"]);
        cancelledJson.Remove("usage");
        Assert.Empty(schemas.Validate("Response", cancelledJson.ToJsonString()));
        await AssertValidAsync("ErrorResponse", await OpenAITestClients.PostJsonAsync(http, $"/v1/responses/{id}/cancel", ""), 400);
        await AssertValidAsync("ErrorResponse", await http.GetAsync(new Uri("/v1/responses/resp_unknown", UriKind.Relative)), 404);
    }

    private async Task AssertValidAsync(string schema, HttpResponseMessage response, int status = 200)
    {
        using (response)
        {
            var json = await response.Content.ReadAsStringAsync();
            Assert.True(status == (int)response.StatusCode, $"{(int)response.StatusCode}: {json}");
            var errors = schemas.Validate(schema, json);
            Assert.True(errors.Count == 0, $"{schema}: {string.Join("; ", errors)}\n{json}");
        }
    }
}
