using System.Net;
using System.Text.Json;
using Anthropic.Models.Messages;
using Anthropic.Models.Models;
using Microsoft.Extensions.Time.Testing;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

public sealed class CountTokensAndModelsTests
{
    [Fact]
    public async Task Count_tokens_matches_the_input_tokens_a_message_reports_for_the_same_prompt()
    {
        await using var fake = new FakeUpstream();
        var client = AnthropicSdk.Client(fake);
        const string system = "You are a terse assistant.";
        const string question = "How many tokens does this sentence take, including the system prompt and the tool?";

        var counted = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-haiku-4-5",
            System = system,
            Messages = [new UserMessageParam(question)],
            Tools = [MessagesTests.Tool("get_time", """{"type":"object","properties":{"zone":{"type":"string"}}}""")],
        });
        var message = await client.Messages.Create(AnthropicSdk.Ask(question, "claude-haiku-4-5") with
        {
            System = system,
            Tools = [MessagesTests.Tool("get_time", """{"type":"object","properties":{"zone":{"type":"string"}}}""")],
        });

        Assert.True(counted.InputTokens > AnthropicSdk.CountTokens(system + question), "system, messages and tools all count");
        Assert.Equal(message.Usage.InputTokens, counted.InputTokens);
        var request = fake.Requests[0];
        Assert.Equal(FakeEndpoint.AnthropicCountTokens, request.Endpoint);
        Assert.Equal("/v1/messages/count_tokens", request.Path);
        Assert.Null(request.MaxOutputTokens);
    }

    [Fact]
    public async Task Count_tokens_over_raw_http_answers_only_input_tokens()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages/count_tokens",
            """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, world"}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var property = Assert.Single(body.RootElement.EnumerateObject());
        Assert.Equal("input_tokens", property.Name);
        Assert.Equal(AnthropicSdk.CountTokens("Hello, world"), property.Value.GetInt32());
    }

    [Fact]
    public async Task Models_list_in_anthropic_format_reaches_the_sdk()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 5, 14, 0, 0, 0, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        fake.Options.AnthropicModels.Clear();
        fake.Options.AnthropicModels.Add("claude-sonnet-4-5");
        fake.Options.AnthropicModels.Add("claude-haiku-4-5");
        var client = AnthropicSdk.Client(fake);

        var page = await client.Models.List(new ModelListParams());

        Assert.Equal(["claude-sonnet-4-5", "claude-haiku-4-5"], page.Items.Select(m => m.ID));
        Assert.Equal(["Claude Sonnet 4.5", "Claude Haiku 4.5"], page.Items.Select(m => m.DisplayName));
        Assert.All(page.Items, m => Assert.Equal(clock.GetUtcNow(), m.CreatedAt));
        Assert.All(page.Items, m => Assert.Equal(ModelInfoLifecycle.Active, m.Lifecycle.Value()));
        Assert.False(page.HasNext());
        var request = Assert.Single(fake.Requests);
        Assert.Equal(FakeEndpoint.AnthropicModels, request.Endpoint);
        Assert.Equal("GET", request.Method);
        Assert.Equal(AnthropicSdk.SdkVersion, request.Headers["anthropic-version"]);
    }

    [Fact]
    public async Task Models_without_anthropic_version_is_the_openai_list_and_with_it_the_anthropic_list()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var anthropic = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Get, "v1/models"));
        using var openai = await http.GetAsync("v1/models");

        using var anthropicBody = JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync());
        using var openaiBody = JsonDocument.Parse(await openai.Content.ReadAsStringAsync());
        Assert.False(anthropicBody.RootElement.TryGetProperty("object", out _));
        Assert.False(anthropicBody.RootElement.GetProperty("has_more").GetBoolean());
        var data = anthropicBody.RootElement.GetProperty("data");
        Assert.Equal(data[0].GetProperty("id").GetString(), anthropicBody.RootElement.GetProperty("first_id").GetString());
        Assert.Equal(data[data.GetArrayLength() - 1].GetProperty("id").GetString(), anthropicBody.RootElement.GetProperty("last_id").GetString());
        Assert.All(data.EnumerateArray(), m => Assert.Equal("model", m.GetProperty("type").GetString()));
        Assert.Equal("list", openaiBody.RootElement.GetProperty("object").GetString());
    }
}
