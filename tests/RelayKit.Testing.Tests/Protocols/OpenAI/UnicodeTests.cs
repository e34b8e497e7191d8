using System.Text.Json.Nodes;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Non-ASCII text and arguments survive streaming intact and are written as UTF-8, as OpenAI does.</summary>
public sealed class UnicodeTests
{
    private const string Text = "Crème brûlée 😀 日本語のテキスト 🇫🇷 \"quoted\" <tag> & a+b — fin.";
    private const string Arguments = """{"note":"😀😀😀😀 naïve 日本 🇫🇷","q":"\"x\""}""";

    [Fact]
    public async Task Streamed_text_and_tool_arguments_reassemble_exactly()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().OnCall(1).RespondWithText(Text);
        fake.Setup().OnCall(2).RespondWithToolCall("note", Arguments);
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var text = "";
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
        }

        var arguments = "";
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            arguments += string.Concat(update.ToolCallUpdates.Select(t => t.FunctionArgumentsUpdate?.ToString()));
        }

        Assert.Equal(Text, text);
        Assert.Equal(O200k.Count(Text), usage?.OutputTokenCount);
        Assert.Equal(Arguments, arguments);
    }

    [Fact]
    public async Task Json_is_written_with_plain_quotes_and_utf8_not_html_escapes()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText(Text);
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        var raw = await response.Content.ReadAsStringAsync();

        // Characters outside the Basic Multilingual Plane (emoji) stay escaped as \uD83D\uDE00 pairs, which
        // is valid JSON every SDK decodes; everything else is written as UTF-8.
        Assert.Contains("Crème brûlée ", raw, StringComparison.Ordinal);
        Assert.Contains(" 日本語のテキスト ", raw, StringComparison.Ordinal);
        Assert.Contains("\\\"quoted\\\" <tag> & a+b", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u2014", raw, StringComparison.Ordinal);
        Assert.Equal(Text, (string)JsonNode.Parse(raw)!["choices"]![0]!["message"]!["content"]!);
    }
}
