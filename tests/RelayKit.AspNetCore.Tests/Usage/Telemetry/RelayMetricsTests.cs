using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Tests.Usage.Telemetry;

public sealed class RelayMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly RelayMetrics _metrics;

    public RelayMetricsTests() => _metrics = new RelayMetrics(_services.GetRequiredService<IMeterFactory>());

    public void Dispose() => _services.Dispose();

    private MetricCollector<T> Collect<T>(string instrument) where T : struct =>
        new(_services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, instrument);

    [Fact]
    public void Input_token_usage_counts_cached_and_cache_written_prompt_tokens_too()
    {
        using var listener = Collect<long>("gen_ai.client.token.usage");

        _metrics.RecordRequest(UsageRecords.Make("r1", input: 20, output: 5) with { CachedInputTokens = 80, CacheWriteTokens = 3 });

        Assert.Equal(103, Assert.Single(listener.GetMeasurementSnapshot(), m => Equals(m.Tags["gen_ai.token.type"], "input")).Value);
    }

    [Fact]
    public void The_response_model_is_the_one_the_upstreams_answer_named_else_the_one_it_was_sent()
    {
        using var duration = Collect<double>("gen_ai.client.operation.duration");

        _metrics.RecordRequest(UsageRecords.Make("r1", model: "gpt-4o"), "gpt-4o-2024-11-20");
        _metrics.RecordRequest(UsageRecords.Make("r2", model: "gpt-4o"));

        Assert.Equal(["gpt-4o-2024-11-20", "gpt-4o-2024-08-06"], duration.GetMeasurementSnapshot().Select(m => (string?)m.Tags["gen_ai.response.model"]));
    }

    [Fact]
    public void Token_usage_is_one_histogram_with_input_and_output_measurements()
    {
        using var tokens = Collect<long>("gen_ai.client.token.usage");

        _metrics.RecordRequest(UsageRecords.Make("r1", model: "gpt-4o", provider: "openai", input: 321, output: 54));

        Assert.Equal("{token}", tokens.Instrument!.Unit);
        Assert.IsType<Histogram<long>>(tokens.Instrument);
        var measurements = tokens.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        var input = Assert.Single(measurements, m => Equals(m.Tags["gen_ai.token.type"], "input"));
        var output = Assert.Single(measurements, m => Equals(m.Tags["gen_ai.token.type"], "output"));
        Assert.Equal(321, input.Value);
        Assert.Equal(54, output.Value);
        Assert.Equal("openai", input.Tags["gen_ai.provider.name"]);
        Assert.Equal("gpt-4o", input.Tags["gen_ai.request.model"]);
        Assert.Equal("gpt-4o-2024-08-06", input.Tags["gen_ai.response.model"]);
        Assert.Equal("chat", input.Tags["gen_ai.operation.name"]);
    }

    [Fact]
    public void Unreported_tokens_are_not_invented()
    {
        using var tokens = Collect<long>("gen_ai.client.token.usage");

        _metrics.RecordRequest(UsageRecords.Make("r1", input: 10, output: null));

        var only = Assert.Single(tokens.GetMeasurementSnapshot());
        Assert.Equal("input", only.Tags["gen_ai.token.type"]);
    }

    [Fact]
    public void Duration_is_in_seconds_and_carries_the_error_type_on_failure()
    {
        using var duration = Collect<double>("gen_ai.client.operation.duration");

        _metrics.RecordRequest(UsageRecords.Make("ok"));
        _metrics.RecordRequest(UsageRecords.Make("failed", status: 503) with { ErrorType = null, Duration = TimeSpan.FromSeconds(2) });

        Assert.Equal("s", duration.Instrument!.Unit);
        var measurements = duration.GetMeasurementSnapshot();
        Assert.Equal(0.85, measurements[0].Value, 6);
        Assert.False(measurements[0].Tags.ContainsKey("error.type"));
        Assert.Equal(2.0, measurements[1].Value, 6);
        Assert.Equal("503", measurements[1].Tags["error.type"]);
    }

    [Fact]
    public void Time_to_first_chunk_is_recorded_for_streamed_requests_only()
    {
        using var firstChunk = Collect<double>("gen_ai.client.operation.time_to_first_chunk");

        _metrics.RecordRequest(UsageRecords.Make("plain"));
        _metrics.RecordRequest(UsageRecords.Make("streamed") with { Streamed = true, TimeToFirstByte = TimeSpan.FromMilliseconds(250) });

        Assert.Equal("s", firstChunk.Instrument!.Unit);
        var only = Assert.Single(firstChunk.GetMeasurementSnapshot());
        Assert.Equal(0.25, only.Value, 6);
        Assert.Equal("gpt-4o", only.Tags["gen_ai.request.model"]);
    }

    [Fact]
    public void Cost_and_refusals_are_counted()
    {
        using var cost = Collect<double>("relaykit.cost");
        using var budget = Collect<long>("relaykit.budget.refusals");
        using var rateLimit = Collect<long>("relaykit.ratelimit.refusals");

        _metrics.RecordRequest(UsageRecords.Make("r1", cost: 0.25m));
        _metrics.RecordRequest(UsageRecords.Make("r2", cost: 0.5m));
        _metrics.BudgetRefused("gpt-4o");
        _metrics.RateLimitRefused("claude", "tokens");

        Assert.Equal("{USD}", cost.Instrument!.Unit);
        Assert.Equal(0.75, cost.GetMeasurementSnapshot().Sum(m => m.Value), 6);
        Assert.Equal("openai", cost.LastMeasurement!.Tags["gen_ai.provider.name"]);
        Assert.Equal("gpt-4o", Assert.Single(budget.GetMeasurementSnapshot()).Tags["gen_ai.request.model"]);
        var refusal = Assert.Single(rateLimit.GetMeasurementSnapshot());
        Assert.Equal("claude", refusal.Tags["gen_ai.request.model"]);
        Assert.Equal("tokens", refusal.Tags["relaykit.limit"]);
    }
}
