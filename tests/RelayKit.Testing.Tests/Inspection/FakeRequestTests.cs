using System.ClientModel;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.Inspection;

/// <summary>What a test reads back about the requests the fake received.</summary>
public sealed class FakeRequestTests
{
    [Fact]
    public async Task Records_every_request_with_its_parsed_body_and_secrets_redacted()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        var http = fake.CreateClient();
        var client = new OpenAIClient(new ApiKeyCredential(OpenAITestClients.ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(http),
            OrganizationId = "org-secret-organization",
            ProjectId = "proj_secret_project",
        });
        var options = ChatCompletionsTests.WithTools();
        options.ToolChoice = ChatToolChoice.CreateFunctionChoice("get_time");
        options.MaxOutputTokenCount = 77;

        await client.GetChatClient("gpt-4o").CompleteChatAsync([new SystemChatMessage("sys"), new UserChatMessage("what time is it?")], options);
        await foreach (var _ in client.GetChatClient("gpt-4o-mini").CompleteChatStreamingAsync([new UserChatMessage("stream")]))
        {
        }

        Assert.Equal(2, fake.Requests.Count);
        var first = fake.Requests[0];
        Assert.Equal(1, first.Sequence);
        Assert.Equal(clock.GetUtcNow(), first.ReceivedAt);
        Assert.Equal("POST", first.Method);
        Assert.Equal("/v1/chat/completions", first.Path);
        Assert.Equal(FakeEndpoint.OpenAIChatCompletions, first.Endpoint);
        Assert.Equal(FakeWireFormat.OpenAI, first.WireFormat);
        Assert.Equal("gpt-4o", first.Model);
        Assert.False(first.IsStreaming);
        Assert.Equal("what time is it?", first.LastUserMessage);
        Assert.Equal("sys", first.SystemPrompt);
        Assert.Equal(["get_weather", "get_time"], first.Tools.Select(t => t.Name));
        Assert.Equal("get_time", first.ForcedToolName);
        Assert.Equal(77, first.MaxOutputTokens);
        Assert.Equal(200, first.StatusCode);
        Assert.Equal("what time is it?", (string)first.Body!["messages"]![1]!["content"]!);
        Assert.Contains("\"model\":\"gpt-4o\"", first.RawBody, StringComparison.Ordinal);

        Assert.Equal("[redacted]", first.Headers["authorization"]);
        Assert.Equal("[redacted]", first.Headers["OpenAI-Organization"]);
        Assert.Equal("[redacted]", first.Headers["OpenAI-Project"]);
        Assert.Contains("OpenAI", first.Headers["User-Agent"], StringComparison.Ordinal);
        Assert.All(fake.Requests.SelectMany(r => r.Headers.Values), value =>
        {
            Assert.DoesNotContain(OpenAITestClients.ApiKey, value, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", value, StringComparison.Ordinal);
        });

        var second = fake.Requests[1];
        Assert.Equal(2, second.Sequence);
        Assert.True(second.IsStreaming);
        Assert.True(second.IncludeUsage);
        Assert.Equal("gpt-4o-mini", second.Model);
        await second.Completion;
        Assert.False(second.WasAborted);
    }

    [Fact]
    public async Task Describes_a_request_in_one_line_for_failure_messages()
    {
        await using var fake = new FakeUpstream();
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        await chat.CompleteChatAsync([new UserChatMessage(new string('x', 200))]);

        var description = fake.Requests.Single().Describe();

        Assert.StartsWith("POST /v1/chat/completions model=gpt-4o last user message=\"xxxx", description, StringComparison.Ordinal);
        Assert.True(description.Length < 150, description);
    }
}
