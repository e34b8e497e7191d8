using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Routing;

/// <summary>
/// A caller steers its request with OpenRouter's fields: <c>models</c> (fallback models) and <c>provider</c> (order, only,
/// ignore, allow_fallbacks, sort, max_price), within what its key may use; neither field reaches an upstream.
/// </summary>
public sealed class SteeringTests
{

    private static string Body(string steering, string model = "gpt-5.5") =>
        $$"""{"model":"{{model}}","max_tokens":50,"messages":[{"role":"user","content":"Hello"}],{{steering}}}""";

    [Fact]
    public async Task A_models_list_falls_back_to_the_next_model_and_the_answer_names_it()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("The mini model answered.");
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body("""
            "models":["o4-mini"]
            """), bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("The mini model answered.", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("o4-mini", body.GetProperty("model").GetString());
        Assert.Equal("o4-mini", headers.GetValues("x-relaykit-model").Single());
        Assert.Equal("2", headers.GetValues("x-relaykit-attempts").Single());

        // Neither attempt carried the relay's own fields.
        Assert.Equal(2, relay.Recorder.Exchanges.Count);
        Assert.All(relay.Recorder.Exchanges, e =>
        {
            var sent = JsonNode.Parse(e.Body)!.AsObject();
            Assert.False(sent.ContainsKey("models"));
            Assert.False(sent.ContainsKey("provider"));
        });
    }

    [Fact]
    public async Task A_models_list_falls_back_across_formats_and_the_translated_answer_names_the_model()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.Overloaded());
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Claude answered.");
        var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body("""
            "models":["claude-code-opus-4.8"],"provider":{"sort":"price"}
            """), bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("Claude answered.", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("claude-code-opus-4.8", body.GetProperty("model").GetString());
        var messages = JsonNode.Parse(relay.Recorder.Exchanges[^1].Body)!.AsObject();
        Assert.False(messages.ContainsKey("models"));
        Assert.False(messages.ContainsKey("provider"));
    }

    [Fact]
    public async Task A_models_list_never_reaches_a_model_the_key_may_not_use()
    {
        await using var relay = FakeRelay.Create();
        var http = relay.App.CreateClient();

        // bob's key may use gpt-5.5 only.
        var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body("""
            "models":["claude-code-opus-4.8"]
            """), bearer: RelaySettings.BobKey);

        Assert.Equal(404, status);
        Assert.Equal("model_not_found", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("claude-code-opus-4.8", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Theory]
    [InlineData("""{"order":["azure"]}""", "azure", "1")]
    [InlineData("""{"only":["azure"]}""", "azure", "1")]
    [InlineData("""{"ignore":["openai"]}""", "azure", "1")]
    [InlineData("""{"order":["openai","azure"]}""", "openai", "1")]
    public async Task Provider_fields_choose_which_upstream_serves(string provider, string servedBy, string attempts)
    {
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body($"\"provider\":{provider}"), bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal(servedBy, headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal(attempts, headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal([servedBy], relay.Recorder.Exchanges.Select(e => e.Provider));
    }

    [Theory]
    [InlineData("""{"order":["openai"],"allow_fallbacks":false}""", 503, "1")]
    [InlineData("""{"ignore":["azure"]}""", 503, "1")]
    [InlineData("""{"order":["openai"]}""", 200, "2")]
    public async Task Without_fallbacks_a_failing_first_choice_is_the_answer(string provider, int expected, string attempts)
    {
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body($"\"provider\":{provider}"), bearer: RelaySettings.AliceKey);

        Assert.Equal(expected, status);
        Assert.Equal(attempts, headers.GetValues("x-relaykit-attempts").Single());
    }

    [Fact]
    public async Task Sort_by_price_tries_the_cheaper_model_first()
    {
        await using var relay = FakeRelay.Create();
        var http = relay.App.CreateClient();

        // claude-code-opus-4.8 (5/25 per million) asked first, gpt-5.5 (1.25/10) as a fallback: price puts gpt-5.5 first.
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body("""
            "models":["gpt-5.5"],"provider":{"sort":"price"}
            """, model: "claude-code-opus-4.8"), bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("openai", headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal("gpt-5.5", body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Max_price_never_lets_a_dearer_upstream_serve()
    {
        await using var relay = BudgetRelay.Create(1m);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        // BudgetRelay prices both models alike, at exactly the caller's ceiling.
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body($$$"""
            "models":["claude-code-opus-4.8"],"provider":{"max_price":{"prompt":{{{BudgetRelay.InputPrice}}},"completion":{{{BudgetRelay.OutputPrice}}}}}
            """), bearer: RelaySettings.AliceKey);

        // Both are within it: the fallback serves.
        Assert.True(status == 200, body.ToString());
        Assert.Equal("anthropic", headers.GetValues("x-relaykit-provider").Single());

        var (refused, refusal, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body($$$"""
            "models":["claude-code-opus-4.8"],"provider":{"max_price":{"prompt":{{{BudgetRelay.InputPrice - 0.01m}}}}}
            """), bearer: RelaySettings.AliceKey);

        // None is: refused before anything was sent or reserved.
        Assert.Equal(400, refused);
        Assert.Equal("no_upstream_within_max_price", refusal.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, relay.Recorder.Exchanges.Count);
        var balance = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(0m, balance!.Reserved);
    }

    [Fact]
    public async Task Max_price_skips_the_dearer_model_of_a_models_list()
    {
        await using var relay = BudgetRelay.Create(1m, s =>
        {
            s["ModelRelay:Models:claude-code-opus-4.8:Price:Input"] = "5";
            s["ModelRelay:Models:claude-code-opus-4.8:Price:Output"] = "25";
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body($$$"""
            "models":["claude-code-opus-4.8"],"provider":{"max_price":{"prompt":{{{BudgetRelay.InputPrice}}},"completion":{{{BudgetRelay.OutputPrice}}}}}
            """), bearer: RelaySettings.AliceKey);

        // gpt-5.5 failed and claude is above the ceiling: the caller gets gpt-5.5's answer; claude was never asked.
        Assert.Equal(503, status);
        Assert.Equal("1", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(["openai"], relay.Recorder.Exchanges.Select(e => e.Provider));
    }

    [Theory]
    [InlineData("\"models\":\"o4-mini\"", "models")]
    [InlineData("\"models\":[\"o4-mini\",7]", "models")]
    [InlineData("\"models\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", "models")]
    [InlineData("\"provider\":[]", "provider")]
    [InlineData("\"provider\":{\"sort\":\"throughput\"}", "provider.sort")]
    [InlineData("\"provider\":{\"order\":\"openai\"}", "provider.order")]
    [InlineData("\"provider\":{\"allow_fallbacks\":\"no\"}", "provider.allow_fallbacks")]
    [InlineData("\"provider\":{\"max_price\":{\"prompt\":-1}}", "provider.max_price.prompt")]
    public async Task Malformed_steering_is_a_400_naming_the_field(string steering, string field)
    {
        await using var relay = FakeRelay.Create();
        var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Body(steering), bearer: RelaySettings.AliceKey);

        Assert.Equal(400, status);
        Assert.Equal(field, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Empty(relay.Fake.Requests);
    }
}
