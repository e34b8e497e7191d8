using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Usage;
using RelayKit.Tokens;

namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// Sets up step 6 before forwarding: attaches a <see cref="UsageMeter"/> to every generation request, and
/// makes sure an OpenAI chat stream reports its usage (<c>stream_options.include_usage</c>), stripping the
/// extra usage chunk from the caller's stream when the caller did not ask for it. Never refuses.
/// </summary>
internal sealed class MeteringAdmission(PromptTokenCounter tokenizers, TimeProvider time, IOptions<UsageOptions> usage) : IRelayAdmission
{
    // One counting delegate per tokenizer, rather than a closure per request.
    private readonly ConditionalWeakTable<Tokenizer, Func<string, int>> _counters = [];

    // The meter asks for the answering upstream's counter once it answers; made once, not per request.
    private Func<string, Func<string, int>>? _counterFor;

    public ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
    {
        if (!context.Operation.Metered || context.Candidates.Count == 0)
        {
            return ValueTask.FromResult<RelayError?>(null);
        }

        var counterFor = _counterFor ??= CounterFor;
        context.Meter = new UsageMeter(
            context, time, counterFor(context.Candidates[0].UpstreamModel), usage.Value.RecordContent ? ContentCapture.Chars(usage.Value) : null)
        {
            CounterFor = counterFor,
        };

        // The forwarder sends these to an upstream of the caller's format and strips the usage chunk the caller did not
        // ask for (UpstreamForwarder.ShapeFor); a translated request's translator asks for usage and rewrites the stream itself.
        if (context.Operation == RelayOperation.ChatCompletions && context.Fields!.Stream && !CallerAskedForUsage(context.Body!.Root))
        {
            var streamOptions = context.Body!.Root.TryGetProperty("stream_options", out var existing) && existing.ValueKind == JsonValueKind.Object
                ? JsonNode.Parse(existing.GetRawText())!.AsObject()
                : new JsonObject();
            streamOptions["include_usage"] = true;
            context.StreamUsageOptions = streamOptions;
        }

        return ValueTask.FromResult<RelayError?>(null);
    }

    private Func<string, int> CounterFor(string upstreamModel) =>
        _counters.GetValue(tokenizers.For(upstreamModel).Item1, static t => text => BoundedTokenCount.Count(t, text));

    private static bool CallerAskedForUsage(JsonElement root) =>
        root.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
        && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;
}
