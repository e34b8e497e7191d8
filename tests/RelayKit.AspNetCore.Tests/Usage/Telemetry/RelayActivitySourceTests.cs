using System.Collections.Concurrent;
using System.Diagnostics;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Tests.Usage.Telemetry;

public sealed class RelayActivitySourceTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private readonly RelayActivitySource _source = new();

    public RelayActivitySourceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RelayActivitySource.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }

    [Fact]
    public void A_request_span_holds_one_client_span_per_upstream_attempt()
    {
        using var root = new Activity("test-root").Start();
        var record = UsageRecords.Make("req-7", model: "fast", provider: "anthropic") with
        {
            UpstreamModel = "claude-haiku", InputTokens = 12, OutputTokens = 34, CachedInputTokens = 5, Streamed = true,
        };

        var request = _source.StartRequest("req-7", "chat", "fast", "team-a", streamed: true);
        var first = _source.StartAttempt("openai", "chat", "gpt-4o-mini", 1, new Uri("https://api.openai.com/v1/"));
        RelayActivitySource.CompleteAttempt(first, 503, null);
        var second = _source.StartAttempt("anthropic", "chat", "claude-haiku", 2, null);
        RelayActivitySource.CompleteAttempt(second, 200, null, responseModel: "claude-haiku-20241022");
        RelayActivitySource.CompleteRequest(request, record);

        var spans = _stopped.Where(a => a.TraceId == root.TraceId).ToList();
        Assert.Equal(3, spans.Count);
        var requestSpan = Assert.Single(spans, s => s.Kind == ActivityKind.Internal);
        Assert.Equal("chat fast", requestSpan.DisplayName);
        Assert.Equal(root.SpanId, requestSpan.ParentSpanId);
        Assert.Equal("fast", requestSpan.GetTagItem("gen_ai.request.model"));
        Assert.Equal("claude-haiku", requestSpan.GetTagItem("gen_ai.response.model"));
        Assert.Equal("anthropic", requestSpan.GetTagItem("gen_ai.provider.name"));
        // Input counts every prompt token, the 5 read from the cache included (they also have their own attribute).
        Assert.Equal(17L, requestSpan.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(34L, requestSpan.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(5L, requestSpan.GetTagItem("gen_ai.usage.cache_read.input_tokens"));
        Assert.Equal("team-a", requestSpan.GetTagItem("relaykit.key.name"));
        Assert.Equal(ActivityStatusCode.Unset, requestSpan.Status);

        var attempts = spans.Where(s => s.Kind == ActivityKind.Client).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(requestSpan.SpanId, a.ParentSpanId));
        Assert.Equal("chat gpt-4o-mini", attempts[0].DisplayName);
        Assert.Equal("openai", attempts[0].GetTagItem("gen_ai.provider.name"));
        Assert.Equal("api.openai.com", attempts[0].GetTagItem("server.address"));
        Assert.Equal(443, attempts[0].GetTagItem("server.port"));
        Assert.Equal("503", attempts[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(2, attempts[1].GetTagItem("relaykit.attempt"));
        Assert.Equal("claude-haiku-20241022", attempts[1].GetTagItem("gen_ai.response.model"));
        Assert.Equal(ActivityStatusCode.Unset, attempts[1].Status);
    }

    [Fact]
    public void A_failed_request_span_is_marked_with_its_error_type()
    {
        using var root = new Activity("test-root").Start();

        var request = _source.StartRequest("req-8", "embeddings", "embed", null, streamed: false);
        RelayActivitySource.CompleteRequest(request, UsageRecords.Make("req-8", status: 429) with { ErrorType = "rate_limit_error" });

        var span = Assert.Single(_stopped, a => a.TraceId == root.TraceId);
        Assert.Equal("rate_limit_error", span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Null(span.GetTagItem("relaykit.key.name"));
    }
}
