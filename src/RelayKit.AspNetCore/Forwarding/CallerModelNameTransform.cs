using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Metering;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Makes a same-format answer name the model the caller asked for, as a translated answer does: the name that
/// went upstream (a configured <c>UpstreamModel</c>, an alias's target) and the provider's own resolution of it (a
/// dated version) are provider details, kept in the usage record and the <c>gen_ai.response.model</c> telemetry,
/// which read the upstream's own bytes. Rewrites only the <c>model</c> of the answer object: top-level (chat
/// completions and their chunks, embeddings, responses, messages) or in the object an event wraps
/// (<c>message_start</c>'s <c>message</c>, a Responses event's <c>response</c>); every other byte passes as it
/// came, and an error answer passes untouched. A stream goes out event by event (only a partial event is held);
/// a JSON answer is held until its <c>model</c> has been seen, then the rest passes as it arrives.
/// </summary>
internal sealed class CallerModelNameTransform : IResponseBodyTransform
{
    private static readonly byte[] ModelKey = "\"model\""u8.ToArray();

    private readonly byte[] _callerModel;
    private readonly IResponseBodyTransform? _next;
    private readonly ArrayBufferWriter<byte> _pending = new();
    private bool _active;
    private bool _streamed;

    // A JSON answer's scan, resumed chunk after chunk: where the reader stopped and what it had seen.
    private JsonReaderState _readerState;
    private int _scanned;
    private ModelScan _scan;

    /// <param name="callerModel">The model name the caller sent.</param>
    /// <param name="next">A transform that takes the answer after this one (the usage-chunk stripper), or null.</param>
    public CallerModelNameTransform(string callerModel, IResponseBodyTransform? next)
    {
        var encoded = JsonEncodedText.Encode(callerModel, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
        _callerModel = [(byte)'"', .. encoded, (byte)'"'];
        _next = next;
    }

    public void OnResponseStarted(HttpResponseMessage response, HttpResponse callerResponse)
    {
        _active = response.IsSuccessStatusCode;
        _streamed = response.Content.Headers.ContentType?.MediaType is { } media
            && media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);
        _readerState = new JsonReaderState(new JsonReaderOptions { AllowTrailingCommas = false });
        _next?.OnResponseStarted(response, callerResponse);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken)
    {
        if (!_active)
        {
            await PassAsync(upstreamChunk, caller, cancellationToken);
        }
        else if (_streamed)
        {
            await WriteEventsAsync(upstreamChunk, caller, cancellationToken);
        }
        else
        {
            await WriteJsonAsync(upstreamChunk, caller, cancellationToken);
        }
    }

    public async ValueTask CompleteAsync(bool completed, Stream caller, CancellationToken cancellationToken)
    {
        if (_pending.WrittenCount > 0)
        {
            // A last event without its blank line, or a JSON answer with no model to find: as it came (rewritten if it can be).
            var rest = _streamed ? RewriteEvent(_pending.WrittenMemory) : _pending.WrittenMemory;
            await PassAsync(rest, caller, cancellationToken);
            _pending.ResetWrittenCount();
        }

        if (_next is not null)
        {
            await _next.CompleteAsync(completed, caller, cancellationToken);
        }
    }

    private ValueTask PassAsync(ReadOnlyMemory<byte> bytes, Stream caller, CancellationToken cancellationToken) =>
        _next is null ? caller.WriteAsync(bytes, cancellationToken) : _next.WriteAsync(bytes, caller, cancellationToken);

