using Microsoft.Extensions.AI;
using NJsonSchema;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Microsoft.Extensions.AI's structured output (<c>GetResponseAsync&lt;T&gt;</c>) over the OpenAI chat client and the fake.</summary>
public sealed class StructuredOutputChatClientTests
{
    [Fact]
    public async Task Microsoft_extensions_ai_gets_a_typed_result_from_a_generated_answer()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 21 });
        IChatClient chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").AsIChatClient();

        ChatResponse<StructuredOutputTests.CityFacts> response = await chat.GetResponseAsync<StructuredOutputTests.CityFacts>("Facts about a city");

        Assert.True(response.TryGetResult(out var facts), $"the answer did not parse as CityFacts: {response.Text}");
        Assert.False(string.IsNullOrEmpty(facts.City));
        Assert.False(string.IsNullOrEmpty(facts.Country));
        var request = fake.Requests[0];
        Assert.Equal("json_schema", request.Body!["response_format"]!["type"]!.GetValue<string>());
        var schema = await JsonSchema.FromJsonAsync(request.OutputSchema!.ToJsonString());
        Assert.Empty(schema.Validate(response.Text));
    }

    [Fact]
    public async Task Microsoft_extensions_ai_gets_a_pinned_typed_result_streamed_or_not()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithJson(new StructuredOutputTests.CityFacts("Lisbon", "Portugal", 545_000, true));
        IChatClient chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o-mini").AsIChatClient();

        ChatResponse<StructuredOutputTests.CityFacts> response = await chat.GetResponseAsync<StructuredOutputTests.CityFacts>("Facts about Lisbon");
        var streamed = await chat.GetStreamingResponseAsync("Facts about Lisbon", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema<StructuredOutputTests.CityFacts>() }).ToChatResponseAsync();

        Assert.Equal(new StructuredOutputTests.CityFacts("Lisbon", "Portugal", 545_000, true), response.Result);
        Assert.Equal(response.Text, streamed.Text);
    }
}
