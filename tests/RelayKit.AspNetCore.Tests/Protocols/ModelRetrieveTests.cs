using System.ClientModel;
using System.Text.Json;
using Anthropic.Exceptions;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Protocols;

/// <summary><c>GET /v1/models/{model}</c>, which both official SDKs call to look one model up.</summary>
public sealed class ModelRetrieveTests
{
    [Fact]
    public async Task The_OpenAI_SDK_gets_a_model_the_key_may_use_with_its_provider_and_price()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:gpt-5.5:Price:Input"] = "1.25");
        var models = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetOpenAIModelClient();

        var gpt = await models.GetModelAsync("gpt-5.5");
        var claude = await models.GetModelAsync("claude-code-opus-4.8");

        Assert.Equal(("gpt-5.5", "openai"), (gpt.Value.Id, gpt.Value.OwnedBy));
        Assert.Equal(("claude-code-opus-4.8", "anthropic"), (claude.Value.Id, claude.Value.OwnedBy));
        var raw = JsonDocument.Parse(gpt.GetRawResponse().Content.ToString()).RootElement;
        Assert.Equal("model", raw.GetProperty("object").GetString());
        Assert.Equal(1.25m, raw.GetProperty("relaykit").GetProperty("price").GetProperty("input").GetDecimal());
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task The_Anthropic_SDK_gets_a_model_too_and_an_alias_answers_under_its_own_name()
    {
        await using var relay = FakeRelay.Create();
        var anthropic = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var claude = await anthropic.Models.Retrieve("claude-code-opus-4.8");
        var alias = await anthropic.Models.Retrieve("default");

        Assert.Equal("claude-code-opus-4.8", claude.ID);
        Assert.Equal("default", alias.ID);
    }

    [Fact]
    public async Task A_model_that_is_not_configured_or_not_the_keys_is_404_in_the_callers_format()
    {
        await using var relay = FakeRelay.Create();
        var bob = relay.App.CreateOpenAiClient(RelaySettings.BobKey).GetOpenAIModelClient();

        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => bob.GetModelAsync("gpt-9"));
        var notBobs = await Assert.ThrowsAsync<ClientResultException>(() => bob.GetModelAsync("claude-code-opus-4.8"));
        await Assert.ThrowsAsync<AnthropicNotFoundException>(() => relay.App.CreateAnthropicClient(RelaySettings.BobKey).Models.Retrieve("claude-code-opus-4.8"));

        Assert.Equal((404, 404), (unknown.Status, notBobs.Status));
        var error = JsonDocument.Parse(notBobs.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("Closest configured models: gpt-5.5", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
