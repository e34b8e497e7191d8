using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>A refusal for lack of balance is counted on <c>relaykit.budget.refusals</c>.</summary>
public sealed class BudgetRefusalMetricTests
{
    [Fact]
    public async Task An_out_of_balance_refusal_is_counted_with_the_requested_model()
    {
        await using var relay = BudgetRelay.Create(0.000001m);
        var http = relay.App.CreateClient();
        using var refusals = new MetricCollector<long>(relay.App.Services.GetRequiredService<IMeterFactory>(), "RelayKit", "relaykit.budget.refusals");

        using var request = BudgetRelay.Post("/v1/chat/completions", """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"hi"}]}""");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var measurement = Assert.Single(refusals.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("gpt-5.5", measurement.Tags["gen_ai.request.model"]);
    }
}
