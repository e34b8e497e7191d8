using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// A stage of <see cref="ResponseChain"/>: watches an upstream event stream for its end event: <c>data: [DONE]</c> (Chat
/// Completions), <c>message_stop</c> (Messages), <c>response.completed</c>, <c>response.incomplete</c> or
/// <c>response.failed</c> (Responses), or the format's own error event. A stream whose connection ends without one was
/// cut short, however cleanly it closed: without this watch a clean close after a few events would reach the caller as
/// a finished answer. Reads each event from the chain's one parse of it.
/// </summary>
internal sealed class StreamEndWatch
{
    private readonly RelayOperation _upstream;

    private StreamEndWatch(RelayOperation upstream)
    {
        _upstream = upstream;
    }

    /// <summary>Whether the upstream sent its end event (or an error event, which ends a stream too).</summary>
    public bool Ended { get; private set; }

    /// <summary>The last Responses <c>sequence_number</c> seen, so a closing error event continues the count.</summary>
    public long LastSequenceNumber { get; private set; } = -1;

    /// <summary>A watch for a successful event-stream answer of a streamed operation; null for anything else.</summary>
    public static StreamEndWatch? For(RelayOperation upstream, HttpResponseMessage response) =>
        response.IsSuccessStatusCode
        && (upstream == RelayOperation.ChatCompletions || upstream == RelayOperation.Responses || upstream == RelayOperation.Messages)
        && string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase)
            ? new StreamEndWatch(upstream)
            : null;

    /// <summary>
    /// The error event that ends a cut stream for a caller of <paramref name="caller"/> whose stream is not translated:
    /// OpenAI's error chunk, a Responses <c>error</c> event, Anthropic's <c>event: error</c> with an <c>api_error</c>.
    /// </summary>
    public byte[] CutFrame(RelayOperation caller, string message)
    {
        string frame;
        if (caller == RelayOperation.Messages)
        {
            var body = new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = "api_error", ["message"] = message } };
            frame = $"event: error\ndata: {body.ToJsonString()}\n\n";
        }
        else if (caller == RelayOperation.Responses)
        {
            var body = new JsonObject
            {
                ["type"] = "error",
                ["sequence_number"] = LastSequenceNumber + 1,
                ["code"] = "upstream_broken",
                ["message"] = message,
                ["param"] = null,
            };
            frame = $"event: error\ndata: {body.ToJsonString()}\n\n";
        }
        else
        {
            var body = new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error", ["param"] = null, ["code"] = "upstream_broken" },
            };
            frame = $"data: {body.ToJsonString()}\n\n";
        }

        return Encoding.UTF8.GetBytes(frame);
    }

    /// <summary>Reads one event of the upstream's stream.</summary>
    public void Observe(ref ResponseEvent item)
    {
        if (Ended || !item.IsEvent)
        {
            return;
        }

        if (_upstream == RelayOperation.ChatCompletions)
        {
            // [DONE], or an error chunk: {"error":{...}}.
            Ended = item.IsDone || (item.TryGetObject(out var chunk) && chunk.TryGetProperty("error"u8, out _));
            return;
        }

        var name = item.Name;
        if (!name.IsEmpty && _upstream == RelayOperation.Messages)
        {
            // The event: name is the type: the data need not be read.
            Ended = name.SequenceEqual("message_stop"u8) || name.SequenceEqual("error"u8);
            return;
        }

        var isObject = item.TryGetObject(out var root);
        if (isObject && root.TryGetProperty("sequence_number"u8, out var sequence) && sequence.ValueKind == JsonValueKind.Number && sequence.TryGetInt64(out var number))
        {
            LastSequenceNumber = number;
        }

        // The event: name is the type in both formats; without one, the data's own "type" says it.
        if (name.IsEmpty)
        {
            if (!isObject || !root.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
            {
                Ended = _upstream == RelayOperation.Messages && isObject && root.TryGetProperty("error"u8, out _);
                return;
            }

            Ended = _upstream == RelayOperation.Messages
                ? type.ValueEquals("message_stop"u8) || type.ValueEquals("error"u8)
                : IsResponsesEnd(type);
            return;
        }

        Ended = name.SequenceEqual("response.completed"u8) || name.SequenceEqual("response.incomplete"u8)
            || name.SequenceEqual("response.failed"u8) || name.SequenceEqual("error"u8);
    }

    private static bool IsResponsesEnd(JsonElement type) =>
        type.ValueEquals("response.completed"u8) || type.ValueEquals("response.incomplete"u8)
        || type.ValueEquals("response.failed"u8) || type.ValueEquals("error"u8);
}
