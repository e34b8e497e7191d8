using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Tests.Usage.Telemetry;

/// <summary>Metrics and spans of a real relayed request, with the GenAI names and attributes.</summary>
public sealed class TelemetryThroughRelayTests
{
    [Fact]
    public async Task A_relayed_request_records_token_usage_and_duration_with_the_GenAI_attributes()
    {
        await using var relay = UsageRelay.Create();
        var meters = relay.App.Services.GetRequiredService<IMeterFactory>();
        using var tokens = new MetricCollector<long>(meters, RelayMetrics.MeterName, "gen_ai.client.token.usage");
        using var duration = new MetricCollector<double>(meters, RelayMetrics.MeterName, "gen_ai.client.operation.duration");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("default");

        var result = await chat.CompleteChatAsync([new UserChatMessage("count the tokens")]);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));

        var measured = tokens.GetMeasurementSnapshot();
        var input = Assert.Single(measured, m => Equals(m.Tags["gen_ai.token.type"], "input"));
        var output = Assert.Single(measured, m => Equals(m.Tags["gen_ai.token.type"], "output"));
        Assert.Equal(result.Value.Usage.InputTokenCount, input.Value);
        Assert.Equal(result.Value.Usage.OutputTokenCount, output.Value);
        foreach (var m in new[] { input, output })
        {
            Assert.Equal("chat", m.Tags["gen_ai.operation.name"]);
            Assert.Equal("openai", m.Tags["gen_ai.provider.name"]);
            Assert.Equal("default", m.Tags["gen_ai.request.model"]);
            Assert.Equal("gpt-5.5", m.Tags["gen_ai.response.model"]);
        }

        var seconds = Assert.Single(duration.GetMeasurementSnapshot());
        Assert.Equal(record.Duration.TotalSeconds, seconds.Value, 6);
        Assert.False(seconds.Tags.ContainsKey("error.type"));
    }

    [Fact]
    public async Task The_model_attribute_is_bounded_by_the_configuration_whatever_callers_send()
    {
        await using var relay = UsageRelay.Create(s => s.With("ModelRelay:Models:o*-mini:Provider", "openai"));
        var meters = relay.App.Services.GetRequiredService<IMeterFactory>();
        using var duration = new MetricCollector<double>(meters, RelayMetrics.MeterName, "gen_ai.client.operation.duration");
        using var http = relay.App.CreateClient();
        string[] models = ["gpt-typo-" + Guid.NewGuid().ToString("N"), "gpt-typo-" + Guid.NewGuid().ToString("N"), "o123-mini", "o456-mini", "GPT-5.5", "DEFAULT"];

        foreach (var model in models)
        {
            await RawRelayCall.PostAsync(http, "v1/chat/completions", $$"""{"model":"{{model}}","messages":[{"role":"user","content":"x"}]}""", bearer: RelaySettings.AliceKey);
        }

        await relay.WaitForRecordsAsync(models.Length);
        Assert.Equal(["_OTHER", "_OTHER", "o*-mini", "o*-mini", "gpt-5.5", "default"],
            duration.GetMeasurementSnapshot().Select(m => (string?)m.Tags["gen_ai.request.model"]));
    }

    [Fact]
    public async Task A_failed_request_carries_error_type_in_its_duration()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(RelayKit.Testing.FakeFault.RateLimited(TimeSpan.FromSeconds(3)));
        var meters = relay.App.Services.GetRequiredService<IMeterFactory>();
        using var duration = new MetricCollector<double>(meters, RelayMetrics.MeterName, "gen_ai.client.operation.duration");
        using var http = relay.App.CreateClient();

        var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"x"}]}""", bearer: RelaySettings.AliceKey);
        await relay.WaitForRecordsAsync(1);

        Assert.Equal(429, status);
        Assert.Equal("429", Assert.Single(duration.GetMeasurementSnapshot()).Tags["error.type"]);
    }

    [Fact]
    public async Task A_relayed_request_has_a_request_span_with_an_attempt_span_under_it()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RelayActivitySource.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) { stopped.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);
        await using var relay = UsageRelay.Create();
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        await chat.CompleteChatAsync([new UserChatMessage("trace me")]);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));

        Activity[] spans;
        lock (stopped)
        {
            spans = [.. stopped];
        }

        // The listener hears every test's spans: pick this request's by its id.
        var request = Assert.Single(spans, a => Equals(a.GetTagItem("relaykit.request.id"), record.RequestId));
        var attempt = Assert.Single(spans, a => a.Kind == ActivityKind.Client && a.ParentSpanId == request.SpanId);
        Assert.Equal("chat gpt-5.5", request.DisplayName);
        Assert.Equal("openai", attempt.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(1, attempt.GetTagItem("relaykit.attempt"));
        Assert.Equal(record.OutputTokens, request.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(ActivityStatusCode.Unset, request.Status);
    }
}
