using Anthropic.Models.Messages;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

public sealed class UsageTests
{
    private const string LongSystemPrompt =
        "You are a meticulous assistant for a travel agency. Always answer with the city, the country, " +
        "the best month to visit and one sentence on why. Never invent prices. Keep answers short and factual.";

    [Fact]
    public async Task Cache_reads_and_writes_are_reported_and_input_tokens_exclude_them()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(new FakeReply { Text = "Lisbon, Portugal, May.", CachedInputTokens = 20, CacheCreationInputTokens = 8 });
        var client = AnthropicSdk.Client(fake);
        var ask = AnthropicSdk.Ask("Where should I go in spring?") with { System = LongSystemPrompt };
        var prompt = AnthropicSdk.CountTokens(LongSystemPrompt + "\n" + "Where should I go in spring?");

        var message = await client.Messages.Create(ask);
        RawMessageStartEvent? start = null;
        RawMessageDeltaEvent? delta = null;
        await foreach (var e in client.Messages.CreateStreaming(ask))
        {
            if (e.TryPickStart(out var s))
            {
                start = s;
            }

            if (e.TryPickDelta(out var d))
            {
                delta = d;
            }
        }

        Assert.Equal(20, message.Usage.CacheReadInputTokens);
        Assert.Equal(8, message.Usage.CacheCreationInputTokens);
        Assert.Equal(prompt - 28, message.Usage.InputTokens);
        Assert.Equal(8, message.Usage.CacheCreation!.Ephemeral5mInputTokens);
        Assert.Equal(AnthropicSdk.CountTokens("Lisbon, Portugal, May."), message.Usage.OutputTokens);

        Assert.Equal(20, start!.Message.Usage.CacheReadInputTokens);
        Assert.Equal(8, start.Message.Usage.CacheCreationInputTokens);
        Assert.Equal(prompt - 28, start.Message.Usage.InputTokens);
        Assert.Equal(20, delta!.Usage.CacheReadInputTokens);
        Assert.Equal(8, delta.Usage.CacheCreationInputTokens);
        Assert.Equal(prompt - 28, delta.Usage.InputTokens);
        Assert.Equal(message.Usage.OutputTokens, delta.Usage.OutputTokens);
    }

    [Fact]
    public async Task Cache_counts_never_exceed_the_prompt()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(new FakeReply { Text = "ok", CachedInputTokens = 10_000, CacheCreationInputTokens = 10_000 });
        var client = AnthropicSdk.Client(fake);

        var message = await client.Messages.Create(AnthropicSdk.Ask("short prompt"));

        Assert.Equal(AnthropicSdk.CountTokens("short prompt"), message.Usage.CacheReadInputTokens);
        Assert.Equal(0, message.Usage.CacheCreationInputTokens);
        Assert.Equal(0, message.Usage.InputTokens);
    }

    [Fact]
    public async Task Usage_counts_the_whole_conversation_and_the_returned_text_with_o200k()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        var ask = new MessageCreateParams
        {
            Model = "claude-opus-4-8",
            MaxTokens = 400,
            Messages =
            [
                new UserMessageParam("What is the capital of France?"),
                new AssistantMessageParam("Paris."),
                new UserMessageParam("And of Italy?"),
            ],
        };

        var message = await client.Messages.Create(ask);

        var text = MessagesTests.Text(message);
        Assert.Equal(AnthropicSdk.CountTokens(text), message.Usage.OutputTokens);
        Assert.Equal(AnthropicSdk.CountTokens("What is the capital of France?\nParis.\nAnd of Italy?"), message.Usage.InputTokens);
        Assert.Equal(0, message.Usage.CacheReadInputTokens);
        Assert.Equal("And of Italy?", fake.Requests[0].LastUserMessage);
    }
}
