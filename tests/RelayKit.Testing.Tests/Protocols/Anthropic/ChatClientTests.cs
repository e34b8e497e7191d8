using System.Text.Json;
using Anthropic.Exceptions;
using Microsoft.Extensions.AI;
using NJsonSchema;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>The SDK's own <see cref="IChatClient"/> adapter (<c>AsIChatClient</c>) pointed at the fake.</summary>
public sealed class ChatClientTests
{
    [Fact]
    public async Task Chat_client_gets_text_finish_reason_and_usage_with_cache_reads()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(new FakeReply { Text = "Hi from IChatClient.", CachedInputTokens = 2 });
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-haiku-4-5");

        var response = await chat.GetResponseAsync("Please say hi to the chat client");

        Assert.Equal("Hi from IChatClient.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("claude-haiku-4-5", response.ModelId);
        Assert.Equal(AnthropicSdk.CountTokens("Hi from IChatClient."), response.Usage!.OutputTokenCount);
        Assert.Equal(AnthropicSdk.CountTokens("Please say hi to the chat client"), response.Usage.InputTokenCount);
        Assert.Equal(2, response.Usage.CachedInputTokenCount);
        Assert.Equal(1024, fake.Requests[0].MaxOutputTokens);
    }

    [Fact]
    public async Task Chat_client_streams_text_and_reports_usage_at_the_end()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Streaming through Microsoft.Extensions.AI.");
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("stream it", new ChatOptions { MaxOutputTokens = 64 }))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        Assert.Equal("Streaming through Microsoft.Extensions.AI.", response.Text);
        Assert.True(updates.Count(u => !string.IsNullOrEmpty(u.Text)) > 1);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(AnthropicSdk.CountTokens("Streaming through Microsoft.Extensions.AI."), response.Usage!.OutputTokenCount);
        Assert.Equal(AnthropicSdk.CountTokens("stream it"), response.Usage.InputTokenCount);
        Assert.Equal(64, fake.Requests[0].MaxOutputTokens);
        Assert.True(fake.Requests[0].IsStreaming);
    }

    [Fact]
    public async Task Chat_client_forcing_a_tool_gets_a_schema_valid_generated_call_whole_and_streamed()
    {
        await using var fake = new FakeUpstream();
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");
        var tool = AIFunctionFactory.Create(
            (string city, int days, bool metric) => $"{city}: sunny for {days} days",
            "get_forecast",
            "Gets the forecast for a city.");
        var options = new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.RequireSpecific("get_forecast") };
        var schema = await JsonSchema.FromJsonAsync(tool.JsonSchema.GetRawText());

        var response = await chat.GetResponseAsync("What should I pack?", options);
        var streamed = (await ToListAsync(chat.GetStreamingResponseAsync("What should I pack?", options))).ToChatResponse();

        foreach (var r in new[] { response, streamed })
        {
            var call = Assert.Single(r.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal("get_forecast", call.Name);
            Assert.StartsWith("toolu_", call.CallId, StringComparison.Ordinal);
            Assert.Empty(schema.Validate(JsonSerializer.Serialize(call.Arguments)));
            Assert.Equal(ChatFinishReason.ToolCalls, r.FinishReason);
        }

        var body = fake.Requests[0].Body!;
        Assert.Equal("tool", body["tool_choice"]!["type"]!.GetValue<string>());
        Assert.Equal("get_forecast", body["tool_choice"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Chat_client_with_required_tool_mode_sends_any_and_gets_a_call()
    {
        await using var fake = new FakeUpstream();
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");
        var options = new ChatOptions
        {
            Tools = [AIFunctionFactory.Create((string zone) => zone, "get_time", "Gets the time in a zone.")],
            ToolMode = ChatToolMode.RequireAny,
        };

        var response = await chat.GetResponseAsync("time?", options);

        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_time", call.Name);
        Assert.IsType<JsonElement>(call.Arguments!["zone"], exactMatch: false);
        Assert.Equal("any", fake.Requests[0].Body!["tool_choice"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Chat_client_with_function_invocation_runs_the_scripted_tool_call_and_sends_the_result_back()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().OnCall(1).RespondWithToolCall("get_time", """{"zone":"UTC"}""");
        fake.Setup().When(r => r.Body?.ToJsonString().Contains("tool_result", StringComparison.Ordinal) == true)
            .RespondWithText("It is noon in UTC.");
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5").AsBuilder().UseFunctionInvocation().Build();
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string zone) => $"12:00 {zone}", "get_time", "Gets the time.")] };

        var response = await chat.GetResponseAsync("What time is it?", options);

        Assert.Equal("It is noon in UTC.", response.Text);
        Assert.Equal(2, fake.Requests.Count);
        var toolResult = fake.Requests[1].Body!["messages"]!.AsArray()[^1]!["content"]!.AsArray()[0]!;
        Assert.Equal("tool_result", toolResult["type"]!.GetValue<string>());
        Assert.Contains("12:00 UTC", toolResult.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_client_sees_the_sdks_exceptions_for_faults()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(5)));
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");

        await Assert.ThrowsAsync<AnthropicRateLimitException>(() => chat.GetResponseAsync("hi"));
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
