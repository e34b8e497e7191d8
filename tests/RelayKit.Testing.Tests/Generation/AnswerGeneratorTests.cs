using System.Text.Json.Nodes;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Protocols.OpenAI;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Generation;

/// <summary>Generated answers: deterministic per seed and request, capped by max tokens, usage that matches the text.</summary>
public sealed class AnswerGeneratorTests
{
    [Fact]
    public async Task The_same_seed_and_request_give_the_same_text_and_another_seed_or_prompt_does_not()
    {
        var first = await GenerateAsync(seed: 11, "Tell me something");
        var again = await GenerateAsync(seed: 11, "Tell me something");
        var otherSeed = await GenerateAsync(seed: 12, "Tell me something");
        var otherPrompt = await GenerateAsync(seed: 11, "Tell me something else");

        Assert.False(string.IsNullOrWhiteSpace(first.Content[0].Text));
        Assert.Equal(first.Content[0].Text, again.Content[0].Text);
        Assert.NotEqual(first.Content[0].Text, otherSeed.Content[0].Text);
        Assert.NotEqual(first.Content[0].Text, otherPrompt.Content[0].Text);
    }

    [Fact]
    public async Task Generated_dates_count_from_a_fixed_point_not_the_machine_clock()
    {
        // A date field generated from the wall clock changed from run to run (and second to second), breaking
        // "same seed, same answer" for structured outputs and tool arguments with date-time fields.
        const string Schema = """{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"}},"required":["when","day"],"additionalProperties":false}""";
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 13 });
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("moment", BinaryData.FromString(Schema), jsonSchemaIsStrict: true) };

        ChatCompletion completion = await OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("When?")], options);

        var value = JsonNode.Parse(completion.Content[0].Text)!;
        var when = DateTimeOffset.Parse(value["when"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(when, new DateTimeOffset(2025, 12, 30, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.StartsWith("2025-12-3", value["day"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generated_text_reports_usage_that_matches_it()
    {
        var completion = await GenerateAsync(seed: 3, "Count me");

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(O200k.Count(completion.Content[0].Text), completion.Usage.OutputTokenCount);
        Assert.Equal(O200k.Count("Count me"), completion.Usage.InputTokenCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    public async Task Max_tokens_cuts_the_text_with_finish_reason_length_and_matching_usage(int maxTokens)
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 5, GeneratedSentences = 4 });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Write a lot")], options);
        var streamed = "";
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Write a lot")], options))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        var text = completion.Content[0].Text;
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(maxTokens, O200k.Count(text));
        Assert.Equal(maxTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(text, streamed);
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(maxTokens, usage?.OutputTokenCount);
        Assert.Equal(maxTokens, (int)fake.Requests[0].Body!["max_completion_tokens"]!);
    }

    [Fact]
    public async Task The_legacy_max_tokens_field_is_honoured_too()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":3,"messages":[{"role":"user","content":"Write a lot"}]}""");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal("length", (string)body["choices"]![0]!["finish_reason"]!);
        Assert.Equal(3, O200k.Count((string)body["choices"]![0]!["message"]!["content"]!));
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Embeddings_are_deterministic_per_seed()
    {
        async Task<float[]> EmbedAsync(int seed)
        {
            await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
            var result = await OpenAITestClients.InMemory(fake).GetEmbeddingClient("text-embedding-3-small").GenerateEmbeddingAsync("hello");
            return result.Value.ToFloats().ToArray();
        }

        // Two separate fakes with the same seed: nothing is shared between them but the seed.
        var first = await EmbedAsync(1);
        var again = await EmbedAsync(1);
        var otherSeed = await EmbedAsync(2);

        Assert.Equal(1536, first.Length);
        Assert.Equal(first, again);
        Assert.NotEqual(first, otherSeed);
    }

    private static async Task<ChatCompletion> GenerateAsync(int seed, string prompt)
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = seed });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        return await chat.CompleteChatAsync([new UserChatMessage(prompt)]);
    }
}
