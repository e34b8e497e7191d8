using Anthropic.Models.Messages;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>
/// An answer names the model the caller asked for, whatever went upstream: the same rule for both wire formats,
/// streamed or not, translated or not. The upstream's own name stays in the usage record.
/// </summary>
public sealed class AnswerModelNameTests
{
    // Both models are renamed on their way upstream: gpt-5.5 → gpt-5.5-2026-01-01, claude-code-opus-4.8 → claude-opus-4-8.
    private static FakeRelay Create() => FakeRelay.Create(s => s
        .With("ModelRelay:Models:gpt-5.5:UpstreamModel", "gpt-5.5-2026-01-01")
        .With("ModelRelay:Models:text-embedding-3-small:UpstreamModel", "text-embedding-3-small-2026"));

    [Theory]
    [InlineData("gpt-5.5", "gpt-5.5-2026-01-01")] // same format
    [InlineData("default", "gpt-5.5-2026-01-01")] // an alias: the caller's name is the alias
    [InlineData("claude-code-opus-4.8", "claude-opus-4-8")] // translated
    public async Task The_openai_sdk_sees_the_model_it_asked_for(string model, string upstreamModel)
    {
        await using var relay = Create();
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(model);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        var streamed = new List<string>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            streamed.Add(update.Model);
        }

        Assert.Equal(model, completion.Model);
        Assert.NotEmpty(streamed);
        Assert.All(streamed, m => Assert.Equal(model, m));
        Assert.All(relay.Fake.Requests, r => Assert.Equal(upstreamModel, r.Model));
        var records = await relay.WaitForRecordsAsync(2);
        Assert.All(records, r => Assert.Equal((model, upstreamModel), (r.RequestedModel, r.UpstreamModel)));
    }

    [Theory]
    [InlineData("claude-code-opus-4.8", "claude-opus-4-8")] // same format
    [InlineData("gpt-5.5", "gpt-5.5-2026-01-01")] // translated
    public async Task The_anthropic_sdk_sees_the_model_it_asked_for(string model, string upstreamModel)
    {
        await using var relay = Create();
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        var request = new MessageCreateParams { Model = model, MaxTokens = 64, Messages = [new UserMessageParam("hi")] };

        var message = await client.Messages.Create(request);
        string? started = null;
        await foreach (var streamEvent in client.Messages.CreateStreaming(request))
        {
            if (streamEvent.TryPickStart(out var start))
            {
                started = start.Message.Model.Raw();
            }
        }

        Assert.Equal(model, message.Model.Raw());
        Assert.Equal(model, started);
        Assert.All(relay.Fake.Requests, r => Assert.Equal(upstreamModel, r.Model));
        var records = await relay.WaitForRecordsAsync(2);
        Assert.All(records, r => Assert.Equal((model, upstreamModel), (r.RequestedModel, r.UpstreamModel)));
    }

    [Fact]
    public async Task Embeddings_and_responses_name_the_model_the_caller_asked_for()
    {
        await using var relay = Create();
        using var http = relay.App.CreateClient();

        var (status, embeddings, _) = await RawRelayCall.PostAsync(http, "v1/embeddings",
            """{"model":"text-embedding-3-small","input":["one","two"]}""", bearer: RelaySettings.AliceKey);
        var (responseStatus, response, _) = await RawRelayCall.PostAsync(http, "v1/responses",
            """{"model":"gpt-5.5","input":"hi"}""", bearer: RelaySettings.AliceKey);
        var events = await UsageRecordsThroughRelayTests.PostSseAsync(http, "v1/responses", RelaySettings.AliceKey, null,
            """{"model":"gpt-5.5","input":"hi","stream":true}""");

        Assert.Equal(200, status);
        Assert.Equal("text-embedding-3-small", embeddings.GetProperty("model").GetString());
        Assert.Equal(2, embeddings.GetProperty("data").GetArrayLength());
        Assert.Equal(200, responseStatus);
        Assert.Equal("gpt-5.5", response.GetProperty("model").GetString());
        var named = events.Where(e => e.TryGetProperty("response", out _)).Select(e => e.GetProperty("response").GetProperty("model").GetString()).ToList();
        Assert.NotEmpty(named);
        Assert.All(named, m => Assert.Equal("gpt-5.5", m));
        Assert.Contains(relay.Fake.Requests, r => r.Model == "text-embedding-3-small-2026");
    }
}
