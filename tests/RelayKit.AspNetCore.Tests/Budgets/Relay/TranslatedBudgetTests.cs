using System.Net;
using System.Text.Json;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>Budgets when the caller's format is translated to the upstream's: the upstream's real usage is charged.</summary>
public sealed class TranslatedBudgetTests
{
    [Fact]
    public async Task OpenAI_stream_to_a_Claude_model_is_charged_the_Anthropic_usage_and_sends_no_OpenAI_fields_upstream()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions",
            """{"model":"claude-code-opus-4.8","max_tokens":300,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello there"}]}""");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var upstream = relay.Fake.Requests.Single();
        Assert.Equal("/v1/messages", upstream.Path);
        Assert.Null(upstream.Body!["stream_options"]);
        Assert.Equal(300, upstream.MaxOutputTokens);

        var usageChunk = text.Split('\n').Single(l => l.Contains("\"prompt_tokens\"", StringComparison.Ordinal));
        var usage = JsonDocument.Parse(usageChunk["data: ".Length..]).RootElement.GetProperty("usage");
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64()), reservation.Charged);
        Assert.True(reservation.Charged > 0m);
    }

    [Fact]
    public async Task Responses_request_to_a_Claude_model_gets_the_assumed_cap_as_max_tokens()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Models:claude-code-opus-4.8:MaxOutputTokens"] = "777");
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/responses", """{"model":"claude-code-opus-4.8","input":"hi"}""");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var upstream = relay.Fake.Requests.Single();
        Assert.Equal("/v1/messages", upstream.Path);
        Assert.Equal(777, upstream.MaxOutputTokens);
        Assert.Null(upstream.Body!["max_output_tokens"]);

        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(BudgetRelay.Cost(json.GetProperty("input_tokens").GetInt64(), json.GetProperty("output_tokens").GetInt64()), reservation.Charged);
    }

    [Theory]
    [InlineData("chat/completions", "/v1/chat/completions", """{"model":"claude-code-opus-4.8","max_tokens":300,"messages":[{"role":"user","content":"Hello there"}]}""")]
    [InlineData("messages", "/v1/messages", """{"model":"gpt-5.5","max_tokens":300,"messages":[{"role":"user","content":"Hello there"}]}""")]
    [InlineData("responses", "/v1/responses", """{"model":"claude-code-opus-4.8","input":"Hello there"}""")]
    public async Task The_estimate_of_a_translated_request_is_what_the_request_reserves(string endpoint, string path, string body)
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();

        var estimate = await BudgetRelay.EstimateAsync(http, endpoint, body);
        using var request = BudgetRelay.Post(path, body, anthropic: path == "/v1/messages");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(estimate.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-relaykit-cost-reserved").Single());
        Assert.True(estimate > 0m);
    }
}
