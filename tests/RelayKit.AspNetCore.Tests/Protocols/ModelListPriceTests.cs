using System.Text.Json;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Protocols;

/// <summary>Prices in the model list: beside the standard fields, which the official SDKs still parse.</summary>
public sealed class ModelListPriceTests
{
    private static FakeRelay CreateRelay() => FakeRelay.Create(settings =>
    {
        settings["ModelRelay:Models:gpt-5.5:Price:Input"] = "1.25";
        settings["ModelRelay:Models:gpt-5.5:Price:Output"] = "10";
        settings["ModelRelay:Models:gpt-5.5:Price:CachedInput"] = "0.125";
        settings["ModelRelay:Models:gpt-5.5:Price:CacheWrite"] = "1.5";
        settings["ModelRelay:Models:gpt-4o:Provider"] = "openai";
        settings["ModelRelay:Models:local-llama:Provider"] = "openai";
        settings["ModelRelay:Models:local-llama:Price:Free"] = "true";
        settings["ModelRelay:Models:my-model:Provider"] = "openai";
        settings["ModelRelay:Keys:0:Models:5"] = "local-*";
        settings["ModelRelay:Keys:0:Models:6"] = "my-*";
    });

    [Fact]
    public async Task OpenAI_list_still_parses_in_the_SDK_and_shows_configured_built_in_free_and_missing_prices()
    {
        await using var relay = CreateRelay();
        var result = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetOpenAIModelClient().GetModelsAsync();
        Assert.Contains(result.Value, m => m.Id == "gpt-5.5" && m.OwnedBy == "openai");
        Assert.Contains(result.Value, m => m.Id == "local-llama");

        var data = JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement.GetProperty("data");
        AssertPrices(data);

        // The standard fields are untouched.
        var gpt = Model(data, "gpt-5.5");
        Assert.Equal("model", gpt.GetProperty("object").GetString());
        Assert.Equal("openai", gpt.GetProperty("owned_by").GetString());
    }

    [Fact]
    public async Task Anthropic_list_still_parses_in_the_SDK_and_shows_the_same_prices()
    {
        await using var relay = CreateRelay();
        var page = await relay.App.CreateAnthropicClient(RelaySettings.AliceKey).Models.List();
        Assert.Contains(page.Items, m => m.ID == "gpt-5.5");

        var (status, body, _) = await RawRelayCall.GetAsync(relay.App.CreateClient(), "/v1/models", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");
        Assert.Equal(200, status);
        var data = body.GetProperty("data");
        Assert.Equal("model", Model(data, "gpt-5.5").GetProperty("type").GetString());
        AssertPrices(data);
    }

    [Fact]
    public async Task Written_prices_carry_no_trailing_zeros()
    {
        await using var relay = CreateRelay();
        var result = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetOpenAIModelClient().GetModelsAsync();
        var raw = result.GetRawResponse().Content.ToString();

        // The built-in table has gpt-4o's output as 10.00; the list says 10.
        Assert.Contains("\"input\":2.5,\"output\":10,\"cached_input\":1.25,\"cache_write\":2.5}", raw, StringComparison.Ordinal);
    }

    private static void AssertPrices(JsonElement data)
    {
        // Configured.
        var configured = Price(data, "gpt-5.5");
        Assert.False(configured.GetProperty("free").GetBoolean());
        Assert.Equal("USD", configured.GetProperty("currency").GetString());
        Assert.Equal("1M tokens", configured.GetProperty("per").GetString());
        Assert.Equal(1.25m, configured.GetProperty("input").GetDecimal());
        Assert.Equal(10m, configured.GetProperty("output").GetDecimal());
        Assert.Equal(0.125m, configured.GetProperty("cached_input").GetDecimal());
        Assert.Equal(1.5m, configured.GetProperty("cache_write").GetDecimal());

        // An alias is charged its model's price.
        Assert.Equal(configured.ToString(), Price(data, "default").ToString());

        // Built in (OpenAI's list price for gpt-4o); cache writes default to the input price.
        var builtIn = Price(data, "gpt-4o");
        Assert.Equal(2.5m, builtIn.GetProperty("input").GetDecimal());
        Assert.Equal(10m, builtIn.GetProperty("output").GetDecimal());
        Assert.Equal(1.25m, builtIn.GetProperty("cached_input").GetDecimal());
        Assert.Equal(2.5m, builtIn.GetProperty("cache_write").GetDecimal());

        var free = Price(data, "local-llama");
        Assert.True(free.GetProperty("free").GetBoolean());
        Assert.Equal(0m, free.GetProperty("input").GetDecimal());
        Assert.Equal(0m, free.GetProperty("output").GetDecimal());

        Assert.Equal(JsonValueKind.Null, Model(data, "my-model").GetProperty("relaykit").GetProperty("price").ValueKind);
    }

    private static JsonElement Model(JsonElement data, string id) => data.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);

    private static JsonElement Price(JsonElement data, string id)
    {
        var price = Model(data, id).GetProperty("relaykit").GetProperty("price");
        Assert.Equal(JsonValueKind.Object, price.ValueKind);
        return price;
    }
}
