using System.Net;
using System.Text.Json;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// The output limit a metered request without one is held to: the budget decides it, the forwarder writes it into the
/// body under the field the upstream takes, and the estimate dry run names the same field.
/// </summary>
public sealed class RelayOutputLimitTests
{
    [Fact]
    public async Task A_request_without_a_limit_is_sent_with_the_estimate_s_limit_under_the_field_the_dry_run_names()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = "777");
        var http = relay.App.CreateClient();
        const string body = """{"model":"gpt-5.5","messages":[{"role":"user","content":"Hello"}]}""";

        using var estimateRequest = BudgetRelay.Post("/v1/relay/estimate?endpoint=chat/completions", body);
        using var estimate = await http.SendAsync(estimateRequest);
        var view = JsonDocument.Parse(await estimate.Content.ReadAsStringAsync()).RootElement;
        using var chat = BudgetRelay.Post("/v1/chat/completions", body);
        using var answer = await http.SendAsync(chat);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(777, view.GetProperty("output_tokens").GetInt64());
        var field = view.GetProperty("output_limit_set_by_relay").GetString();
        Assert.Equal("max_completion_tokens", field);
        var sent = Assert.Single(relay.Fake.Requests).Body!.AsObject();
        Assert.Equal(777, sent[field!]!.GetValue<int>());
        Assert.False(sent.ContainsKey("max_tokens"));
    }

    [Fact]
    public async Task A_limit_the_caller_set_is_sent_as_it_was_and_the_dry_run_names_no_field()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        const string body = """{"model":"gpt-5.5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}""";

        using var estimateRequest = BudgetRelay.Post("/v1/relay/estimate?endpoint=chat/completions", body);
        using var estimate = await http.SendAsync(estimateRequest);
        var view = JsonDocument.Parse(await estimate.Content.ReadAsStringAsync()).RootElement;
        using var chat = BudgetRelay.Post("/v1/chat/completions", body);
        using var answer = await http.SendAsync(chat);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(64, view.GetProperty("output_tokens").GetInt64());
        Assert.Equal(JsonValueKind.Null, view.TryGetProperty("output_limit_set_by_relay", out var none) ? none.ValueKind : JsonValueKind.Null);
        var sent = Assert.Single(relay.Fake.Requests).Body!.AsObject();
        Assert.Equal(64, sent["max_tokens"]!.GetValue<int>());
        Assert.False(sent.ContainsKey("max_completion_tokens"));
    }
}
