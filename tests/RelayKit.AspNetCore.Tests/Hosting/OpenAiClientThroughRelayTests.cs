using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Embeddings;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>The official OpenAI .NET SDK against the relay, with the fake upstream behind it.</summary>
public sealed class OpenAiClientThroughRelayTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_chat_completion_reaches_the_provider_and_comes_back()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WhenLastUserMessageContains("hi").RespondWithText("hello from the fake");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var result = await chat.CompleteChatAsync([new UserChatMessage("hi there")]);

        Assert.Equal("hello from the fake", result.Value.Content[0].Text);
        var upstream = Assert.Single(relay.Fake.Requests);
        Assert.Equal("/v1/chat/completions", upstream.Path);
        Assert.Equal("gpt-5.5", upstream.Model);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-request-id", out var requestId));
        Assert.StartsWith("req_", requestId, StringComparison.Ordinal);
        Assert.True(headers.TryGetValue("x-upstream-request-id", out var upstreamId));
        Assert.NotEqual(requestId, upstreamId);
    }

    [Fact]
    public async Task An_alias_goes_upstream_as_the_upstream_model_with_the_rest_of_the_body_unchanged()
    {
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Models:gpt-5.5:UpstreamModel", "gpt-5.5-2026-01-01"));
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("default");

        await chat.CompleteChatAsync([new UserChatMessage("café ✓ \"quoted\"")], new ChatCompletionOptions { Temperature = 0.25f });

        Assert.Equal("gpt-5.5-2026-01-01", Assert.Single(relay.Fake.Requests).Model);
        using var sent = JsonDocument.Parse(Assert.Single(relay.Recorder.Exchanges).Body);
        Assert.Equal("gpt-5.5-2026-01-01", sent.RootElement.GetProperty("model").GetString());
        Assert.Equal("café ✓ \"quoted\"", sent.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(0.25, sent.RootElement.GetProperty("temperature").GetDouble(), 3);
    }

    [Fact]
    public async Task A_model_that_needs_no_rewrite_goes_upstream_byte_for_byte()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();
        const string body = """{ "model" : "gpt-5.5", "messages" : [ { "role":"user", "content":"caf\u00e9" } ], "temperature": 1.50 }""";
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(body, Assert.Single(relay.Recorder.Exchanges).Body);
    }

    [Fact]
    public async Task A_stream_reaches_the_client_event_by_event()
    {
        await using var relay = FakeRelay.Create();
        var gate = new FakeStreamGate();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("one two three four five").HoldAfterEvents(2, gate);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        await using var updates = chat.CompleteChatStreamingAsync([new UserChatMessage("count")]).GetAsyncEnumerator();
        var first = updates.MoveNextAsync().AsTask();
        await gate.Reached.WaitAsync(Guard);

        // The upstream is holding its stream open, yet the first event is already with the client.
        Assert.True(await first.WaitAsync(Guard));
        Assert.False(relay.Fake.Requests[0].Completion.IsCompleted);

        gate.Release();
        var text = string.Concat(updates.Current.ContentUpdate.Select(p => p.Text));
        while (await updates.MoveNextAsync())
        {
            text += string.Concat(updates.Current.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("one two three four five", text);
        Assert.True(relay.Fake.Requests[0].IsStreaming);
    }

    [Fact]
    public async Task A_tool_call_comes_back_with_its_arguments()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithToolCall("get_weather", """{"city":"Paris"}""");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

        var result = await chat.CompleteChatAsync([new UserChatMessage("weather in Paris?")], new ChatCompletionOptions { Tools = { tool } });

        var call = Assert.Single(result.Value.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        using var arguments = JsonDocument.Parse(call.FunctionArguments);
        Assert.Equal("Paris", arguments.RootElement.GetProperty("city").GetString());
        Assert.Equal("get_weather", Assert.Single(relay.Fake.Requests[0].Tools).Name);
    }

    [Fact]
    public async Task Embeddings_come_back()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("text-embedding-3-small").RespondWithEmbeddings([0.5f, -0.25f, 0.125f]);
        var embeddings = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetEmbeddingClient("text-embedding-3-small");

        OpenAIEmbedding embedding = await embeddings.GenerateEmbeddingAsync("hello");

        Assert.Equal([0.5f, -0.25f, 0.125f], embedding.ToFloats().ToArray());
        Assert.Equal("/v1/embeddings", relay.Fake.Requests[0].Path);
    }

    [Fact]
    public async Task A_response_from_the_responses_api_comes_back()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("responses work");
#pragma warning disable OPENAI001 // the Responses client is marked experimental in the SDK
        var responses = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetResponsesClient();

        var result = await responses.CreateResponseAsync("gpt-5.5", "say it", null);
#pragma warning restore OPENAI001

        Assert.Equal("responses work", result.Value.GetOutputText());
        Assert.Equal("/v1/responses", relay.Fake.Requests[0].Path);
    }

    [Fact]
    public async Task The_model_list_shows_what_the_key_may_use()
    {
        await using var relay = FakeRelay.Create();
        var alice = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetOpenAIModelClient();
        var bob = relay.App.CreateOpenAiClient(RelaySettings.BobKey).GetOpenAIModelClient();

        var aliceModels = (await alice.GetModelsAsync()).Value;
        var bobModels = (await bob.GetModelsAsync()).Value;

        Assert.Equal(["claude-code-opus-4.8", "default", "gpt-5.5", "text-embedding-3-small"], aliceModels.Select(m => m.Id));
        Assert.Equal("anthropic", aliceModels.Single(m => m.Id == "claude-code-opus-4.8").OwnedBy);
        Assert.Equal(["gpt-5.5"], bobModels.Select(m => m.Id));
        Assert.Empty(relay.Fake.Requests);
    }
}