    private async ValueTask WriteEventsAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken)
    {
        _pending.Write(upstreamChunk.Span);
        var pending = _pending.WrittenMemory;
        var consumed = 0;
        while (UsageChunkStripper.EventEnd(pending.Span[consumed..]) is { } end and > 0)
        {
            await PassAsync(RewriteEvent(pending.Slice(consumed, end)), caller, cancellationToken);
            consumed += end;
        }

        if (consumed == pending.Length)
        {
            _pending.ResetWrittenCount();
        }
        else if (consumed > 0)
        {
            var rest = pending[consumed..].ToArray();
            _pending.ResetWrittenCount();
            _pending.Write(rest);
        }
    }

    /// <summary>One whole event (its <c>data:</c> line a JSON object), with the answer's model renamed.</summary>
    private ReadOnlyMemory<byte> RewriteEvent(ReadOnlyMemory<byte> item)
    {
        var span = item.Span;

        // Most events (content deltas, [DONE]) name no model: they pass without being parsed.
        if (span.IndexOf(ModelKey) < 0)
        {
            return item;
        }

        var data = span.StartsWith("data:"u8) ? 0 : span.IndexOf("\ndata:"u8) is >= 0 and var at ? at + 1 : -1;
        if (data < 0)
        {
            return item;
        }

        var json = data + "data:".Length;
        var lineEnd = span[json..].IndexOfAny((byte)'\r', (byte)'\n');
        var jsonEnd = lineEnd < 0 ? span.Length : json + lineEnd;
        var reader = new Utf8JsonReader(span[json..jsonEnd], isFinalBlock: true, default);
        var scan = default(ModelScan);
        try
        {
            return scan.Find(ref reader) is { } model ? Replace(item, json + model.Start, model.Length) : item;
        }
        catch (JsonException)
        {
            return item;
        }
    }

    private async ValueTask WriteJsonAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken)
    {
        if (_scan.Done)
        {
            await PassAsync(upstreamChunk, caller, cancellationToken);
            return;
        }

        _pending.Write(upstreamChunk.Span);
        var found = default((int Start, int Length)?);
        try
        {
            var reader = new Utf8JsonReader(_pending.WrittenSpan[_scanned..], isFinalBlock: false, _readerState);
            found = _scan.Find(ref reader);
            if (found is { } at)
            {
                found = (_scanned + at.Start, at.Length);
            }
            else
            {
                _scanned += (int)reader.BytesConsumed;
                _readerState = reader.CurrentState;
            }
        }
        catch (JsonException)
        {
            _scan.Done = true;
        }

        if (found is not null || _scan.Done)
        {
            _scan.Done = true;
            var whole = _pending.WrittenMemory;
            await PassAsync(found is { } model ? Replace(whole, model.Start, model.Length) : whole, caller, cancellationToken);
            _pending.ResetWrittenCount();
        }
        else if (_scanned > 0)
        {
            // What the reader has consumed cannot hold the model's value, so it goes on now: an answer whose model comes
            // last (embeddings put it after the vectors) is never held whole, only its unread tail.
            var written = _pending.WrittenMemory;
            await PassAsync(written[.._scanned], caller, cancellationToken);
            var rest = written[_scanned..].ToArray();
            _pending.ResetWrittenCount();
            _pending.Write(rest);
            _scanned = 0;
        }
    }

    /// <summary>The bytes with the JSON string at [start, start + length) replaced by the caller's model; the same bytes when it is that already.</summary>
    private ReadOnlyMemory<byte> Replace(ReadOnlyMemory<byte> bytes, int start, int length)
    {
        var span = bytes.Span;
        if (span.Slice(start, length).SequenceEqual(_callerModel))
        {
            return bytes;
        }

        var result = new byte[bytes.Length - length + _callerModel.Length];
        span[..start].CopyTo(result);
        _callerModel.CopyTo(result.AsSpan(start));
        span[(start + length)..].CopyTo(result.AsSpan(start + _callerModel.Length));
        return result;
    }

    /// <summary>Looks for the answer object's <c>model</c> string in a JSON object, token by token, resumable.</summary>
    private struct ModelScan
    {
        private bool _inWrapper;
        private bool _atModel;

        /// <summary>The model was found, or the object has none (the scan stops either way).</summary>
        public bool Done;

        /// <summary>The model value's position (the string token with its quotes) in the reader's input; null when not (yet) found.</summary>
        public (int Start, int Length)? Find(ref Utf8JsonReader reader)
        {
            while (!Done && reader.Read())
            {
                if (_atModel)
                {
                    _atModel = false;
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        Done = true;
                        return ((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2);
                    }
                }
                else if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.CurrentDepth == 1)
                    {
                        _atModel = reader.ValueTextEquals("model"u8);
                        _inWrapper = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("response"u8);
                    }
                    else if (reader.CurrentDepth == 2 && _inWrapper)
                    {
                        _atModel = reader.ValueTextEquals("model"u8);
                    }
                }
                else if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                {
                    Done = true;
                }
            }

            return null;
        }
    }
}
