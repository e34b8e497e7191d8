using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Watches an upstream event stream for its end event: <c>data: [DONE]</c> (Chat Completions), <c>message_stop</c>
/// (Messages), <c>response.completed</c>, <c>response.incomplete</c> or <c>response.failed</c> (Responses), or the
/// format's own error event. A stream whose connection ends without one was cut short, however cleanly it closed:
/// without this watch a clean close after a few events would reach the caller as a finished answer.
/// </summary>
internal sealed class StreamEndWatch : IDisposable
{
    private readonly RelayOperation _upstream;
    private readonly SseEventSplitter _splitter = new();
    private readonly SseEventHandler _onEvent;

    private StreamEndWatch(RelayOperation upstream)
    {
        _upstream = upstream;
        _onEvent = OnEvent;
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

    /// <summary>Feeds one chunk of the upstream's own bytes.</summary>
    public void Push(ReadOnlySpan<byte> chunk)
    {
        if (!Ended)
        {
            _splitter.Push(chunk, _onEvent);
        }
    }

    /// <summary>The upstream's body ended: a last event without its blank line still counts.</summary>
    public void Complete()
    {
        if (!Ended)
        {
            _splitter.Complete(_onEvent);
        }
    }

    public void Dispose() => _splitter.Dispose();

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

    private void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        if (Ended)
        {
            return;
        }

        if (_upstream == RelayOperation.ChatCompletions)
        {
            // [DONE], or an error chunk: {"error":{...}}.
            Ended = data.Span.SequenceEqual("[DONE]"u8) || TopLevel(data.Span).HasError;
            return;
        }

        var (type, sequence, hasError) = !name.IsEmpty && _upstream == RelayOperation.Messages ? (null, null, false) : TopLevel(data.Span);
        if (sequence is { } number)
        {
            LastSequenceNumber = number;
        }

        // The event: name is the type in both formats; without one, the data's own "type" says it.
        var kind = name.IsEmpty ? type : Encoding.UTF8.GetString(name);
        Ended = _upstream == RelayOperation.Messages
            ? kind is "message_stop" or "error" || (kind is null && hasError)
            : kind is "response.completed" or "response.incomplete" or "response.failed" or "error";
    }

    /// <summary>The top-level <c>type</c>, <c>sequence_number</c> and whether there is an <c>error</c> member; nested values are skipped.</summary>
    private static (string? Type, long? Sequence, bool HasError) TopLevel(ReadOnlySpan<byte> json)
    {
        string? type = null;
        long? sequence = null;
        var hasError = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, null, false);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                var isSequence = !isType && reader.ValueTextEquals("sequence_number"u8);
                hasError |= reader.ValueTextEquals("error"u8);
                if (!reader.Read())
                {
                    break;
                }

                if (isType && reader.TokenType == JsonTokenType.String)
                {
                    type = reader.GetString();
                }
                else if (isSequence && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
                {
                    sequence = number;
                }
                else if (!reader.TrySkip())
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: not an end event.
        }

        return (type, sequence, hasError);
    }
}
