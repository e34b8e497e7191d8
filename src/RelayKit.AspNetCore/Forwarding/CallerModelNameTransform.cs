using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommunityToolkit.HighPerformance.Buffers;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// A stage of <see cref="ResponseChain"/>: makes a same-format answer name the model the caller asked for, as a
/// translated answer does: the name that went upstream (a configured <c>UpstreamModel</c>, an alias's target) and the
/// provider's own resolution of it (a dated version) are provider details, kept in the usage record and the
/// <c>gen_ai.response.model</c> telemetry, which read the upstream's own bytes. Rewrites only the <c>model</c> of the
/// answer object: top-level (chat completions and their chunks, embeddings, responses, messages) or in the object an
/// event wraps (<c>message_start</c>'s <c>message</c>, a Responses event's <c>response</c>); every other byte passes as it
/// came, and an error answer passes untouched. A stream's event is read from the chain's one parse of it; a JSON answer
/// is held until its <c>model</c> has been seen, then the rest passes as it arrives.
/// </summary>
internal sealed class CallerModelNameTransform
{
    private static readonly byte[] ModelKey = "\"model\""u8.ToArray();

    private readonly byte[] _callerModel;
    private ArrayPoolBufferWriter<byte>? _pending;
    private bool _active;

    // A JSON answer's scan, resumed chunk after chunk: where the reader stopped and what it had seen.
    private JsonReaderState _readerState;
    private int _scanned;
    private ModelScan _scan;

    /// <param name="callerModel">The model name the caller sent.</param>
    public CallerModelNameTransform(string callerModel)
    {
        var encoded = JsonEncodedText.Encode(callerModel, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
        _callerModel = [(byte)'"', .. encoded, (byte)'"'];
    }

    /// <summary>The upstream answered: only a successful answer is renamed.</summary>
    public void Start(HttpResponseMessage response)
    {
        _active = response.IsSuccessStatusCode;
        _readerState = new JsonReaderState(new JsonReaderOptions { AllowTrailingCommas = false });
    }

    /// <summary>Writes one event of a stream, its answer's model renamed.</summary>
    public void WriteEvent(ref ResponseEvent item, IBufferWriter<byte> output)
    {
        var raw = item.Raw;

        // Most events (content deltas, [DONE]) name no model: they pass without being read.
        if (!_active || !item.IsEvent || raw.IndexOf(ModelKey) < 0 || !item.TryGetObject(out var root) || Find(root) is not { } model)
        {
            output.Write(raw);
            return;
        }

        // Where the data sits in the block's bytes: its one data: line (an event of several data lines is left as it came).
        var data = raw.StartsWith("data:"u8) ? 0 : raw.IndexOf("\ndata:"u8) is >= 0 and var at ? at + 1 : -1;
        var value = JsonMarshal.GetRawUtf8Value(model);
        if (data < 0 || !item.Data.Span.Overlaps(value, out var offset))
        {
            output.Write(raw);
            return;
        }

        var start = data + "data:".Length;
        if (start < raw.Length && raw[start] == (byte)' ')
        {
            start++;
        }

        var lineEnd = raw[start..].IndexOfAny((byte)'\r', (byte)'\n');
        if ((lineEnd < 0 ? raw.Length - start : lineEnd) != item.Data.Length)
        {
            output.Write(raw);
            return;
        }

        Replace(raw, start + offset, value.Length, output);
    }

    /// <summary>Writes the next chunk of a JSON answer: held until the model's value is found, then passed on.</summary>
    public void WriteJson(ReadOnlySpan<byte> upstreamChunk, IBufferWriter<byte> output)
    {
        if (!_active || _scan.Done)
        {
            output.Write(upstreamChunk);
            return;
        }

        var pending = _pending ??= new ArrayPoolBufferWriter<byte>(Math.Max(upstreamChunk.Length, 256));
        pending.Write(upstreamChunk);
        var found = default((int Start, int Length)?);
        try
        {
            var reader = new Utf8JsonReader(pending.WrittenSpan[_scanned..], isFinalBlock: false, _readerState);
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
            if (found is { } model)
            {
                Replace(pending.WrittenSpan, model.Start, model.Length, output);
            }
            else
            {
                output.Write(pending.WrittenSpan);
            }

            pending.Dispose();
            _pending = null;
        }
        else if (_scanned > 0)
        {
            // What the reader has consumed cannot hold the model's value, so it goes on now: an answer whose model comes
            // last (embeddings put it after the vectors) is never held whole, only its unread tail.
            output.Write(pending.WrittenSpan[.._scanned]);
            var rest = pending.WrittenSpan[_scanned..];
            var next = new ArrayPoolBufferWriter<byte>(Math.Max(rest.Length, 256));
            next.Write(rest);
            pending.Dispose();
            _pending = next;
            _scanned = 0;
        }
    }

    /// <summary>A JSON answer ended with no model found (or none to find): what was held goes as it came.</summary>
    public void CompleteJson(IBufferWriter<byte> output)
    {
        if (_pending is { } pending)
        {
            output.Write(pending.WrittenSpan);
            pending.Dispose();
            _pending = null;
        }
    }

    /// <summary>Gives a held JSON head back to the pool (an answer cut before its model).</summary>
    public void Dispose()
    {
        _pending?.Dispose();
        _pending = null;
    }

    /// <summary>The answer object's model: the first <c>model</c> string at the top level or in a <c>message</c> or <c>response</c> object, in document order.</summary>
    private static JsonElement? Find(JsonElement root)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("model"u8))
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value;
                }
            }
            else if ((property.NameEquals("message"u8) || property.NameEquals("response"u8)) && property.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var inner in property.Value.EnumerateObject())
                {
                    if (inner.NameEquals("model"u8) && inner.Value.ValueKind == JsonValueKind.String)
                    {
                        return inner.Value;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>Writes the bytes with the JSON string at [start, start + length) replaced by the caller's model.</summary>
    private void Replace(ReadOnlySpan<byte> bytes, int start, int length, IBufferWriter<byte> output)
    {
        output.Write(bytes[..start]);
        output.Write(_callerModel);
        output.Write(bytes[(start + length)..]);
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
