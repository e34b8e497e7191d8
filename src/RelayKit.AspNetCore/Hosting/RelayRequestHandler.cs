using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Protocols.Anthropic;
using RelayKit.AspNetCore.Protocols.OpenAI;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// Runs one request along the request path, in order: authenticate, read, route, admit, forward,
/// settle. Each step is one call here; what a step finds goes into the <see cref="RelayRequestContext"/>.
/// </summary>
internal sealed partial class RelayRequestHandler(
    RelayKeyAuthenticator authenticator,
    ModelRouter router,
    UpstreamForwarder forwarder,
    RelayPipeline pipeline,
    IOptionsMonitor<ModelRelayOptions> options,
    TimeProvider timeProvider,
    ILogger<RelayRequestHandler> logger,
    RelayPriceCatalog prices,
    StoreFailures storeFailures,
    IHostApplicationLifetime? lifetime = null)
{
    public const string RequestIdHeader = "x-request-id";

    private readonly IRelayAdmission[] _admissions = pipeline.Admissions;
    private readonly IRelaySettlement[] _settlements = pipeline.Settlements;

    public async Task HandleAsync(HttpContext http, RelayOperation operation)
    {
        var format = operation == RelayOperation.ListModels && http.Request.Headers.ContainsKey("anthropic-version")
            ? WireFormat.Anthropic
            : operation.Format;
        var now = timeProvider.GetUtcNow();
        var requestId = NewRequestId(now);
        http.Response.Headers[RequestIdHeader] = requestId;

        using var context = new RelayRequestContext(http, operation, format, requestId, now);
        try
        {
            var rejection = await AuthenticateReadRouteAdmitAsync(context);
            if (rejection is not null)
            {
                await RespondWithErrorAsync(context, rejection);

                // A refused request of a known caller settles too: whatever an earlier admission step held
                // (a reservation, a concurrency slot) is let go at once, and the caller's usage shows the
                // refusal. Requests without a valid key are not recorded, so no one fills the store without one.
                await SettleIfRecordedAsync(context);
                return;
            }

            if (operation == RelayOperation.ListModels)
            {
                await ListModelsAsync(context);
                return;
            }

            await ForwardAndSettleAsync(context);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // Gone before forwarding began (forwarding settles on every way out): what admission held is let go.
            context.ClientAborted = true;
            await SettleAfterFailureAsync(context);
        }
        catch (ObjectDisposedException ex) when (!http.Response.HasStarted && lifetime?.ApplicationStopping.IsCancellationRequested == true)
        {
            // The host is stopping and has already disposed a store this request needs: it came in (or was still
            // running) past the host's shutdown timeout. That is the caller's cue to retry, not a relay bug.
            LogStopping(ex.ObjectName, context.Operation.Name, requestId);
            await RespondWithErrorAsync(context, RelayError.Stopping(requestId));
        }
        catch (Exception ex) when (!http.Response.HasStarted && StoreFailures.Is(ex))
        {
            // A store outage or timeout (the key store, the ledger) is the caller's cue to retry, not a relay bug:
            // a 503 with retry-after, logged once with its exception and then rate-limited.
            storeFailures.Log(ex, context.Operation.Name, requestId);
            Admission.RateLimits.RateLimitHeaderWriter.WriteRetryAfter(http.Response.Headers, StoreFailures.RetryAfter);
            await RespondWithErrorAsync(context, RelayError.StoreUnavailable(requestId));
            await SettleAfterFailureAsync(context);
        }
        catch (Exception ex) when (!http.Response.HasStarted)
        {
            // A relay bug must still answer in the caller's format, and never with a stack trace
            // (the host's developer exception page would show one).
            LogFailed(ex, context.Operation.Name, requestId);
            await RespondWithErrorAsync(context, RelayError.Internal(requestId));

            // A relay error is still a request of the caller's: it lets go of what admission held and is recorded.
            await SettleAfterFailureAsync(context);
        }
    }

    private Task SettleIfRecordedAsync(RelayRequestContext context) =>
        context.Caller is not null && context.Operation != RelayOperation.ListModels ? SettleAsync(context) : Task.CompletedTask;

    /// <summary>Settles a request that ended in an exception, if it has not settled yet; a failure here is only logged.</summary>
    private async Task SettleAfterFailureAsync(RelayRequestContext context)
    {
        try
        {
            await SettleIfRecordedAsync(context);
        }
        catch (Exception ex)
        {
            LogSettleFailed(ex, context.RequestId);
        }
    }

    private async Task<RelayError?> AuthenticateReadRouteAdmitAsync(RelayRequestContext context)
    {
        var http = context.HttpContext;

        // 1 Authenticate
        var authentication = await authenticator.AuthenticateAsync(http.Request, context.RequestAborted, context.CallerFormat);
        context.Caller = authentication.Caller;
        if (authentication.Error is { } unauthenticated)
        {
            return unauthenticated;
        }

        if (context.Operation == RelayOperation.ListModels)
        {
            return null;
        }

        // 2 Read
        var (body, bodyError) = await RelayRequestBodyReader.ReadAsync(http.Request, options.CurrentValue.MaxRequestBodySize, context.RequestAborted);
        if (bodyError is not null)
        {
            return bodyError;
        }

        context.Body = body;
        var (fields, fieldError) = context.Operation.ReadFields(body!.Root);
        if (fieldError is not null)
        {
            return fieldError;
        }

        context.Fields = fields;

        // 3 Route
        if (RequestRouting.Route(context, router.Table, prices, router.Health) is { } unrouted)
        {
            return unrouted;
        }

        // 4 Admit
        foreach (var admission in _admissions)
        {
            if (await admission.AdmitAsync(context) is { } refused)
            {
                return refused;
            }
        }

        return null;
    }

    /// <summary>"req_" and a version 7 GUID in 32 hex digits, written straight into the one string.</summary>
    private static string NewRequestId(DateTimeOffset now) =>
        string.Create(36, Guid.CreateVersion7(now), static (text, id) =>
        {
            "req_".CopyTo(text);
            id.TryFormat(text[4..], out _, "N");
        });

    private async Task ForwardAndSettleAsync(RelayRequestContext context)
    {
        try
        {
            // 5 Forward (6 Meter observes the response inside the forwarder's copy loop). A whole non-streamed answer
            // comes back unwritten (HeldAnswer) and a stream's end event held back (HeldStreamEnd): both go out in step 8.
            var error = await forwarder.ForwardAsync(context);
            if (error is not null)
            {
                await RespondWithErrorAsync(context, error);
            }
            else if (context.Upstream is { } upstream)
            {
                LogRelayed(context.Operation.Name, LogValue.Of(context.Fields!.Model)!, LogValue.OfKeyName(context.Caller!.KeyName)!, LogValue.Of(upstream.Provider.Name)!,
                    LogValue.Of(upstream.UpstreamModel)!, context.UpstreamStatusCode ?? 0, context.ClientAborted, context.RequestId);
            }
        }
        finally
        {
            // 7 Settle: once for every admitted request, however forwarding ended.
            try
            {
                await SettleAsync(context);
            }
            catch (Exception ex) when (context.HeldAnswer is not null)
            {
                // The answer is the caller's however step 7 went (a failed budget settle is spooled, never thrown; this is
                // another part): it goes out below rather than being replaced by a relay error.
                LogSettleFailed(ex, context.RequestId);
            }
        }

        // 8 Complete
        await CompleteResponseAsync(context);
    }

    /// <summary>
    /// Step 8: ends the caller's response after step 7 (the durability rule). A whole non-streamed answer
    /// (<see cref="RelayRequestContext.HeldAnswer"/>, with the headers step 7 added), a stream's end event
    /// (<see cref="RelayRequestContext.HeldStreamEnd"/>) and the end of any body go out only once its charge and usage
    /// record are committed (group commit keeps that wait short), so an answer its caller received whole is never lost
    /// to a crash of the relay.
    /// </summary>
    private static async Task CompleteResponseAsync(RelayRequestContext context)
    {
        var http = context.HttpContext;
        if (context.ClientAborted || http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            if (context.HeldAnswer is { } answer)
            {
                http.Response.ContentLength = answer.WrittenCount;
                await http.Response.StartAsync(http.RequestAborted);
                if (answer.WrittenCount > 0)
                {
                    await http.Response.Body.WriteAsync(answer.WrittenMemory, http.RequestAborted);
                }
            }
            else if (!http.Response.HasStarted)
            {
                return;
            }

            if (context.HeldStreamEnd is { WrittenCount: > 0 } end)
            {
                await http.Response.Body.WriteAsync(end.WrittenMemory, http.RequestAborted);
            }

            await http.Response.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The caller went away as the answer ended; settling does not depend on it.
        }
    }

    private async Task SettleAsync(RelayRequestContext context)
    {
        if (context.SettleStarted)
        {
            return;
        }

        context.SettleStarted = true;

        // Every part of step 7 runs even when an earlier one throws: a failed settle must not keep a concurrency slot
        // or a usage record from being let go or written. The first failure is rethrown once all have run.
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        foreach (var settlement in _settlements)
        {
            try
            {
                await settlement.SettleAsync(context);
            }
            catch (Exception ex)
            {
                failure ??= System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex);
            }
        }

        failure?.Throw();
    }

    /// <summary>
    /// <c>GET /v1/models</c>: the models the key may use; <c>GET /v1/models/{model}</c>: one of them (any name the relay
    /// routes, aliases and patterns included), or a 404 naming the closest ones, the same for a model the key may not
    /// use as for one that is not configured, as the list does not show it either.
    /// </summary>
    private Task ListModelsAsync(RelayRequestContext context)
    {
        var table = router.Table;
        var response = context.HttpContext.Response;
        var anthropic = context.CallerFormat == WireFormat.Anthropic;
        if (RetrievedModel(context.HttpContext.Request.Path) is { } id)
        {
            var candidates = table.Resolve(id);
            if (candidates.Count == 0 || !context.Caller!.MayUse(id))
            {
                return RespondWithErrorAsync(context, RelayError.UnknownModel(id, table.Closest(id, context.Caller!.MayUse, 3)));
            }

            var model = new ListedModel(id, candidates[0].Provider.Name, prices.PriceOf(candidates[0]));
            return anthropic
                ? AnthropicModelListWriter.WriteOneAsync(response, model, table.CompiledAt, context.RequestAborted)
                : OpenAiModelListWriter.WriteOneAsync(response, model, table.CompiledAt, context.RequestAborted);
        }

        var models = table.ListedModels
            .Where(m => context.Caller!.MayUse(m.Name))
            .Select(m => new ListedModel(m.Name, m.Entry.Provider.Name, prices.PriceOf(m.Entry)))
            .ToList();
        return anthropic
            ? AnthropicModelListWriter.WriteAsync(response, models, table.CompiledAt, context.RequestAborted)
            : OpenAiModelListWriter.WriteAsync(response, models, table.CompiledAt, context.RequestAborted);
    }

    /// <summary>The model named after <c>/v1/models/</c> in the path (unescaped, and it may hold slashes); null for the list.</summary>
    internal static string? RetrievedModel(PathString path)
    {
        const string Models = "/v1/models/";
        var text = path.Value ?? "";
        var at = text.LastIndexOf(Models, StringComparison.Ordinal);
        return at < 0 || at + Models.Length == text.Length ? null : Uri.UnescapeDataString(text[(at + Models.Length)..]);
    }

    private Task RespondWithErrorAsync(RelayRequestContext context, RelayError error)
    {
        context.Error = error;
        LogRejected(context.Operation.Name, error.Status, error.Code, LogValue.OfKeyName(context.Caller?.KeyName), context.RequestId);
        return context.HttpContext.Response.HasStarted
            ? Task.CompletedTask
            : RelayErrorWriter.WriteAsync(context.HttpContext, context.CallerFormat, error);
    }

    [LoggerMessage(1, LogLevel.Information, "Relayed {Operation} {Model} for key {KeyName} to {Provider} as {UpstreamModel}: {Status} (caller aborted: {Aborted}, {RequestId})")]
    private partial void LogRelayed(string operation, string model, string keyName, string provider, string upstreamModel, int status, bool aborted, string requestId);

    [LoggerMessage(3, LogLevel.Error, "The relay failed on {Operation} ({RequestId})")]
    private partial void LogFailed(Exception exception, string operation, string requestId);

    [LoggerMessage(5, LogLevel.Error, "Settling {RequestId} after it failed threw as well; what it held expires instead")]
    private partial void LogSettleFailed(Exception exception, string requestId);

    [LoggerMessage(4, LogLevel.Warning, "Answered {Operation} with 503: the host is stopping and {Service} is already disposed ({RequestId}); raise the host's ShutdownTimeout if requests still run this late")]
    private partial void LogStopping(string service, string operation, string requestId);

    [LoggerMessage(2, LogLevel.Information, "Answered {Operation} with {Status} {Code} (key {KeyName}, {RequestId})")]
    private partial void LogRejected(string operation, int status, string code, string? keyName, string requestId);
}
