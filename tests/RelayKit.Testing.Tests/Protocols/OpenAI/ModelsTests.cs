using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Models;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary><c>GET /v1/models</c> in OpenAI's list format.</summary>
public sealed class ModelsTests
{
    [Fact]
    public async Task Lists_the_configured_models_through_the_sdk()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new FakeUpstreamOptions { TimeProvider = clock };
        options.Models.Add("my-fine-tune");
        await using var fake = new FakeUpstream(options);

        OpenAIModelCollection models = await OpenAITestClients.InMemory(fake).GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal(options.Models, models.Select(m => m.Id));
        Assert.Contains("my-fine-tune", models.Select(m => m.Id));
        Assert.All(models, m => Assert.Equal(clock.GetUtcNow(), m.CreatedAt));
        Assert.All(models, m => Assert.Equal("openai", m.OwnedBy));
        Assert.DoesNotContain(models, m => m.Id.StartsWith("claude", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Answers_in_the_openai_list_shape_with_a_request_id()
    {
        await using var fake = new FakeUpstream();
        using var response = await fake.CreateClient().GetAsync(new Uri("/v1/models", UriKind.Relative));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        Assert.Equal("list", (string)body["object"]!);
        Assert.All(body["data"]!.AsArray(), m => Assert.Equal("model", (string)m!["object"]!));
    }
}
