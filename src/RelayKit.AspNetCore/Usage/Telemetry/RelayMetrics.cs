using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RelayKit.AspNetCore.Usage.Telemetry;

/// <summary>
/// The relay's metrics on the <c>RelayKit</c> meter: the OpenTelemetry GenAI client instruments
/// (token usage, operation duration, time to first chunk) and RelayKit's own (cost, refusals,
/// dropped usage records). Export them with <c>AddMeter("RelayKit")</c>.
/// </summary>
internal sealed class RelayMetrics
{
    public const string MeterName = "RelayKit";

    // Bucket boundaries the GenAI semantic conventions recommend for these instruments.
    private static readonly long[] TokenBuckets =
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private static readonly double[] SecondsBuckets =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstChunk;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _budgetRefusals;
    private readonly Counter<long> _rateLimitRefusals;
    private readonly Counter<long> _usageDropped;

    private readonly Routing.ModelRouter? _router;

    /// <summary>Creates the instruments; <paramref name="router"/> bounds the model attribute (see <see cref="ModelTag"/>).</summary>
    public RelayMetrics(IMeterFactory meterFactory, Routing.ModelRouter? router = null)
    {
        _router = router;
        var meter = meterFactory.Create(new MeterOptions(MeterName) { Version = typeof(RelayMetrics).Assembly.GetName().Version?.ToString() });

        _tokenUsage = meter.CreateHistogram(
            "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used, as the upstream reported them.",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _duration = meter.CreateHistogram(
            "gen_ai.client.operation.duration", "s", "Duration of a relayed GenAI operation, from request to last byte.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _timeToFirstChunk = meter.CreateHistogram(
            "gen_ai.client.operation.time_to_first_chunk", "s", "Time from request to the first chunk of a streamed response.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _cost = meter.CreateCounter<double>(
            "relaykit.cost", "{USD}", "Cost of relayed requests in US dollars (approximate; the usage store holds exact amounts).");
        _budgetRefusals = meter.CreateCounter<long>(
            "relaykit.budget.refusals", "{request}", "Requests refused because the key's budget could not cover them.");
        _rateLimitRefusals = meter.CreateCounter<long>(
            "relaykit.ratelimit.refusals", "{request}", "Requests refused by a rate limit.");
        _usageDropped = meter.CreateCounter<long>(
            "relaykit.usage.dropped", "{record}", "Usage records dropped because the write queue was full or the store kept failing.");
    }

    /// <summary>Records the metrics of one settled request; <paramref name="responseModel"/> is the model the upstream's answer named.</summary>
    public void RecordRequest(UsageRecord record, string? responseModel = null)
    {
        var tags = new TagList
        {
            { GenAIAttributes.OperationName, record.Operation },
            { GenAIAttributes.RequestModel, ModelTag(record.RequestedModel) },
        };
        if (record.Provider is not null)
        {
            tags.Add(GenAIAttributes.ProviderName, record.Provider);
        }

        // The model that ran, as the upstream's answer named it (a dated version, say); else the one it was sent.
        if ((responseModel ?? record.UpstreamModel) is { } ran)
        {
            tags.Add(GenAIAttributes.ResponseModel, ran);
        }

        if (InputTokensOf(record) is { } input)
        {
            var inputTags = tags;
            inputTags.Add(GenAIAttributes.TokenType, GenAIAttributes.TokenTypeInput);
            _tokenUsage.Record(input, inputTags);
        }

        if (record.OutputTokens is { } output)
        {
            var outputTags = tags;
            outputTags.Add(GenAIAttributes.TokenType, GenAIAttributes.TokenTypeOutput);
            _tokenUsage.Record(output, outputTags);
        }

        if (record.Cost != 0)
        {
            _cost.Add((double)record.Cost, tags);
        }

        if (record.Streamed && record.TimeToFirstByte is { } firstByte)
        {
            _timeToFirstChunk.Record(firstByte.TotalSeconds, tags);
        }

        if (ErrorTypeOf(record) is { } errorType)
        {
            tags.Add(GenAIAttributes.ErrorType, errorType);
        }

        _duration.Record(record.Duration.TotalSeconds, tags);
    }

    /// <summary>Counts a request the budget step refused.</summary>
    public void BudgetRefused(string requestedModel) =>
        _budgetRefusals.Add(1, new KeyValuePair<string, object?>(GenAIAttributes.RequestModel, ModelTag(requestedModel)));

    /// <summary>Counts a request a rate limit refused.</summary>
    /// <param name="requestedModel">The model asked for.</param>
    /// <param name="limit">Which limit refused it: <c>requests</c>, <c>tokens</c> or <c>concurrency</c>.</param>
    public void RateLimitRefused(string requestedModel, string limit) =>
        _rateLimitRefusals.Add(
            1,
            new KeyValuePair<string, object?>(GenAIAttributes.RequestModel, ModelTag(requestedModel)),
            new KeyValuePair<string, object?>(GenAIAttributes.RelayLimit, limit));

    /// <summary>
    /// The requested model as an attribute: bounded by the configuration (<see cref="Routing.ModelRouteTable.MetricName"/>),
    /// or as it is where no relay routes (the usage services alone).
    /// </summary>
    private string ModelTag(string requestedModel) => _router?.Table.MetricName(requestedModel) ?? requestedModel;

    /// <summary>Counts usage records that were not stored.</summary>
    public void UsageDropped(long count) => _usageDropped.Add(count);

    /// <summary>
    /// The input tokens of a record as the GenAI conventions count them: every prompt token, cached and cache-written
    /// ones included (the record keeps them in disjoint billing classes); null when the upstream reported none.
    /// </summary>
    internal static long? InputTokensOf(UsageRecord record) =>
        record.InputTokens + (record.CachedInputTokens ?? 0) + (record.CacheWriteTokens ?? 0);

    /// <summary>The <c>error.type</c> of a record: its error type, else its status code when it failed.</summary>
    internal static string? ErrorTypeOf(UsageRecord record) =>
        record.ErrorType ?? (record.IsError ? record.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
}
