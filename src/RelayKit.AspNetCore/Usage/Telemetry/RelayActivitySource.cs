using System.Diagnostics;
using System.Globalization;

namespace RelayKit.AspNetCore.Usage.Telemetry;

/// <summary>
/// The relay's spans on the <c>RelayKit</c> activity source: one per relayed request (internal) and
/// one per upstream attempt (client), with the OpenTelemetry GenAI attributes. Export them with
/// <c>AddSource("RelayKit")</c>.
/// </summary>
internal sealed class RelayActivitySource : IDisposable
{
    public const string SourceName = "RelayKit";

    private readonly ActivitySource _source =
        new(SourceName, typeof(RelayActivitySource).Assembly.GetName().Version?.ToString());

    /// <summary>Starts the span of a relayed request, or returns <see langword="null"/> when nobody listens.</summary>
    public Activity? StartRequest(string requestId, string operation, string requestedModel, string? keyName, bool streamed)
    {
        var activity = _source.StartActivity($"{operation} {requestedModel}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(GenAIAttributes.OperationName, operation);
            activity.SetTag(GenAIAttributes.RequestModel, requestedModel);
            activity.SetTag(GenAIAttributes.RelayRequestId, requestId);
            activity.SetTag(GenAIAttributes.RelayStreamed, streamed);
            if (keyName is not null)
            {
                activity.SetTag(GenAIAttributes.RelayKeyName, SecretScrubber.ScrubKeyName(keyName));
            }
        }

        return activity;
    }

    /// <summary>Starts the span of one attempt at an upstream (a child of the current request span).</summary>
    /// <param name="provider">The upstream's name.</param>
    /// <param name="operation">The GenAI operation.</param>
    /// <param name="upstreamModel">The model name sent to the upstream.</param>
    /// <param name="attempt">1 for the first attempt, 2 for the first retry or fallback, …</param>
    /// <param name="endpoint">The upstream's base address, for <c>server.address</c> and <c>server.port</c>.</param>
    public Activity? StartAttempt(string provider, string operation, string upstreamModel, int attempt, Uri? endpoint)
    {
        var activity = _source.StartActivity($"{operation} {upstreamModel}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(GenAIAttributes.OperationName, operation);
            activity.SetTag(GenAIAttributes.ProviderName, provider);
            activity.SetTag(GenAIAttributes.RequestModel, upstreamModel);
            activity.SetTag(GenAIAttributes.RelayAttempt, attempt);
            if (endpoint is not null)
            {
                activity.SetTag(GenAIAttributes.ServerAddress, endpoint.Host);
                activity.SetTag(GenAIAttributes.ServerPort, endpoint.Port);
            }
        }

        return activity;
    }

    /// <summary>Ends an attempt span with the upstream's answer.</summary>
    /// <param name="activity">The span from <see cref="StartAttempt"/>.</param>
    /// <param name="statusCode">The upstream's status code, or <see langword="null"/> when no response came.</param>
    /// <param name="errorType">A low-cardinality error type when the attempt failed (such as <c>timeout</c>).</param>
    /// <param name="responseModel">The model the upstream says answered.</param>
    public static void CompleteAttempt(Activity? activity, int? statusCode, string? errorType, string? responseModel = null)
    {
        if (activity is null)
        {
            return;
        }

        if (statusCode is { } code)
        {
            activity.SetTag(GenAIAttributes.HttpStatusCode, code);
        }

        if (responseModel is not null)
        {
            activity.SetTag(GenAIAttributes.ResponseModel, responseModel);
        }

        var error = errorType ?? (statusCode >= 400 ? statusCode.Value.ToString(CultureInfo.InvariantCulture) : null);
        if (error is not null)
        {
            activity.SetTag(GenAIAttributes.ErrorType, error);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.Stop();
    }

    /// <summary>Ends a request span with what the request used.</summary>
    public static void CompleteRequest(Activity? activity, UsageRecord record, string? responseModel = null)
    {
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag(GenAIAttributes.ProviderName, record.Provider);
            activity.SetTag(GenAIAttributes.ResponseModel, responseModel ?? record.UpstreamModel);
            activity.SetTag(GenAIAttributes.InputTokens, RelayMetrics.InputTokensOf(record));
            activity.SetTag(GenAIAttributes.OutputTokens, record.OutputTokens);
            activity.SetTag(GenAIAttributes.CacheReadInputTokens, record.CachedInputTokens);
            activity.SetTag(GenAIAttributes.CacheCreationInputTokens, record.CacheWriteTokens);
            activity.SetTag(GenAIAttributes.ReasoningOutputTokens, record.ReasoningTokens);
            activity.SetTag(GenAIAttributes.RelayCost, (double)record.Cost);
            activity.SetTag(GenAIAttributes.HttpStatusCode, record.StatusCode);
        }

        if (RelayMetrics.ErrorTypeOf(record) is { } error)
        {
            activity.SetTag(GenAIAttributes.ErrorType, error);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.Stop();
    }

    /// <inheritdoc/>
    public void Dispose() => _source.Dispose();
}
