using Microsoft.Extensions.AI;
using NJsonSchema;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>Microsoft.Extensions.AI over the Anthropic SDK's <see cref="IChatClient"/>: typed structured output and thinking.</summary>
public sealed class StructuredOutputChatClientTests
{
    public sealed record Forecast(string City, int HighCelsius, bool Rain);

    [Fact]
    public async Task Get_response_of_t_parses_a_generated_answer_valid_for_the_schema_it_sent()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 17 });
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");

        ChatResponse<Forecast> response = await chat.GetResponseAsync<Forecast>("Tomorrow's forecast for a city");

        Assert.True(response.TryGetResult(out var forecast), $"the answer did not parse as a Forecast: {response.Text}");
        Assert.False(string.IsNullOrEmpty(forecast.City));
        var request = fake.Requests[0];
        Assert.NotNull(request.OutputSchema);
        var schema = await JsonSchema.FromJsonAsync(request.OutputSchema.ToJsonString());
        Assert.Empty(schema.Validate(response.Text));
    }

    [Fact]
    public async Task Get_response_of_t_returns_a_pinned_value()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithJson(new Forecast("Bergen", 11, true));
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5");

        ChatResponse<Forecast> response = await chat.GetResponseAsync<Forecast>("Forecast for Bergen");

        Assert.Equal(new Forecast("Bergen", 11, true), response.Result);
    }

    [Fact]
    public async Task Extended_thinking_mode_returns_the_thinking_as_reasoning_content()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(FakeReply.WithText("Take an umbrella.") with { Thinking = "Rain is likely in Bergen." });
        using var chat = AnthropicSdk.Client(fake).AsIChatClient("claude-sonnet-4-5", 4096, AnthropicThinkingMode.Extended);

        var response = await chat.GetResponseAsync("Umbrella?", new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.Medium } });

        var reasoning = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>());
        Assert.Equal("Rain is likely in Bergen.", reasoning.Text);
        Assert.False(string.IsNullOrEmpty(reasoning.ProtectedData));
        Assert.Equal("Take an umbrella.", response.Text);
        Assert.True(fake.Requests[0].RequestsThinking);
    }
}
