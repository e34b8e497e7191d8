using System.ClientModel;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary><c>GET /v1/models/{model}</c> in OpenAI's format.</summary>
public sealed class ModelRetrieveTests
{
    [Fact]
    public async Task The_sdk_retrieves_a_listed_model()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new FakeUpstreamOptions { TimeProvider = clock };
        options.Models.Add("ft:gpt-4o-mini:acme::abc123");
        await using var fake = new FakeUpstream(options);
        var models = OpenAITestClients.InMemory(fake).GetOpenAIModelClient();

        var model = (await models.GetModelAsync("gpt-4o")).Value;
        var fineTune = (await models.GetModelAsync("ft:gpt-4o-mini:acme::abc123")).Value;

        Assert.Equal("gpt-4o", model.Id);
        Assert.Equal("openai", model.OwnedBy);
        Assert.Equal(clock.GetUtcNow(), model.CreatedAt);
        Assert.Equal("ft:gpt-4o-mini:acme::abc123", fineTune.Id);
        Assert.Equal(FakeEndpoint.OpenAIModelRetrieve, fake.Requests[0].Endpoint);
        Assert.Equal("gpt-4o", fake.Requests[0].Model);
    }

    [Fact]
    public async Task An_unlisted_model_is_a_404_model_not_found()
    {
        await using var fake = new FakeUpstream();
        var models = OpenAITestClients.InMemory(fake, new System.ClientModel.Primitives.ClientRetryPolicy(0)).GetOpenAIModelClient();

        var sdkError = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("claude-sonnet-4-5"));
        using var raw = await fake.CreateClient().GetAsync(new Uri("/v1/models/gpt-nope", UriKind.Relative));
        var error = JsonNode.Parse(await raw.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(404, sdkError.Status);
        Assert.Equal(404, (int)raw.StatusCode);
        Assert.Equal("The model 'gpt-nope' does not exist", (string)error["message"]!);
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.Equal("model", (string?)error["param"]);
        Assert.Equal("model_not_found", (string?)error["code"]);
    }

    [Fact]
    public async Task The_openai_list_shows_only_the_openai_models()
    {
        await using var fake = new FakeUpstream();

        var listed = (await OpenAITestClients.InMemory(fake).GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();

        Assert.Equal(fake.Options.Models, listed);
        Assert.DoesNotContain(listed, id => fake.Options.AnthropicModels.Contains(id));
    }
}
