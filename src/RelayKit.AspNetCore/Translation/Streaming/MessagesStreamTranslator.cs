using System.Text;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// What every translator of an Anthropic Messages stream shares: reading each event, following usage through
/// <c>message_start</c> and <c>message_delta</c>, and the end (<c>message_stop</c> completes the answer; an
/// <c>error</c> event, a failure or a stream cut off ends it with an error frame). A subclass writes the caller's
/// frames for each event.
/// </summary>
internal abstract class MessagesStreamTranslator : IStreamTranslator
{
    private readonly AnthropicUsageTracker _usage = new();

    /// <summary>
    /// Where the usage told to the caller comes from: in the relay, the request's meter (<see cref="Metering.UsageMeter.Usage"/>),
    /// which reads each event before the translator does, so the caller is told the usage it is charged for, read by one
    /// reader with one set of rules (an absurd count is no usage). Null: the translator follows the upstream's usage itself.
    /// </summary>
    public Func<TokenUsage?>? UsageSource { get; init; }

    public TokenUsage? Usage => UsageSource is { } source ? source() : _usage.Usage;

    public bool IsComplete { get; private set; }

    /// <summary>The caller's stream has ended, normally or with an error frame: later events are ignored.</summary>
    protected bool Ended { get; private set; }

    public void Push(ref ResponseEvent item, ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Ended)
        {
            return;
        }

        // A view over the chain's parse, not a second parse: fields are read lazily from the same document.
        var payload = item.TryGetObject(out var root) ? JsonObject.Create(root)! : throw new TranslationException("event", "is not a JSON object");
        switch (JsonRead.String(payload["type"], "type") ?? (item.Name.IsEmpty ? null : Encoding.UTF8.GetString(item.Name)))
        {
            case "message_start":
                var message = JsonRead.RequireObject(payload["message"], "message");
                _usage.Update(JsonRead.Object(message["usage"], "message.usage"));
                OnMessageStart(message, output);
                break;
            case "content_block_start":
                OnBlockStart(JsonRead.Integer(payload["index"], "index") ?? 0, JsonRead.RequireObject(payload["content_block"], "content_block"), output);
                break;
            case "content_block_delta":
                OnBlockDelta(JsonRead.Integer(payload["index"], "index") ?? 0, JsonRead.RequireObject(payload["delta"], "delta"), output);
                break;
            case "content_block_stop":
                OnBlockStop(JsonRead.Integer(payload["index"], "index") ?? 0, output);
                break;
            case "message_delta":
                _usage.Update(JsonRead.Object(payload["usage"], "usage"));
                OnMessageDelta(JsonRead.String(payload["delta"]?["stop_reason"], "delta.stop_reason"), output);
                break;
            case "message_stop":
                OnMessageStop(output);
                IsComplete = true;
                Ended = true;
                break;
            case "error":
                OnError(Encoding.UTF8.GetString(item.Data.Span), output);
                Ended = true;
                break;
        }

        // ping and unknown future event types carry nothing the caller needs.
    }

    public void Complete(ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!Ended)
        {
            Fail(output, "server_error", "The upstream stream ended before the answer was complete.");
        }
    }

    /// <summary>Writes an error frame in the caller's format and ends the caller's stream.</summary>
    protected void Fail(ISseSink output, string code, string message)
    {
        WriteError(output, code, message);
        Ended = true;
    }

    /// <summary><c>message_start</c>: the message's id, model and first usage (already counted).</summary>
    protected abstract void OnMessageStart(JsonObject message, ISseSink output);

    /// <summary><c>content_block_start</c> of the block at <paramref name="index"/>.</summary>
    protected abstract void OnBlockStart(long index, JsonObject block, ISseSink output);

    /// <summary><c>content_block_delta</c> of the block at <paramref name="index"/>.</summary>
    protected abstract void OnBlockDelta(long index, JsonObject delta, ISseSink output);

    /// <summary><c>content_block_stop</c> of the block at <paramref name="index"/>; nothing by default.</summary>
    protected virtual void OnBlockStop(long index, ISseSink output)
    {
    }

    /// <summary><c>message_delta</c>: the stop reason, if it came (its usage is already counted).</summary>
    protected abstract void OnMessageDelta(string? stopReason, ISseSink output);

    /// <summary><c>message_stop</c>: the answer is whole; <see cref="Usage"/> holds its final counts.</summary>
    protected abstract void OnMessageStop(ISseSink output);

    /// <summary>An <c>error</c> event from the upstream, <paramref name="data"/> as it came.</summary>
    protected abstract void OnError(string data, ISseSink output);

    /// <summary>Writes an error frame in the caller's format.</summary>
    protected abstract void WriteError(ISseSink output, string code, string message);
}
