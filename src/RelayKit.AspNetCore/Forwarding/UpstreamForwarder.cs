using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using CommunityToolkit.HighPerformance;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Step 5 of the request path: sends the request to the first candidate that answers and streams the
/// answer back as it arrives. A non-streamed answer is held whole (up to <see cref="HeldBodyCap"/>) and handed to the
/// handler unwritten only when step 7 adds headers that depend on it (<see cref="RelayRequestContext.HoldWholeAnswer"/>).
/// </summary>
/// <remarks>
/// Hand-written on <see cref="HttpMessageInvoker"/> rather than YARP's <c>IHttpForwarder</c>, because the
/// relay is not a transparent proxy: the body it sends is one it parsed and may rewrite (the model,
/// later <c>stream_options</c>), which YARP would stream from the request instead; a failure before the
/// first byte must fall back to the next candidate or answer in the caller's wire format, while YARP
/// writes its own bare 502/504 and does not retry; and metering must see every chunk in the copy loop.
/// What YARP would contribute beyond that (hop-by-hop header rules, a proxy-grade handler) is small and
/// lives in <see cref="ProxyHeaders"/> and <see cref="UpstreamHandlerSetup"/>.
/// </remarks>
internal sealed partial class UpstreamForwarder(
    IHttpMessageHandlerFactory handlers,
    UpstreamSelection selection,
    Pricing.RelayPriceCatalog prices,
    IOptionsMonitor<ModelRelayOptions> options,
    TimeProvider timeProvider,
    ILogger<UpstreamForwarder> logger,
    UpstreamAttemptTracker? attempts = null,
    Admission.RateLimits.FallbackModelLimits? fallbackLimits = null)
{
    private const int ChunkSize = 16 * 1024;

    /// <summary>The largest retryable answer body held while another upstream is tried (an error's body is a few hundred bytes).</summary>
    private const int HeldFailureCap = 256 * 1024;

    /// <summary>The provider that served the answer.</summary>
    public const string ProviderHeader = "x-relaykit-provider";

    /// <summary>The model name the serving provider was sent.</summary>
    public const string ModelHeader = "x-relaykit-model";

    /// <summary>How many upstream attempts the request took.</summary>
    public const string AttemptsHeader = "x-relaykit-attempts";

    private static readonly string[] AttemptCounts = [.. Enumerable.Range(0, 10).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    // A provider's operation URIs, made (and parsed) once rather than per request; a Uri is immutable, so
    // requests share it. Keyed by the provider object, so a recompiled route table's providers start afresh
    // and the old ones' entries go with them.
    private static readonly ConditionalWeakTable<UpstreamProvider, ConcurrentDictionary<string, Uri>> UpstreamUris = [];

    /// <summary>
    /// The largest non-streamed answer held back whole (16 MiB) so that headers known only at its end (the
    /// charged cost) go out with it; a larger one streams through as it arrives, without those headers.
    /// Settable so tests reach the fallback without sending megabytes.
    /// </summary>
    internal int HeldBodyCap { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Forwards the request; returns the error to answer when no upstream answered, otherwise null. Each attempt goes to
    /// the upstream and key <see cref="UpstreamSelection"/> chooses; an attempt that failed before anything reached the
    /// caller (no answer, or a retryable one: <see cref="IsRetryable"/>) is followed by the next while attempts remain.
    /// The last retryable answer is held (its body read, up to <see cref="HeldFailureCap"/>) and given to the caller when
    /// no other upstream answers. Only the answer that is copied to the caller is metered, and so charged.
    /// </summary>
    /// <remarks>
    /// The breakers are Polly's; the retry loop is written here rather than with Polly's retry strategy (re-checked
    /// against Polly.Core 8.9.1) because a retry here is not the same call again: each attempt goes to the upstream and key
    /// chosen after the last one failed (another priority, another wire format, its body shaped anew), and whether to
    /// wait for a <c>retry-after</c> depends on that choice (only before the same key, and only up to
    /// <see cref="ModelRelayResilienceOptions.MaxRetryAfter"/>), while Polly's retry fixes its delay before the next
    /// attempt is chosen. A retryable answer is also held across attempts, to be given if no other upstream answers,
    /// which Polly's outcome model would dispose of or rethrow.
    /// </remarks>
    public async Task<RelayError?> ForwardAsync(RelayRequestContext context)
    {
        RelayError? lastError = null;
        context.ForwardStarted = true;
        attempts?.StartRequest(context);
        var candidates = context.Candidates;
        var configured = selection.Resilience.MaxAttempts;
        var maxAttempts = configured ?? candidates.Count;
        var attemptNumber = 0;
        var attemptsThisRound = 0;
        var round = 1;
        ulong tried = 0;

        // The candidates of fallback models whose own rate limits refused the request: passed over in every round.
        ulong limited = 0;
        (RelayError Error, TimeSpan? RetryAfter)? limitRefusal = null;

        // Keys whose breaker refused an attempt in this round (its trial under way, or it opened since it was chosen): only
        // that key is passed over, so another key of the same provider's pool may still serve in this round.
        HashSet<(int Candidate, int Key)>? passedOver = null;
        (int Candidate, int Key, TimeSpan? Asked) last = (-1, -1, null);
        HeldFailure? held = null;
        try
        {
            while (attemptNumber < maxAttempts)
            {
                var (index, key) = selection.Next(candidates, tried, passedOver);
                if (index < 0)
                {
                    // Every usable upstream was tried or passed over in this round. Another round only when MaxAttempts asks
                    // for more than one attempt per upstream, when this round made one (a round of upstreams that were all
                    // passed over would only spin), and when the wait the last failure asked for is one the relay takes.
                    if (configured is null || attemptsThisRound == 0)
                    {
                        break;
                    }

                    (index, key) = await NextRoundAsync(context, candidates, ++round, last, limited);
                    if (index < 0)
                    {
                        break;
                    }

                    tried = limited;
                    passedOver = null;
                    attemptsThisRound = 0;
                }

                var leasesHeld = context.FallbackRateLimitLeases?.Count ?? 0;
                if (fallbackLimits is not null && await fallbackLimits.AdmitAsync(context, candidates[index]) is { } refusal)
                {
                    // A fallback model whose own limits are reached: none of its upstreams is tried for this request.
                    // It is the road tried last so far: when no upstream answers, the caller gets this 429 and its
                    // retry-after (an upstream error before it would only send the caller back into the same limit); a
                    // road tried after it replaces it as any later failure does.
                    limited |= MaskOf(candidates, candidates[index].RequestedAs);
                    tried |= limited;
                    limitRefusal = refusal;
                    lastError = refusal.Error;
                    continue;
                }

                // Whether another attempt may follow this one: else its answer, retryable or not, goes to the caller as it
                // comes (nothing held back).
                var mayRetry = attemptNumber + 1 < maxAttempts
                    && (configured is not null || selection.AnyLeft(candidates, tried | (1UL << index), passedOver));
                var outcome = await AttemptAsync(context, candidates[index], key, attemptNumber + 1, mayRetry, held);
                if ((outcome.Refused || outcome.Skipped) && fallbackLimits is not null && context.FallbackRateLimitLeases?.Count > leasesHeld)
                {
                    // The fallback's lease was taken for this attempt, and nothing was sent: the model was not reached.
                    await fallbackLimits.GiveBackLastAsync(context);
                }

                if (outcome.Refused)
                {
                    // The key's breaker refused it: only that key is passed over; the candidate's other keys stay in the round.
                    (passedOver ??= []).Add((index, key));
                    continue;
                }

                tried |= 1UL << index;
                if (outcome.Skipped)
                {
                    // Its format cannot carry the request (that 400 is the answer only when no upstream gave a better one).
                    lastError ??= outcome.Error;
                    continue;
                }

                attemptNumber++;
                attemptsThisRound++;
                last = (index, key, null);
                if (outcome.Done)
                {
                    return null; // a held answer not given is disposed below
                }

                if (outcome.Held is { } failure)
                {
                    held = failure;
                    last.Asked = failure.RetryAfter;
                }

                lastError = outcome.Error ?? lastError;
            }

            if (held is { } answer && !context.ClientAborted)
            {
                // Every road failed: the caller gets the last upstream's own answer, in its format: the request is readied
                // for that upstream again (a later attempt may have readied it for another format).
                held = null;
                using (answer.Response)
                {
                    ShapeFor(context, answer.Candidate);
                    await AnswerAsync(context, answer.Candidate, answer.Response, attemptNumber);
                }

                return null;
            }

            WriteAttempts(context, attemptNumber);
            if (context.ClientAborted)
            {
                return null;
            }

            if (lastError is null && !context.HttpContext.Response.HasStarted)
            {
                // Every upstream rests: the caller may come back when the first of them may be tried (a break's end, at most
                // BreakFor; a second for a trial under way, see UpstreamBreaker.TrialRetryAfter).
                Admission.RateLimits.RateLimitHeaderWriter.WriteRetryAfter(context.HttpContext.Response.Headers, selection.UsableIn(candidates));
            }
            else if (limitRefusal is { RetryAfter: { } limitWait } && ReferenceEquals(lastError, limitRefusal.Value.Error) && !context.HttpContext.Response.HasStarted)
            {
                Admission.RateLimits.RateLimitHeaderWriter.WriteRetryAfter(context.HttpContext.Response.Headers, limitWait);
            }

            return lastError ?? RelayError.UpstreamsResting(context.Fields!.Model);
        }
        finally
        {
            held?.Response.Dispose();
        }
    }

    /// <summary>
    /// Chooses the first attempt of a new round. When that is the upstream key that failed last, it waits first: for what
    /// that key's answer asked (<c>retry-after</c>), else a back-off that doubles each round, never longer than
    /// <see cref="ModelRelayResilienceOptions.MaxRetryAfter"/>; when it asked for longer, the relay does not wait: (-1, -1),
    /// and the caller gets that answer. Another key or upstream is tried at once.
    /// </summary>
    private async Task<(int Candidate, int Key)> NextRoundAsync(
        RelayRequestContext context, IReadOnlyList<UpstreamCandidate> candidates, int round, (int Candidate, int Key, TimeSpan? Asked) last, ulong limited)
    {
        var next = selection.Next(candidates, limited);
        var longest = selection.Resilience.MaxRetryAfter;
        TimeSpan wait;
        if (next.Candidate < 0 && last.Candidate >= 0 && selection.CoolingFor(candidates[last.Candidate].Upstream, last.Key) is { } cooling)
        {
            // Nothing is usable because the key that failed last was answered 429 and cools down: its retry-after is
            // waited for like any other when it is within MaxRetryAfter.
            if (cooling > longest)
            {
                return (-1, -1);
            }

            // A timer may fire a little before the clock reads the end of the rest: a few milliseconds more.
            wait = cooling + TimeSpan.FromMilliseconds(5);
        }
        else if (next.Candidate < 0 || next != (last.Candidate, last.Key))
        {
            return next;
        }
        else if (last.Asked > longest)
        {
            return (-1, -1);
        }
        else
        {
            wait = last.Asked ?? TimeSpan.FromMilliseconds(Math.Min(longest.TotalMilliseconds, 250 * Math.Pow(2, round - 2)));
        }

        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, timeProvider, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                context.ClientAborted = true;
                return (-1, -1);
            }
        }

        // Chosen again after the wait: another request may have opened its breaker meanwhile.
        return selection.Next(candidates, limited);
    }

    /// <summary>The mask of the candidates that reach the fallback model <paramref name="requestedAs"/>.</summary>
    private static ulong MaskOf(IReadOnlyList<UpstreamCandidate> candidates, string? requestedAs)
    {
        ulong mask = 0;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (string.Equals(candidates[i].RequestedAs, requestedAs, StringComparison.OrdinalIgnoreCase))
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    /// <summary>
    /// One attempt: sends through the upstream key's breaker, then copies the answer to the caller, or holds it when it is
    /// retryable and another attempt may follow. Releases the previously held answer once this one is given or held.
    /// </summary>
    private async Task<AttemptOutcome> AttemptAsync(
        RelayRequestContext context, UpstreamCandidate candidate, int key, int number, bool mayRetry, HeldFailure? previous)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            // Gone before this attempt (during a wait, or while a retryable answer was read): nothing more is sent.
            context.ClientAborted = true;
            return AttemptOutcome.Answered;
        }

        if (ShapeFor(context, candidate) is { } untranslatable)
        {
            // This upstream's format cannot carry the request: not an attempt; the next upstream may take it.
            return new AttemptOutcome(false, true, false, untranslatable, null);
        }

        var upstream = candidate.Upstream;
        var provider = upstream.Provider;
        UpstreamAttempt? attempt = null;
        using var inFlight = provider.Enter(key);
        Interlocked.Increment(ref upstream.InFlight);
        try
        {
            // One source bounds the attempt by UpstreamTimeout: the wait for the response to start, then each wait for
            // the next part of it. The caller's abort cancels it too: one registration, where a source linked to the
            // timeout's would make another source and two. Which of the two it was is told by RequestAborted, checked first.
            var timeout = options.CurrentValue.UpstreamTimeout;
            using var cancel = new CancellationTokenSource(timeout, timeProvider);
            using var abort = context.RequestAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), cancel);
            context.RequestSent = false;
            (attempt, var response, var error, var skipped) = await SendThroughBreakerAsync(context, candidate, key, number, cancel, timeout);
            if (skipped)
            {
                // The breaker refused it before anything was sent: not an attempt, so no span and no entry in the record.
                return AttemptOutcome.Refusal;
            }

            if (response is null)
            {
                attempt?.Failed(error);
                if (context.ClientAborted)
                {
                    // Gone before the answer's status line, but after the upstream had the whole prompt: it bills it, and
                    // the settle charges it (BudgetSettlement.ReachedUpstream).
                    if (context.RequestSent)
                    {
                        context.Upstream = candidate;
                    }

                    return AttemptOutcome.Answered;
                }

                return new AttemptOutcome(false, false, false, error, null);
            }

            var status = (int)response.StatusCode;
            if (status == 429)
            {
                selection.CoolDown(provider, key, response);
            }

            attempt?.Answered(status);
            if (mayRetry && IsRetryable(response))
            {
                // Nothing has reached the caller: keep this answer in case no other upstream gives one, and go on.
                var failure = await HoldAsync(context, candidate, response, cancel);
                attempt?.Ended(completed: true, clientAborted: false);
                if (failure is null)
                {
                    return context.ClientAborted ? AttemptOutcome.Answered : new AttemptOutcome(false, false, false, RelayError.UpstreamUnreachable(provider.Name), null);
                }

                previous?.Response.Dispose();
                return new AttemptOutcome(false, false, false, null, failure);
            }

            previous?.Response.Dispose();
            using (response)
            {
                context.Upstream = candidate;
                context.UpstreamStatusCode = status;
                WriteServedBy(context, candidate, number);
                await CopyResponseAsync(context, candidate, key, response, cancel, timeout);
                attempt?.Ended(context.ResponseCompleted, context.ClientAborted);
            }

            return AttemptOutcome.Answered;
        }
        finally
        {
            attempt?.Dispose();
            Interlocked.Decrement(ref upstream.InFlight);
        }
    }

    /// <summary>Gives the caller a held answer (read whole already) once no other upstream answered.</summary>
    private async Task AnswerAsync(RelayRequestContext context, UpstreamCandidate candidate, HttpResponseMessage response, int attempts)
    {
        context.Upstream = candidate;
        context.UpstreamStatusCode = (int)response.StatusCode;
        WriteServedBy(context, candidate, attempts);
        var timeout = options.CurrentValue.UpstreamTimeout;
        using var cancel = new CancellationTokenSource(timeout, timeProvider);
        using var abort = context.RequestAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), cancel);
        await CopyResponseAsync(context, candidate, -1, response, cancel, timeout);
    }

    /// <summary>Names what served the answer: <c>x-relaykit-provider</c>, <c>x-relaykit-model</c> and <c>x-relaykit-attempts</c>.</summary>
    private static void WriteServedBy(RelayRequestContext context, UpstreamCandidate candidate, int attempts)
    {
        var headers = context.HttpContext.Response.Headers;
        headers[ProviderHeader] = candidate.Provider.Name;
        headers[ModelHeader] = candidate.UpstreamModel;
        WriteAttempts(context, attempts);
    }

    private static void WriteAttempts(RelayRequestContext context, int attempts)
    {
        if (attempts > 0 && !context.HttpContext.Response.HasStarted)
        {
            context.HttpContext.Response.Headers[AttemptsHeader] = attempts < AttemptCounts.Length
                ? AttemptCounts[attempts]
                : attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Whether an answer may be retried elsewhere: the statuses an upstream gives when it could not serve now (408, 409,
    /// 429, 500, 502, 503, 504, 529), unless it said <c>x-should-retry: false</c> (as OpenAI's API does when a retry
    /// cannot help).
    /// </summary>
    internal static bool IsRetryable(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is not (408 or 409 or 429 or 500 or 502 or 503 or 504 or 529))
        {
            return false;
        }

        return !(response.Headers.TryGetValues("x-should-retry", out var values)
            && string.Equals(values.FirstOrDefault(), "false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Reads a retryable answer's body (an error, small) so it can still be given once its connection is back in the pool;
    /// null when it could not be read (larger than <see cref="HeldFailureCap"/>, cut, or the caller left).
    /// </summary>
    private async Task<HeldFailure?> HoldAsync(RelayRequestContext context, UpstreamCandidate candidate, HttpResponseMessage response, CancellationTokenSource cancel)
    {
        try
        {
            await response.Content.LoadIntoBufferAsync(HeldFailureCap, cancel.Token);
            return new HeldFailure(candidate, response, Admission.RateLimits.UpstreamCooldown.ReadRetryAfter(response.Headers, timeProvider.GetUtcNow()));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            context.ClientAborted |= context.RequestAborted.IsCancellationRequested;
            response.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Sends through the upstream key's breaker (Polly's), which counts the attempt's outcome; Skipped when the breaker
    /// refused it (it opened since the attempt was chosen, or its half-open trial is already under way). The attempt (its
    /// span and its entry in the usage record) starts only once the breaker let it through.
    /// </summary>
    private async Task<(UpstreamAttempt? Attempt, HttpResponseMessage? Response, RelayError? Error, bool Skipped)> SendThroughBreakerAsync(
        RelayRequestContext context, UpstreamCandidate candidate, int key, int number, CancellationTokenSource cancel, TimeSpan timeout)
    {
        if (selection.BreakerOf(candidate, key) is not { } breaker)
        {
            var attempt = StartAttempt(context, candidate, number);
            var (response, error) = await SendAsync(context, candidate, key, cancel, timeout);
            return (attempt, response, error, false);
        }

        var resilience = ResilienceContextPool.Shared.Get(context.RequestAborted);
        try
        {
            var outcome = await breaker.Pipeline.ExecuteOutcomeAsync(
                static async (_, state) =>
                {
                    var (self, context, candidate, key, number, cancel, timeout) = state;
                    var attempt = self.StartAttempt(context, candidate, number);
                    try
                    {
                        var (response, error) = await self.SendAsync(context, candidate, key, cancel, timeout);
                        var callerLeft = response is null && error is null;
                        var failed = response is null ? error is not null : UpstreamSelection.CountsAgainstBreaker((int)response.StatusCode);
                        return Outcome.FromResult(new UpstreamAttemptResult(attempt, response, error, failed, callerLeft));
                    }
                    catch
                    {
                        attempt?.Dispose();
                        throw;
                    }
                },
                resilience,
                (this, context, candidate, key, number, cancel, timeout));
            switch (outcome.Exception)
            {
                case null:
                    return (outcome.Result.Attempt, outcome.Result.Response, outcome.Result.Error, false);
                case BrokenCircuitException:
                    return (null, null, null, true);
                case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                    // Polly saw the caller's abort before sending.
                    context.ClientAborted = true;
                    return (null, null, null, false);
                default:
                    // A relay bug inside the attempt: the request path's own handling (a logged 500), as without breakers.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(outcome.Exception);
                    return default;
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(resilience);
        }
    }

    private UpstreamAttempt? StartAttempt(RelayRequestContext context, UpstreamCandidate candidate, int number) =>
        attempts?.StartAttempt(context, candidate, number);

    /// <summary>
    /// What one attempt came to: the request is done (answered, or the caller left), skipped (its upstream's format cannot
    /// carry the request), refused by its key's breaker, or failed with an error or a held answer.
    /// </summary>
    private readonly record struct AttemptOutcome(bool Done, bool Skipped, bool Refused, RelayError? Error, HeldFailure? Held)
    {
        public static AttemptOutcome Answered => new(true, false, false, null, null);

        public static AttemptOutcome Refusal => new(false, false, true, null, null);
    }

    /// <summary>A retryable answer kept, body read, until another upstream answers or the attempts run out.</summary>
    private sealed record HeldFailure(UpstreamCandidate Candidate, HttpResponseMessage Response, TimeSpan? RetryAfter);

    private async Task<(HttpResponseMessage? Response, RelayError? Error)> SendAsync(
        RelayRequestContext context, UpstreamCandidate candidate, int key, CancellationTokenSource cancel, TimeSpan timeout)
    {
        var provider = candidate.Provider;
        using var request = CreateRequest(context, candidate, key);

        // The handler comes from IHttpClientFactory (pooled and rotated there), so the invoker must not dispose it.
        using var invoker = new HttpMessageInvoker(handlers.CreateHandler(UpstreamClientNames.For(provider.Name)), disposeHandler: false);
        try
        {
            var response = await invoker.SendAsync(request, cancel.Token);
            if (cancel.IsCancellationRequested)
            {
                // Some handlers (TestServer's, for one) hand back a response when cancellation raced the
                // answer; its body would fail at once, so treat it as the cancellation it is.
                response.Dispose();
                throw new OperationCanceledException(cancel.Token);
            }

            return (response, null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            context.ClientAborted = true;
            return (null, null);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            LogUpstreamTimedOut(LogValue.Of(provider.Name)!, timeout);
            return (null, RelayError.UpstreamTimeout(provider.Name));
        }
        catch (HttpRequestException ex)
        {
            LogUpstreamUnreachable(LogValue.Of(provider.Name)!, ex.HttpRequestError, LogValue.Of(ex.Message)!);
            return (null, RelayError.UpstreamUnreachable(provider.Name));
        }
    }

    /// <summary>
    /// Readies the request for <paramref name="candidate"/>: its wire format (translated or not), and the fields that depend
    /// on the upstream (the model name, the output limit under the name the upstream knows, the stream usage request), so
    /// <see cref="CreateRequest"/> writes the body in one place; the 400 when this upstream's format cannot carry a field.
    /// </summary>
    private RelayError? ShapeFor(RelayRequestContext context, UpstreamCandidate candidate)
    {
        if (RequestRouting.TranslateFor(context, candidate, prices) is { } untranslatable)
        {
            return untranslatable;
        }

        var overrides = context.BodyOverrides;

        // A translated body names the first candidate's model: each attempt names its own.
        if (context.Translation is not null || !string.Equals(candidate.UpstreamModel, context.Fields!.Model, StringComparison.Ordinal))
        {
            overrides["model"] = JsonValue.Create(candidate.UpstreamModel);
        }
        else
        {
            overrides.Remove("model");
        }

        if (context.OutputLimit is { } limit && context.UpstreamOperation.OutputLimitField(candidate.UpstreamModel) is { } field)
        {
            overrides.Remove("max_tokens");
            overrides.Remove("max_completion_tokens");
            overrides.Remove("max_output_tokens");
            overrides[field] = JsonValue.Create(limit);
        }

        if (context.Translation is null && context.StreamUsageOptions is { } usage)
        {
            overrides["stream_options"] = usage;
        }
        else
        {
            overrides.Remove("stream_options");
        }

        return null;
    }

    private static HttpRequestMessage CreateRequest(RelayRequestContext context, UpstreamCandidate candidate, int key)
    {
        var http = context.HttpContext;
        var provider = candidate.Provider;
        var path = context.Translation?.UpstreamPath ?? context.Operation.UpstreamPath;
        // The caller's query string stays behind: the provider's URL is the configured one (a caller's ?key= or
        // ?api-version= would otherwise reach the provider as the relay's own request).
        var uri = UpstreamUris.GetValue(provider, static _ => new()).GetOrAdd(path, static (relative, baseUri) => new Uri(baseUri, relative), provider.BaseUri);
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };

        ProxyHeaders.CopyRequestHeaders(http.Request, request, toAnthropic: provider.Format == WireFormat.Anthropic);
        provider.AddProviderHeaders(request, key);

        var source = context.Translation?.Body ?? context.Body!;
        var body = context.BodyOverrides.Count == 0
            ? source.RawToSend()
            : JsonBodyRewriter.Rewrite(source.Root, context.BodyOverrides);
        request.Content = new UpstreamBodyContent(body, context);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    /// <summary>
    /// The body sent upstream, which marks the request as sent (<see cref="RelayRequestContext.RequestSent"/>) once it has
    /// been written whole to the upstream's connection: from then on the upstream has the prompt and bills it, whether or
    /// not the caller waits for the answer. Written by hand because <see cref="ReadOnlyMemoryContent"/> is sealed and
    /// HttpClient reports no "request sent" event per request.
    /// </summary>
    private sealed class UpstreamBodyContent(ReadOnlyMemory<byte> body, RelayRequestContext context) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? transportContext, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(body, cancellationToken);
            context.RequestSent = true;
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? transportContext) =>
            SerializeToStreamAsync(stream, transportContext, CancellationToken.None);

        protected override void SerializeToStream(Stream stream, TransportContext? transportContext, CancellationToken cancellationToken)
        {
            stream.Write(body.Span);
            context.RequestSent = true;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    private async Task CopyResponseAsync(
        RelayRequestContext context, UpstreamCandidate candidate, int key, HttpResponseMessage response, CancellationTokenSource cancel, TimeSpan timeout)
    {
        var http = context.HttpContext;
        http.Response.StatusCode = (int)response.StatusCode;
        ProxyHeaders.CopyResponseHeaders(response, http.Response, candidate.Provider.ApiKeys);

        // Everything done to the answer on its way (metering, the end watch, translation, the usage-chunk stripper, the
        // caller's model name) is one chain, built here for this attempt: it splits a stream once and parses each event once.
        using var chain = ResponseChain.For(context, candidate);
        chain.Start(context.UpstreamOperation, response, http.Response);
        if (chain.Rewrites)
        {
            // The caller's body has its own length; the upstream's would be wrong.
            http.Response.ContentLength = null;
        }

        // Each chunk goes out when it arrives: no response buffering anywhere between upstream and caller,
        // except a whole non-streamed answer held back for headers that depend on it (see HoldsWholeBody).
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var held = HoldsWholeBody(context, response)
            ? new ArrayPoolBufferWriter<byte>(response.Content.Headers.ContentLength is > 0 and var length ? (int)length : ChunkSize)
            : null;
        var completed = false;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);

        // Only a successful event stream is watched: it is the answer that can look finished when it is not.
        var watch = chain.Watch;

        // The durability rule: the caller's end event goes out only after the request's charge and usage record are
        // committed (step 7), so an answer a caller holds complete is never lost to a crash. From the upstream chunk
        // that carries the end event on, what the caller is to receive (the event, and any events before it in that
        // chunk, translated or not) is held here and written by the handler once settled; the upstream's own end event
        // marks the spot, so the caller's bytes need no second parse.
        ArrayPoolBufferWriter<byte>? end = null;
        try
        {
            Stream output;
            if (held is null)
            {
                await http.Response.StartAsync(context.RequestAborted);
                output = http.Response.Body;
            }
            else
            {
                output = held.AsStream();
            }

            long upstreamBytes = 0;
            await using var upstream = await response.Content.ReadAsStreamAsync(context.RequestAborted);

            // An upstream silent for UpstreamTimeout in the middle of its answer is cut, as one that never starts
            // is: otherwise a stalled provider would hold the request's concurrency slots, its budget hold and the
            // connection for good. Each read gets the whole timeout again.
            int read;
            while (true)
            {
                cancel.CancelAfter(timeout);
                read = await upstream.ReadAsync(buffer.AsMemory(0, ChunkSize), cancel.Token);
                if (read == 0)
                {
                    break;
                }

                // The meter sees the upstream's own bytes first, so usage is read even when the caller goes away while
                // this chunk is being written.
                var caller = chain.Push(buffer.AsMemory(0, read));
                if (watch is { Ended: true } && end is null)
                {
                    end = new ArrayPoolBufferWriter<byte>(read + 256);
                    output = end.AsStream();
                }

                if (!caller.IsEmpty)
                {
                    await output.WriteAsync(caller, context.RequestAborted);
                }

                if (held is not null && (upstreamBytes += read) > HeldBodyCap)
                {
                    // Too large to hold: it goes out as it arrives after all, without the late headers.
                    output = await StartWithHeldAsync(http, held, context.RequestAborted);
                    held.Dispose();
                    held = null;
                }

                if (held is null)
                {
                    await http.Response.Body.FlushAsync(context.RequestAborted);
                }
            }

            if (held is null)
            {
                completed = true;
            }

            var last = chain.Finish(clean: true);
            if (chain.Rewrites)
            {
                if (!last.IsEmpty)
                {
                    await output.WriteAsync(last, context.RequestAborted);
                }

                if (held is null)
                {
                    await http.Response.Body.FlushAsync(context.RequestAborted);
                }
            }

            if (watch is not null && chain.StreamCompleted != true)
            {
                // Closed cleanly, but before its end event: as cut short as a reset, and it ends the same way.
                completed = false;
                await ReleaseEndAsync(http, end, context.RequestAborted);
                end = null;
                LogUpstreamBroke(LogValue.Of(candidate.Provider.Name)!, "it closed its event stream before the stream's end event");
                await EndCutStreamAsync(context, chain);
            }

            if (held is not null)
            {
                // The whole answer is read and metered: handed to the handler, which settles (step 7, adding the headers
                // that depend on the answer while the response has not started) and then writes it.
                context.HeldAnswer = held;
                held = null;
                completed = true;
            }

            // Handed over: the handler writes it after settling.
            context.HeldStreamEnd = end;
            end = null;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                // Leaving this method disposes the upstream response, which aborts the upstream request.
                context.ClientAborted = true;
            }
            else
            {
                // The status line is gone already (or, for a held answer, would claim a body that never came);
                // cutting the connection is the only way left to tell the caller that the body is incomplete,
                // rather than letting it look finished.
                // A cancellation the caller did not ask for is the idle cut above.
                LogUpstreamBroke(LogValue.Of(candidate.Provider.Name)!, ex is OperationCanceledException
                    ? $"it sent nothing for {timeout} (UpstreamTimeout) in the middle of its answer"
                    : LogValue.Of(ex.Message)!);
                if (watch is not null && http.Response.HasStarted)
                {
                    // A cut stream is no complete answer: what was held goes out before the error event.
                    await ReleaseEndAsync(http, end, context.RequestAborted);
                    end = null;
                    await EndCutStreamAsync(context, chain);
                }
                else
                {
                    http.Abort();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            held?.Dispose();
            end?.Dispose();
            context.ResponseCompleted = completed;
            chain.End(completed);
        }
    }

    /// <summary>
    /// Ends a caller's event stream that the upstream cut short (reset, idle cut, or a clean close before its end
    /// event) with an error event in the caller's format (the translator's own for a translated stream). Anthropic's
    /// SDKs raise <c>event: error</c>, so that stream then ends normally. OpenAI's .NET SDK reads an error chunk or a
    /// Responses <c>error</c> event as one more update and returns, so an OpenAI caller's connection is cut after the
    /// event as well: every client then fails on a body that never properly ended (a client that was still reading
    /// may lose the event itself to the cut, never the failure).
    /// </summary>
    private static async Task EndCutStreamAsync(RelayRequestContext context, ResponseChain chain)
    {
        var http = context.HttpContext;
        try
        {
            // A last event without its blank line still goes out (translated or not), unless the body was finished already.
            var rest = chain.Finish(clean: false);
            if (!rest.IsEmpty)
            {
                await http.Response.Body.WriteAsync(rest, context.RequestAborted);
            }

            if (!chain.Translates)
            {
                await http.Response.Body.WriteAsync(chain.Watch!.CutFrame(context.Operation, CutStreamMessage), context.RequestAborted);
            }

            await http.Response.Body.FlushAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Text.Json.JsonException or Translation.TranslationException)
        {
            // The caller is gone, or the partial last event did not translate: cut the connection, it still tells.
            http.Abort();
            return;
        }

        if (context.CallerFormat == WireFormat.OpenAI)
        {
            http.Abort();
        }
    }

    private const string CutStreamMessage = "The upstream stream ended before the answer was complete.";

    /// <summary>
    /// Whether to read the whole upstream answer before the response starts: only when step 7 adds
    /// headers that depend on it (<see cref="RelayRequestContext.HoldWholeAnswer"/>) or a translated error's
    /// status depends on its body (an OpenAI quota error is Anthropic's 402, not its 429), only for an answer
    /// that is not an event stream (streams always go out as they arrive), and only when the upstream did not
    /// announce a body larger than <see cref="HeldBodyCap"/>.
    /// </summary>
    private bool HoldsWholeBody(RelayRequestContext context, HttpResponseMessage response) =>
        (context.HoldWholeAnswer || ((context.Translation is not null || context.StreamUsageOptions is not null) && !response.IsSuccessStatusCode))
        && !string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase)
        && !(response.Content.Headers.ContentLength > HeldBodyCap);

    /// <summary>Writes (and disposes) a held stream end now, for a stream that is not going to complete normally.</summary>
    private static async Task ReleaseEndAsync(HttpContext http, ArrayPoolBufferWriter<byte>? end, CancellationToken cancellationToken)
    {
        if (end is null)
        {
            return;
        }

        try
        {
            if (end.WrittenCount > 0)
            {
                await http.Response.Body.WriteAsync(end.WrittenMemory, cancellationToken);
            }
        }
        finally
        {
            end.Dispose();
        }
    }

    /// <summary>Starts the response and writes what was held; returns the caller's body stream for the rest.</summary>
    private static async Task<Stream> StartWithHeldAsync(HttpContext http, ArrayPoolBufferWriter<byte> held, CancellationToken cancellationToken)
    {
        await http.Response.StartAsync(cancellationToken);
        if (held.WrittenCount > 0)
        {
            await http.Response.Body.WriteAsync(held.WrittenMemory, cancellationToken);
        }

        await http.Response.Body.FlushAsync(cancellationToken);
        return http.Response.Body;
    }

    [LoggerMessage(1, LogLevel.Warning, "Provider {Provider} is unreachable ({Error}): {Reason}")]
    private partial void LogUpstreamUnreachable(string provider, HttpRequestError error, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Provider {Provider} did not start its response within {Timeout}")]
    private partial void LogUpstreamTimedOut(string provider, TimeSpan timeout);

    [LoggerMessage(3, LogLevel.Warning, "Provider {Provider} broke off its response: {Reason}")]
    private partial void LogUpstreamBroke(string provider, string reason);
}
