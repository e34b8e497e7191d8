#pragma warning disable OPENAI001 // the Responses client is marked for evaluation

using System.Text;
using Microsoft.Extensions.AI;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// Microsoft.Extensions.AI 11's <see cref="IChatClient"/> pointed at the relay, streaming, for a GPT model (passed
/// through) and a Claude model (translated from Anthropic's stream).
/// </summary>
/// <remarks>
/// Microsoft.Extensions.AI.OpenAI 11.0.0 is built against OpenAI 2.14: with 2.15, whose
/// <c>ResponsesClient.CreateResponseStreamingAsync</c> changed its return type, the adapter failed with
/// <see cref="MissingMethodException"/> inside the client before any request was sent. Directory.Packages.props
/// therefore pins OpenAI to the version the adapter was built for, and RelayKit.Clients ships with it.
/// </remarks>
public sealed class ChatClientOverResponsesTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("gpt-5.5", "gpt-5.5")]
    [InlineData("claude-code-opus-4.8", "claude-opus-4-8")]
    public async Task Over_the_Responses_API_GetStreamingResponseAsync_streams_the_answer_through_the_relay(string model, string upstreamModel)
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel(upstreamModel).RespondWithText("Streamed over Responses, word by word.");
        IChatClient chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetResponsesClient().AsIChatClient(model);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("hello", cancellationToken: new CancellationTokenSource(Guard).Token))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        Assert.Equal("Streamed over Responses, word by word.", response.Text);
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the text arrives in more than one update");
        var upstream = Assert.Single(relay.Fake.Requests);
        Assert.Equal(upstreamModel, upstream.Model);
        Assert.Equal(model.StartsWith("claude", StringComparison.Ordinal) ? FakeEndpoint.AnthropicMessages : FakeEndpoint.OpenAIResponses, upstream.Endpoint);
    }

    [Theory]
    [InlineData("gpt-5.5", "gpt-5.5")]
    [InlineData("claude-code-opus-4.8", "claude-opus-4-8")]
    public async Task Over_Chat_Completions_GetStreamingResponseAsync_streams_the_answer_through_the_relay(string model, string upstreamModel)
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel(upstreamModel).RespondWithText("Streamed through the relay, word by word.");
        IChatClient chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(model).AsIChatClient();

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("hello", cancellationToken: new CancellationTokenSource(Guard).Token))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        Assert.Equal("Streamed through the relay, word by word.", response.Text);
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the text arrives in more than one update");
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var upstream = Assert.Single(relay.Fake.Requests);
        Assert.Equal(upstreamModel, upstream.Model);
        Assert.Equal(model.StartsWith("claude", StringComparison.Ordinal) ? FakeEndpoint.AnthropicMessages : FakeEndpoint.OpenAIChatCompletions, upstream.Endpoint);
    }
}
