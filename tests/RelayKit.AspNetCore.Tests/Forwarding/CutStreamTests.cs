#pragma warning disable OPENAI001 // the Responses client is marked for evaluation

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OpenAI.Chat;
using OpenAI.Responses;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>
/// A stream the upstream cuts short, by a clean close before its end event (<see cref="FakeFault.CutStreamAfter"/>,
/// which ends the fake's response normally) or by a reset, never reaches the caller as a finished answer.
/// </summary>
public sealed class CutStreamTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);
    private const string LongText = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen";

    [Fact]
    public async Task A_chat_stream_closed_cleanly_before_DONE_makes_the_OpenAI_SDK_throw_and_is_recorded_upstream_broken()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(LongText).WithFault(FakeFault.CutStreamAfter(3));
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var updates = new List<StreamingChatCompletionUpdate>();
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]).WithCancellation(new CancellationTokenSource(Guard).Token))
            {
                updates.Add(update);
            }
        });

        Assert.All(updates, u => Assert.Null(u.FinishReason));
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("upstream_broken", record.ErrorType);
    }

    [Fact]
    public async Task A_chat_stream_closed_cleanly_never_ends_as_a_finished_body()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(LongText).WithFault(FakeFault.CutStreamAfter(3));

        var (data, broke) = await ReadSseAsync(relay, "v1/chat/completions", """{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hi"}]}""", anthropic: false);

        Assert.True(broke, "the body must not end as a finished one");
        Assert.DoesNotContain("[DONE]", data);
    }

    [Fact]
    public async Task A_messages_stream_closed_cleanly_before_message_stop_makes_the_Anthropic_SDK_throw_its_stream_error()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText(LongText).WithFault(FakeFault.CutStreamAfter(4));
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var events = new List<RawMessageStreamEvent>();
        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var item in client.Messages.CreateStreaming(new MessageCreateParams
            {
                Model = "claude-code-opus-4.8",
                MaxTokens = 100,
                Messages = [new UserMessageParam("hi")],
            }).WithCancellation(new CancellationTokenSource(Guard).Token))
            {
                events.Add(item);
            }
        });

        Assert.Contains("ended before the answer was complete", error.ToString(), StringComparison.Ordinal);
        Assert.NotEmpty(events);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("upstream_broken", record.ErrorType);
    }

    [Fact]
    public async Task A_responses_stream_closed_cleanly_before_response_completed_makes_the_SDK_throw()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(LongText).WithFault(FakeFault.CutStreamAfter(5));

        var client = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetResponsesClient();
        var updates = new List<StreamingResponseUpdate>();
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var update in (client.CreateResponseStreamingAsync(
                new CreateResponseOptions("gpt-5.5", [ResponseItem.CreateUserMessageItem("hi")]) { StreamingEnabled = true })).WithCancellation(new CancellationTokenSource(Guard).Token))
            {
                updates.Add(update);
            }
        });

        Assert.DoesNotContain(updates, u => u is StreamingResponseCompletedUpdate);
        Assert.Equal("upstream_broken", Assert.Single(await relay.WaitForRecordsAsync(1)).ErrorType);
    }

    [Fact]
    public async Task A_translated_stream_closed_cleanly_makes_the_OpenAI_SDK_throw_and_is_recorded_upstream_broken()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText(LongText).WithFault(FakeFault.CutStreamAfter(4));
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("claude-code-opus-4.8");

        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]).WithCancellation(new CancellationTokenSource(Guard).Token))
            {
                Assert.Null(update.FinishReason);
            }
        });

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("upstream_broken", record.ErrorType);
    }

    [Fact]
    public async Task A_reset_stream_ends_with_the_Anthropic_error_event_too()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText(LongText).WithFault(FakeFault.ConnectionReset(4));

        var (data, broke) = await ReadSseAsync(relay, "v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", anthropic: true);

        Assert.False(broke, "Anthropic's SDKs raise the error event; the body itself ends");
        var last = JsonDocument.Parse(data[^1]).RootElement;
        Assert.Equal("error", last.GetProperty("type").GetString());
        Assert.Equal("api_error", last.GetProperty("error").GetProperty("type").GetString());
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("upstream_broken", record.ErrorType);
    }

    [Fact]
    public async Task A_stream_that_ends_properly_is_neither_cut_nor_recorded_broken()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(LongText);

        var (data, broke) = await ReadSseAsync(relay, "v1/chat/completions", """{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hi"}]}""", anthropic: false);

        Assert.False(broke);
        Assert.Equal("[DONE]", data[^1]);
        Assert.Null(Assert.Single(await relay.WaitForRecordsAsync(1)).ErrorType);
    }

    /// <summary>Every <c>data:</c> payload the caller received, and whether the body broke off instead of ending.</summary>
    private static async Task<(List<string> Data, bool Broke)> ReadSseAsync(FakeRelay relay, string path, string body, bool anthropic)
    {
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (anthropic)
        {
            request.Headers.Add("x-api-key", RelaySettings.AliceKey);
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RelaySettings.AliceKey);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
        Assert.Equal(200, (int)response.StatusCode);
        var data = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        try
        {
            while (await reader.ReadLineAsync().WaitAsync(Guard) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line["data: ".Length..]);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return (data, true);
        }

        return (data, false);
    }
}
