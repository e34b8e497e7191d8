using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Translation.Relay;

namespace RelayKit.AspNetCore;

/// <summary>
/// One request's state as it moves along the request path. Each step fills in its own section and only
/// reads what earlier steps filled in, so a later step (admission, metering, settlement) plugs in by
/// reading this object and adding its own section, without reworking the steps before it.
/// </summary>
internal sealed class RelayRequestContext(HttpContext httpContext, RelayOperation operation, WireFormat callerFormat, string requestId, DateTimeOffset startedAt)
    : IDisposable
{
    public HttpContext HttpContext { get; } = httpContext;

    public RelayOperation Operation { get; } = operation;

    /// <summary>The caller's wire format: errors and lists are answered in it.</summary>
    public WireFormat CallerFormat { get; } = callerFormat;

    /// <summary>The relay's id for this request, sent back as x-request-id.</summary>
    public string RequestId { get; } = requestId;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public CancellationToken RequestAborted => HttpContext.RequestAborted;

    // 1 Authenticate

    public RelayCaller? Caller { get; set; }

    // 2 Read

    public RelayRequestBody? Body { get; set; }

    public RelayRequestFields? Fields { get; set; }

    // 3 Route

    /// <summary>Where the request may go, best first.</summary>
    public IReadOnlyList<UpstreamCandidate> Candidates { get; set; } = [];

    // 4 Admit: rate limits and budget reservations add their state here.

    /// <summary>The rate-limit lease of an admitted request: its concurrency slots and the tokens it was charged.</summary>
    public Admission.RateLimits.RelayRateLimitLease? RateLimitLease { get; set; }

    /// <summary>The tokens rate-limit admission charged the request (prompt plus output cap); a fallback's lease is charged the same.</summary>
    public long RateLimitTokens { get; set; }

    /// <summary>
    /// The leases taken for fallback models (<c>models</c>) as the forwarder first reached each, by the name the caller
    /// gave; null until one is. Step 7 settles them with <see cref="RateLimitLease"/>.
    /// </summary>
    public List<(string Model, Admission.RateLimits.RelayRateLimitLease Lease)>? FallbackRateLimitLeases { get; set; }

    // 5 Forward

    /// <summary>
    /// Top-level body fields to replace (or add) when forwarding, by name; the rest of the body goes out
    /// byte for byte. Routing sets <c>model</c> when the upstream name differs; metering will add
    /// <c>stream_options</c> so streamed usage is reported.
    /// </summary>
    public IDictionary<string, JsonNode?> BodyOverrides { get; } = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);

    /// <summary>
    /// The request's usage meter (step 6), set at admission for a metered operation: a stage of the
    /// <see cref="ResponseChain"/> the forwarder builds for the answer it copies. Null: nothing is metered.
    /// </summary>
    public Metering.UsageMeter? Meter { get; set; }

    /// <summary>
    /// Whether step 7 adds response headers known only once the whole upstream answer is (the budget's charged cost and
    /// remaining balance). Then the forwarder reads a non-streamed answer in full (up to
    /// <see cref="UpstreamForwarder.HeldBodyCap"/>) into <see cref="HeldAnswer"/> and does not start the response:
    /// the handler settles (step 7), then writes it. Streams and larger answers go out as they arrive, without them.
    /// </summary>
    public bool HoldWholeAnswer { get; set; }

    /// <summary>
    /// The request restated for an upstream of the other wire format, or null when the caller's body goes
    /// out as it is; the forwarder sends this body to this path instead.
    /// </summary>
    public TranslatedRequest? Translation { get; set; }

    /// <summary>
    /// The output limit admission assumed and the upstream must keep (the budget reserved for it): written into each
    /// attempt's body under the field its upstream knows (<c>max_tokens</c>, <c>max_completion_tokens</c>, <c>max_output_tokens</c>).
    /// </summary>
    internal int? OutputLimit { get; set; }

    /// <summary>The caller's name for the model <see cref="Translation"/> was made for, when it is a fallback of the request's <c>models</c> list.</summary>
    internal string? TranslatedFor { get; set; }

    /// <summary>
    /// The <c>stream_options</c> that ask an OpenAI upstream for the stream's usage, when the caller streams Chat
    /// Completions without asking for it: sent to an upstream of the caller's format (whose usage chunk is then stripped),
    /// not to one the request is translated for.
    /// </summary>
    internal System.Text.Json.Nodes.JsonObject? StreamUsageOptions { get; set; }

    /// <summary>
    /// Prompt tokens counted so far, by prompt format and upstream model: the rate limit's and the budget's
    /// estimates of one request read the same count rather than each tokenizing the prompt.
    /// </summary>
    internal Dictionary<(PromptFormat Format, string Model), PromptTokenCount> PromptTokenCounts => field ??= [];

    /// <summary>
    /// The operation as the upstream sees it: the caller's own, or the one a translated request became
    /// (Anthropic upstreams answer Messages, OpenAI upstreams Chat Completions). Metering reads the
    /// upstream's bytes in this format, and fields added to the forwarded body are named for it.
    /// </summary>
    public RelayOperation UpstreamOperation => Translation is { } translation ? Operation.On(translation.UpstreamFormat)! : Operation;

    /// <summary>Whether step 5 began: false for a request refused (or failed) before anything was sent upstream.</summary>
    public bool ForwardStarted { get; set; }

    /// <summary>The candidate that answered, once one did.</summary>
    public UpstreamCandidate? Upstream { get; set; }

    public int? UpstreamStatusCode { get; set; }

    // The attempts made, for the usage record: the first in a field, a list only once there is a second.
    private Usage.UsageAttempt? _firstAttempt;
    private List<Usage.UsageAttempt>? _laterAttempts;

    /// <summary>Adds an upstream attempt that was made (<see cref="Usage.UpstreamAttempt"/> reports it once it answered or failed).</summary>
    public void AddAttempt(Usage.UsageAttempt attempt)
    {
        if (_firstAttempt is null)
        {
            _firstAttempt = attempt;
        }
        else
        {
            (_laterAttempts ??= new(3)).Add(attempt);
        }
    }

    /// <summary>The upstream attempts made so far, in order, as the usage record keeps them.</summary>
    public IReadOnlyList<Usage.UsageAttempt> Attempts =>
        _firstAttempt is null ? Usage.UsageAttemptList.Empty : Usage.UsageAttemptList.Of(_firstAttempt, _laterAttempts);

    // 6 Meter: filled in by the usage meter from the upstream's own response, read by settlement.

    /// <summary>The usage the upstream reported, or null when it reported none (a cut stream, an error).</summary>
    public TokenUsage? ReportedUsage { get; set; }

    /// <summary>
    /// The prompt's usage as the upstream reported it before its answer (Anthropic's <c>message_start</c>), no output:
    /// what a stream that ended without its final usage is charged for its prompt instead of the estimate.
    /// </summary>
    public TokenUsage? ReportedPromptUsage { get; set; }

    /// <summary>
    /// Output tokens counted from the text and tool arguments the upstream sent, for charging an aborted
    /// or cut stream whose usage never arrived; 0 when the upstream reported usage (then nothing is counted).
    /// </summary>
    public long DeliveredOutputTokens { get; set; }

    /// <summary>
    /// The answer's text as the meter read it (message text, refusals, reasoning, tool-call arguments, in the order they
    /// came), only when <see cref="Usage.UsageOptions.RecordContent"/> is on; null otherwise. At most
    /// <see cref="Usage.UsageOptions.MaxContentLength"/> chars and a margin (the recorder scrubs secrets, then cuts).
    /// </summary>
    public string? CompletionText { get; set; }

    /// <summary>When the first byte of the upstream's body arrived.</summary>
    public DateTimeOffset? FirstByteAt { get; set; }

    /// <summary>The model the upstream said answered (its response's <c>model</c>), if it said.</summary>
    public string? ResponseModel { get; set; }

    // 7 Settle: what the budget step charged, and the request's span, read by the usage settlement.

    /// <summary>What the request was charged, in US dollars, when a budget step charged it; null otherwise (usage then prices it itself).</summary>
    public decimal? ChargedCost { get; set; }

    /// <summary>
    /// A settle that failed and waits in the settle spool (<see cref="Settlement.SettleRetrier"/>): completes with what the
    /// ledger charged once it lands. The usage record is written then, with that charge, never with a figure the ledger did not take.
    /// </summary>
    public Task<SettlementResult>? PendingSettlement { get; set; }

    /// <summary>
    /// The usage record the budget's settle committed to the usage outbox with its charge (or kept in the settle spool
    /// with it, when <see cref="PendingSettlement"/> is set); null when no settle wrote one. Step 7's usage part then
    /// only logs and meters it.
    /// </summary>
    public Usage.UsageRecord? SettledRecord { get; set; }

    /// <summary>The request's span, started before the first upstream attempt and ended when usage is recorded.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }

    // Outcome, read by settlement

    /// <summary>The error the relay answered with, if it answered one itself.</summary>
    public RelayError? Error { get; set; }

    /// <summary>Whether the caller went away before the response was complete.</summary>
    public bool ClientAborted { get; set; }

    /// <summary>Whether the current attempt's request body was written whole to the upstream's connection.</summary>
    public bool RequestSent { get; set; }

    /// <summary>Whether the upstream response reached the caller in full.</summary>
    public bool ResponseCompleted { get; set; }

    /// <summary>Whether step 7 (settle) has begun: it runs once per request, whichever way the request ended.</summary>
    public bool SettleStarted { get; set; }

    /// <summary>
    /// The end of a completed event stream as the caller is to receive it (from the upstream chunk that held the end
    /// event on: <c>[DONE]</c>, <c>message_stop</c>, <c>response.completed</c>), held back by the forwarder until step 7
    /// has settled (the durability rule), then written by the handler as the response completes.
    /// </summary>
    public CommunityToolkit.HighPerformance.Buffers.ArrayPoolBufferWriter<byte>? HeldStreamEnd { get; set; }

    /// <summary>
    /// A whole non-streamed answer read by the forwarder (<see cref="HoldWholeAnswer"/>), with its status and headers
    /// set on the response but the response not started: the handler writes it after step 7, which may add headers.
    /// </summary>
    public CommunityToolkit.HighPerformance.Buffers.ArrayPoolBufferWriter<byte>? HeldAnswer { get; set; }

    /// <summary>What budget admission held for this request; null for an unmetered key or before admission.</summary>
    public Admission.Budgets.BudgetHold? BudgetHold { get; set; }

    public void Dispose()
    {
        Body?.Dispose();
        Translation?.Dispose();
        HeldStreamEnd?.Dispose();
        HeldStreamEnd = null;
        HeldAnswer?.Dispose();
        HeldAnswer = null;
    }
}
