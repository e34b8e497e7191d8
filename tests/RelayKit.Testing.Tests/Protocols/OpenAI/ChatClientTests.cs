using System.Text.Json;
using Microsoft.Extensions.AI;
using NJsonSchema;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>A Microsoft.Extensions.AI <see cref="IChatClient"/> (<c>ChatClient.AsIChatClient()</c>) pointed at the fake.</summary>
public sealed class ChatClientTests
{
    [Fact]
    public async Task Gets_text_usage_and_finish_reason()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().ForModel("gpt-4o-mini").RespondWithText("Hello from the fake.");
        IChatClient chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o-mini").AsIChatClient();

        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.System, "Be nice."), new ChatMessage(ChatRole.User, "hi")]);

        Assert.Equal("Hello from the fake.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(O200k.Count("Hello from the fake."), response.Usage?.OutputTokenCount);
        Assert.Equal(O200k.Count("Be nice.\nhi"), response.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Streams_text_and_reports_usage_content()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("A streamed answer, token by token.");
        IChatClient chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").AsIChatClient();

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("hi"))
        {
            updates.Add(update);
        }

        Assert.Equal("A streamed answer, token by token.", string.Concat(updates.Select(u => u.Text)));
        Assert.Single(updates.Select(u => u.ResponseId).Where(id => id is not null).Distinct());
        Assert.Equal([ChatFinishReason.Stop], updates.Where(u => u.FinishReason is not null).Select(u => u.FinishReason!.Value).Distinct());
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single();
        Assert.Equal(O200k.Count("A streamed answer, token by token."), usage.Details.OutputTokenCount);
    }

    [Fact]
    public async Task A_required_specific_tool_mode_gets_a_generated_call_with_schema_valid_arguments()
    {
        var tool = AIFunctionFactory.Create((string city, int days) => $"{city}:{days}", "get_forecast", "Forecast for a city");
        var schema = await JsonSchema.FromJsonAsync(tool.JsonSchema.GetRawText());
        await using var fake = new FakeUpstream();
        IChatClient chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").AsIChatClient();

        var response = await chat.GetResponseAsync("forecast please", new ChatOptions
        {
            Tools = [tool],
            ToolMode = ChatToolMode.RequireSpecific("get_forecast"),
        });

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
        Assert.Equal("get_forecast", call.Name);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Empty(schema.Validate(JsonSerializer.Serialize(call.Arguments)));
        Assert.Equal("get_forecast", (string)fake.Requests.Single().Body!["tool_choice"]!["function"]!["name"]!);
    }

    [Fact]
    public async Task Works_over_real_http_with_the_sdk_default_transport()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Over a real socket.");
        var client = await OpenAITestClients.OverHttpAsync(fake);
        IChatClient chat = client.GetChatClient("gpt-4o").AsIChatClient();

        var response = await chat.GetResponseAsync("hi");
        var streamed = "";
        await foreach (var update in chat.GetStreamingResponseAsync("hi"))
        {
            streamed += update.Text;
        }

        Assert.Equal("Over a real socket.", response.Text);
        Assert.Equal("Over a real socket.", streamed);
        Assert.Equal(2, fake.Requests.Count);
        Assert.Equal("[redacted]", fake.Requests[0].Headers["Authorization"]);
    }
}
